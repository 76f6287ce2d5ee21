package ladder

import (
	"encoding/xml"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tunstack/tunstack/stack/tcp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const ms = time.Millisecond

// scenarios are fixed connections on the virtual clock, each drawn into
// testdata/NAME.golden.
var scenarios = []struct {
	name string
	play func(t *testing.T) *sim
}{
	{"passive_close", playPassiveClose},
	{"active_close_time_wait", playActiveClose},
	{"lost_syn_ack_challenge_rst", playLostSynAck},
}

// playPassiveClose is what curl does to the HTTP service: connect, send a
// request, read the response, close first; the server closes after.
func playPassiveClose(t *testing.T) *sim {
	s := newSim(t, "10.77.0.2:80", "10.77.0.1:40000", true, 5000, 1000, tcp.Config{}, tcp.Config{})
	s.at(20*ms, func() { s.peer.Send(s.now, []byte(strings.Repeat("G", 77))) })
	s.at(30*ms, func() { s.stack.Send(s.now, []byte(strings.Repeat("R", 300))) })
	s.at(45*ms, func() { s.peer.Close(s.now) })
	s.at(60*ms, func() { s.stack.Close(s.now) })
	s.run(200 * ms)
	return s
}

// playActiveClose: the stack dials, sends, and closes first; it waits
// out 2MSL in TIME-WAIT.
func playActiveClose(t *testing.T) *sim {
	s := newSim(t, "10.77.0.2:49152", "10.77.0.1:9000", false, 7000, 3000, tcp.Config{MSL: time.Second}, tcp.Config{MSL: time.Second})
	s.at(0, func() { s.stack.OpenActive(s.now) })
	s.at(20*ms, func() { s.stack.Send(s.now, []byte(strings.Repeat("q", 100))) })
	s.at(30*ms, func() { s.peer.Send(s.now, []byte(strings.Repeat("a", 100))) })
	s.at(50*ms, func() { s.stack.Close(s.now) })
	s.at(80*ms, func() { s.peer.Close(s.now) })
	s.run(3 * time.Second)
	return s
}

// playLostSynAck: the network loses the first SYN-ACK, which the stack
// retransmits; later a spoofed RST inside the window draws a challenge
// ACK, and the client's real RST ends the connection.
func playLostSynAck(t *testing.T) *sim {
	// The client's first retransmission would come after the stack's.
	s := newSim(t, "10.77.0.2:80", "10.77.0.1:40001", true, 5000, 1000, tcp.Config{InitialRTO: time.Second}, tcp.Config{InitialRTO: 3 * time.Second})
	lost := false
	s.lose = func(fromStack bool, seg *tcp.Segment) bool {
		if fromStack && seg.Flags.Has(tcp.FlagSYN|tcp.FlagACK) && !lost {
			lost = true
			return true
		}
		return false
	}
	s.inject(1100*ms, func() tcp.Segment {
		return tcp.Segment{SrcPort: s.id.Remote.Port(), DstPort: s.id.Local.Port(), Flags: tcp.FlagRST, Seq: s.stack.Status().RcvNxt.Add(100)}
	})
	s.at(1200*ms, func() { s.peer.Abort(s.now) })
	s.run(2 * time.Second)
	return s
}

func TestGoldenLadders(t *testing.T) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			s := sc.play(t)
			d, err := New(Connection{Events: s.events}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, filepath.Join("testdata", sc.name+".golden"), d.String())
		})
	}
}

