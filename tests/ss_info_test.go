package tests

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tunstack/tunstack/tests/testkit"
)

// ssInfoOrder is the order in which iproute2's ss prints the fields of
// its -i line (tcp_stats_print in ss.c); "cc" stands for the congestion
// control's name and "bbr_info" for bbr:(...).
var ssInfoOrder = []string{
	"ts", "sack", "ecn", "ecnseen", "fastopen", "cc", "wscale", "rto", "backoff", "rtt", "ato", "qack", "bidir",
	"mss", "pmtu", "rcvmss", "advmss", "cwnd", "ssthresh", "bytes_sent", "bytes_retrans", "bytes_acked",
	"bytes_received", "segs_out", "segs_in", "data_segs_out", "data_segs_in", "dctcp", "bbr_info", "send",
	"lastsnd", "lastrcv", "lastack", "pacing_rate", "delivery_rate", "delivered", "delivered_ce", "app_limited",
	"busy", "rwnd_limited", "sndbuf_limited", "unacked", "retrans", "lost", "sacked", "dsack_dups", "fackets",
	"reordering", "reord_seen", "rcv_rtt", "rcv_space", "rcv_ssthresh", "notsent", "minrtt", "rcv_ooopack",
	"snd_wnd", "rcv_wnd",
}

// ssInfoFormat is the form of each field's value as ss writes it:
// milliseconds with C's %g, counts, "send 123bps" with -n.
var ssInfoFormat = func() map[string]*regexp.Regexp {
	const (
		count = `\d+`
		ms    = `\d+(\.\d+)?(e\+\d+)?`
	)
	m := map[string]*regexp.Regexp{}
	for k, v := range map[string]string{
		"wscale": count + "," + count, "rto": ms, "backoff": count, "rtt": ms + "/" + ms, "ato": ms, "minrtt": ms, "rcv_rtt": ms,
		"send": count + "bps", "pacing_rate": count + "bps", "delivery_rate": count + "bps", "retrans": `(\d+|\?)/\d+`,
		"busy": count + "ms",
	} {
		m[k] = regexp.MustCompile("^" + v + "$")
	}
	for _, k := range []string{"mss", "pmtu", "rcvmss", "advmss", "cwnd", "ssthresh", "bytes_sent", "bytes_retrans",
		"bytes_acked", "bytes_received", "segs_out", "segs_in", "data_segs_out", "data_segs_in", "lastsnd", "lastrcv",
		"lastack", "delivered", "unacked", "lost", "sacked", "notsent", "rcv_space", "rcv_ssthresh", "snd_wnd", "rcv_wnd"} {
		m[k] = regexp.MustCompile("^" + count + "$")
	}
	return m
}()

// ssNotKept are the fields of ss -i that the engine has no figure for;
// `tunstack ss --help` names them.
var ssNotKept = []string{"ato", "pmtu", "rcvmss", "advmss", "data_segs_out", "data_segs_in", "bytes_retrans",
	"lastsnd", "lastrcv", "lastack", "pacing_rate", "delivery_rate", "delivered", "app_limited", "busy",
	"rcv_space", "rcv_ssthresh", "bbr_info", "ecn", "ecnseen", "fastopen", "reordering", "reord_seen", "rcv_rtt",
	"rcv_ooopack", "dsack_dups", "delivered_ce", "rwnd_limited", "sndbuf_limited"}

// ssEveryConnection are the fields both ends of a connection that has
// carried data both ways print.
var ssEveryConnection = []string{"cc", "wscale", "rto", "rtt", "mss", "cwnd", "bytes_sent",
	"bytes_acked", "bytes_received", "segs_out", "segs_in", "send", "minrtt", "snd_wnd"}

// ssField is one field of an ss -i line.
type ssField struct{ name, value string }

// parseSSInfo splits an ss -i line into its fields: "name:value", a bare
// word ("ts", "cubic" as cc), or a name and a value apart ("send 1bps").
func parseSSInfo(line string) []ssField {
	var fields []ssField
	words := strings.Fields(line)
	for i := 0; i < len(words); i++ {
		w := words[i]
		switch {
		case w == "send" || w == "pacing_rate" || w == "delivery_rate":
			if i+1 < len(words) {
				fields = append(fields, ssField{w, words[i+1]})
				i++
			}
		case strings.HasPrefix(w, "bbr:("):
			fields = append(fields, ssField{"bbr_info", w})
		case strings.Contains(w, ":"):
			name, value, _ := strings.Cut(w, ":")
			fields = append(fields, ssField{name, value})
		case slices.Contains(ssInfoOrder, w):
			fields = append(fields, ssField{w, ""})
		default: // the congestion control: cubic, reno, bbr, ...
			fields = append(fields, ssField{"cc", w})
		}
	}
	return fields
}

// checkSSInfo checks one side's ss -i line: every field one ss knows, in
// ss's order, each value in ss's form.
func checkSSInfo(t *testing.T, who, line string) []string {
	t.Helper()
	var names []string
	last := -1
	for _, f := range parseSSInfo(line) {
		i := slices.Index(ssInfoOrder, f.name)
		switch {
		case i < 0:
			t.Errorf("%s: field %q is not one of ss's: %s", who, f.name, line)
		case i <= last:
			t.Errorf("%s: field %q out of ss's order: %s", who, f.name, line)
		case ssInfoFormat[f.name] != nil && !ssInfoFormat[f.name].MatchString(f.value):
			t.Errorf("%s: %s:%s is not in ss's form %s", who, f.name, f.value, ssInfoFormat[f.name])
		}
		last = max(last, i)
		names = append(names, f.name)
	}
	return names
}

