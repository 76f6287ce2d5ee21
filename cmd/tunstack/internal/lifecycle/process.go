package lifecycle

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// procDir is where the kernel shows its processes; a variable for tests.
var procDir = "/proc"

// errZombie: the process has exited and waits for its parent to reap it.
var errZombie = errors.New("process exited")

// startTime reads a process's start time, in clock ticks since boot:
// field 22 of /proc/PID/stat. A zombie (an exited process not yet reaped)
// has closed its descriptors and counts as exited: errZombie.
func startTime(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("%s/%d/stat", procDir, pid))
	if err != nil {
		return 0, err
	}
	return parseStat(string(b))
}

// parseStat reads the state and start time out of /proc/PID/stat, after
// the command name, which is in parentheses and may hold spaces and
// parentheses itself.
func parseStat(stat string) (uint64, error) {
	end := strings.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, errors.New("malformed /proc stat: no command name")
	}
	// After "PID (comm) ": state is field 3, start time field 22.
	fields := strings.Fields(stat[end+1:])
	const stateField, startField = 3 - 3, 22 - 3
	if len(fields) <= startField {
		return 0, errors.New("malformed /proc stat: too few fields")
	}
	if s := fields[stateField]; s == "Z" || s == "X" {
		return 0, errZombie
	}
	return strconv.ParseUint(fields[startField], 10, 64)
}

// Self is the record's identity of the calling process.
func Self() (pid int, start uint64, err error) {
	pid = os.Getpid()
	start, err = startTime(pid)
	return pid, start, err
}

// alive reports whether the daemon of r still runs: a process with its
// PID exists and started when it did.
func alive(r Record) bool {
	start, err := startTime(r.PID)
	if err != nil {
		// Gone, or /proc cannot tell: only a missing or exited process
		// counts as dead, so that nothing is removed on a guess.
		return !errors.Is(err, os.ErrNotExist) && !errors.Is(err, errZombie)
	}
	return start == r.Start
}
