package demo

import (
	"errors"
	"strings"
)

func ping4(s *session) (outcome, error) { return ping(s, "-4", s.setup.StackIP.String()) }
func ping6(s *session) (outcome, error) { return ping(s, "-6", s.setup.StackIP6.String()) }

// ping sends two echo requests, 200 ms apart, and keeps ping's summary.
func ping(s *session, family, addr string) (outcome, error) {
	args := []string{"ping", family, "-c", "2", "-i", "0.2", "-W", "2", addr}
	got, err := runInNamespace(s.ctx, s.setup.NetNS, "", args...)
	lines, checkErr := checkPing(got)
	out := outcome{lines: append([]string{"ip netns exec " + s.setup.NetNS + " " + strings.Join(args, " ")}, lines...)}
	if err == nil {
		err = checkErr
	}
	return out, err
}

// checkPing keeps ping's summary: packets sent and received, round trip times.
func checkPing(stdout string) ([]string, error) {
	var lines []string
	received := false
	for _, line := range strings.Split(stdout, "\n") {
		line = strings.TrimSpace(line)
		if strings.Contains(line, "packets transmitted") {
			lines = append(lines, line)
			received = !strings.Contains(line, " 0 received")
		}
		if strings.HasPrefix(line, "rtt ") || strings.HasPrefix(line, "round-trip") {
			lines = append(lines, line)
		}
	}
	if !received {
		return lines, errors.New("no echo reply")
	}
	return lines, nil
}
