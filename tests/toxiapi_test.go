package tests

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2/client"
	"github.com/tunstack/tunstack/tests/testkit"
)

// TestToxiproxyClient drives the daemon's --api with Toxiproxy's own Go
// client, unchanged: a proxy to python's http.server on the kernel's
// side, a latency toxic measured on requests, tunstack's drop_syn under
// its own name, their removal, a disabled proxy, /reset.
//
// It is not parallel: it points net/http's default transport, which the
// client uses, into the daemon's namespace while it runs.
func TestToxiproxyClient(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.RequireCommand(t, "python3", "python3")
	d := startDaemon(t, "--api", kernelIPv4+":8474")
	dir := testkit.ShortTempDir(t)
	if err := os.WriteFile(filepath.Join(dir, "page"), []byte("hello through a proxy\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	name, args := inNamespace(d.ns, "python3", "-m", "http.server", "--bind", kernelIPv4, "--directory", dir, "8000")
	waitListening(t, d.ns, httpBackend, startProcess(t, nil, name, args...))

	saved := http.DefaultTransport
	http.DefaultTransport = &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		err := testkit.InNamespace(d.ns, func() (err error) {
			var dialer net.Dialer
			c, err = dialer.DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}}
	t.Cleanup(func() { http.DefaultTransport = saved })

	client := toxiproxy.NewClient(kernelIPv4 + ":8474")
	proxy, err := client.CreateProxy("web", stackIPv4+":8080", httpBackend)
	if err != nil {
		t.Fatalf("CreateProxy: %v", err)
	}
	get := func() result {
		t.Helper()
		r := runIn(t, d.ns, nil, "curl", "-sS", "--max-time", "10", "http://"+stackIPv4+":8080/page")
		if r.err != nil || r.stdout != "hello through a proxy\n" {
			t.Fatalf("curl through the proxy: %v", r)
		}
		return r
	}
	base := get().elapsed

	if _, err := proxy.AddToxic("lag", "latency", "downstream", 1, toxiproxy.Attributes{"latency": 300}); err != nil {
		t.Fatalf("AddToxic latency: %v", err)
	}
	// The SYN-ACK and the answer are each held 300 ms.
	if got := get().elapsed; got < 550*time.Millisecond {
		t.Errorf("with latency 300 ms: the request took %v (%v without)", got, base)
	}
	if _, err := proxy.AddToxic("", "drop_syn", "", 1, toxiproxy.Attributes{"count": 1}); err != nil {
		t.Fatalf("AddToxic drop_syn: %v", err)
	}
	// One SYN lost: the kernel's retransmission a second later gets in.
	if got := get().elapsed; got < 1300*time.Millisecond {
		t.Errorf("with latency and drop_syn: the request took %v, want a SYN retransmission and the latency", got)
	}
	toxics, err := proxy.Toxics()
	if err != nil || len(toxics) != 2 || toxics[1].Name != "drop_syn_downstream" {
		t.Errorf("Toxics = %+v, %v", toxics, err)
	}
	for _, name := range []string{"lag", "drop_syn_downstream"} {
		if err := proxy.RemoveToxic(name); err != nil {
			t.Fatalf("RemoveToxic %s: %v", name, err)
		}
	}
	if got := get().elapsed; got > 1300*time.Millisecond {
		t.Errorf("toxics removed: the request took %v", got)
	}
	if out := d.cli(t, "fault", "list"); out != "" {
		t.Errorf("faults left after the toxics went: %q", out)
	}

	// Disabled, the port is closed; /reset enables it and drops toxics.
	if _, err := proxy.AddToxic("lag", "latency", "downstream", 1, toxiproxy.Attributes{"latency": 300}); err != nil {
		t.Fatal(err)
	}
	if err := proxy.Disable(); err != nil {
		t.Fatalf("Disable: %v", err)
	}
	if r := runIn(t, d.ns, nil, "curl", "-sS", "--max-time", "5", "http://"+stackIPv4+":8080/page"); r.exitCode != 7 {
		t.Errorf("curl to a disabled proxy: want exit 7: %v", r)
	}
	if err := client.ResetState(); err != nil {
		t.Fatalf("ResetState: %v", err)
	}
	proxies, err := client.Proxies()
	if err != nil || len(proxies) != 1 || !proxies["web"].Enabled || len(proxies["web"].ActiveToxics) != 0 {
		t.Errorf("after /reset: %+v, %v; want web enabled without toxics", proxies, err)
	}
	get()

	// Bad input is refused and changes nothing.
	if _, err := client.CreateProxy("bad", stackIPv4+":8081", "nowhere"); err == nil || !strings.Contains(err.Error(), "HOST:PORT") {
		t.Errorf("a proxy with a bad upstream: %v", err)
	}
	if _, err := proxy.AddToxic("x", "nonsense", "", 1, nil); err == nil || !strings.Contains(err.Error(), "unknown fault type") {
		t.Errorf("an unknown toxic: %v", err)
	}
	if _, err := client.CreateProxy("web", stackIPv4+":8082", httpBackend); err == nil || !strings.Contains(err.Error(), "409") {
		t.Errorf("a second proxy named web: %v", err)
	}
	if proxies, _ := client.Proxies(); len(proxies) != 1 {
		t.Errorf("proxies after bad input: %v", proxies)
	}
	if err := proxy.Delete(); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if r := runIn(t, d.ns, nil, "curl", "-sS", "--max-time", "5", "http://"+stackIPv4+":8080/page"); r.exitCode != 7 {
		t.Errorf("curl to a deleted proxy: want exit 7: %v", r)
	}
}

// cli runs a tunstack command against the daemon and returns its output.
func (d *daemon) cli(t *testing.T, args ...string) string {
	t.Helper()
	r := run(t, nil, tunstackBinary(t), append(args, "--control", d.control)...)
	if r.err != nil {
		t.Fatalf("tunstack %s: %v", strings.Join(args, " "), r)
	}
	return r.stdout
}