// TestGoldenCollapsed sums up the data of the passive close.
func TestGoldenCollapsed(t *testing.T) {
	s := newSim(t, "10.77.0.2:80", "10.77.0.1:40000", true, 5000, 1000, tcp.Config{MSS: 100}, tcp.Config{MSS: 100})
	s.at(20*ms, func() { s.peer.Send(s.now, []byte(strings.Repeat("G", 77))) })
	s.at(30*ms, func() { s.stack.Send(s.now, []byte(strings.Repeat("R", 1000))) })
	s.at(100*ms, func() { s.peer.Close(s.now) })
	s.at(120*ms, func() { s.stack.Close(s.now) })
	s.run(300 * ms)
	d, err := New(Connection{Events: s.events}, Options{Collapse: true})
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, filepath.Join("testdata", "collapsed.golden"), d.String())
	if !strings.Contains(d.String(), "… ") {
		t.Errorf("no summary row in\n%s", d)
	}
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./stack/ladder -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got); go test ./stack/ladder -update rewrites it:\n%s", path, diff)
	}
}

// TestSVGIsWellFormed renders every scenario as SVG, parses it back with
// encoding/xml and finds an arrow and a label for every segment.
func TestSVGIsWellFormed(t *testing.T) {
	var diagrams []*Diagram
	for _, sc := range scenarios {
		d, err := New(Connection{Events: sc.play(t).events}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		diagrams = append(diagrams, d)
	}
	var b strings.Builder
	if err := WriteSVG(&b, diagrams...); err != nil {
		t.Fatal(err)
	}
	svg := parseSVG(t, b.String())
	if svg.root != "svg" {
		t.Fatalf("root element %q, want svg", svg.root)
	}
	wantArrows := 0
	var wantLabels []string
	for _, d := range diagrams {
		for _, r := range d.Rows {
			if r.Kind == RowSegment {
				wantArrows++
				wantLabels = append(wantLabels, r.Label)
			}
		}
	}
	if svg.arrows != wantArrows {
		t.Errorf("%d arrows, want %d (one per segment)", svg.arrows, wantArrows)
	}
	for _, want := range append(wantLabels, "SYN seq=x", "SYN-ACK seq=y ack=x+1", "ESTABLISHED", "TIME-WAIT", "LAST-ACK~") {
		found := false
		for _, text := range svg.texts {
			if strings.Contains(text, want) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("no text %q in the SVG", want)
		}
	}
}

type parsedSVG struct {
	root   string
	arrows int      // <line class="arrow ...">
	texts  []string // the content of every <text>
}

// parseSVG reads every element with encoding/xml, failing on XML that is
// not well-formed.
func parseSVG(t *testing.T, doc string) parsedSVG {
	t.Helper()
	var p parsedSVG
	dec := xml.NewDecoder(strings.NewReader(doc))
	var inText *strings.Builder
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v\n%s", err, doc)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if p.root == "" {
				p.root = tok.Name.Local
			}
			for _, a := range tok.Attr {
				if tok.Name.Local == "line" && a.Name.Local == "class" && strings.HasPrefix(a.Value, "arrow") {
					p.arrows++
				}
			}
			if tok.Name.Local == "text" {
				inText = &strings.Builder{}
			}
		case xml.CharData:
			if inText != nil {
				inText.Write(tok)
			}
		case xml.EndElement:
			if tok.Name.Local == "text" && inText != nil {
				p.texts = append(p.texts, inText.String())
				inText = nil
			}
		}
	}
	return p
}

// TestMidConnection draws events that start after the handshake: the
// ISNs still come from the events, the peer's state is unknown until it
// sends, and the lower port is taken for the server.
func TestMidConnection(t *testing.T) {
	s := playPassiveClose(t)
	var mid []int
	for i, ev := range s.events {
		if ev.Seg.Len > 0 {
			mid = append(mid, i)
		}
	}
	d, err := New(Connection{Events: s.events[mid[0]:]}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !d.Server.Stack || d.Client.Addr != s.id.Remote || !d.Client.ISNKnown || d.Client.ISN != 1000 {
		t.Errorf("client %+v, server %+v: want the peer as client with ISN 1000", d.Client, d.Server)
	}
	if d.Client.Initial.Known {
		t.Errorf("peer's initial state %v, want unknown", d.Client.Initial)
	}
	if !strings.Contains(d.String(), "seq=x+1 ack=y+1 len=77") {
		t.Errorf("no relative request segment in\n%s", d)
	}
}
