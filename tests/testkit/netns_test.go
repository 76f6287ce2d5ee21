package testkit

import (
	"io"
	"strings"
	"testing"
	"time"
)

// TestNamespaceLifecycle: a namespace is made with its loopback up, a
// listener and a connection opened in it talk to each other there, and the
// test's cleanup removes it.
func TestNamespaceLifecycle(t *testing.T) {
	RequireRoot(t)
	t.Parallel()
	var ns string
	t.Run("in the namespace", func(t *testing.T) {
		ns = AddNamespace(t)
		if !NamespaceExists(ns) || !strings.HasPrefix(ns, "tst-") {
			t.Fatalf("namespace %q missing after AddNamespace", ns)
		}
		ln := ListenIn(t, ns, "127.0.0.1:0")
		got := make(chan string, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				got <- err.Error()
				return
			}
			defer c.Close()
			b, _ := io.ReadAll(c)
			got <- string(b)
		}()
		c := DialIn(t, ns, ln.Addr().String(), 5*time.Second)
		io.WriteString(c, "hello")
		c.Close()
		if s := <-got; s != "hello" {
			t.Errorf("the listener in the namespace read %q, want hello", s)
		}
	})
	if NamespaceExists(ns) {
		t.Errorf("namespace %s left after its test's cleanup", ns)
	}
	if err := InNamespace(ns, func() error { return nil }); err == nil {
		t.Error("InNamespace of a removed namespace: no error")
	}
	name := ""
	t.Run("a name for the code under test", func(t *testing.T) {
		name = NamespaceName(t, "tk")
		if err := ip("netns", "add", name); err != nil {
			t.Fatal(err)
		}
	})
	if NamespaceExists(name) {
		t.Errorf("namespace %s that the code under test left is still there after cleanup", name)
	}
}

func TestUniqueNamesDiffer(t *testing.T) {
	a, b := UniqueName("x"), UniqueName("x")
	if a == b || !strings.HasPrefix(a, "x-") {
		t.Errorf("UniqueName gave %q and %q", a, b)
	}
}
