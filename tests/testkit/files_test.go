package testkit

import (
	"os"
	"testing"
)

func TestBufferIsSafeToReadWhileWritten(t *testing.T) {
	var b Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 1000 {
			b.Write([]byte("x"))
		}
	}()
	for range 100 {
		_ = b.String()
	}
	<-done
	if got := len(b.String()); got != 1000 {
		t.Errorf("%d bytes written, want 1000", got)
	}
}

func TestShortTempDirFitsASocketPath(t *testing.T) {
	var dir string
	t.Run("dir", func(t *testing.T) {
		dir = ShortTempDir(t)
		if len(dir)+len("/ctl.sock") > 107 {
			t.Errorf("%s is too long for a unix socket path", dir)
		}
	})
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("%s left after its test", dir)
	}
}
