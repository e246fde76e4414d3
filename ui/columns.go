package ui

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"

	"github.com/flowtop/flowtop/themes"
	"github.com/flowtop/flowtop/tracker"
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
	// role, when not nil, gives a cell its own style in an ordinary row (not
	// selected, closed or past a threshold, whose style prevails); "" keeps the row's.
	role func(f *flows.Flow) themes.Role
	cell func(c *cellContext, f *flows.Flow) string
}

// cellContext is what cells need besides the flow.
type cellContext struct {
	now   time.Time
	bytes bool // rates in bytes per second
	names bool // endpoints as names where known (the n key)
	times timeMode
	first time.Time // the capture's first packet, for relative times
	days  bool      // the capture spans more than one day: absolute times carry the date
	width int       // the width of the cell being made, for a cell that cuts itself; 0: any
}

var columns = []column{
	{"proto", "PROTO", 5, 0, false, flows.ByProto, 90, nil, func(_ *cellContext, f *flows.Flow) string { return f.Proto.Transport() }},
	{"orig", "ORIGINATOR", 21, 47, false, flows.ByOrig, 100, nil, origCell},
	{"resp", "RESPONDER", 21, 47, false, flows.ByResp, 100, nil, respCell},
	// PROCESS gives way after the rates, before SERVICE: live at 120 cells it
	// takes O RATE's place. With the default columns it shows only once a
	// connection has had a process (processColumn).
	{processColumn, "PROCESS", 12, 24, false, flows.ByProcess, 72, nil, processCell},
	{"service", "SERVICE", 10, 0, false, -1, 75, serviceRole, serviceCell},
	// NAME goes before DURATION and IDLE, after the rates: it shows from about 120
	// cells, where a table without it shows DURATION.
	{"name", "NAME", 14, 40, false, -1, 67, nil, func(c *cellContext, f *flows.Flow) string { return cutStart(flowName(f), c.width) }},
	{"state", "STATE", 6, 0, false, flows.ByState, 95, func(f *flows.Flow) themes.Role { return themes.StateRole(f.ConnState) },
		func(_ *cellContext, f *flows.Flow) string { return f.ConnState }},
	{"history", "HISTORY", 8, 24, false, -1, 50, nil, func(_ *cellContext, f *flows.Flow) string { return f.History }},
	{"orig_bytes", "ORIG B", 9, 0, true, flows.ByOrigBytes, 85, nil, func(_ *cellContext, f *flows.Flow) string { return payloadBytes(f, f.OrigBytes) }},
	{"resp_bytes", "RESP B", 9, 0, true, flows.ByRespBytes, 85, nil, func(_ *cellContext, f *flows.Flow) string { return payloadBytes(f, f.RespBytes) }},
	{"orig_pkts", "O PKT", 6, 0, true, flows.ByPkts, 55, nil, func(_ *cellContext, f *flows.Flow) string { return units.FormatCount(f.OrigPkts) }},
	{"resp_pkts", "R PKT", 6, 0, true, flows.ByPkts, 55, nil, func(_ *cellContext, f *flows.Flow) string { return units.FormatCount(f.RespPkts) }},
	{"orig_rate", "O RATE", 11, 0, true, flows.ByRate, 70, nil, func(c *cellContext, f *flows.Flow) string { o, _ := f.Rates(c.now); return rate(c, f, o) }},
	{"resp_rate", "R RATE", 11, 0, true, flows.ByRate, 70, nil, func(c *cellContext, f *flows.Flow) string { _, r := f.Rates(c.now); return rate(c, f, r) }},
	{"duration", "DURATION", 8, 0, true, flows.ByDuration, 65, nil, func(_ *cellContext, f *flows.Flow) string { return shortDuration(f.Duration) }},
	{"idle", "IDLE", 12, 0, true, flows.ByIdle, 60, nil, func(c *cellContext, f *flows.Flow) string {
		if f.Closed {
			return f.Reason.String() // why it closed, e.g. "inactivity"
		}
		return shortDuration(c.now.Sub(f.Last()))
	}},
	{"start", "START", 12, 23, false, flows.ByStart, 30, nil, startCell},
	{"uid", "UID", 18, 0, false, -1, 20, nil, func(_ *cellContext, f *flows.Flow) string { return f.UID }},
	{"missed", "MISSED", 8, 0, true, -1, 25, nil, func(_ *cellContext, f *flows.Flow) string { return units.FormatBytes(f.MissedBytes) }},
	// The narrow table's columns (NarrowColumns): endpoints that shorten keeping
	// their port, both byte counts in one cell, the rate both ways, a short IDLE.
	{"orig_short", "ORIGINATOR", 17, 47, false, flows.ByOrig, 100, nil, func(c *cellContext, f *flows.Flow) string { return endpointIn(origCell(c, f), c.width) }},
	{"resp_short", "RESPONDER", 17, 47, false, flows.ByResp, 100, nil, func(c *cellContext, f *flows.Flow) string { return endpointIn(respCell(c, f), c.width) }},
	{"bytes", "BYTES o/r", 9, 0, true, flows.ByRespBytes, 85, nil, func(_ *cellContext, f *flows.Flow) string {
		if f.FromFlows {
			return "-" // flow records do not count payload
		}
		return units.FormatBytesShort(f.OrigBytes) + "/" + units.FormatBytesShort(f.RespBytes)
	}},
	{"rate", "RATE", 9, 0, true, flows.ByRate, 80, nil, func(c *cellContext, f *flows.Flow) string { o, r := f.Rates(c.now); return rate(c, f, o+r) }},
	{"idle_short", "IDLE", 6, 12, true, flows.ByIdle, 78, nil, func(c *cellContext, f *flows.Flow) string {
		if f.Closed {
			return shortReason(f.Reason, c.width)
		}
		return shortDuration(c.now.Sub(f.Last()))
	}},
}

