package bench

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// errNoWrk: wrk is not installed; scripts/bench.sh installs it.
var errNoWrk = errors.New("wrk not found (apt-get install wrk, or run scripts/bench.sh)")

// wrkResult is what the bench takes from wrk's report.
type wrkResult struct {
	requestsPerSec float64
	socketErrors   string // wrk's "Socket errors:" line, "" if none
	non2xx         string // wrk's "Non-2xx or 3xx responses:" line, "" if none
}

// runWrk runs wrk in netns against url for d with conns connections and
// the given extra arguments.
func runWrk(ctx context.Context, netns, url string, d time.Duration, conns int, extra ...string) (wrkResult, error) {
	if _, err := exec.LookPath("wrk"); err != nil {
		return wrkResult{}, errNoWrk
	}
	args := []string{"netns", "exec", netns, "wrk", "-t2", "-c" + strconv.Itoa(conns),
		"-d" + strconv.Itoa(max(1, int(d.Seconds()))) + "s", "--timeout", "5s"}
	args = append(append(args, extra...), url)
	ctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return parseWrk(string(out))
}

var (
	wrkRequestsPerSec = regexp.MustCompile(`(?m)^Requests/sec:\s+([0-9.]+)`)
	wrkSocketErrors   = regexp.MustCompile(`(?m)^\s*Socket errors:\s*(.*)$`)
	wrkNon2xx         = regexp.MustCompile(`(?m)^\s*Non-2xx or 3xx responses:\s*(.*)$`)
)

// parseWrk reads wrk's text report.
func parseWrk(out string) (wrkResult, error) {
	m := wrkRequestsPerSec.FindStringSubmatch(out)
	if m == nil {
		return wrkResult{}, fmt.Errorf("wrk printed no Requests/sec line: %q", out)
	}
	rate, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk's Requests/sec %q: %w", m[1], err)
	}
	r := wrkResult{requestsPerSec: rate}
	if m := wrkSocketErrors.FindStringSubmatch(out); m != nil {
		r.socketErrors = strings.TrimSpace(m[1])
	}
	if m := wrkNon2xx.FindStringSubmatch(out); m != nil {
		r.non2xx = strings.TrimSpace(m[1])
	}
	return r, nil
}
