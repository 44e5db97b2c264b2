package main

import (
	"fmt"
	"math"
	"strings"

	"github.com/sio-go/socketio/bench/internal/pagefmt"
)

// Chart geometry, in pixels.
const (
	svgWidth   = 760
	labelWidth = 320
	barMax     = 300
	barHeight  = 14
	barGap     = 4
	rowGap     = 14
	headHeight = 34
)

var serverColor = map[string]string{"go": "#00ADD8", "node": "#5FA04E"}

// svg draws one row per charted metric: a bar per server scaled to the
// larger value of the row, the values, and the Go/Node ratio with its target.
func (r *report) svg() string {
	var rows []row
	for _, rw := range r.rows {
		if rw.m.Chart {
			rows = append(rows, rw)
		}
	}
	rowH := len(r.servers)*(barHeight+barGap) + 18 + rowGap
	height := headHeight + len(rows)*rowH + 10

	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		svgWidth, height, svgWidth, height)
	p(`<rect width="100%%" height="100%%" fill="#ffffff"/>` + "\n")
	x := 10
	for _, s := range r.servers {
		p(`<rect x="%d" y="10" width="12" height="12" fill="%s"/><text x="%d" y="21">%s</text>`+"\n", x, serverColor[s], x+16, serverTitle[s])
		x += 80
	}
	p(`<text x="%d" y="21" fill="#555">↓ lower is better · ↑ higher is better</text>`+"\n", x+10)

	y := headHeight
	for _, rw := range rows {
		arrow := "↑"
		if rw.m.Lower {
			arrow = "↓"
		}
		p(`<text x="10" y="%d" font-weight="bold">%s %s</text>`+"\n", y+12, arrow, xmlEscape(rw.m.Name))
		p(`<text x="10" y="%d" fill="#555">%s</text>`+"\n", y+27, xmlEscape(rw.m.Unit))
		scale := 0.0
		for _, s := range r.servers {
			if v := rw.med[s]; !math.IsNaN(v) {
				scale = math.Max(scale, math.Abs(v))
			}
		}
		by := y + 2
		for _, s := range r.servers {
			v := rw.med[s]
			w := 0.0
			if scale > 0 && !math.IsNaN(v) {
				w = math.Max(1, math.Abs(v)/scale*barMax)
			}
			p(`<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", labelWidth, by, w, barHeight, serverColor[s])
			p(`<text x="%.1f" y="%d">%s</text>`+"\n", float64(labelWidth)+w+6, by+11, pagefmt.Num(v, rw.m.Digits))
			by += barHeight + barGap
		}
		if !math.IsNaN(rw.ratio) {
			note := "Go/Node " + pagefmt.Ratio(rw.ratio)
			if goal, met := rw.target(); goal != "" {
				note += " (target " + goal + ": " + orDash(met) + ")"
			}
			p(`<text x="%d" y="%d" fill="#333">%s</text>`+"\n", labelWidth, by+11, xmlEscape(note))
		}
		y += rowH
	}
	p("</svg>")
	return b.String()
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
