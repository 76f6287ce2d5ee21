package tests

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tunstack/tunstack/tests/testkit"
)

// The forwards of these tests, to servers on the kernel's side of the
// device that the test starts (the namespace is the daemon's own, so the
// ports are free).
const (
	httpBackend    = kernelIPv4 + ":8000" // python3 -m http.server
	ncBackend      = kernelIPv4 + ":9000" // nc -l
	halfBackend    = kernelIPv4 + ":9003" // reads to EOF, then answers
	refusedBackend = kernelIPv4 + ":1"    // nobody listens
	silentBackend  = kernelIPv4 + ":9999" // nftables drops what goes there
	resetBackend   = kernelIPv4 + ":9006" // resets
	forwardMiB     = 64
)

// startForwardDaemon runs a daemon with the forwards of these tests.
func startForwardDaemon(t *testing.T) *daemon {
	t.Helper()
	return startDaemon(t,
		"--forward", "8080="+httpBackend,
		"--forward", "["+stackIPv6+"]:9001="+ncBackend,
		"--forward", "9003="+halfBackend,
		"--forward", "9004="+refusedBackend,
		"--forward", "9005="+silentBackend,
		"--forward", "9006="+resetBackend)
}

// randomFile writes n pseudo-random bytes to dir/name and returns their
// sha256.
func randomFile(t *testing.T, dir, name string, n int64) [sha256.Size]byte {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	r := rand.NewChaCha8([32]byte{byte(n), 1})
	if _, err := io.CopyN(io.MultiWriter(f, h), r, n); err != nil {
		t.Fatal(err)
	}
	var sum [sha256.Size]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

func fileSum(t *testing.T, path string) ([sha256.Size]byte, int64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		t.Fatal(err)
	}
	var sum [sha256.Size]byte
	copy(sum[:], h.Sum(nil))
	return sum, n
}

// waitListening waits until something listens on address in ns.
func waitListening(t *testing.T, ns, address string, p *process) {
	t.Helper()
	testkit.WaitFor(t, 20*time.Second, "a server on "+address, func() (bool, string) {
		if p.exited() {
			t.Fatalf("the server for %s exited: %s", address, p.output())
		}
		out := runIn(t, ns, nil, "ss", "-Htln", "src", address)
		return strings.TrimSpace(out.stdout) != "", out.stdout
	})
}

