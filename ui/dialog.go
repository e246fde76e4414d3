package ui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/flowtop/flowtop/themes"
	"github.com/flowtop/flowtop/tracker"
	"github.com/flowtop/flowtop/units"
)

// threshold is one threshold of a connection or of the defaults.
type threshold struct {
	metric tracker.Metric
	orig   bool   // direction; ignored for durations
	value  uint64 // bytes, packets or nanoseconds
}

func (t threshold) String() string {
	dir := "orig"
	if !t.orig {
		dir = "resp"
	}
	switch t.metric {
	case tracker.MetricBytes:
		return fmt.Sprintf("%s bytes ≥ %s (%d)", dir, units.FormatBytes(t.value), t.value)
	case tracker.MetricPackets:
		return fmt.Sprintf("%s packets ≥ %d", dir, t.value)
	}
	return fmt.Sprintf("duration > %v", time.Duration(t.value))
}

// apply sets (add) or deletes t on c; call it on the tracker's goroutine.
func (t threshold) apply(c tracker.Conn, add bool) {
	set, del := c.SetBytesThreshold, c.DeleteBytesThreshold
	switch t.metric {
	case tracker.MetricPackets:
		set, del = c.SetPacketsThreshold, c.DeletePacketsThreshold
	case tracker.MetricDuration:
		if add {
			c.SetDurationThreshold(time.Duration(t.value))
		} else {
			c.DeleteDurationThreshold(time.Duration(t.value))
		}
		return
	}
	if add {
		set(t.value, t.orig)
	} else {
		del(t.value, t.orig)
	}
}

// thresholdList flattens a tracker.ThresholdList.
func thresholdList(l tracker.ThresholdList) []threshold {
	var out []threshold
	add := func(m tracker.Metric, orig bool, vs []uint64) {
		for _, v := range vs {
			out = append(out, threshold{m, orig, v})
		}
	}
	add(tracker.MetricBytes, true, l.OrigBytes)
	add(tracker.MetricBytes, false, l.RespBytes)
	add(tracker.MetricPackets, true, l.OrigPackets)
	add(tracker.MetricPackets, false, l.RespPackets)
	for _, d := range l.Duration {
		out = append(out, threshold{tracker.MetricDuration, true, uint64(d)})
	}
	return out
}

// defaultsList and toDefaults convert the default thresholds.
func defaultsList(d tracker.Thresholds) []threshold {
	return thresholdList(tracker.ThresholdList(d))
}

func toDefaults(l []threshold) tracker.Thresholds {
	var d tracker.Thresholds
	for _, t := range l {
		switch {
		case t.metric == tracker.MetricBytes && t.orig:
			d.OrigBytes = append(d.OrigBytes, t.value)
		case t.metric == tracker.MetricBytes:
			d.RespBytes = append(d.RespBytes, t.value)
		case t.metric == tracker.MetricPackets && t.orig:
			d.OrigPackets = append(d.OrigPackets, t.value)
		case t.metric == tracker.MetricPackets:
			d.RespPackets = append(d.RespPackets, t.value)
		default:
			d.Duration = append(d.Duration, time.Duration(t.value))
		}
	}
	return d
}

// Dialog focus positions.
const (
	focusMetric = iota
	focusDir
	focusValue
	focusList
	numFocus
)

// dialog is the thresholds dialog, for one connection (t) or for the defaults of
// new connections (T).
type dialog struct {
	uid    string       // the connection; "" for the defaults
	conn   tracker.Conn // its handle, for calls through Tracker.Do
	title  string
	focus  int
	metric tracker.Metric
	orig   bool
	in     textinput.Model
	err    string
	list   []threshold
	sel    int
}

func newDialog(uid string, conn tracker.Conn, title string, list []threshold) *dialog {
	in := textinput.New()
	in.Placeholder = "10MB, 1.5GiB, 500k"
	in.CharLimit = 24
	in.Width = 24
	in.Prompt = ""
	in.Focus()
	return &dialog{uid: uid, conn: conn, title: title, focus: focusValue, orig: true, in: in, list: list}
}

var metricChoices = []tracker.Metric{tracker.MetricBytes, tracker.MetricPackets, tracker.MetricDuration}

// parse validates the value field for the chosen metric.
func (d *dialog) parse() (threshold, error) {
	s := strings.TrimSpace(d.in.Value())
	t := threshold{metric: d.metric, orig: d.orig}
	if s == "" {
		return t, fmt.Errorf("enter a value")
	}
	switch d.metric {
	case tracker.MetricDuration:
		v, err := time.ParseDuration(s)
		if err != nil {
			return t, fmt.Errorf("duration %q: want e.g. 2s, 1m30s, 500ms", s)
		}
		if v <= 0 {
			return t, fmt.Errorf("duration must be positive")
		}
		t.value, t.orig = uint64(v), true
	case tracker.MetricPackets:
		if strings.ContainsAny(s, "Bi") {
			return t, fmt.Errorf("packets %q: a count, e.g. 1000 or 50k", s)
		}
		fallthrough
	default:
		v, err := units.ParseSize(s)
		if err != nil {
			return t, err
		}
		if v == 0 {
			return t, fmt.Errorf("must be at least 1")
		}
		t.value = v
	}
	return t, nil
}

// cycleMetric moves the metric choice by delta, and the placeholder with it.
func (d *dialog) cycleMetric(delta int) {
	i := slices.Index(metricChoices, d.metric)
	d.metric = metricChoices[(i+delta+len(metricChoices))%len(metricChoices)]
	switch d.metric {
	case tracker.MetricBytes:
		d.in.Placeholder = "10MB, 1.5GiB, 500k"
	case tracker.MetricPackets:
		d.in.Placeholder = "1000, 50k"
	default:
		d.in.Placeholder = "2s, 1m30s"
	}
	d.err = ""
}

