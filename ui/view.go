package ui

import (
	"fmt"
	"github.com/charmbracelet/bubbles/help"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/flowtop/flowtop/themes"
	"github.com/flowtop/flowtop/ui/flows"
	"github.com/flowtop/flowtop/units"
)

// View implements tea.Model.
func (m *Model) View() string {
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	var body string
	switch m.mode {
	case modeHelp:
		body = m.helpPane.View(m.width, m.bodyHeight())
	case modeDetail:
		body = m.detail.View(m.width, m.bodyHeight())
	case modeDialog:
		body = m.dialogView()
	case modeColumns:
		body = m.chooser.View(m.style, m.width, m.bodyHeight())
	default:
		body = m.tableView()
	}
	return lipgloss.JoinVertical(lipgloss.Left, m.statusView(), body, m.footerView())
}

// style returns the theme's style for a role.
func (m *Model) style(r themes.Role) lipgloss.Style { return m.styles.Style(r) }

// line cuts s to the screen width, pads it and renders it with role's style.
func (m *Model) line(r themes.Role, s string) string {
	return m.style(r).Width(m.width).Render(ansi.Truncate(s, m.width, "…"))
}

// countsView is the status bar's connection counts: active (open in the tracker),
// closed (removed so far, listed or not) and their total, every connection seen;
// then how many of them the table holds, when closed ones left it (linger).
func (m *Model) countsView(label, value lipgloss.Style) string {
	st := &m.frame.stats
	closed := st.Conns - min(uint64(st.Active), st.Conns)
	s := value.Render(fmt.Sprint(st.Active)) + label.Render(" active ") + value.Render(fmt.Sprint(closed)) +
		label.Render(" closed ") + value.Render(fmt.Sprint(st.Conns)) + label.Render(" total")
	if held := uint64(m.frame.flows); held != st.Conns {
		s += label.Render(" (") + value.Render(fmt.Sprint(held)) + label.Render(" listed)")
	}
	return s
}

// statusView is the top line: whether the display is live, paused or finished,
// the counts, rates, drops, sort, filter and extraction, and last the source,
// shortened from the left to what room is left, so that at 80 cells what changes
// stays in sight.
func (m *Model) statusView() string {
	f := &m.frame
	label, value := m.style(themes.StatusLabel), m.style(themes.Status)
	kind := "live"
	if !m.opts.Live {
		kind = "file"
	}
	parts := []string{
		m.countsView(label, value),
		value.Render(units.FormatCount(uint64(m.pktRate))) + label.Render(" pkt/s ") + value.Render(units.FormatRate(m.bitRate, m.byteRates)),
	}
	if m.opts.Live {
		// The kernel's drops: packets the tracker never saw.
		c := f.stats.Capture
		d := value.Render(fmt.Sprint(c.Dropped))
		if c.Dropped > 0 {
			d = m.style(themes.Error).Inherit(value).Render(fmt.Sprint(c.Dropped)) +
				label.Render(fmt.Sprintf(" (%.2g%%)", 100*float64(c.Dropped)/float64(max(c.Received, 1))))
		}
		parts = append(parts, label.Render("drops ")+d)
	}
	if f.stats.Evicted > 0 || f.drops.Removals+f.drops.Crossings > 0 {
		parts = append(parts, label.Render("evicted ")+value.Render(fmt.Sprint(f.stats.Evicted))+
			label.Render(" events lost ")+value.Render(fmt.Sprint(f.drops.Removals+f.drops.Crossings)))
	}
	parts = append(parts, label.Render("sort ")+value.Render(m.sortText()))
	if m.filter != nil {
		parts = append(parts, label.Render("filter ")+m.style(themes.Filter).Inherit(value).Render(m.filter.String()))
	}
	if m.ex != nil {
		st := m.ex.Stats()
		if st.Extracting > 0 || m.ex.All() || st.Files > 0 {
			s := label.Render("extracting ") + value.Render(fmt.Sprint(st.Extracting))
			if m.ex.All() {
				s += label.Render(" (all new)")
			}
			parts = append(parts, s)
		}
	}
	state := "● LIVE"
	switch {
	case m.paused:
		state = "‖ PAUSED"
	case m.ended && m.opts.Live:
		state = "■ STOPPED"
	case m.ended || f.final:
		state = "■ END OF INPUT"
	case !m.opts.Live:
		state = "▶ REPLAY"
	}
	sep := label.Render(" │ ")
	title := " flowtop " + state + " "
	if m.width < 100 {
		title = " " + state + " " // the name gives way to the figures
	}
	text := m.style(themes.Title).Render(title) + label.Render(" ") + strings.Join(parts, sep)
	kindText := " (" + kind + ")"
	room := m.width - lipgloss.Width(text) - lipgloss.Width(sep)
	switch {
	case room-len(kindText) >= 16:
		text += sep + value.Render(cutStart(m.opts.Source, room-len(kindText))) + label.Render(kindText)
	case room >= 8:
		text += sep + value.Render(cutStart(m.opts.Source, room)) // the state says live or file
	}
	return m.line(themes.Status, text)
}

// dialogView draws the thresholds dialog over the table's place.
func (m *Model) dialogView() string {
	if m.dialog == nil {
		return ""
	}
	return m.dialog.View(m.style, m.width, m.bodyHeight(), m.dialogClosed())
}

