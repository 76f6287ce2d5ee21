package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/clitest"
	"github.com/tunstack/tunstack/tests/testkit"
	"golang.org/x/sys/unix"
)

// runCLI runs the command line as main does and returns the exit code and
// what it wrote.
func runCLI(t *testing.T, caps capabilitySet, stdin io.Reader, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	var out, errOut bytes.Buffer
	c := newCLI(stdin, &out, &errOut)
	c.capabilities = func() (capabilitySet, error) { return caps, nil }
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code = c.run(ctx, args)
	return code, out.String(), errOut.String()
}

const (
	noCapabilities = capabilitySet(0)
	netAdminOnly   = capabilitySet(1 << unix.CAP_NET_ADMIN)
)

// TestExitCodes runs commands that fail before they touch the system and
// checks the exit code and the one line on stderr.
func TestExitCodes(t *testing.T) {
	missing := filepath.Join(testkit.ShortTempDir(t), "none.sock")
	tests := []struct {
		name     string
		caps     capabilitySet
		args     []string
		wantCode int
		wantErr  string // the whole of stderr's first line
		lines    int    // lines on stderr; 1 unless cobra's hint follows
	}{
		{"not root", noCapabilities, []string{"up"}, exitFailure,
			"tunstack: creating TUN device needs CAP_NET_ADMIN: run as root (sudo tunstack up)", 1},
		{"netns needs SYS_ADMIN", netAdminOnly, []string{"up", "--netns", "lab"}, exitFailure,
			"tunstack: creating a network namespace needs CAP_SYS_ADMIN: run as root (sudo tunstack up)", 1},
		{"demo not root", noCapabilities, []string{"demo"}, exitFailure,
			"tunstack: creating TUN device needs CAP_NET_ADMIN: run as root (sudo tunstack demo)", 1},
		{"demo unknown step", noCapabilities, []string{"demo", "ping", "handshake"}, exitUsage,
			`tunstack: unknown step "handshake" (the steps: kernel-closes-first, stack-closes-first, simultaneous-close, closed-port, retransmission, ping, ping6)`, 1},
		{"bad addr before privileges", noCapabilities, []string{"up", "--addr", "10.77.0.1/33"}, exitUsage,
			`tunstack: --addr "10.77.0.1/33": want an IPv4 address with a prefix length, like 10.77.0.1/24`, 1},
		{"bad ip", noCapabilities, []string{"up", "--ip", "10.77.1.2"}, exitUsage,
			"tunstack: --ip 10.77.1.2 is outside --addr 10.77.0.1/24: the kernel would not route it to the device", 1},
		{"bad serve", noCapabilities, []string{"up", "--serve", "http:80,gopher:70"}, exitUsage,
			`tunstack: --serve "http:80,gopher:70": unknown service "gopher" (known: http, echo, discard, udp-echo, source, oneshot, hold)`, 1},
		{"bad serve port", noCapabilities, []string{"up", "--serve", "http:99999"}, exitUsage,
			`tunstack: --serve "http:99999": bad port "99999" for http (want 1-65535)`, 1},
		{"bad mtu type", noCapabilities, []string{"up", "--mtu", "big"}, exitUsage,
			`tunstack: --mtu "big": want a whole number, like 1500`, 1},
		{"duration without unit", noCapabilities, []string{"up", "--shutdown-grace", "5"}, exitUsage,
			`tunstack: --shutdown-grace "5": want a duration with its unit, like 500ms, 10s or 2m`, 1},
		{"ip twice", noCapabilities, []string{"up", "--ip", "10.77.0.2", "--ip", "10.77.0.3"}, exitUsage,
			`tunstack: --ip given twice ("10.77.0.2", then "10.77.0.3"): give it once`, 1},
		{"dial timeout twice", noCapabilities, []string{"dial", "--timeout", "1s", "--timeout=2s", "10.77.0.1:9"}, exitUsage,
			`tunstack: --timeout given twice ("1s", then "2s"): give it once`, 1},
		{"unknown flag", noCapabilities, []string{"up", "--colour"}, exitUsage,
			"tunstack: unknown flag: --colour", 1},
		{"extra argument", noCapabilities, []string{"up", "now"}, exitUsage,
			"tunstack: tunstack up takes no arguments; got: now", 1},
		{"unknown command", noCapabilities, []string{"upp"}, exitUsage,
			`tunstack: unknown command "upp" for "tunstack"`, 1},
		{"no command", noCapabilities, nil, exitUsage,
			"tunstack: missing command: one of up, dial, ss, trace, demo, bench, cleanup (see 'tunstack --help')", 1},
		{"dial without target", noCapabilities, []string{"dial"}, exitUsage,
			"tunstack: tunstack dial takes one HOST:PORT; got: none", 1},
		{"dial a name", noCapabilities, []string{"dial", "localhost:80"}, exitUsage,
			`tunstack: "localhost:80": "localhost" is not an IP address (the stack does not resolve names)`, 1},
		{"dial bad timeout", noCapabilities, []string{"dial", "--timeout", "0s", "10.77.0.1:9"}, exitUsage,
			"tunstack: --timeout 0s: want more than 0 and at most 5m0s", 1},
		{"dial no daemon", noCapabilities, []string{"dial", "--control", missing, "10.77.0.1:9"}, exitFailure,
			"tunstack: control socket " + missing + ": no tunstack daemon is running there (start one with: sudo tunstack up)", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.caps, strings.NewReader(""), tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d", code, tt.wantCode)
			}
			lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
			if lines[0] != tt.wantErr {
				t.Errorf("stderr:\n got %s\nwant %s", lines[0], tt.wantErr)
			}
			if len(lines) != tt.lines {
				t.Errorf("stderr has %d lines, want %d:\n%s", len(lines), tt.lines, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
		})
	}
}