// timeMode is how the START column gives times (the d key).
type timeMode uint8

const (
	timeOfDay    timeMode = iota // local time of day, with the date when the capture spans days
	timeRelative                 // since the capture's first packet
	timeEpoch                    // Unix seconds, as conn.log's ts
	numTimeModes
)

func (t timeMode) String() string {
	return [...]string{"time of day", "time since the capture's start", "epoch seconds"}[t]
}

// startCell is a connection's start in the chosen time mode.
func startCell(c *cellContext, f *flows.Flow) string {
	switch c.times {
	case timeRelative:
		d := f.TS.Sub(c.first)
		if c.first.IsZero() || d < 0 {
			d = 0
		}
		h := int(d / time.Hour)
		return fmt.Sprintf("+%d:%02d:%06.3f", h, int(d/time.Minute)%60, float64(d%time.Minute)/float64(time.Second))
	case timeEpoch:
		return fmt.Sprintf("%d.%06d", f.TS.Unix(), f.TS.Nanosecond()/1000)
	}
	if c.days {
		return f.TS.Local().Format("2006-01-02 15:04:05.000")
	}
	return f.TS.Local().Format("15:04:05.000")
}

// origCell is the originator's endpoint: its address, or with names on (the n
// key) the name passive DNS gave it, with the port.
func origCell(c *cellContext, f *flows.Flow) string {
	if c.names && f.OrigName != "" {
		return hostPort(f.OrigName, f.OrigP)
	}
	return f.Orig()
}

// respCell is the responder's endpoint: its address, or with names on the name
// passive DNS gave it, else the name the client asked the server for (TLS SNI, HTTP
// Host), with the port. A DNS query names what was looked up, not the server
// asked, so it is not used here.
func respCell(c *cellContext, f *flows.Flow) string {
	if c.names {
		name := f.RespName
		if name == "" && f.Names != nil {
			name = f.Names.SNI
			if name == "" {
				name = f.Names.HTTPHost
			}
		}
		if name != "" {
			return hostPort(name, f.RespP)
		}
	}
	return f.Resp()
}

// hostPort joins a name and a port: "example.com:443"; an IPv6 address (an HTTP
// Host may be one) goes in brackets, "[2001:db8::1]:80".
func hostPort(name string, port uint16) string {
	if strings.Contains(name, ":") {
		return "[" + name + "]:" + strconv.Itoa(int(port))
	}
	return name + ":" + strconv.Itoa(int(port))
}