// ssInfoLine finds, in the output of ss -tniH, the -i line below the
// connection whose line has both ends, in that order. (ss leaves the
// State column out when the filter selects one state.)
func ssInfoLine(out, local, peer string) (string, bool) {
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		f := strings.Fields(l)
		if j := slices.Index(f, local); j >= 0 && j+1 < len(f) && f[j+1] == peer && i+1 < len(lines) && strings.HasPrefix(lines[i+1], "\t") {
			return lines[i+1], true
		}
	}
	return "", false
}

// TestSSInfoMatchesKernel: both ends of one connection between the
// kernel and the stack, the kernel's printed by iproute2's `ss -tni` in
// the namespace and the stack's by `tunstack ss -tni`, show the same
// fields in the same order and form; the values differ. The fields the
// kernel shows and the stack does not are exactly those the engine keeps
// no figure for.
func TestSSInfoMatchesKernel(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()
	d := startDaemon(t)
	bin := tunstackBinary(t)

	// nc, the kernel's end, stays connected to the echo service while
	// its input is open; data has gone both ways once the echo is back.
	const clientPort = "45681"
	stdin, feed := pipe(t)
	name, args := inNamespace(d.ns, "nc", "-N", "-p", clientPort, stackIPv4, "7")
	nc := startProcess(t, stdin, name, args...)
	stdin.Close()
	defer feed.Close()
	if _, err := feed.WriteString(strings.Repeat("hello\n", 1000)); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 10*time.Second, "nc's echo", func() (bool, string) {
		return len(nc.stdout.String()) == len("hello\n")*1000, nc.output()
	})

	kernelEnd, stackEnd := kernelIPv4+":"+clientPort, stackIPv4+":7"
	var kernelLine, stackLine string
	testkit.WaitFor(t, 10*time.Second, "both ends in ss -tni with every figure of a connection that carried data", func() (bool, string) {
		k := runIn(t, d.ns, nil, "ss", "-tniH", "state", "established", "sport", "=", ":"+clientPort)
		s := run(t, nil, bin, "ss", "--control", d.control, "-tniH", "state", "established", "dport", "=", ":"+clientPort)
		if k.err != nil || s.err != nil {
			t.Fatalf("ss -tni: kernel %v, tunstack %v", k, s)
		}
		var ok1, ok2 bool
		kernelLine, ok1 = ssInfoLine(k.stdout, kernelEnd, stackEnd)
		stackLine, ok2 = ssInfoLine(s.stdout, stackEnd, kernelEnd)
		have := func(line string) bool {
			names := map[string]bool{}
			for _, f := range parseSSInfo(line) {
				names[f.name] = true
			}
			for _, n := range ssEveryConnection {
				if !names[n] {
					return false
				}
			}
			return true
		}
		return ok1 && ok2 && have(kernelLine) && have(stackLine), "kernel:\n" + k.stdout + "tunstack:\n" + s.stdout
	})
	t.Logf("kernel:   %s\ntunstack: %s", strings.TrimSpace(kernelLine), strings.TrimSpace(stackLine))

	kernelNames := checkSSInfo(t, "kernel", kernelLine)
	stackNames := checkSSInfo(t, "tunstack", stackLine)
	for _, n := range kernelNames {
		if !slices.Contains(stackNames, n) && !slices.Contains(ssNotKept, n) {
			t.Errorf("the kernel's ss shows %s, tunstack ss does not, and the engine is said to keep it", n)
		}
	}
	// The stack may show what the kernel shows only when it is not zero
	// (ssthresh after a loss, unacked data, ...), and rcv_wnd, which
	// iproute2 before 6.3 does not print.
	sometimes := []string{"backoff", "ssthresh", "unacked", "retrans", "lost", "sacked", "notsent", "rcv_wnd"}
	for _, n := range stackNames {
		if !slices.Contains(kernelNames, n) && !slices.Contains(sometimes, n) {
			t.Errorf("tunstack ss shows %s, the kernel's ss does not", n)
		}
	}
}

// TestSSTimeWaitRow: a connection of the stack in TIME-WAIT shows ss -o's
// timer and no ss -i line (it keeps no TCB to report on), as the
// kernel's do.
func TestSSTimeWaitRow(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()
	d := startDaemon(t, "--msl", "5s")
	bin := tunstackBinary(t)
	// The HTTP service closes first: the stack's end waits in TIME-WAIT.
	r := runIn(t, d.ns, []byte("GET / HTTP/1.0\r\nHost: "+stackIPv4+"\r\n\r\n"), "nc", "-w", "10", stackIPv4, "80")
	if r.err != nil || !strings.HasPrefix(r.stdout, "HTTP/1.0 200 OK") {
		t.Fatalf("HTTP request with nc: %v", r)
	}
	var out string
	testkit.WaitFor(t, 5*time.Second, "the HTTP connection in TIME-WAIT", func() (bool, string) {
		s := run(t, nil, bin, "ss", "--control", d.control, "-tnioH", "state", "time-wait")
		out = s.stdout
		return s.err == nil && strings.HasPrefix(out, "TIME-WAIT"), s.String()
	})
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 1 || !regexp.MustCompile(`timer:\(timewait,\d+(sec|\.\d{3}ms),0\)$`).MatchString(lines[0]) {
		t.Errorf("tunstack ss -tnioH state time-wait: want one line with its timer and nothing below:\n%s", out)
	}
}
