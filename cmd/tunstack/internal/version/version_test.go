package version

import (
	"fmt"
	"runtime/debug"
	"testing"
)

// stamped is the build information of a binary built from a clean git
// checkout, as `go version -m` printed it (in debug.BuildInfo's format).
const stamped = "path\tgithub.com/tunstack/tunstack/cmd/tunstack\n" +
	"mod\tgithub.com/tunstack/tunstack\tv0.0.0-20261205195616-3e4bc0c34c5e\t\n" +
	"build\t-buildmode=exe\n" +
	"build\tGOARCH=amd64\n" +
	"build\tGOOS=linux\n" +
	"build\tvcs=git\n" +
	"build\tvcs.revision=3e4bc0c34c5e5c45f2fb8848ff9deff137592cf2\n" +
	"build\tvcs.time=2026-12-05T19:56:16Z\n" +
	"build\tvcs.modified=%s\n"

func TestFromBuildInfo(t *testing.T) {
	tests := []struct {
		name, text string
		want       string
	}{
		{
			name: "clean checkout",
			text: fmt.Sprintf(stamped, "false"),
			want: "tunstack v0.0.0-20261205195616-3e4bc0c34c5e\n" +
				"commit 3e4bc0c34c5e5c45f2fb8848ff9deff137592cf2\n" +
				"commit time 2026-12-05T19:56:16Z\n" +
				"go1.26.8 linux/amd64",
		},
		{
			name: "modified tree",
			text: fmt.Sprintf(stamped, "true"),
			want: "tunstack v0.0.0-20261205195616-3e4bc0c34c5e\n" +
				"commit 3e4bc0c34c5e5c45f2fb8848ff9deff137592cf2 (modified)\n" +
				"commit time 2026-12-05T19:56:16Z\n" +
				"go1.26.8 linux/amd64",
		},
		{
			name: "no VCS information",
			text: "path\tgithub.com/tunstack/tunstack/cmd/tunstack\n" +
				"mod\tgithub.com/tunstack/tunstack\t(devel)\t\nbuild\tGOARCH=arm64\nbuild\tGOOS=linux\n",
			want: "tunstack (devel)\ncommit unknown\ngo1.26.8 linux/arm64",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bi, err := debug.ParseBuildInfo(tt.text)
			if err != nil {
				t.Fatalf("ParseBuildInfo: %v", err)
			}
			bi.GoVersion = "go1.26.8" // ReadBuildInfo sets it; ParseBuildInfo does not
			if got := FromBuildInfo(bi).String(); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestGetReadsTheRunningBinary: a test binary has build information too.
func TestGetReadsTheRunningBinary(t *testing.T) {
	info := Get()
	if info.GoVersion == "" || info.Version == "" || info.Platform == "" {
		t.Errorf("Get() = %+v, want a version, a Go version and a platform", info)
	}
}
