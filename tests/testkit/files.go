package testkit

import (
	"bytes"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"
)

// ShortTempDir is a fresh directory that the test's cleanup removes, with
// a path short enough for a unix socket inside it (108 bytes), which
// t.TempDir's long names may not leave room for.
func ShortTempDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "tk")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// HangWatchdog turns an input of a fuzz target that runs longer than limit
// (a livelock: on a virtual clock nothing takes that long) into a crash
// with every goroutine's stack, which the fuzzer records as a failing
// input. Call the function it returns when the input is done.
func HangWatchdog(limit time.Duration) (stop func()) {
	timer := time.AfterFunc(limit, func() {
		buf := make([]byte, 1<<20)
		panic("the input has run for " + limit.String() + ": a livelock?\n" + string(buf[:runtime.Stack(buf, true)]))
	})
	return func() { timer.Stop() }
}

// Buffer is a bytes.Buffer that one goroutine writes (a command's output,
// a logger) while the test reads it.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
