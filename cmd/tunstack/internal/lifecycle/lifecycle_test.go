package lifecycle

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tunstack/tunstack/tests/testkit"
	"github.com/tunstack/tunstack/tundev"
)

func TestParseStat(t *testing.T) {
	// The command name may hold spaces and parentheses.
	stat := "4242 (tun (stack) up) S 1 4242 4242 0 -1 4194560 1200 0 0 0 10 5 0 0 20 0 9 0 987654 1000000 500 18446744073709551615"
	if start, err := parseStat(stat); err != nil || start != 987654 {
		t.Errorf("parseStat = %d, %v; want 987654", start, err)
	}
	zombie := "4242 (tunstack) Z 1 4242 4242 0 -1 4194560 1200 0 0 0 10 5 0 0 20 0 9 0 987654 0 0 0"
	if _, err := parseStat(zombie); err != errZombie {
		t.Errorf("parseStat of a zombie = %v, want errZombie", err)
	}
	for _, bad := range []string{"", "4242 tunstack S 1", "4242 (tunstack) S 1 2 3"} {
		if _, err := parseStat(bad); err == nil {
			t.Errorf("parseStat(%q) did not fail", bad)
		}
	}
}

// deadProcess is a record's identity of a process that has exited.
func deadProcess(t *testing.T) (int, uint64) {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid, 1
}

func TestAlive(t *testing.T) {
	pid, start, err := Self()
	if err != nil {
		t.Fatal(err)
	}
	if !alive(Record{PID: pid, Start: start}) {
		t.Error("this process is not alive")
	}
	if alive(Record{PID: pid, Start: start + 1}) {
		t.Error("a record of this PID with another start time is alive: a reused PID would keep it")
	}
	deadPID, deadStart := deadProcess(t)
	if alive(Record{PID: deadPID, Start: deadStart}) {
		t.Error("an exited process is alive")
	}
}

// TestRecordsWriteRemove: a record is replaced whole, and Remove leaves
// a record another daemon wrote since.
func TestRecordsWriteRemove(t *testing.T) {
	rs := Records{Dir: filepath.Join(t.TempDir(), "daemons")}
	first := Record{PID: 10, Start: 1, Dev: "tunstack0", NetNS: "lab", Control: "/run/tunstack/lab-tunstack0.sock"}
	if err := rs.Write(first); err != nil {
		t.Fatal(err)
	}
	second := first
	second.PID = 11
	if err := rs.Write(second); err != nil {
		t.Fatal(err)
	}
	entries, err := rs.list()
	if err != nil || len(entries) != 1 || entries[0].record != second {
		t.Fatalf("records %+v, %v; want only the second", entries, err)
	}
	if filepath.Base(entries[0].path) != "lab-tunstack0.json" {
		t.Errorf("record file %s", entries[0].path)
	}
	if err := rs.Remove(first); err != nil {
		t.Fatal(err)
	}
	if entries, _ := rs.list(); len(entries) != 1 {
		t.Error("removing the first daemon's record removed the second's")
	}
	if err := rs.Remove(second); err != nil {
		t.Fatal(err)
	}
	if entries, _ := rs.list(); len(entries) != 0 {
		t.Errorf("records left: %+v", entries)
	}
}

// staleSocket makes a unix socket file that nothing listens on, as a
// killed daemon leaves.
func staleSocket(t *testing.T, path string) {
	t.Helper()
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
}