func TestHelpExitsZero(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"up", "--help"}, {"dial", "-h"}, {"demo", "--help"}} {
		code, stdout, stderr := runCLI(t, noCapabilities, nil, args...)
		if code != exitOK || stderr != "" || !strings.Contains(stdout, "Usage:") {
			t.Errorf("%v: exit %d, stderr %q, stdout %q", args, code, stderr, stdout)
		}
	}
}

// TestDialCommand runs `tunstack dial` against a control socket served by
// a fake stack whose peer answers after reading to EOF: it checks stdin to
// the connection, the half-close, the connection to stdout and exit 0.
func TestDialCommand(t *testing.T) {
	path, _, _ := clitest.StartFakeControl(t, func(conn net.Conn) {
		got, _ := io.ReadAll(conn)
		io.WriteString(conn, strings.ToUpper(string(got)))
	})
	code, stdout, stderr := runCLI(t, noCapabilities, strings.NewReader("hello\nworld\n"), "dial", "--control", path, "10.77.0.1:9000")
	if code != exitOK || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if want := "HELLO\nWORLD\n"; stdout != want {
		t.Errorf("stdout = %q, want %q", stdout, want)
	}
}

func TestDialCommandFailures(t *testing.T) {
	path, _, _ := clitest.StartFakeControl(t, nil)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"10.77.0.1:9"}, "tunstack: dial 10.77.0.1:9: connection refused\n"},
		{[]string{"--timeout", "100ms", "10.77.0.1:10"}, "tunstack: dial 10.77.0.1:10: connection timed out\n"},
		{[]string{"[fd00:77::1]:9"}, "tunstack: dial [fd00:77::1]:9: connection refused\n"},
	} {
		args := append([]string{"dial", "--control", path}, tt.args...)
		code, stdout, stderr := runCLI(t, noCapabilities, strings.NewReader("unsent"), args...)
		if code != exitFailure || stderr != tt.want || stdout != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 1 and %q", tt.args, code, stdout, stderr, tt.want)
		}
	}
}

func TestDialFindsSocketByNamespace(t *testing.T) {
	// Without --control, dial derives the path from --dev and --netns as
	// up does; no daemon runs there, so the message names the path.
	code, _, stderr := runCLI(t, noCapabilities, nil, "dial", "--netns", "tunstack-test-none", "--dev", "t9", "10.77.0.1:9")
	want := "tunstack: control socket /run/tunstack/tunstack-test-none-t9.sock: no tunstack daemon is running there (start one with: sudo tunstack up)\n"
	if code != exitFailure || stderr != want {
		t.Errorf("exit %d, stderr %q; want 1 and %q", code, stderr, want)
	}
}

// TestDemoList names the steps without privileges or a namespace.
func TestDemoList(t *testing.T) {
	code, stdout, stderr := runCLI(t, noCapabilities, nil, "demo", "--list")
	if code != exitOK || stderr != "" {
		t.Fatalf("demo --list: exit %d, stderr %q", code, stderr)
	}
	for _, name := range []string{"kernel-closes-first", "stack-closes-first", "simultaneous-close", "closed-port", "retransmission", "ping6"} {
		if !strings.Contains(stdout, name+" ") {
			t.Errorf("demo --list lacks %s:\n%s", name, stdout)
		}
	}
}

// TestUpImpairBadValueExits2 checks the whole command line: a bad
// --impair is one line on stderr and exit 2, before privileges matter.
func TestUpImpairBadValueExits2(t *testing.T) {
	code, stdout, stderr := runCLI(t, noCapabilities, strings.NewReader(""), "up", "--impair", "loss=2")
	want := `tunstack: --impair "loss=2": loss "2": want a percentage like 2% or 0.5%` + "\n"
	if code != exitUsage || stderr != want || stdout != "" {
		t.Errorf("exit %d, stderr %q, stdout %q; want exit %d, stderr %q", code, stderr, stdout, exitUsage, want)
	}
}
