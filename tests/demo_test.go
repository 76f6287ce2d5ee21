package tests

import (
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tunstack/tunstack/tests/testkit"
)

// The state paths RFC 9293's Figure 5 gives each side of each lesson of
// the demo: the stack's first, then the kernel's.
var demoPaths = map[string][2]string{
	"kernel-closes-first": {
		"LISTEN → SYN-RECEIVED → ESTABLISHED → CLOSE-WAIT → LAST-ACK → CLOSED",
		"CLOSED → SYN-SENT → ESTABLISHED → FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT",
	},
	"stack-closes-first": {
		"CLOSED → SYN-SENT → ESTABLISHED → FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT → CLOSED",
		"LISTEN → SYN-RECEIVED → ESTABLISHED → CLOSE-WAIT → LAST-ACK → CLOSED",
	},
	"simultaneous-close": {
		"LISTEN → SYN-RECEIVED → ESTABLISHED → FIN-WAIT-1 → CLOSING → TIME-WAIT → CLOSED",
		"CLOSED → SYN-SENT → ESTABLISHED → FIN-WAIT-1 → CLOSING → TIME-WAIT",
	},
	"closed-port": {
		"CLOSED → SYN-SENT → CLOSED",
		"CLOSED",
	},
	"retransmission": {
		"CLOSED → SYN-SENT → ESTABLISHED → CLOSE-WAIT → LAST-ACK → CLOSED",
		"LISTEN → SYN-RECEIVED → ESTABLISHED → FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT",
	},
}

// The demo's lines that the tests read.
var (
	demoStep     = regexp.MustCompile(`(?m)^\[(\d+)/(\d+)\] (\S+): `)
	stackStates  = regexp.MustCompile(`(?m)^the stack's states:  (.*)$`)
	kernelStates = regexp.MustCompile(`(?m)^the kernel's states: (.*) \((its own, from sock:inet_sock_set_state|inferred from its segments)\)$`)
	demoInstance = regexp.MustCompile(`trace instance (/sys/kernel/tracing/instances/\S+)\)`)
)