// TestCleanSockets: Clean removes a dead daemon's socket and record, and
// leaves a live daemon's, a socket something answers on, a file that is
// not a socket, and the records that only does not pick.
func TestCleanSockets(t *testing.T) {
	dir := testkit.ShortTempDir(t)
	rs := Records{Dir: filepath.Join(dir, "daemons")}
	deadPID, deadStart := deadProcess(t)
	livePID, liveStart, _ := Self()

	dead := Record{PID: deadPID, Start: deadStart, Dev: "dead0", Control: filepath.Join(dir, "dead.sock")}
	staleSocket(t, dead.Control)
	live := Record{PID: livePID, Start: liveStart, Dev: "live0", Control: filepath.Join(dir, "live.sock")}
	staleSocket(t, live.Control)
	answering := Record{PID: deadPID, Start: deadStart, Dev: "taken0", Control: filepath.Join(dir, "taken.sock")}
	ln, err := net.Listen("unix", answering.Control)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	notSocket := Record{PID: deadPID, Start: deadStart, Dev: "file0", Control: filepath.Join(dir, "file.sock")}
	os.WriteFile(notSocket.Control, nil, 0o600)
	other := Record{PID: deadPID, Start: deadStart, Dev: "other0", Control: filepath.Join(dir, "other.sock")}
	staleSocket(t, other.Control)
	for _, r := range []Record{dead, live, answering, notSocket, other} {
		if err := rs.Write(r); err != nil {
			t.Fatal(err)
		}
	}

	removed, err := rs.Clean(func(r Record) bool { return r.Dev != "other0" })
	if err != nil {
		t.Fatal(err)
	}
	want := []Removed{{"control socket", dead.Control, deadPID}}
	if !slices.Equal(removed, want) {
		t.Errorf("removed %v, want %v", removed, want)
	}
	for _, path := range []string{live.Control, answering.Control, notSocket.Control, other.Control} {
		if _, err := os.Lstat(path); err != nil {
			t.Errorf("%s was removed", path)
		}
	}
	var left []string
	entries, _ := rs.list()
	for _, e := range entries {
		left = append(left, e.record.Dev)
	}
	slices.Sort(left)
	if want := []string{"live0", "other0"}; !slices.Equal(left, want) {
		t.Errorf("records left for %v, want %v", left, want)
	}
}

// TestCleanNamespaces: Clean removes the namespace a dead daemon
// created, and none that it did not create, that is not the one it
// created, or that a live daemon uses.
func TestCleanNamespaces(t *testing.T) {
	testkit.RequireRoot(t)
	rs := Records{Dir: filepath.Join(t.TempDir(), "daemons")}
	deadPID, deadStart := deadProcess(t)
	livePID, liveStart, _ := Self()
	namespace := func(prefix string) (string, uint64) {
		name := testkit.NamespaceName(t, prefix)
		if err := tundev.CreateNetNS(name); err != nil {
			t.Fatal(err)
		}
		id, err := tundev.NetNSID(name)
		if err != nil {
			t.Fatal(err)
		}
		return name, id
	}
	created, createdID := namespace("lcc")
	users, usersID := namespace("lcu")
	renamed, renamedID := namespace("lcr")
	shared, sharedID := namespace("lcs")
	for _, r := range []Record{
		{PID: deadPID, Start: deadStart, Dev: "a0", NetNS: created, NetNSCreated: true, NetNSID: createdID},
		{PID: deadPID, Start: deadStart, Dev: "b0", NetNS: users, NetNSID: usersID},
		{PID: deadPID, Start: deadStart, Dev: "c0", NetNS: renamed, NetNSCreated: true, NetNSID: renamedID + 1},
		{PID: deadPID, Start: deadStart, Dev: "d0", NetNS: shared, NetNSCreated: true, NetNSID: sharedID},
		{PID: livePID, Start: liveStart, Dev: "e0", NetNS: shared},
	} {
		if err := rs.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	removed, err := rs.Clean(nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []Removed{{"namespace", created, deadPID}}; !slices.Equal(removed, want) {
		t.Errorf("removed %v, want %v", removed, want)
	}
	if testkit.NamespaceExists(created) {
		t.Errorf("namespace %s, created by a dead daemon, is still there", created)
	}
	for _, ns := range []string{users, renamed, shared} {
		if !testkit.NamespaceExists(ns) {
			t.Errorf("namespace %s was removed", ns)
		}
	}
}