// serviceCell is conn.log's service, the protocols analyzers confirmed; when none
// did, the port's usual service marked as a guess: "https?".
func serviceCell(_ *cellContext, f *flows.Flow) string {
	if f.Service != "" {
		return f.Service
	}
	if g := explain.Service(f.Proto, f.RespP, f.OrigP); g != "" {
		return g + "?"
	}
	return ""
}

// serviceRole dims a guessed service.
func serviceRole(f *flows.Flow) themes.Role {
	if f.Service == "" {
		return themes.Dim
	}
	return ""
}

// flowName is the NAME column: the name the connection itself carried (TLS SNI,
// HTTP Host, DNS query), else the name passive DNS gave the responder.
func flowName(f *flows.Flow) string {
	if n := f.Names.ServerName(); n != "" {
		return n
	}
	return f.RespName
}

// cutStart cuts a name too long for w cells at its start, where a domain name says
// least: "…wikimedia.org". w = 0 does not cut.
func cutStart(s string, w int) string {
	n := utf8.RuneCountInString(s)
	if w <= 1 || n <= w {
		return s
	}
	r := []rune(s)
	return "…" + string(r[n-w+1:])
}

// processColumn names the PROCESS column: the local side's process. With the
// default columns (DefaultColumns, NarrowColumns) it is left out until a
// connection has had a process (frameMsg.procs), so that a file's table, which
// never has one, is as it was; [ui] columns or the chooser naming it shows it
// always.
const processColumn = "process"

// processCell is the PROCESS column: the label of the local side's process (the
// originator's, else the responder's), "curl/4242", or "(alice)" when only the
// socket's owner is known; empty when neither side's is.
func processCell(c *cellContext, f *flows.Flow) string {
	p := f.LocalProcess()
	if p == nil {
		return ""
	}
	return labelIn(oneCellEach(printable(p.Label())), c.width)
}

// labelIn fits a process label ("name/pid") into w cells (0: any), cutting the
// end of the name and keeping the pid whole: "chromium-b…/4242".
func labelIn(s string, w int) string {
	n := utf8.RuneCountInString(s)
	if w <= 0 || n <= w {
		return s
	}
	i := strings.LastIndexByte(s, '/')
	if i < 0 || len(s)-i+1 > w {
		return fit(s, w, false)
	}
	name := []rune(s[:i])
	return string(name[:w-(len(s)-i)-1]) + "…" + s[i:]
}

// printable makes text a process chose (its name, its arguments) safe to draw:
// control characters, other unprintable runes and invalid UTF-8 become escapes
// (\x1b, \u200b), so that none reaches the terminal as itself.
func printable(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case !unicode.IsPrint(r) && r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		case !unicode.IsPrint(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
		i += size
	}
	return b.String()
}

// oneCellEach replaces the runes of printable text that do not take one cell
// (wide ones, combining marks) with '?': the table counts a rune a cell.
func oneCellEach(s string) string {
	for _, r := range s {
		if r >= utf8.RuneSelf && ansi.StringWidth(string(r)) != 1 {
			return strings.Map(func(r rune) rune {
				if r >= utf8.RuneSelf && ansi.StringWidth(string(r)) != 1 {
					return '?'
				}
				return r
			}, s)
		}
	}
	return s
}

// NarrowColumns are the columns shown below narrowWidth cells when [ui] columns
// is not set: at 80 cells PROTO, both endpoints, STATE, the bytes both ways, the
// rate and IDLE fit; PROCESS, the first to go, shows from 91 cells when a
// connection has a process.
var NarrowColumns = []string{"proto", "orig_short", "resp_short", processColumn, "state", "bytes", "rate", "idle_short"}

// narrowWidth is the width below which the table uses NarrowColumns.
const narrowWidth = 110

// endpointIn fits an endpoint ("host:port", "[v6]:port") into w cells (0: any),
// cutting the middle of the host and keeping the port whole.
func endpointIn(s string, w int) string {
	n := utf8.RuneCountInString(s)
	if w <= 0 || n <= w {
		return s
	}
	i := strings.LastIndexByte(s, ':')
	if i < 0 || n-i+2 > w {
		return fit(s, w, false)
	}
	return fit(s[:i], w-(len(s)-i), false) + s[i:]
}

// shortReasons are the short forms of the removal reasons longer than IDLE's
// narrowest width.
var shortReasons = map[string]string{"end_of_input": "ended", "inactivity": "idle", "eviction": "evict", "attempt": "att"}

