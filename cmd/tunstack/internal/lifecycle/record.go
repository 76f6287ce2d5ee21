package lifecycle

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// DefaultDir holds the records of the daemons that run.
const DefaultDir = "/run/tunstack/daemons"

// Record is what one daemon made that its death could leave behind.
type Record struct {
	PID int `json:"pid"`
	// Start is the process's start time (clock ticks since boot, field
	// 22 of /proc/PID/stat): with PID, it names the process even after
	// the kernel gives the PID to another.
	Start   uint64 `json:"start"`
	Dev     string `json:"dev"`
	NetNS   string `json:"netns,omitempty"`
	Control string `json:"control"`
	// NetNSCreated says the daemon created NetNS; NetNSID identifies it
	// (tundev.NetNSID), so that a namespace of the same name made later
	// by someone else is not taken for it.
	NetNSCreated bool   `json:"netns_created,omitempty"`
	NetNSID      uint64 `json:"netns_id,omitempty"`
}

// Records is a directory of records.
type Records struct{ Dir string }

// key names the record of a device in a namespace, as the default control
// socket is named: NETNS-DEV, or DEV in the caller's namespace.
func key(dev, netns string) string {
	if netns != "" {
		return netns + "-" + dev
	}
	return dev
}

func (rs Records) path(dev, netns string) string {
	return filepath.Join(rs.Dir, key(dev, netns)+".json")
}

// Write stores r, replacing the record of the same device and namespace,
// whole or not at all.
func (rs Records) Write(r Record) error {
	if err := os.MkdirAll(rs.Dir, 0o755); err != nil {
		return fmt.Errorf("recording the daemon: %w", err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	path := rs.path(r.Dev, r.NetNS)
	tmp, err := os.CreateTemp(rs.Dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("recording the daemon: %w", err)
	}
	_, err = tmp.Write(append(b, '\n'))
	err = errors.Join(err, tmp.Close())
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("recording the daemon: %w", err)
	}
	return nil
}

// Remove deletes the record of r's device and namespace if it is r's:
// a record another daemon wrote since stays.
func (rs Records) Remove(r Record) error {
	path := rs.path(r.Dev, r.NetNS)
	current, err := readRecord(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err == nil && (current.PID != r.PID || current.Start != r.Start) {
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// entry is a record as found in the directory.
type entry struct {
	path   string
	record Record
	err    error // the file could not be read or parsed
}

// list reads every record in the directory.
func (rs Records) list() ([]entry, error) {
	files, err := os.ReadDir(rs.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var entries []entry
	for _, f := range files {
		if f.IsDir() || !strings.HasSuffix(f.Name(), ".json") {
			continue
		}
		path := filepath.Join(rs.Dir, f.Name())
		r, err := readRecord(path)
		entries = append(entries, entry{path: path, record: r, err: err})
	}
	return entries, nil
}

func readRecord(path string) (Record, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Record{}, err
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return Record{}, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}
