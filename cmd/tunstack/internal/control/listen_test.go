package control_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tunstack/tunstack/cmd/tunstack/internal/control"
	"github.com/tunstack/tunstack/tests/testkit"
)

func TestListen(t *testing.T) {
	dir := testkit.ShortTempDir(t)

	t.Run("creates directory and socket owner-only", func(t *testing.T) {
		path := filepath.Join(dir, "sub", "a.sock")
		ln, err := control.Listen(path)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Type() != os.ModeSocket || info.Mode().Perm() != 0o600 {
			t.Errorf("socket mode %v, want a socket with 0600", info.Mode())
		}
	})

	t.Run("refuses a live socket", func(t *testing.T) {
		path := filepath.Join(dir, "live.sock")
		ln, err := control.Listen(path)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		if _, err := control.Listen(path); !errors.Is(err, control.ErrDaemonRunning) {
			t.Errorf("second listen = %v, want control.ErrDaemonRunning", err)
		}
	})

	t.Run("replaces a stale socket", func(t *testing.T) {
		path := filepath.Join(dir, "stale.sock")
		ln, err := control.Listen(path)
		if err != nil {
			t.Fatal(err)
		}
		ln.Close() // the file stays: SetUnlinkOnClose(false)
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("socket file gone after close: %v", err)
		}
		ln, err = control.Listen(path)
		if err != nil {
			t.Fatalf("listen over a stale socket: %v", err)
		}
		ln.Close()
	})

	t.Run("refuses a regular file", func(t *testing.T) {
		path := filepath.Join(dir, "file")
		os.WriteFile(path, nil, 0o644)
		if _, err := control.Listen(path); !errors.Is(err, control.ErrNotSocket) {
			t.Errorf("listen over a file = %v, want control.ErrNotSocket", err)
		}
	})
}
