package ui

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/flowtop/flowtop/ui/explain"
	"github.com/flowtop/flowtop/ui/flows"
	"github.com/flowtop/flowtop/units"
)

// column is one column of the flow table.
type column struct {
	name  string // as [ui] columns names it
	title string
	width int // minimum width
	max   int // width it grows to when there is room (0: width)
	right bool
	sort  flows.Column // -1: not sortable
	prio  int          // when the screen is too narrow, the lowest goes first
	cell  func(c *cellContext, f *flows.Flow) string
}

// cellContext is what cells need besides the flow.
type cellContext struct {
	now   time.Time
	bytes bool // rates in bytes per second
}

var columns = []column{
	{"proto", "PROTO", 6, 0, false, flows.ByProto, 90, func(_ *cellContext, f *flows.Flow) string { return f.Proto.Transport() }},
	{"orig", "ORIGINATOR", 21, 47, false, flows.ByOrig, 100, func(_ *cellContext, f *flows.Flow) string { return f.Orig() }},
	{"resp", "RESPONDER", 21, 47, false, flows.ByResp, 100, func(_ *cellContext, f *flows.Flow) string { return f.Resp() }},
	{"service", "SERVICE", 10, 0, false, -1, 40, func(_ *cellContext, f *flows.Flow) string {
		return explain.Service(f.Proto, f.RespP, f.OrigP)
	}},
	{"state", "STATE", 6, 0, false, flows.ByState, 95, func(_ *cellContext, f *flows.Flow) string { return f.ConnState }},
	{"history", "HISTORY", 8, 16, false, -1, 50, func(_ *cellContext, f *flows.Flow) string { return f.History }},
	{"orig_bytes", "ORIG B", 9, 0, true, flows.ByOrigBytes, 85, func(_ *cellContext, f *flows.Flow) string { return units.FormatBytes(f.OrigBytes) }},
	{"resp_bytes", "RESP B", 9, 0, true, flows.ByRespBytes, 85, func(_ *cellContext, f *flows.Flow) string { return units.FormatBytes(f.RespBytes) }},
	{"orig_pkts", "O PKT", 6, 0, true, flows.ByPkts, 55, func(_ *cellContext, f *flows.Flow) string { return units.FormatCount(f.OrigPkts) }},
	{"resp_pkts", "R PKT", 6, 0, true, flows.ByPkts, 55, func(_ *cellContext, f *flows.Flow) string { return units.FormatCount(f.RespPkts) }},
	{"orig_rate", "O RATE", 11, 0, true, flows.ByRate, 70, func(c *cellContext, f *flows.Flow) string { o, _ := f.Rates(c.now); return rate(c, f, o) }},
	{"resp_rate", "R RATE", 11, 0, true, flows.ByRate, 70, func(c *cellContext, f *flows.Flow) string { _, r := f.Rates(c.now); return rate(c, f, r) }},
	{"duration", "DURATION", 8, 0, true, flows.ByDuration, 65, func(_ *cellContext, f *flows.Flow) string { return shortDuration(f.Duration) }},
	{"idle", "IDLE", 10, 0, true, flows.ByIdle, 60, func(c *cellContext, f *flows.Flow) string {
		if f.Closed && !f.Final() {
			return f.Reason.String() // why it closed, e.g. "inactivity"
		}
		return shortDuration(c.now.Sub(f.Last()))
	}},
	{"start", "START", 12, 0, false, flows.ByStart, 30, func(_ *cellContext, f *flows.Flow) string { return f.TS.Local().Format("15:04:05.000") }},
	{"uid", "UID", 18, 0, false, -1, 20, func(_ *cellContext, f *flows.Flow) string { return f.UID }},
	{"missed", "MISSED", 8, 0, true, -1, 25, func(_ *cellContext, f *flows.Flow) string { return units.FormatBytes(f.MissedBytes) }},
}

// DefaultColumns are the columns shown when [ui] columns is not set.
var DefaultColumns = []string{"proto", "orig", "resp", "service", "state", "history", "orig_bytes", "resp_bytes",
	"orig_pkts", "resp_pkts", "orig_rate", "resp_rate", "duration", "idle"}

// Columns returns the names of every column the table can show.
func Columns() []string {
	names := make([]string, len(columns))
	for i, c := range columns {
		names[i] = c.name
	}
	return names
}

// findColumns returns the named columns in order.
func findColumns(names []string) ([]column, error) {
	var cols []column
	for _, n := range names {
		i := indexColumn(n)
		if i < 0 {
			return nil, fmt.Errorf("unknown column %q (known: %s)", n, strings.Join(Columns(), ", "))
		}
		cols = append(cols, columns[i])
	}
	return cols, nil
}

func indexColumn(name string) int {
	for i, c := range columns {
		if c.name == name {
			return i
		}
	}
	return -1
}

// marksWidth is the width of the marks at the start of each row: the cursor,
// extraction and thresholds.
const marksWidth = 3

// layout fits cols into width: it drops the lowest-priority columns until the rest
// fit at their minimum widths (one space between columns), then shares what is
// left among the columns that can grow, most important first. It returns the kept
// columns and their widths.
func layout(cols []column, width int) ([]column, []int) {
	kept := append([]column(nil), cols...)
	need := func() int {
		n := marksWidth
		for _, c := range kept {
			n += c.width + 1
		}
		return n
	}
	for len(kept) > 1 && need() > width {
		low := 0
		for i, c := range kept {
			if c.prio < kept[low].prio {
				low = i
			}
		}
		kept = append(kept[:low], kept[low+1:]...)
	}
	widths := make([]int, len(kept))
	spare := width - need()
	for i, c := range kept {
		widths[i] = c.width
	}
	// Share the spare cells among the most important columns that can grow (the
	// addresses), then the next ones.
	for spare > 0 {
		top := -1
		for i, c := range kept {
			if widths[i] < c.max && c.prio > top {
				top = c.prio
			}
		}
		if top < 0 {
			break
		}
		for i, c := range kept {
			if spare > 0 && widths[i] < c.max && c.prio == top {
				widths[i]++
				spare--
			}
		}
	}
	return kept, widths
}

// fit pads or cuts s to exactly w cells. The table's text is made of characters
// one cell wide, so a cell is a rune.
func fit(s string, w int, right bool) string {
	n := utf8.RuneCountInString(s)
	switch {
	case n == w:
		return s
	case n < w && right:
		return strings.Repeat(" ", w-n) + s
	case n < w:
		return s + strings.Repeat(" ", w-n)
	case w <= 1:
		return string([]rune(s)[:max(w, 0)])
	}
	// Cut in the middle: an address's both ends say more than its start.
	r := []rune(s)
	head := (w - 1) / 2
	return string(r[:head]) + "…" + string(r[n-(w-1-head):])
}

// rate formats a flow's rate, blank for a closed flow.
func rate(c *cellContext, f *flows.Flow, bitsPerSec float64) string {
	if f.Closed {
		return ""
	}
	return units.FormatRate(bitsPerSec, c.bytes)
}

// shortDuration formats d in at most 8 cells: "0.123s", "12.3s", "4m05s", "3h07m", "2d04h".
func shortDuration(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < 10*time.Second:
		return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) + "s"
	case d < time.Minute:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%02dh", int(d.Hours())/24, int(d.Hours())%24)
}
