package ui

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/flowtop/flowtop/process"
	"github.com/flowtop/flowtop/themes"
	"github.com/flowtop/flowtop/ui/explain"
	"github.com/flowtop/flowtop/ui/flows"
	"github.com/flowtop/flowtop/units"
)

// detailPane is the detail view: every conn.log field of the selected connection,
// explained, in a scrollable viewport. It is a component with its own Update, View
// and keys; the model gives it its text (refreshDetail) as frames and replies come.
type detailPane struct {
	vp viewport.Model
}

// detailAction is what a key in the detail view asks of the model.
type detailAction int

// Detail actions.
const (
	detailNone  detailAction = iota
	detailClose              // back to the table
	detailQuit
	detailTable // a key the table handles for the selected connection (t, x, y...)
)

func newDetailPane() detailPane { return detailPane{vp: viewport.New(0, 0)} }

// tableKeys are the table's keys that act in the detail view too, on the
// connection shown.
func (k KeyMap) tableKeys() []key.Binding {
	return []key.Binding{k.Thresholds, k.Extract, k.Copy, k.Pause, k.Help, k.Units, k.Names, k.Time, k.RateWindow}
}

// Update scrolls the view (keys and the mouse wheel) or says what the model must
// do with the key.
func (d *detailPane) Update(msg tea.Msg, keys KeyMap) (tea.Cmd, detailAction) {
	if k, ok := msg.(tea.KeyMsg); ok {
		switch {
		case key.Matches(k, keys.Quit):
			return nil, detailQuit
		case key.Matches(k, keys.Back, keys.Detail):
			return nil, detailClose
		case key.Matches(k, keys.tableKeys()...):
			return nil, detailTable
		case key.Matches(k, keys.Top):
			d.vp.GotoTop()
			return nil, detailNone
		case key.Matches(k, keys.Bottom):
			d.vp.GotoBottom()
			return nil, detailNone
		}
	}
	var cmd tea.Cmd
	d.vp, cmd = d.vp.Update(msg)
	return cmd, detailNone
}

// setContent replaces the text at the screen's size, keeping the scroll position
// as far as the new text allows.
func (d *detailPane) setContent(text string, width, height int) {
	d.vp.Width, d.vp.Height = width, height
	d.vp.SetContent(text)
}

// View draws the viewport in width by height cells.
func (d detailPane) View(width, height int) string {
	vp := d.vp // View changes nothing: the viewport is drawn from a copy
	vp.Width, vp.Height = width, height
	return vp.View()
}

// footerKeys are the detail view's keys, with the user's bindings for the
// actions it shares with the table.
func (d detailPane) footerKeys(k KeyMap) componentKeys {
	return componentKeys{k.Back, helpOnly("↑/↓", "scroll"), k.Thresholds, k.Extract, k.Copy, k.Help, k.Quit}
}

// refreshDetail rebuilds the detail view of the selected connection, and asks the
// tracker for what only it knows (pending thresholds, extraction offsets).
func (m *Model) refreshDetail() {
	f := m.selected()
	if f == nil {
		m.detail.setContent(m.style(themes.Dim).Render("no connection selected"), m.width, m.bodyHeight())
		return
	}
	if !f.Closed {
		conn, uid := f.Conn, f.UID
		m.ask(func() { m.reply(connInfo(uid, conn)) })
	}
	m.detail.setContent(m.detailText(f), m.width, m.bodyHeight())
}