// footerView is the bottom line: the filter being edited, a message, or the
// essential keys.
func (m *Model) footerView() string {
	switch {
	case m.mode == modeFilter:
		return m.bar.View(m.style, m.width)
	case m.mode == modeJump:
		return lipgloss.NewStyle().MaxWidth(m.width).Render(m.jumpIn.View())
	case m.message != "":
		return m.line(themes.Alert, m.message)
	}
	h := m.help // View changes nothing: the help is drawn from a copy
	h.Width = m.width
	var keys help.KeyMap = m.keys // the footer help follows the active component
	switch m.mode {
	case modeDialog:
		keys = dialogKeys
	case modeColumns:
		keys = chooserKeys
	case modeDetail:
		keys = m.detail.footerKeys(m.keys)
	case modeHelp:
		keys = m.helpPane.footerKeys()
	}
	return lipgloss.NewStyle().MaxWidth(m.width).Render(h.View(keys))
}

// alertsShown reports whether the alerts pane takes room under the table.
func (m *Model) alertsShown() bool {
	return m.showAlerts && len(m.alerts.items) > 0 && m.mode == modeTable
}

// alertsHeight is the pane's height: a title and up to 5 alerts.
func (m *Model) alertsHeight() int { return 1 + min(len(m.alerts.items), 5) }

// tableView renders the header and the visible rows only, then the alerts pane.
func (m *Model) tableView() string {
	cols, widths := m.tableLayout()
	var b strings.Builder
	b.WriteString(strings.Repeat(" ", marksWidth))
	arrow := false // on the first column of the sort only (O PKT, not R PKT too)
	for i, c := range cols {
		title := c.title
		role := themes.Header
		if c.sort == m.sort && c.sort >= 0 && !arrow {
			arrow = true
			role = themes.HeaderSorted
			if m.desc {
				title += "↓"
			} else {
				title += "↑"
			}
		}
		b.WriteString(m.style(role).Render(fit(title, widths[i], c.right)))
		if i < len(cols)-1 {
			b.WriteByte(' ')
		}
	}
	out := []string{lipgloss.NewStyle().MaxWidth(m.width).Render(b.String())}

	h := m.tableHeight()
	rows := m.frame.rows
	ctx := m.cellContext()
	for i := m.offset; i < min(m.offset+h, len(rows)); i++ {
		out = append(out, m.rowView(rows[i], i == m.cursor, cols, widths, ctx))
	}
	if len(rows) == 0 {
		msg := "no connections yet"
		switch {
		case m.filter != nil:
			msg = "no connection matches the filter " + m.filter.String()
		case m.frame.flows > 0:
			msg = "no open connections (c shows closed ones)"
		}
		out = append(out, m.style(themes.Dim).Render("  "+msg))
	}
	for len(out) < h+1 {
		out = append(out, "")
	}
	if m.alertsShown() {
		out = append(out, m.alertsView())
	}
	return strings.Join(out, "\n")
}

// rowView renders one row of the table.
func (m *Model) rowView(f *flows.Flow, selected bool, cols []column, widths []int, ctx *cellContext) string {
	marks := []byte("    ") // the last one stays a space
	if selected {
		marks[0] = '>'
	}
	if m.isExtracting(f) {
		marks[1] = 'x'
	}
	if f.Thresholds > 0 {
		marks[2] = 't'
	}
	base := themes.Row
	switch {
	case selected:
		base = themes.Selected
	case f.Closed:
		base = themes.Closed
	case f.Crossed > 0:
		base = themes.Crossed
	}
	if selected {
		var b strings.Builder
		b.Write(marks)
		for i, c := range cols {
			ctx.width = widths[i]
			b.WriteString(fit(c.cell(ctx, f), widths[i], c.right))
			if i < len(cols)-1 {
				b.WriteByte(' ')
			}
		}
		return m.line(base, b.String())
	}
	st := m.style(base)
	var b strings.Builder
	b.WriteString(m.style(themes.Mark).Render(string(marks)))
	for i, c := range cols {
		ctx.width = widths[i]
		cell := fit(c.cell(ctx, f), widths[i], c.right)
		var role themes.Role
		if c.role != nil && base == themes.Row {
			role = c.role(f)
		}
		if role != "" {
			b.WriteString(m.style(role).Inherit(st).Render(cell))
		} else {
			b.WriteString(st.Render(cell))
		}
		if i < len(cols)-1 {
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// alertsView is the alerts pane, newest first.
func (m *Model) alertsView() string {
	items := m.alerts.items
	out := []string{m.line(themes.Border, fmt.Sprintf("── alerts (%d) ", len(items))+strings.Repeat("─", max(m.width-16, 0)))}
	for _, a := range items[:min(len(items), m.alertsHeight()-1)] {
		text := a.at.Local().Format("15:04:05") + "  " + a.text
		if a.count > 1 {
			text += fmt.Sprintf("  ×%d", a.count)
		}
		role := themes.Alert
		if a.err {
			role = themes.Error
		}
		out = append(out, m.line(role, text))
	}
	return strings.Join(out, "\n")
}

// bodyHeight is the room between the status line and the footer.
func (m *Model) bodyHeight() int { return max(m.height-2, 1) }
