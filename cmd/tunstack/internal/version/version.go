// Package version says which build of tunstack runs: the main module's
// version, the commit it was built from and whether that tree had
// uncommitted changes, and the Go toolchain that built it, all as the Go
// toolchain stamped them into the binary (runtime/debug.ReadBuildInfo), so
// that `tunstack version` says what `go version -m` says about the same
// file.
//
// It stamps nothing itself: a binary built with -buildvcs=false, or
// outside a git checkout (a git worktree included, which the go command
// does not recognise), has no commit, and says so.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Info is what the build recorded.
type Info struct {
	// Version is the main module's version: a tag, a pseudo-version
	// (v0.0.0-20261205195616-3e4bc0c34c5e, "+dirty" when modified) or
	// "(devel)".
	Version string
	// Revision is the commit (vcs.revision); "" when the build recorded
	// none.
	Revision string
	// Time is the commit's time (vcs.time); "" when unknown.
	Time string
	// Modified reports uncommitted changes in the tree (vcs.modified).
	Modified bool
	// GoVersion is the toolchain that built the binary ("go1.26.8").
	GoVersion string
	// Platform is GOOS/GOARCH.
	Platform string
}

// Unknown stands for what the build did not record.
const Unknown = "unknown"

// Get reads the running binary's build information.
func Get() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Info{Version: Unknown, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	}
	return FromBuildInfo(bi)
}

// FromBuildInfo takes what Info needs from bi.
func FromBuildInfo(bi *debug.BuildInfo) Info {
	info := Info{Version: bi.Main.Version, GoVersion: bi.GoVersion}
	if info.Version == "" {
		info.Version = Unknown
	}
	if info.GoVersion == "" {
		info.GoVersion = runtime.Version()
	}
	var goos, goarch string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Revision = s.Value
		case "vcs.time":
			info.Time = s.Value
		case "vcs.modified":
			info.Modified = s.Value == "true"
		case "GOOS":
			goos = s.Value
		case "GOARCH":
			goarch = s.Value
		}
	}
	if goos == "" || goarch == "" {
		goos, goarch = runtime.GOOS, runtime.GOARCH
	}
	info.Platform = goos + "/" + goarch
	return info
}

// Commit is the revision, with " (modified)" when the tree had changes,
// or Unknown.
func (i Info) Commit() string {
	if i.Revision == "" {
		return Unknown
	}
	if i.Modified {
		return i.Revision + " (modified)"
	}
	return i.Revision
}

// String is what `tunstack version` prints, one fact a line:
//
//	tunstack v0.0.0-20261205195616-3e4bc0c34c5e
//	commit 3e4bc0c34c5e5c45f2fb8848ff9deff137592cf2
//	commit time 2026-12-05T19:56:16Z
//	go1.26.8 linux/amd64
func (i Info) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "tunstack %s\n", i.Version)
	fmt.Fprintf(&b, "commit %s\n", i.Commit())
	if i.Time != "" {
		fmt.Fprintf(&b, "commit time %s\n", i.Time)
	}
	fmt.Fprintf(&b, "%s %s", i.GoVersion, i.Platform)
	return b.String()
}