// detailText lays out every conn.log field of f, explained.
func (m *Model) detailText(f *flows.Flow) string {
	var b strings.Builder
	label := m.style(themes.StatusLabel).UnsetBackground()
	dim := m.style(themes.Dim)
	field := func(name, value string, note ...string) {
		if len(note) > 0 && note[0] != "" {
			value += "  " + dim.Render(note[0])
		}
		b.WriteString("  " + label.Render(fmt.Sprintf("%-15s", name)) + " " + hang(value, m.width, fieldIndent) + "\n")
	}
	status := "live"
	if f.Closed {
		status = "closed: " + explain.Reason(f.Reason) + " at " + f.Removed.Local().Format("15:04:05.000")
	}
	title := m.style(themes.Title).Render(" Connection " + f.UID + " ")
	b.WriteString(title + "  " + hang(dim.Render(status), m.width, lipgloss.Width(title)+2) + "\n\n")

	field("uid", f.UID)
	field("ts", f.TS.Local().Format("2006-01-02 15:04:05.000000 MST"), fmt.Sprintf("%.6f", float64(f.TS.UnixMicro())/1e6))
	field("id.orig_h:p", f.Orig(), local(f.HasLocal, f.LocalOrig))
	field("id.resp_h:p", f.Resp(), local(f.HasLocal, f.LocalResp))
	field("proto", f.Proto.Transport())
	if f.FromFlows {
		field("source", "flow records (NetFlow/IPFIX)", "counts from an exporter's records: no history or payload bytes unless a flowtop exported them")
	}
	if cid := f.CommunityID(m.opts.CommunityIDSeed); cid != "" {
		field("community_id", cid, fmt.Sprintf("Community ID v1, seed %d", m.opts.CommunityIDSeed))
	}
	m.serviceText(f, field)
	if f.HasDuration {
		field("duration", f.Duration.String())
	} else {
		field("duration", "-")
	}
	if f.FromFlows {
		field("orig_bytes", "-", "unknown: flow records count IP bytes (below), not payload")
		field("resp_bytes", "-")
	} else {
		field("orig_bytes", fmt.Sprint(f.OrigBytes), units.FormatBytes(f.OrigBytes)+" of payload")
		field("resp_bytes", fmt.Sprint(f.RespBytes), units.FormatBytes(f.RespBytes)+" of payload")
	}
	field("conn_state", m.style(themes.StateRole(f.ConnState)).Render(f.ConnState), explain.State(f.ConnState))
	field("missed_bytes", fmt.Sprint(f.MissedBytes))
	field("history", orDash(f.History))
	for _, l := range explain.History(f.History) {
		side := "resp"
		switch {
		case l.Letter == '^' || l.Letter == 'X' || l.Letter == 'x':
			side = "    "
		case l.Orig:
			side = "orig"
		}
		b.WriteString(fmt.Sprintf("  %17s %c  %s  %s\n", "", l.Letter, dim.Render(side), l.Text))
	}
	field("orig_pkts", fmt.Sprint(f.OrigPkts))
	field("orig_ip_bytes", fmt.Sprint(f.OrigIPBytes), units.FormatBytes(f.OrigIPBytes))
	field("resp_pkts", fmt.Sprint(f.RespPkts))
	field("resp_ip_bytes", fmt.Sprint(f.RespIPBytes), units.FormatBytes(f.RespIPBytes))
	if len(f.TunnelParents) > 0 {
		field("tunnel_parents", strings.Join(f.TunnelParents, ","))
	}
	b.WriteByte('\n')
	if f.OrigProc != nil || f.RespProc != nil {
		// A command line or a path breaks at its spaces only, so that what is
		// copied off the screen is still it.
		words := func(name, value string) {
			b.WriteString("  " + label.Render(fmt.Sprintf("%-15s", name)) + " " + hangWords(value, m.width, fieldIndent) + "\n")
		}
		processText(f, "orig", f.OrigProc, field, words)
		processText(f, "resp", f.RespProc, field, words)
		b.WriteByte('\n')
	}

	idle := m.frame.now.Sub(f.Last())
	if !f.Closed {
		left := "no inactivity timeout"
		if f.Inactivity > 0 {
			left = fmt.Sprintf("inactivity timeout in %s (after %s)", shortDuration(f.Inactivity-idle), f.Inactivity)
		}
		field("idle", shortDuration(idle), left)
	}
	m.thresholdsText(&b, f, field)
	m.extractionText(&b, f, field)
	if m.spark != nil && m.spark.uid == f.UID {
		end := m.frame.now
		if f.Closed {
			end = f.Last()
		}
		orig, resp, top := m.spark.rates(end)
		w := max(m.width-34, 10)
		spark := m.style(themes.Spark)
		b.WriteByte('\n')
		field("rate orig→resp", spark.Render(sparkline(orig, w, top)), last(orig, f.Closed, m.byteRates))
		field("rate resp→orig", spark.Render(sparkline(resp, w, top)), last(resp, f.Closed, m.byteRates))
		b.WriteString("  " + dim.Render(fmt.Sprintf("%15s one bar per %v of network time, scale %s", "", sampleEvery, units.FormatRate(top, m.byteRates))) + "\n")
	}
	return b.String()
}

// serviceText shows conn.log's service, what became of each analyzer attached to
// the connection, and the names learned on the wire and from passive DNS.
func (m *Model) serviceText(f *flows.Flow, field func(string, string, ...string)) {
	if f.Service != "" {
		field("service", f.Service)
	} else {
		note := "no analyzer confirmed"
		if g := explain.Service(f.Proto, f.RespP, f.OrigP); g != "" {
			note = "port suggests " + g + ", " + note
		}
		field("service", "-", note)
	}
	for _, o := range f.Analyzers {
		field("", o.String())
	}
	if n := f.Names; n != nil {
		for _, x := range []struct{ name, value string }{
			{"sni", n.SNI}, {"http host", n.HTTPHost}, {"dns query", n.DNSQuery},
			{"ssh client", n.SSHClient}, {"ssh server", n.SSHServer},
		} {
			if x.value != "" {
				field(x.name, x.value)
			}
		}
	}
	if f.OrigName != "" {
		field("orig name", f.OrigName, "passive DNS: from a DNS answer seen")
	}
	if f.RespName != "" {
		field("resp name", f.RespName, "passive DNS: from a DNS answer seen")
	}
}