// moveFocus moves the focus by delta, skipping the direction for durations and the
// list when it is empty.
func (d *dialog) moveFocus(delta int) {
	for range numFocus {
		d.focus = (d.focus + delta + numFocus) % numFocus
		if d.focus == focusDir && d.metric == tracker.MetricDuration || d.focus == focusList && len(d.list) == 0 {
			continue
		}
		break
	}
	if d.focus == focusValue {
		d.in.Focus()
	} else {
		d.in.Blur()
	}
}

// dialogAction is what a key in the dialog asks of the model.
type dialogAction struct {
	kind int // dialogNone, dialogClose, dialogAdd, dialogRemove
	t    threshold
}

// Dialog actions.
const (
	dialogNone = iota
	dialogClose
	dialogAdd
	dialogRemove
)

// Update handles a key: the dialog's own state changes here, and what it asks of
// the model (close, add or remove a threshold) comes back as an action. closed
// says its connection has closed: only esc works then.
func (d *dialog) Update(k tea.KeyMsg, closed bool) (tea.Cmd, dialogAction) {
	switch k.String() {
	case "esc":
		return nil, dialogAction{kind: dialogClose}
	case "ctrl+c":
		return tea.Quit, dialogAction{}
	}
	if closed {
		return nil, dialogAction{} // a closed connection's thresholds can no longer fire: only esc
	}
	switch k.String() {
	case "tab", "down":
		if !(k.String() == "down" && d.focus == focusList) {
			d.moveFocus(1)
			return nil, dialogAction{}
		}
	case "shift+tab", "up":
		if !(k.String() == "up" && d.focus == focusList && d.sel > 0) {
			d.moveFocus(-1)
			return nil, dialogAction{}
		}
	}
	switch d.focus {
	case focusMetric:
		switch k.String() {
		case "left", "h":
			d.cycleMetric(-1)
		case "right", "l", " ":
			d.cycleMetric(1)
		}
	case focusDir:
		switch k.String() {
		case "left", "right", "h", "l", " ":
			d.orig = !d.orig
		}
	case focusList:
		switch k.String() {
		case "up", "k":
			d.sel = max(d.sel-1, 0)
		case "down", "j":
			d.sel = min(d.sel+1, len(d.list)-1)
		case "d", "delete", "backspace", "x":
			if d.sel < len(d.list) {
				return nil, dialogAction{dialogRemove, d.list[d.sel]}
			}
		}
	case focusValue:
		if k.Type == tea.KeyEnter {
			t, err := d.parse()
			if err != nil {
				d.err = err.Error()
				return nil, dialogAction{}
			}
			d.in.SetValue("")
			d.err = ""
			return nil, dialogAction{dialogAdd, t}
		}
		var cmd tea.Cmd
		d.in, cmd = d.in.Update(k)
		d.err = ""
		if d.in.Value() != "" {
			if _, err := d.parse(); err != nil {
				d.err = err.Error()
			}
		}
		return cmd, dialogAction{}
	}
	return nil, dialogAction{}
}

// View draws the dialog in a box centred in width x height; closed says its
// connection has closed. It changes nothing.
func (d *dialog) View(style func(themes.Role) lipgloss.Style, width, height int, closed bool) string {
	focus := func(i int, s string) string {
		if d.focus == i {
			return style(themes.Selected).Render(s)
		}
		return s
	}
	var b strings.Builder
	b.WriteString(style(themes.Title).Render(" "+d.title+" ") + "\n\n")
	fmt.Fprintf(&b, "  metric     %s\n", focus(focusMetric, "‹ "+d.metric.String()+" ›"))
	if d.metric != tracker.MetricDuration {
		what := "bytes"
		if d.metric == tracker.MetricPackets {
			what = "packets"
		}
		dir := "orig → resp (originator's " + what + ")"
		if !d.orig {
			dir = "resp → orig (responder's " + what + ")"
		}
		fmt.Fprintf(&b, "  direction  %s\n", focus(focusDir, "‹ "+dir+" ›"))
	} else {
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "  value      %s\n", d.in.View())
	switch {
	case d.err != "":
		b.WriteString("             " + style(themes.Error).Render(d.err) + "\n")
	case d.in.Value() != "":
		if t, err := d.parse(); err == nil {
			b.WriteString("             " + style(themes.Dim).Render("Enter adds: "+t.String()) + "\n")
		}
	default:
		b.WriteString("\n")
	}
	b.WriteString("\n  pending thresholds:\n")
	if len(d.list) == 0 {
		b.WriteString(style(themes.Dim).Render("    none") + "\n")
	}
	for i, t := range d.list {
		s := "    " + t.String()
		if d.focus == focusList && i == d.sel {
			s = style(themes.Selected).Render(s)
		}
		b.WriteString(s + "\n")
	}
	if closed {
		b.WriteString("\n  " + style(themes.Error).Render("The connection closed: its thresholds no longer apply."))
		b.WriteString("\n" + style(themes.Footer).Render("  esc close"))
	} else {
		b.WriteString("\n" + style(themes.Footer).Render("  tab next field · ←/→ change · enter add · d delete · esc close"))
	}
	// The box is as wide as its widest line but never wider than the screen:
	// narrower, its lines (a long error, the footer) wrap.
	content := b.String()
	w := min(lipgloss.Width(content), max(width-4, 20)) // border and padding take 4
	box := lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(style(themes.Border).GetForeground()).
		Padding(0, 1).Width(w + 2).Render(content)
	return lipgloss.Place(width, height, lipgloss.Center, lipgloss.Center, box)
}
