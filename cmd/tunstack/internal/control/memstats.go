package control

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/tunstack/tunstack/stack/tcp"
)

// Memstats is the answer to OpMemstats, what the daemon's memory holds
// after a garbage collection:
//
//	{"op":"memstats"}
//	{"ok":true,"heap_inuse":...,"stack_inuse":...,"rss":...,"held":...,"states":{"TIME-WAIT":...}}
//
// The bench divides the difference between two of these by the number of
// connections opened in between.
type Memstats struct {
	OK    bool   `json:"ok,omitempty"`
	Error string `json:"error,omitempty"`
	// HeapInuse and StackInuse are runtime.MemStats' fields after
	// runtime.GC(): the live heap with its span overhead, and goroutine
	// stacks.
	HeapInuse  uint64 `json:"heap_inuse"`
	StackInuse uint64 `json:"stack_inuse"`
	// RSS is the resident set of the daemon's process, from /proc.
	RSS uint64 `json:"rss"`
	// Goroutines is runtime.NumGoroutine().
	Goroutines int `json:"goroutines"`
	// Held is how many connections the hold service keeps open.
	Held int64 `json:"held"`
	// States counts the stack's connections by state (Counters().States).
	States map[string]int `json:"states,omitempty"`
}

// GoMemory is the figure the bench divides: heap and stacks in use.
func (m Memstats) GoMemory() uint64 { return m.HeapInuse + m.StackInuse }

// StateCount is how many connections the reply counts in st.
func (m Memstats) StateCount(st tcp.State) int { return m.States[st.String()] }

// memstats answers OpMemstats. The states and the held connections come
// from a StackBackend; another backend has none.
func (s *Server) memstats(conn net.Conn) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	reply := Memstats{
		OK:         true,
		HeapInuse:  ms.HeapInuse,
		StackInuse: ms.StackInuse,
		RSS:        selfRSS(),
		Goroutines: runtime.NumGoroutine(),
	}
	if b, ok := s.backend.(StackBackend); ok {
		reply.States = StateCounts(b.Counters().States)
		if b.Held != nil {
			reply.Held = b.Held()
		}
	}
	b, err := json.Marshal(reply)
	if err != nil {
		return
	}
	conn.Write(append(b, '\n'))
}

// selfRSS is this process's resident set in bytes, 0 if unknown.
func selfRSS() uint64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(data))
	if len(fields) < 2 {
		return 0
	}
	pages, err := strconv.ParseUint(fields[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * uint64(os.Getpagesize())
}

// FetchMemstats asks the daemon at path for its memstats.
func FetchMemstats(ctx context.Context, path string) (Memstats, error) {
	var d net.Dialer
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return Memstats{}, fmt.Errorf("control socket %s: %w", path, err)
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		conn.SetDeadline(deadline)
	}
	if _, err := fmt.Fprintf(conn, "{\"op\":%q}\n", OpMemstats); err != nil {
		return Memstats{}, fmt.Errorf("control socket %s: %w", path, err)
	}
	line, err := bufio.NewReader(conn).ReadBytes('\n')
	if err != nil {
		return Memstats{}, fmt.Errorf("control socket %s: memstats: %w", path, err)
	}
	var reply Memstats
	if err := json.Unmarshal(line, &reply); err != nil {
		return Memstats{}, fmt.Errorf("control socket %s: %w: %v", path, ErrProtocol, err)
	}
	if !reply.OK {
		return Memstats{}, &RequestError{reply.Error}
	}
	return reply, nil
}