// processText shows the local process behind one side of f (side "orig" or
// "resp"), if known: its pid and parent, command line, user, cgroup and what it
// names, and when it started. What the process chose (its name, its arguments) is
// shown escaped where it is not printable. words lays out a field whose value
// wraps at spaces only (hangWords).
func processText(f *flows.Flow, side string, p *process.Process, field func(string, string, ...string), words func(string, string)) {
	if p == nil {
		return
	}
	if p.PID == 0 {
		field(side+" process", printable(p.Label()), "the socket's owner; its process was gone or unreadable")
	} else {
		field(side+" process", printable(p.Label()))
		field("  pid", strconv.Itoa(int(p.PID)))
		if p.PPID > 0 {
			field("  parent pid", strconv.Itoa(int(p.PPID)))
		}
	}
	if p.Cmdline != "" {
		words("  command", printable(p.Cmdline))
	}
	uid := strconv.FormatUint(uint64(p.UID), 10)
	if p.User == uid || p.User == "" {
		field("  user", uid, "uid, no user name")
	} else {
		field("  user", printable(p.User), "uid "+uid)
	}
	if p.Cgroup != "" {
		words("  cgroup", printable(p.Cgroup))
	}
	if p.Unit != "" {
		field("  unit", printable(p.Unit))
	}
	if p.Container != "" {
		field("  container", printable(p.Container))
	}
	if !p.Start.IsZero() {
		when := shortDuration(f.TS.Sub(p.Start)) + " before the connection"
		if p.Start.After(f.TS) {
			when = shortDuration(p.Start.Sub(f.TS)) + " after the connection's start"
		}
		field("  started", p.Start.Local().Format("2006-01-02 15:04:05 MST"), when)
	}
}

// thresholdsText lists the thresholds pending and crossed.
func (m *Model) thresholdsText(b *strings.Builder, f *flows.Flow, field func(string, string, ...string)) {
	pending := "none"
	if f.Thresholds > 0 {
		pending = fmt.Sprint(f.Thresholds)
		if m.connInfo.uid == f.UID && len(m.connInfo.list) > 0 {
			var l []string
			for _, t := range m.connInfo.list {
				l = append(l, t.String())
			}
			pending = strings.Join(l, "; ")
		}
	}
	field("thresholds", pending, "pending (t to change)")
	for _, x := range m.crossed[f.UID] {
		field("", crossingText(&x)[len(f.UID)+1:], "crossed at "+x.Time.Local().Format("15:04:05.000"))
	}
}

// extractionText shows the content extraction of f: files, bytes written and the
// stream offsets where it started.
func (m *Model) extractionText(b *strings.Builder, f *flows.Flow, field func(string, string, ...string)) {
	if m.ex == nil {
		return
	}
	s := m.ex.sink(f.UID)
	if s == nil {
		field("extraction", "off", "x to start")
		return
	}
	p := s.Progress()
	state := "on"
	if p.Done {
		state = "ended"
	}
	field("extraction", state)
	for d, name := range []string{"orig", "resp"} {
		file := p.Files[d]
		if file == "" {
			file = "(no data yet)"
		}
		note := units.FormatBytes(p.Written[d]) + " written"
		if m.connInfo.uid == f.UID && m.connInfo.started[d] {
			note += fmt.Sprintf(", from stream offset %d", m.connInfo.start[d])
		}
		field("  "+name, file, note)
	}
}

// fieldIndent is where a field's value starts: two spaces, the name, a space.
const fieldIndent = 18

// hang wraps s, which starts at column indent of a screen width cells wide, so
// that its further lines start at indent too.
func hang(s string, width, indent int) string {
	room := width - indent
	if room < 10 || ansi.StringWidth(s) <= room {
		return s
	}
	return strings.ReplaceAll(ansi.Wrap(s, room, " "), "\n", "\n"+strings.Repeat(" ", indent))
}

// hangWords is hang for plain text (no styles) that must break at its spaces
// only, as a command line: ansi's wrapping breaks at hyphens too, which would
// split --option. A word longer than a line is cut where the line ends.
func hangWords(s string, width, indent int) string {
	room := width - indent
	if room < 10 || ansi.StringWidth(s) <= room {
		return s
	}
	var lines []string
	line, lineW, started := "", 0, false
	for _, w := range strings.Split(s, " ") {
		ww := ansi.StringWidth(w)
		switch {
		case !started:
			line, lineW, started = w, ww, true
		case lineW+1+ww <= room:
			line, lineW = line+" "+w, lineW+1+ww
		default:
			lines = append(lines, line)
			line, lineW = w, ww
		}
		for lineW > room { // a word longer than a line
			head := ansi.Truncate(line, room, "")
			lines = append(lines, head)
			line = line[len(head):]
			lineW = ansi.StringWidth(line)
		}
	}
	lines = append(lines, line)
	return strings.Join(lines, "\n"+strings.Repeat(" ", indent))
}

func local(has, v bool) string {
	switch {
	case !has:
		return ""
	case v:
		return "local"
	}
	return "remote"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// last formats the newest value of a rate series; a closed connection has none.
func last(v []float64, closed, bytes bool) string {
	switch {
	case len(v) == 0:
		return ""
	case closed:
		return "closed"
	}
	return "now " + units.FormatRate(v[len(v)-1], bytes)
}
