package demo

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// demoTool is a program the demo runs and the Debian package that has it.
type demoTool struct {
	program string
	pkg     string
	// usable checks a program found on PATH; nil means any will do.
	usable func(path string) bool
}

var demoTools = []demoTool{
	{program: "ip", pkg: "iproute2"},
	// The demo relies on -N (shut down the sending side at end of input),
	// which only OpenBSD's nc has.
	{program: "nc", pkg: "netcat-openbsd", usable: ncHasHalfClose},
	{program: "ping", pkg: "iputils-ping"},
}

func ncHasHalfClose(path string) bool {
	out, _ := exec.Command(path, "-h").CombinedOutput()
	return bytes.Contains(out, []byte("-N"))
}

// Installer finds programs and installs packages; tests replace it.
type Installer struct {
	lookPath func(program string) (string, error)
	// aptGet runs apt-get with args, its output going to out.
	aptGet func(ctx context.Context, out io.Writer, args ...string) error
}

// SystemInstaller looks programs up on PATH and installs them with
// apt-get.
var SystemInstaller = Installer{
	lookPath: exec.LookPath,
	aptGet: func(ctx context.Context, out io.Writer, args ...string) error {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		cmd.Stdout, cmd.Stderr = out, out
		return cmd.Run()
	},
}

// missingTools returns the tools that are not installed or not usable.
func (ti Installer) missingTools(tools []demoTool) []demoTool {
	var missing []demoTool
	for _, t := range tools {
		path, err := ti.lookPath(t.program)
		if err != nil || (t.usable != nil && !t.usable(path)) {
			missing = append(missing, t)
		}
	}
	return missing
}

// ensure installs the packages of the missing tools with apt-get, saying
// so in one line on w. If the install fails it updates the package lists
// and tries once more.
func (ti Installer) ensure(ctx context.Context, w io.Writer, tools []demoTool) error {
	missing := ti.missingTools(tools)
	if len(missing) == 0 {
		return nil
	}
	var programs, pkgs []string
	for _, t := range missing {
		programs = append(programs, t.program)
		pkgs = append(pkgs, t.pkg)
	}
	if _, err := ti.lookPath("apt-get"); err != nil {
		return fmt.Errorf("the demo needs %s: install %s", strings.Join(programs, ", "), strings.Join(pkgs, " "))
	}
	fmt.Fprintf(w, "tunstack: installing %s with apt-get (the demo runs %s)\n", strings.Join(pkgs, " "), strings.Join(programs, ", "))
	install := append([]string{"install", "-y", "-q", "--no-install-recommends"}, pkgs...)
	var log bytes.Buffer
	err := ti.aptGet(ctx, &log, install...)
	if err != nil && ctx.Err() == nil {
		if err = ti.aptGet(ctx, &log, "update", "-q"); err == nil {
			err = ti.aptGet(ctx, &log, install...)
		}
	}
	if err != nil {
		return fmt.Errorf("apt-get install %s: %w: %s", strings.Join(pkgs, " "), err, lastLine(log.String()))
	}
	if still := ti.missingTools(missing); len(still) > 0 {
		return fmt.Errorf("apt-get installed %s, but %s is still missing", strings.Join(pkgs, " "), still[0].program)
	}
	return nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
