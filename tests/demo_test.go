package tests

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestDemo runs `tunstack demo` as a user would on a fresh machine: it must
// exit 0, print the handshakes and teardowns with their sequence numbers and
// the states in order, and leave no namespace or device behind.
func TestDemo(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	namespacesBefore := demoNamespaces(t)
	linksBefore := hostLinks(t)

	start := time.Now()
	r := run(t, nil, tunstackBinary(t), "demo")
	if r.err != nil {
		t.Fatalf("tunstack demo: %v", r)
	}
	t.Logf("tunstack demo took %v", time.Since(start).Round(time.Millisecond))
	for _, want := range []*regexp.Regexp{
		// Segments like "SYN  seq=x" and "SYN-ACK  seq=y ack=x+1".
		regexp.MustCompile(`\bSYN\s+seq=\S+`),
		regexp.MustCompile(`\bSYN-ACK\s+seq=\S+ ack=\S+`),
		regexp.MustCompile(`\bFIN(-ACK)?\s+seq=\S+`),
		regexp.MustCompile(`ESTABLISHED`),
		regexp.MustCompile(`TIME-WAIT|LAST-ACK`),
	} {
		if !want.MatchString(r.stdout) {
			t.Errorf("demo output does not match %s:\n%s", want, r.stdout)
		}
	}

	// The demo names its namespace; check that one, so that a demo someone
	// else runs at the same time cannot fail this test. Without a name,
	// any new tunstack-demo namespace counts.
	if m := demoNamespace.FindStringSubmatch(r.stdout); m != nil {
		if namespaceExists(m[1]) {
			t.Errorf("demo left its namespace %s behind", m[1])
		}
	} else if extra := added(namespacesBefore, demoNamespaces(t)); len(extra) > 0 {
		t.Errorf("demo left namespaces behind: %v", extra)
	}
	if extra := added(linksBefore, hostLinks(t)); len(extra) > 0 {
		t.Errorf("demo left devices behind: %v", extra)
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