// TestDemo runs `tunstack demo` as a user would on a fresh machine: it
// must exit 0 and take each side of each lesson along the path Figure 5
// gives, the kernel's states read from its tracepoint, not inferred;
// show the RST and the retransmission with their rules; and leave no
// namespace, device or trace instance behind.
func TestDemo(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()
	namespacesBefore := demoNamespaces(t)
	linksBefore := hostLinks(t)

	r := run(t, nil, tunstackBinary(t), "demo")
	if r.err != nil {
		t.Fatalf("tunstack demo: %v", r)
	}
	t.Logf("tunstack demo took %v", r.elapsed.Round(time.Millisecond))
	steps := demoSteps(t, r.stdout)
	var names []string
	for _, s := range steps {
		names = append(names, s.name)
	}
	if want := []string{"kernel-closes-first", "stack-closes-first", "simultaneous-close", "closed-port", "retransmission", "ping", "ping6"}; !slices.Equal(names, want) {
		t.Errorf("steps %v, want %v", names, want)
	}
	for _, s := range steps {
		checkDemoStep(t, s)
	}
	if strings.Contains(r.stdout, "~") {
		t.Errorf("a state is inferred (~): the kernel's states must come from its tracepoint:\n%s", r.stdout)
	}
	for _, want := range []string{
		// The lessons' rules, each with its RFC.
		"RFC 9293 §3.10.1: active OPEN: send SYN, enter SYN-SENT",
		"RFC 9293 §3.10.4: CLOSE: queue FIN after pending data",
		"RFC 9293 §3.10.7.4: our FIN is acknowledged: enter FIN-WAIT-2",
		"RFC 9293 §3.10.7.4: FIN in FIN-WAIT-2: send ACK, enter TIME-WAIT, start 2MSL",
		"RFC 9293 §3.10.8: 2MSL expired in TIME-WAIT: delete TCB",
		"RFC 9293 §3.10.7.4: FIN in FIN-WAIT-1 before our FIN is acknowledged: simultaneous close, enter CLOSING",
		"RFC 9293 §3.10.7.4: ACK of our FIN in CLOSING: enter TIME-WAIT",
		"RFC 9293 §3.10.7.4: FIN: send ACK, enter CLOSE-WAIT",
		"RFC 9293 §3.10.7.4: ACK of our FIN in LAST-ACK: delete TCB",
		"<-- RST-ACK seq=0 ack=x+1",
		"RFC 9293 §3.10.7.3: RST with acceptable ACK in SYN-SENT: connection refused",
		"lost: the demo's link dropped this SYN on purpose",
		"RFC 6298 §5: retransmission timer expired: resend SYN, back off",
		"tunstack ss now: SYN-SENT, RTO 1s",
		"held by the demo's link until the kernel's FIN had left the kernel",
		"the record is gone: tunstack ss no longer lists",
		"2 packets transmitted, 2 received",
		"demo done: 7 of 7 steps passed",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	// The retransmission timer runs for the initial RTO of 1 s (RFC 6298
	// §2.1) from the moment the SYN left.
	if m := regexp.MustCompile(`the SYN went again ([\d.]+) ms after the first`).FindStringSubmatch(r.stdout); m == nil {
		t.Error("the demo does not say when the SYN went again")
	} else if ms, err := strconv.ParseFloat(m[1], 64); err != nil || ms < 1000 {
		t.Errorf("the SYN went again %s ms after the first, want after the RTO of 1 s", m[1])
	}
	checkDemoCleanup(t, r.stdout, namespacesBefore, linksBefore)
	if t.Failed() {
		t.Logf("demo output:\n%s", r.stdout)
	}
}

// TestDemoOneStep runs one lesson by name, and lists them all.
func TestDemoOneStep(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()
	list := run(t, nil, tunstackBinary(t), "demo", "--list")
	if list.err != nil || !strings.Contains(list.stdout, "simultaneous-close ") {
		t.Fatalf("tunstack demo --list: %v", list)
	}
	r := run(t, nil, tunstackBinary(t), "demo", "simultaneous-close")
	if r.err != nil {
		t.Fatalf("tunstack demo simultaneous-close: %v", r)
	}
	steps := demoSteps(t, r.stdout)
	if len(steps) != 1 || steps[0].name != "simultaneous-close" || steps[0].of != "1" {
		t.Fatalf("ran %+v, want simultaneous-close alone:\n%s", steps, r.stdout)
	}
	checkDemoStep(t, steps[0])
	checkDemoCleanup(t, r.stdout, nil, nil)
}

// TestDemoInterrupted stops the demo halfway with SIGINT, as Ctrl-C does:
// it fails with one line and removes what it made.
func TestDemoInterrupted(t *testing.T) {
	testkit.RequireRoot(t)
	t.Parallel()
	p := startProcess(t, nil, tunstackBinary(t), "demo")
	testkit.WaitFor(t, 20*time.Second, "the demo's second step", func() (bool, string) {
		return strings.Contains(p.stdout.String(), "[2/"), p.stdout.String()
	})
	p.cmd.Process.Signal(syscall.SIGINT)
	if !p.wait(10 * time.Second) {
		t.Fatalf("demo did not stop within 10 s of SIGINT:\n%s", p.output())
	}
	want := "tunstack: demo interrupted: daemon, device and namespace removed\n"
	if p.exitCode() != 1 || p.stderr.String() != want {
		t.Errorf("interrupted demo: exit %d, stderr %q; want 1 and %q", p.exitCode(), p.stderr.String(), want)
	}
	checkDemoCleanup(t, p.stdout.String(), nil, nil)
}

// stepReport is what the demo printed for one step.
type stepReport struct {
	name, of string
	text     string
}

// demoSteps cuts the demo's output into its steps.
func demoSteps(t *testing.T, out string) []stepReport {
	t.Helper()
	var steps []stepReport
	locs := demoStep.FindAllStringSubmatchIndex(out, -1)
	for i, loc := range locs {
		end := len(out)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		steps = append(steps, stepReport{name: out[loc[6]:loc[7]], of: out[loc[4]:loc[5]], text: out[loc[0]:end]})
	}
	return steps
}

// checkDemoStep checks that a lesson passed and that each side's states,
// the kernel's its own, went the way Figure 5 has it.
func checkDemoStep(t *testing.T, s stepReport) {
	t.Helper()
	if strings.Contains(s.text, "FAILED") {
		t.Errorf("step %s failed:\n%s", s.name, s.text)
	}
	want, lesson := demoPaths[s.name]
	if !lesson {
		return
	}
	stack, kernel := stackStates.FindAllStringSubmatch(s.text, -1), kernelStates.FindAllStringSubmatch(s.text, -1)
	if len(stack) != 1 || len(kernel) != 1 {
		t.Errorf("step %s: %d stack and %d kernel state paths, want one each:\n%s", s.name, len(stack), len(kernel), s.text)
		return
	}
	if stack[0][1] != want[0] {
		t.Errorf("step %s: the stack went %s, want %s", s.name, stack[0][1], want[0])
	}
	if kernel[0][2] != "its own, from sock:inet_sock_set_state" {
		t.Errorf("step %s: the kernel's states are %s, not read from its tracepoint", s.name, kernel[0][2])
	}
	if kernel[0][1] != want[1] {
		t.Errorf("step %s: the kernel went %s, want %s", s.name, kernel[0][1], want[1])
	}
}

// checkDemoCleanup checks that the demo removed its namespace, its trace
// instance and, given what there was before, every namespace and device it
// made.
func checkDemoCleanup(t *testing.T, out string, namespacesBefore, linksBefore []string) {
	t.Helper()
	// The demo names its namespace; check that one, so that a demo run at
	// the same time cannot fail this test.
	if m := demoNamespace.FindStringSubmatch(out); m == nil {
		t.Errorf("the demo does not name its namespace:\n%s", out)
	} else if testkit.NamespaceExists(m[1]) {
		t.Errorf("demo left its namespace %s behind", m[1])
	}
	if m := demoInstance.FindStringSubmatch(out); m == nil {
		t.Errorf("the demo does not name its trace instance:\n%s", out)
	} else if _, err := os.Stat(m[1]); err == nil {
		t.Errorf("demo left its trace instance %s behind", m[1])
	}
	if namespacesBefore != nil {
		for _, ns := range added(namespacesBefore, demoNamespaces(t)) {
			if strings.Contains(out, ns) {
				t.Errorf("demo left namespace %s behind", ns)
			}
		}
	}
	if linksBefore != nil {
		if extra := added(linksBefore, hostLinks(t)); len(extra) > 0 {
			t.Errorf("demo left devices behind: %v", extra)
		}
	}
}

// demoNamespace finds the namespace the demo says it uses.
var demoNamespace = regexp.MustCompile(`namespace (tunstack-demo[^\s,]*)`)

// demoNamespaces lists the namespaces whose names start with tunstack-demo.
func demoNamespaces(t *testing.T) []string {
	t.Helper()
	var names []string
	for line := range strings.Lines(mustRun(t, "ip", "netns", "list")) {
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], "tunstack-demo") {
			names = append(names, f[0])
		}
	}
	return names
}

// hostLinks lists the device names in the host's own namespace.
func hostLinks(t *testing.T) []string {
	t.Helper()
	var names []string
	for line := range strings.Lines(mustRun(t, "ip", "-o", "link", "show")) {
		// "2: eth0@if5: <...": the name is the second field without ":" and "@...".
		if f := strings.Fields(line); len(f) > 1 {
			name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
			names = append(names, name)
		}
	}
	return names
}

// added returns the entries of after that are not in before.
func added(before, after []string) []string {
	var extra []string
	for _, s := range after {
		if !slices.Contains(before, s) {
			extra = append(extra, s)
		}
	}
	return extra
}
