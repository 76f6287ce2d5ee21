package demo

import (
	"errors"
	"strings"
	"testing"

	"github.com/tunstack/tunstack/stack/tcp"
)

// figure5 are the edges of RFC 9293's Figure 5, and the way a connection
// that was never opened stays CLOSED.
var figure5 = map[[2]tcp.State]bool{
	{tcp.Closed, tcp.Listen}: true, {tcp.Closed, tcp.SynSent}: true,
	{tcp.Listen, tcp.SynReceived}: true, {tcp.Listen, tcp.SynSent}: true, {tcp.Listen, tcp.Closed}: true,
	{tcp.SynSent, tcp.SynReceived}: true, {tcp.SynSent, tcp.Established}: true, {tcp.SynSent, tcp.Closed}: true,
	{tcp.SynReceived, tcp.Established}: true, {tcp.SynReceived, tcp.FinWait1}: true, {tcp.SynReceived, tcp.Listen}: true,
	{tcp.Established, tcp.FinWait1}: true, {tcp.Established, tcp.CloseWait}: true,
	{tcp.FinWait1, tcp.FinWait2}: true, {tcp.FinWait1, tcp.Closing}: true,
	{tcp.FinWait2, tcp.TimeWait}: true, {tcp.Closing, tcp.TimeWait}: true,
	{tcp.CloseWait, tcp.LastAck}: true, {tcp.LastAck, tcp.Closed}: true, {tcp.TimeWait, tcp.Closed}: true,
}

// TestStepPathsFollowFigure5: every path a step expects is a walk along
// Figure 5's edges, and the steps together take each side through all
// eleven states; the simultaneous close takes both through CLOSING.
func TestStepPathsFollowFigure5(t *testing.T) {
	stackSeen, kernelSeen := map[tcp.State]bool{}, map[tcp.State]bool{}
	for _, st := range steps {
		if st.connections == 0 {
			if st.stackPath != nil || st.kernelPath != nil {
				t.Errorf("%s makes no connection but expects states", st.name)
			}
			continue
		}
		for side, path := range map[string][]tcp.State{"stack": st.stackPath, "kernel": st.kernelPath} {
			for i := 1; i < len(path); i++ {
				if !figure5[[2]tcp.State{path[i-1], path[i]}] {
					t.Errorf("%s: the %s's %v → %v is not an edge of Figure 5", st.name, side, path[i-1], path[i])
				}
			}
		}
		for _, s := range st.stackPath {
			stackSeen[s] = true
		}
		for _, s := range st.kernelPath {
			kernelSeen[s] = true
		}
	}
	for s := tcp.Closed; s <= tcp.TimeWait; s++ {
		if !stackSeen[s] {
			t.Errorf("no step takes the stack through %v", s)
		}
		if !kernelSeen[s] {
			t.Errorf("no step takes the kernel through %v", s)
		}
	}
	sim := steps[stepIndex("simultaneous-close")]
	if !contains(sim.stackPath, tcp.Closing) || !contains(sim.kernelPath, tcp.Closing) {
		t.Errorf("the simultaneous close does not take both sides through CLOSING: %v, %v", sim.stackPath, sim.kernelPath)
	}
}

func contains(path []tcp.State, s tcp.State) bool {
	for _, p := range path {
		if p == s {
			return true
		}
	}
	return false
}

func TestSelectSteps(t *testing.T) {
	all, err := selectSteps(nil)
	if err != nil || len(all) != len(steps) {
		t.Fatalf("selectSteps(nil) = %d steps, %v", len(all), err)
	}
	some, err := selectSteps([]string{"retransmission", "closed-port"})
	if err != nil || len(some) != 2 || some[0].name != "retransmission" || some[1].name != "closed-port" {
		t.Errorf("selectSteps(two) = %+v, %v", some, err)
	}
	_, err = selectSteps([]string{"closed-port", "nosuch"})
	if !errors.Is(err, ErrUnknownStep) || !strings.Contains(err.Error(), `"nosuch"`) || !strings.Contains(err.Error(), "simultaneous-close") {
		t.Errorf("selectSteps(unknown) = %v", err)
	}
	var b strings.Builder
	List(&b)
	if got := strings.Count(b.String(), "\n"); got != len(steps) {
		t.Errorf("List wrote %d lines, want one per step:\n%s", got, b.String())
	}
	names := map[string]bool{}
	for _, st := range steps {
		if names[st.name] {
			t.Errorf("two steps named %s", st.name)
		}
		names[st.name] = true
	}
}