// TestForward relays real clients to real servers on the kernel's side:
// 64 MiB down from python's http.server (curl, IPv4) and 64 MiB up to nc
// (nc -N, IPv6), byte-identical; a half-close that travels as one; a
// server that refuses (curl: refused at once) and one that never answers
// (curl: connect time-out, not a connection that opens and closes).
func TestForward(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.RequireCommand(t, "python3", "python3")
	testkit.RequireCommand(t, "nft", "nftables")
	t.Parallel()
	d := startForwardDaemon(t)
	dir := testkit.ShortTempDir(t)

	t.Run("download", func(t *testing.T) {
		want := randomFile(t, dir, "big", forwardMiB<<20)
		name, args := inNamespace(d.ns, "python3", "-m", "http.server", "--bind", kernelIPv4, "--directory", dir, "8000")
		srv := startProcess(t, nil, name, args...)
		waitListening(t, d.ns, httpBackend, srv)
		out := filepath.Join(dir, "down")
		start := time.Now()
		r := runIn(t, d.ns, nil, "curl", "-sS", "--max-time", "25", "-o", out, "http://"+stackIPv4+":8080/big")
		if r.err != nil {
			t.Fatalf("curl through the forward: %v", r)
		}
		got, n := fileSum(t, out)
		if got != want {
			t.Fatalf("downloaded %d bytes with sha256 %x, want %d bytes with %x", n, got, forwardMiB<<20, want)
		}
		t.Logf("%d MiB down through the forward, byte-identical, in %v", forwardMiB, time.Since(start).Round(time.Millisecond))
	})

	t.Run("upload", func(t *testing.T) {
		uploadThrough(t, "the forward", forwardMiB, dir, d.ns, ncBackend, d.ns, stackIPv6, "9001")
	})

	t.Run("half-close", func(t *testing.T) {
		// The server answers only after the client's FIN: the FIN must
		// reach it as a FIN while its answer can still come back.
		ln := testkit.ListenIn(t, d.ns, halfBackend)
		go answerAfterFIN(ln)
		r := runIn(t, d.ns, []byte("hello, server"), "nc", "-N", stackIPv4, "9003")
		if r.err != nil || r.stdout != "13 bytes\n" {
			t.Fatalf("nc -N: want the answer \"13 bytes\" after its FIN: %v", r)
		}
	})

	t.Run("reset", func(t *testing.T) {
		// The server resets after the request: curl reads a reset.
		ln := testkit.ListenIn(t, d.ns, resetBackend)
		serverSaw := make(chan error, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Read(make([]byte, 4096))
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
			// The second connection: the client resets, the server must
			// read a reset, not an end of file.
			c, err = ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			_, err = io.Copy(io.Discard, c)
			serverSaw <- err
		}()
		r := runIn(t, d.ns, nil, "curl", "-sS", "--max-time", "10", "http://"+stackIPv4+":9006/")
		if r.exitCode != 56 || !strings.Contains(r.stderr, "reset") {
			t.Errorf("curl to a server that resets: want exit 56, reset by peer: %v", r)
		}
		c := testkit.DialIn(t, d.ns, stackIPv4+":9006", 5*time.Second)
		c.Write([]byte("hello"))
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
		select {
		case err := <-serverSaw:
			if !errors.Is(err, syscall.ECONNRESET) {
				t.Errorf("the server read %v after the client's reset, want ECONNRESET", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("the server saw nothing of the client's reset")
		}
	})

	t.Run("refused", func(t *testing.T) {
		r := runIn(t, d.ns, nil, "curl", "-sS", "-v", "--max-time", "10", "http://"+stackIPv4+":9004/")
		if r.exitCode != 7 || !strings.Contains(r.stderr, "Connection refused") {
			t.Errorf("curl to a forward whose server refuses: want exit 7, connection refused: %v", r)
		}
		if r.elapsed > 3*time.Second {
			t.Errorf("curl took %v to be refused, want well under 3s (a RST to its SYN)", r.elapsed)
		}
	})

	t.Run("silent", func(t *testing.T) {
		rules := "table inet silent {\n\tchain out {\n\t\ttype filter hook output priority 0;\n\t\tip daddr " + kernelIPv4 + " tcp dport 9999 counter drop\n\t}\n}\n"
		if r := runIn(t, d.ns, []byte(rules), "nft", "-f", "-"); r.err != nil {
			t.Fatalf("nft: %v", r)
		}
		const connectTimeout = 3
		r := runIn(t, d.ns, nil, "curl", "-sS", "-v", "--connect-timeout", fmt.Sprint(connectTimeout), "http://"+stackIPv4+":9005/")
		if r.exitCode != 28 || strings.Contains(r.stderr, "Connected to") {
			t.Errorf("curl to a forward whose server never answers: want exit 28 before connecting: %v", r)
		}
		if r.elapsed < connectTimeout*time.Second*9/10 {
			t.Errorf("curl gave up after %v, want its --connect-timeout of %ds", r.elapsed, connectTimeout)
		}
	})
}

// uploadThrough sends mib MiB of random bytes with `nc -N` from
// clientNS to dst:port, and checks by sha256 that the `nc -l` that
// serverNS runs on listen received them all and ended with the client's
// FIN. via names the path in messages ("the forward", "the gateway").
func uploadThrough(t *testing.T, via string, mib int, dir, serverNS, listen, clientNS, dst, port string) {
	t.Helper()
	want := randomFile(t, dir, "up", int64(mib)<<20)
	got := filepath.Join(dir, "received")
	host, lport, err := net.SplitHostPort(listen)
	if err != nil {
		t.Fatal(err)
	}
	srv := startProcess(t, nil, "ip", "netns", "exec", serverNS, "sh", "-c", "exec nc -l "+host+" "+lport+" > "+got)
	waitListening(t, serverNS, listen, srv)
	in, err := os.Open(filepath.Join(dir, "up"))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	name, args := inNamespace(clientNS, "nc", "-N", dst, port)
	cmd := exec.CommandContext(t.Context(), name, args...)
	cmd.Stdin = in
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nc -N through %s: %v: %s", via, err, out)
	}
	if !srv.wait(10 * time.Second) {
		t.Fatal("the server's nc -l did not end after the client's FIN")
	}
	if sum, n := fileSum(t, got); sum != want {
		t.Fatalf("the server received %d bytes with sha256 %x, want %d bytes with %x", n, sum, mib<<20, want)
	}
	t.Logf("%d MiB up through %s to %s, byte-identical, in %v", mib, via, dst, time.Since(start).Round(time.Millisecond))
}
