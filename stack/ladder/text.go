package ladder

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Layout of the text diagram.
const (
	timeWidth     = 10 // "t (ms)" column
	minArrowWidth = 30
	arrowSlack    = 9 // dashes and heads around the longest label
)

// String is the diagram as WriteText writes it.
func (d *Diagram) String() string {
	var b strings.Builder
	d.WriteText(&b)
	return b.String()
}

// WriteText draws the diagram for a terminal, one row per line, the
// notes of a row on the lines below it:
//
//	t (ms)  client         server
//	        CLOSED~        LISTEN
//	 0.000  SYN-SENT~      --- SYN seq=x win=65535 ------->  SYN-RECEIVED
//	                           RFC 9293 §3.10.7.2: SYN in LISTEN: ...
func (d *Diagram) WriteText(w io.Writer) error {
	var b strings.Builder
	b.WriteString(d.Title() + "\n")
	if legend := d.Legend(); legend != "" {
		b.WriteString(legend + "\n")
	}
	b.WriteString("\n")

	stateWidth := len("client")
	arrowWidth := minArrowWidth
	for _, r := range d.Rows {
		stateWidth = max(stateWidth, utf8.RuneCountInString(r.Client.String()))
		arrowWidth = max(arrowWidth, utf8.RuneCountInString(r.middle())+arrowSlack)
	}
	stateWidth = max(stateWidth, utf8.RuneCountInString(d.Client.Initial.String())) + 2
	line := func(at, client, middle, server string) {
		s := fmt.Sprintf("%*s  %s%s  %s", timeWidth, at, pad(client, stateWidth), pad(middle, arrowWidth), server)
		b.WriteString(strings.TrimRight(s, " ") + "\n")
	}
	line("t (ms)", "client", "", "server")
	line("", d.Client.Initial.String(), "", d.Server.Initial.String())
	noteIndent := strings.Repeat(" ", timeWidth+2+stateWidth+4)
	for _, r := range d.Rows {
		line(millis(r.At), r.Client.String(), r.arrow(arrowWidth), r.Server.String())
		for _, n := range r.Notes {
			b.WriteString(noteIndent + n + "\n")
		}
	}
	if d.Omitted > 0 {
		fmt.Fprintf(&b, "(%d ordinary segments were not recorded)\n", d.Omitted)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Title names the two ends and says which is the stack.
func (d *Diagram) Title() string {
	stack, peer := d.Server, d.Client
	if d.Client.Stack {
		stack, peer = d.Client, d.Server
	}
	if r := peer.Report; r != nil {
		return fmt.Sprintf("client %s → server %s: tunstack is the %s; the %s is the %s, with its own states (from %s)",
			d.Client.Addr, d.Server.Addr, stack.Role, peer.Role, r.Name, r.Source)
	}
	return fmt.Sprintf("client %s → server %s: tunstack is the %s; the %s's states (~) are inferred from its segments",
		d.Client.Addr, d.Server.Addr, stack.Role, peer.Role)
}

// Legend says what x and y stand for, as far as known.
func (d *Diagram) Legend() string {
	var parts []string
	for _, s := range []Side{d.Client, d.Server} {
		if s.ISNKnown {
			parts = append(parts, fmt.Sprintf("%s = %d (%s's ISN)", s.ISNName, uint32(s.ISN), s.Role))
		}
	}
	return strings.Join(parts, ", ")
}

// middle is what goes between the state columns, without the arrow.
func (r *Row) middle() string {
	switch r.Kind {
	case RowSegment:
		return r.Label
	case RowSummary:
		return r.summary()
	}
	return ""
}

// summary describes a RowSummary.
func (r *Row) summary() string {
	s := "… " + strconv.Itoa(r.Segments) + " segments"
	var parts []string
	if r.BytesFromClient > 0 {
		parts = append(parts, strconv.Itoa(r.BytesFromClient)+" bytes →")
	}
	if r.BytesFromServer > 0 {
		parts = append(parts, strconv.Itoa(r.BytesFromServer)+" bytes ←")
	}
	if len(parts) == 0 {
		return s + " without data"
	}
	return s + ": " + strings.Join(parts, ", ")
}

// arrow draws a RowSegment's arrow at the given width; other rows give
// their middle text.
func (r *Row) arrow(width int) string {
	if r.Kind != RowSegment {
		return r.middle()
	}
	dashes := width - utf8.RuneCountInString(r.Label) - 7
	tail, head := "--- ", "->"
	switch {
	case r.FromClient && r.Dropped:
		head = "-x"
	case !r.FromClient && r.Dropped:
		tail, head = "x-- ", "-"
		dashes += 1
	case !r.FromClient:
		tail, head = "<-- ", "-"
		dashes += 1
	}
	return tail + r.Label + " " + strings.Repeat("-", max(dashes, 1)) + head
}

// pad fills s with spaces to width runes.
func pad(s string, width int) string {
	if n := utf8.RuneCountInString(s); n < width {
		return s + strings.Repeat(" ", width-n)
	}
	return s + " "
}

// millis writes a duration in milliseconds with three decimals.
func millis(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 3, 64)
}
