package toxiapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/forward"
	"github.com/tunstack/tunstack/stack/fault"
)

// fakeBackend records forwards; its faults are a real set.
type fakeBackend struct {
	forwards map[uint16]forward.Spec
	faults   fault.Set
}

func (b *fakeBackend) AddForward(spec forward.Spec) error {
	if _, ok := b.forwards[spec.Port]; ok {
		return errors.New("port in use")
	}
	b.forwards[spec.Port] = spec
	return nil
}

func (b *fakeBackend) RemoveForward(port uint16) error { delete(b.forwards, port); return nil }
func (b *fakeBackend) Faults() *fault.Set              { return &b.faults }

func call(t *testing.T, h http.Handler, method, path, body string) (int, map[string]any) {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, path, bytes.NewBufferString(body)))
	var out map[string]any
	json.Unmarshal(w.Body.Bytes(), &out)
	return w.Code, out
}

func TestProxiesAndToxics(t *testing.T) {
	b := &fakeBackend{forwards: map[uint16]forward.Spec{}}
	api := New(b, slog.New(slog.DiscardHandler))
	if code, out := call(t, api, "POST", "/proxies", `{"name":"db","listen":"0.0.0.0:5432","upstream":"10.77.0.1:5433"}`); code != 201 || out["listen"] != ":5432" || out["enabled"] != true {
		t.Fatalf("create: %d %v", code, out)
	}
	if _, ok := b.forwards[5432]; !ok {
		t.Fatalf("no forward on 5432: %v", b.forwards)
	}
	if code, _ := call(t, api, "POST", "/proxies", `{"name":"db","listen":":5440","upstream":"10.77.0.1:5433"}`); code != 409 {
		t.Errorf("a second db: %d, want 409", code)
	}
	code, out := call(t, api, "POST", "/proxies/db/toxics", `{"name":"cut","type":"slicer","toxicity":0.5,"attributes":{"average_size":100,"size_variation":10,"delay":2000}}`)
	if code != 200 || out["stream"] != "downstream" {
		t.Fatalf("add slicer: %d %v", code, out)
	}
	list := b.faults.List()
	want := fault.Attrs{Size: 100, Vary: 10, Delay: 2 * time.Millisecond}
	if len(list) != 1 || list[0].Attrs != want || list[0].Port != 5432 || list[0].Toxicity != 0.5 || list[0].Name != "toxiproxy:db/cut" {
		t.Fatalf("faults %+v, want slicer 100±10 every 2ms on 5432", list)
	}
	if code, out := call(t, api, "POST", "/proxies/db/toxics/cut", `{"attributes":{"average_size":200}}`); code != 200 || out["attributes"].(map[string]any)["size_variation"] != float64(10) {
		t.Fatalf("update: %d %v", code, out)
	}
	if got := b.faults.List()[0].Attrs.Size; got != 200 {
		t.Errorf("after update: size %d, want 200", got)
	}
	if code, out := call(t, api, "POST", "/proxies/db/toxics", `{"type":"latency","attributes":{"latency":"soon"}}`); code != 400 || out["status"] != float64(400) {
		t.Errorf("a bad attribute: %d %v, want 400 with the status", code, out)
	}
	if code, _ := call(t, api, "DELETE", "/proxies/db/toxics/cut", ""); code != 204 || len(b.faults.List()) != 0 {
		t.Errorf("remove: %d, faults %v", code, b.faults.List())
	}
	if code, _ := call(t, api, "POST", "/proxies/db", `{"enabled":false}`); code != 200 || len(b.forwards) != 0 {
		t.Errorf("disable: %d, forwards %v", code, b.forwards)
	}
	if code, _ := call(t, api, "POST", "/reset", ""); code != 204 || len(b.forwards) != 1 {
		t.Errorf("reset: %d, forwards %v", code, b.forwards)
	}
	if code, _ := call(t, api, "DELETE", "/proxies/db", ""); code != 204 || len(b.forwards) != 0 {
		t.Errorf("delete: %d, forwards %v", code, b.forwards)
	}
	if code, _ := call(t, api, "GET", "/proxies/db", ""); code != 404 {
		t.Errorf("a deleted proxy: %d, want 404", code)
	}
}
