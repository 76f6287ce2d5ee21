package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Bench daemon budgets.
const (
	benchStartTimeout = 15 * time.Second
	benchStopTimeout  = 30 * time.Second // gVisor tears 100,000 endpoints down one by one
)

// benchDaemon is one `tunstack up` the bench started in its namespace.
type benchDaemon struct {
	engine  string
	control string
	cmd     *exec.Cmd
	stderr  bytes.Buffer
	done    chan struct{} // closed when the process has exited
}

// daemonSpec is how the bench starts a daemon.
type daemonSpec struct {
	engine  string
	serve   string
	msl     time.Duration
	profile string   // CPU profile file, "" for none
	extra   []string // more flags of up (--forward)
	// via is the namespace the daemon itself runs in (ip netns exec),
	// "" for the bench's own: a gateway's relayed sockets open there.
	via string
}

// startError: the daemon exited before its control socket answered, as
// it does when its flags refuse a combination; output is what it printed.
type startError struct {
	engine, output string
}

func (e *startError) Error() string {
	return fmt.Sprintf("the %s daemon exited at start: %s", e.engine, e.output)
}

// startBenchDaemon runs self as `up` in netns with spec and waits until
// its control socket answers.
func startBenchDaemon(ctx context.Context, self, netns, dir string, spec daemonSpec) (*benchDaemon, error) {
	control := filepath.Join(dir, spec.engine+".sock")
	args := []string{"up", "--netns", netns, "--control", control, "--engine", spec.engine,
		"--serve", spec.serve, "--log-level", "warn"}
	if spec.msl > 0 {
		args = append(args, "--msl", spec.msl.String())
	}
	if spec.profile != "" {
		args = append(args, "--cpuprofile", spec.profile)
	}
	args = append(args, spec.extra...)
	d := &benchDaemon{engine: spec.engine, control: control, done: make(chan struct{})}
	d.cmd = exec.Command(self, args...)
	if spec.via != "" {
		// ip netns exec execs the daemon in its own place: the process
		// is the daemon, for its signals and its CPU time.
		d.cmd = exec.Command("ip", append([]string{"netns", "exec", spec.via, self}, args...)...)
	}
	d.cmd.Stderr = &d.stderr
	if err := d.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the %s daemon: %w", spec.engine, err)
	}
	go func() {
		d.cmd.Wait()
		close(d.done)
	}()
	deadline := time.Now().Add(benchStartTimeout)
	for {
		conn, err := net.Dial("unix", control)
		if err == nil {
			conn.Close()
			return d, nil
		}
		select {
		case <-d.done:
			return nil, &startError{spec.engine, strings.TrimSpace(d.stderr.String())}
		case <-ctx.Done():
			d.stop()
			return nil, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			d.stop()
			return nil, fmt.Errorf("the %s daemon did not open its control socket within %v", spec.engine, benchStartTimeout)
		}
	}
}

// stop ends the daemon with SIGTERM, or SIGKILL if it does not exit in
// time, and removes its control socket if it was killed.
func (d *benchDaemon) stop() error {
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
		return nil
	case <-time.After(benchStopTimeout):
		d.cmd.Process.Kill()
		<-d.done
		os.Remove(d.control)
		return fmt.Errorf("the %s daemon did not exit within %v of SIGTERM", d.engine, benchStopTimeout)
	}
}

// cpuTime is the daemon's CPU time so far, user and system, from
// /proc/PID/stat.
func (d *benchDaemon) cpuTime() (time.Duration, error) {
	return processCPU(d.cmd.Process.Pid)
}

// clockTick is the unit of /proc's CPU times: USER_HZ, 100 on Linux.
const clockTick = 10 * time.Millisecond

// processCPU reads utime+stime of pid, which count every thread.
func processCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseProcStatCPU(string(data))
}

var errProcStat = errors.New("unexpected /proc/PID/stat format")

// parseProcStatCPU takes utime and stime, fields 14 and 15 of
// /proc/PID/stat, counting after the command name, which may hold spaces
// and parentheses and ends at the last ')'.
func parseProcStatCPU(stat string) (time.Duration, error) {
	end := strings.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, errProcStat
	}
	fields := strings.Fields(stat[end+1:])
	// fields[0] is field 3 (state): utime is field 14, stime 15.
	if len(fields) < 13 {
		return 0, errProcStat
	}
	utime, err1 := strconv.ParseUint(fields[11], 10, 64)
	stime, err2 := strconv.ParseUint(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errProcStat
	}
	return time.Duration(utime+stime) * clockTick, nil
}

// rss is the daemon's resident set in bytes, from /proc/PID/statm.
func (d *benchDaemon) rss() (uint64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/statm", d.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	fields := strings.Fields(string(data))
	if len(fields) < 2 {
		return 0, errProcStat
	}
	pages, err := strconv.ParseUint(fields[1], 10, 64)
	if err != nil {
		return 0, errProcStat
	}
	return pages * uint64(os.Getpagesize()), nil
}

// guardMemory returns a context that ends when the daemon's resident set
// passes limit, and a function that reports whether that happened and
// stops watching.
func (d *benchDaemon) guardMemory(ctx context.Context, limit uint64) (context.Context, func() bool) {
	ctx, cancel := context.WithCancel(ctx)
	tripped := make(chan bool, 1)
	go func() {
		ticker := time.NewTicker(250 * time.Millisecond)
		defer ticker.Stop()
		for {
			select {
			case <-ctx.Done():
				tripped <- false
				return
			case <-ticker.C:
				if rss, err := d.rss(); err == nil && rss > limit {
					cancel()
					tripped <- true
					return
				}
			}
		}
	}()
	return ctx, func() bool {
		cancel()
		return <-tripped
	}
}
