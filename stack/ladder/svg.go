package ladder

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
)

// Geometry of the SVG drawing, in pixels.
const (
	svgWidth     = 1160
	svgTimeX     = 80  // right edge of the time column
	svgClientX   = 290 // the client's lifeline
	svgServerX   = 900 // the server's
	svgStateGap  = 12  // between a lifeline and its state
	svgHeader    = 120 // title, legend, names and initial states
	svgRow       = 38  // height of a row without notes
	svgNote      = 15  // height of each note line
	svgSlope     = 10  // an arrow drops this much: segments take time
	svgGap       = 40  // between two diagrams
	svgLineClass = "arrow"
)

const svgStyle = `text{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px}
.title{font-size:15px;font-weight:bold}.legend,.time{fill:#444}
.inferred{font-style:italic;fill:#666}.note{font-size:11px;fill:#555}
.lifeline{stroke:#999;stroke-width:1}.arrow{stroke:#000;stroke-width:1.5}
.dropped{stroke:#c00;stroke-dasharray:5 3}.drop-mark{fill:#c00;font-weight:bold}
.summary{fill:#444;font-style:italic}.state-change{fill:#06c}`

// WriteSVG draws the diagrams, one below the other, as one SVG document:
// a lifeline per side, a sloped arrow per segment with its label, each
// side's state beside each step (inferred ones in italics, with "~"), and
// the notes under their arrows.
func WriteSVG(w io.Writer, diagrams ...*Diagram) error {
	var body bytes.Buffer
	y := 0
	for _, d := range diagrams {
		fmt.Fprintf(&body, `<g transform="translate(0,%d)">`+"\n", y)
		y += d.writeSVG(&body) + svgGap
	}
	height := max(y-svgGap, 0) + 20
	var b bytes.Buffer
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n")
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d">`+"\n",
		svgWidth, height, svgWidth, height)
	fmt.Fprintf(&b, "<style>%s</style>\n", svgStyle)
	b.WriteString(`<defs><marker id="head" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>` + "\n")
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	b.Write(body.Bytes())
	b.WriteString("</svg>\n")
	_, err := w.Write(b.Bytes())
	return err
}

// writeSVG writes one diagram's group, closing it, and returns its height.
func (d *Diagram) writeSVG(b *bytes.Buffer) int {
	text(b, 20, 24, "title", "start", d.Title())
	if legend := d.Legend(); legend != "" {
		text(b, 20, 44, "legend", "start", legend)
	}
	text(b, svgClientX, 76, "", "middle", "client "+d.Client.Addr.String())
	text(b, svgServerX, 76, "", "middle", "server "+d.Server.Addr.String())
	text(b, svgTimeX, 100, "time", "end", "t (ms)")
	stateText(b, svgClientX-svgStateGap, 100, "end", d.Client.Initial)
	stateText(b, svgServerX+svgStateGap, 100, "start", d.Server.Initial)

	y := svgHeader
	for _, r := range d.Rows {
		text(b, svgTimeX, y+svgSlope/2+4, "time", "end", millis(r.At))
		from, to := svgClientX, svgServerX
		if !r.FromClient {
			from, to = to, from
		}
		switch r.Kind {
		case RowSegment:
			class := svgLineClass
			marker := ` marker-end="url(#head)"`
			if r.Dropped {
				class, marker = svgLineClass+" dropped", ""
			}
			fmt.Fprintf(b, `<line class="%s" x1="%d" y1="%d" x2="%d" y2="%d"%s/>`+"\n", class, from, y, to, y+svgSlope, marker)
			if r.Dropped {
				text(b, to, y+svgSlope+5, "drop-mark", "middle", "×")
			}
			text(b, (svgClientX+svgServerX)/2, y-5, "", "middle", r.Label)
		case RowSummary:
			text(b, (svgClientX+svgServerX)/2, y+4, "summary", "middle", r.summary())
		case RowState, RowPeer:
			x := svgServerX
			if d.Client.Stack == (r.Kind == RowState) {
				x = svgClientX
			}
			fmt.Fprintf(b, `<circle class="state-change" cx="%d" cy="%d" r="4"/>`+"\n", x, y)
		}
		stateText(b, svgClientX-svgStateGap, y+svgSlope/2+4, "end", r.Client)
		stateText(b, svgServerX+svgStateGap, y+svgSlope/2+4, "start", r.Server)
		for i, n := range r.Notes {
			text(b, svgClientX+20, y+svgSlope+16+i*svgNote, "note", "start", n)
		}
		y += svgRow + len(r.Notes)*svgNote
	}
	if d.Omitted > 0 {
		text(b, 20, y, "legend", "start", fmt.Sprintf("(%d ordinary segments were not recorded)", d.Omitted))
		y += svgRow
	}
	for _, x := range []int{svgClientX, svgServerX} {
		fmt.Fprintf(b, `<line class="lifeline" x1="%d" y1="%d" x2="%d" y2="%d"/>`+"\n", x, 84, x, y-svgRow/2)
	}
	b.WriteString("</g>\n")
	return y
}

func stateText(b *bytes.Buffer, x, y int, anchor string, s SideState) {
	class := ""
	if s.Inferred || !s.Known {
		class = "inferred"
	}
	text(b, x, y, class, anchor, s.String())
}

func text(b *bytes.Buffer, x, y int, class, anchor, s string) {
	fmt.Fprintf(b, `<text x="%d" y="%d"`, x, y)
	if class != "" {
		fmt.Fprintf(b, ` class="%s"`, class)
	}
	if anchor != "start" {
		fmt.Fprintf(b, ` text-anchor="%s"`, anchor)
	}
	b.WriteString(">")
	xml.EscapeText(b, []byte(s))
	b.WriteString("</text>\n")
}
