package main

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/clitest"
	"github.com/tunstack/tunstack/tests/testkit"
)

// These tests create real TUN devices, each in a namespace of its own that
// the test removes. They need root; in CI they fail rather than skip.

// TestUpDialAndStop runs `tunstack up` as a function in a fresh namespace:
// it waits for the control socket, checks that a second daemon on the same
// device fails with exit 2, dials from the stack to a kernel listener with
// `tunstack dial`, then cancels (as SIGTERM does) and checks exit 0 and
// that the socket and the namespace are gone.
func TestUpDialAndStop(t *testing.T) {
	testkit.RequireRoot(t)
	ns := clitest.NetNS(t)
	control := filepath.Join(testkit.ShortTempDir(t), "ctl.sock")

	var stdout, stderr testkit.Buffer
	up := newCLI(nil, &stdout, &stderr)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	exit := make(chan int, 1)
	go func() { exit <- up.run(ctx, []string{"up", "--netns", ns, "--control", control, "--msl", "100ms"}) }()
	// The socket comes first, then the ready line: wait for both.
	testkit.Eventually(t, "the control socket and the ready line", func() bool {
		select {
		case code := <-exit:
			t.Fatalf("up exited %d early:\n%s%s", code, stdout.String(), stderr.String())
		default:
		}
		conn, err := net.Dial("unix", control)
		if err == nil {
			conn.Close()
		}
		return err == nil && strings.HasSuffix(stdout.String(), "\n")
	})
	wantReady := "tunstack: up on tunstack0 in namespace " + ns + " (stack 10.77.0.2, fd00:77::2), control " + control + "\n"
	if stdout.String() != wantReady {
		t.Errorf("ready line %q, want %q", stdout.String(), wantReady)
	}

	t.Run("device in use", func(t *testing.T) {
		other := filepath.Join(testkit.ShortTempDir(t), "ctl.sock")
		code, _, errOut := runCLI(t, ^capabilitySet(0), nil, "up", "--netns", ns, "--control", other)
		want := "tunstack: device tunstack0 is in use (another tunstack up, or an existing link of that name): pick another --dev\n"
		if code != exitUsage || errOut != want {
			t.Errorf("second up: exit %d, stderr %q; want %d and %q", code, errOut, exitUsage, want)
		}
	})

	t.Run("dial", func(t *testing.T) {
		ln := testkit.ListenIn(t, ns, "10.77.0.1:0")
		go func() {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			defer conn.Close()
			got, _ := io.ReadAll(conn) // until the stack's FIN
			conn.Write([]byte(strings.ToUpper(string(got))))
		}()
		target := ln.Addr().String()
		code, out, errOut := runCLI(t, 0, strings.NewReader("over a real TUN\n"), "dial", "--control", control, target)
		if code != exitOK || out != "OVER A REAL TUN\n" || errOut != "" {
			t.Errorf("dial %s: exit %d, stdout %q, stderr %q", target, code, out, errOut)
		}
		code, _, errOut = runCLI(t, 0, nil, "dial", "--control", control, "10.77.0.1:1")
		if want := "tunstack: dial 10.77.0.1:1: connection refused\n"; code != exitFailure || errOut != want {
			t.Errorf("dial to a closed port: exit %d, stderr %q; want 1 and %q", code, errOut, want)
		}
	})

	cancel()
	select {
	case code := <-exit:
		if code != exitOK {
			t.Errorf("up exited %d after cancel, want 0:\n%s", code, stderr.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("up did not stop within 5 s of cancel")
	}
	if _, err := os.Stat(control); err == nil {
		t.Error("control socket left behind")
	}
	for _, want := range []string{`msg="device up"`, `msg="connection opened"`, `msg="connection closed"`, `msg="shutting down"`, "msg=stopped"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("logs lack %s:\n%s", want, stderr.String())
		}
	}
}