// shortReason is a removal reason in w cells (0: any): the word itself when it
// fits, else a short form.
func shortReason(r tracker.RemoveReason, w int) string {
	s := r.String()
	if w <= 0 || len(s) <= w {
		return s
	}
	if short, ok := shortReasons[s]; ok && len(short) <= w {
		return short
	}
	return fit(s, w, false)
}

// DefaultColumns are the columns shown when [ui] columns is not set.
var DefaultColumns = []string{"proto", "orig", "resp", processColumn, "service", "name", "state", "history", "orig_bytes", "resp_bytes",
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

// marksWidth is the width of the marks at the start of each row (the cursor,
// extraction and thresholds) and the space that keeps them off the first column.
const marksWidth = 4

// layout fits cols into width: it drops the lowest-priority columns until the rest
// fit at their minimum widths (one space between columns, none after the last: at
// 80 cells PROTO, both endpoints, STATE and both byte counts fit), then shares what
// is left among the columns that can grow, one cell to each in turn, most
// important first, each up to what its cells need (want, when not nil: the widest
// of the visible rows' cells) and at most its max. It returns the kept columns and
// their widths.
func layout(cols []column, width int, want func(column) int) ([]column, []int) {
	kept := append([]column(nil), cols...)
	need := func() int {
		n := marksWidth - 1 // a space between columns, none after the last
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
	// Share the spare cells among the columns that can grow, a cell to each in
	// turn, most important first: the addresses and the names widen together.
	grow := make([]int, 0, len(kept))
	limit := make([]int, len(kept))
	for i, c := range kept {
		limit[i] = c.max
		if want != nil {
			limit[i] = min(c.max, max(c.width, want(c)))
		}
		if limit[i] > c.width {
			grow = append(grow, i)
		}
	}
	slices.SortStableFunc(grow, func(a, b int) int { return kept[b].prio - kept[a].prio })
	for spare > 0 {
		grew := false
		for _, i := range grow {
			if spare > 0 && widths[i] < limit[i] {
				widths[i]++
				spare--
				grew = true
			}
		}
		if !grew {
			break
		}
	}
	return kept, widths
}

// cellContext is what the table's cells need of the model now.
func (m *Model) cellContext() *cellContext {
	c := &cellContext{now: m.frame.now, bytes: m.byteRates, names: m.names, times: m.times}
	if st := m.frame.stats.First; st > 0 {
		c.first = time.Unix(0, st)
		y1, m1, d1 := c.first.Local().Date()
		y2, m2, d2 := m.frame.now.Local().Date()
		c.days = y1 != y2 || m1 != m2 || d1 != d2
	}
	return c
}

// visibleColumns are the table's columns now, before layout drops what does not
// fit: the narrow set below narrowWidth unless columns were chosen, and, with the
// default columns, PROCESS only once a connection has had a process.
func (m *Model) visibleColumns() []column {
	cols := m.cols
	if m.narrow == nil { // [ui] columns or the chooser chose them: as chosen
		return cols
	}
	if m.width < narrowWidth {
		cols = m.narrow
	}
	if !m.frame.procs {
		cols = slices.DeleteFunc(slices.Clone(cols), func(c column) bool { return c.name == processColumn })
	}
	return cols
}

// tableLayout is layout for the table as it is now: the columns grow to what the
// visible rows' cells need.
func (m *Model) tableLayout() ([]column, []int) {
	rows := m.frame.rows
	lo, hi := min(m.offset, len(rows)), min(m.offset+m.tableHeight(), len(rows))
	visible := rows[lo:hi]
	ctx := m.cellContext()
	return layout(m.visibleColumns(), m.width, func(c column) int {
		w := utf8.RuneCountInString(c.title) + 1 // and the sort arrow
		for _, f := range visible {
			w = max(w, utf8.RuneCountInString(c.cell(ctx, f)))
		}
		return w
	})
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

// payloadBytes formats a payload byte count, "-" for a connection from flow
// records, which do not count payload.
func payloadBytes(f *flows.Flow, n uint64) string {
	if f.FromFlows {
		return "-"
	}
	return units.FormatBytes(n)
}
