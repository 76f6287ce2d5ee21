package stack

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestServeHTTPShowsTheConnection(t *testing.T) {
	client, srv := startPair(t)
	ln := listen(t, srv, ":80")
	served := make(chan error, 1)
	go func() { served <- ServeHTTP(ln) }()

	var dials int
	httpClient := &http.Client{
		Timeout: testTimeout,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, address string) (net.Conn, error) {
				dials++
				return client.DialContext(ctx, network, address)
			},
		},
	}
	defer httpClient.CloseIdleConnections()
	for i := range 2 {
		resp, err := httpClient.Get("http://10.77.0.2/")
		if err != nil {
			t.Fatalf("GET %d: %v", i, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("reading the body: %v", err)
		}
		for _, want := range []string{"tunstack", "10.77.0.2:80", "10.77.0.1:", "LISTEN -> SYN-RECEIVED -> ESTABLISHED"} {
			if !strings.Contains(string(body), want) {
				t.Errorf("page lacks %q:\n%s", want, body)
			}
		}
	}
	if dials != 1 {
		t.Errorf("%d connections for two requests, want 1 (keep-alive)", dials)
	}
	ln.Close()
	if err := <-served; err != nil {
		t.Errorf("ServeHTTP after the listener closed = %v, want nil", err)
	}
}

func TestServeDiscard(t *testing.T) {
	client, srv := startPair(t)
	ln := listen(t, srv, ":9")
	go ServeDiscard(ln)
	c := dial(t, client, "10.77.0.2:9")
	if _, err := io.Copy(c, bytes.NewReader(randomBytes(200<<10))); err != nil {
		t.Fatalf("writing: %v", err)
	}
	c.CloseWrite()
	c.SetReadDeadline(time.Now().Add(testTimeout))
	n, err := c.Read(make([]byte, 10))
	if n != 0 || err != io.EOF {
		t.Fatalf("Read = %d, %v; want the server's FIN and nothing else", n, err)
	}
}
