package ui

import (
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/flowtop/flowtop/themes"
)

// helpPane is the help screen: every binding of the key map, its groups laid out
// side by side as far as the width holds and one under another beyond, then the
// filter language, the marks and the mouse; scrolled when the screen is shorter
// than that. It is a component with its own Update, View and keys; its text comes
// from the key map, so a rebinding in the config file shows here too.
type helpPane struct {
	keys   KeyMap
	style  func(themes.Role) lipgloss.Style
	offset int // the first line of the text shown
}

// helpAction is what a key in the help asks of the model.
type helpAction int

// Help actions.
const (
	helpNone helpAction = iota
	helpClose
	helpQuit
)

// helpGap is the room between two groups of keys.
const helpGap = 3

// helpFilterText sums up the filter language (ui/filter's doc has it all).
const helpFilterText = "Filter (/): tcp, udp, icmp, ip, ip6, icmp6, proto tcp · host 10.0.0.1, net 10.0.0.0/8, " +
	"port 443, src/dst host|net|port X, tcp port 8080, port 80 or 443 (a bare value reuses the qualifier) · " +
	"host example.com (.example.com: and every name under it), name ~ text · service http (confirmed by an analyzer), " +
	"state SF, history ~ R, uid C… · proc curl (exactly; proc ~ text: a part), pid 4242, user alice (or a uid): " +
	"a local process of either side · bytes > 1MB (also orig_bytes, resp_bytes, ip_bytes, pkts, duration > 30s; " +
	"= != < <= > >=) · and, or, not, ( ) (also &&, ||, !)."

// helpMarksText explains what the table shows besides its columns.
const helpMarksText = "Marks: > selected, x extracting, t thresholds pending. SERVICE: a guess from the port ends in ?. " +
	"PROCESS: the local side's process, the originator's first (shown once a connection has one). " +
	"Mouse: the wheel scrolls, a click selects, a click on a header sorts (again: reverses)."

func newHelpPane(keys KeyMap, style func(themes.Role) lipgloss.Style) *helpPane {
	return &helpPane{keys: keys, style: style}
}

// lines is the help's text at width, one screen line each.
func (h *helpPane) lines(width int) []string {
	keyStyle, descStyle := h.style(themes.HelpKey), h.style(themes.HelpDesc)
	type block struct {
		rows  []key.Binding
		keyW  int
		width int
	}
	var blocks []block
	for _, group := range h.keys.FullHelp() {
		b := block{}
		descW := 0
		for _, k := range group {
			if !k.Enabled() {
				continue
			}
			b.rows = append(b.rows, k)
			b.keyW = max(b.keyW, ansi.StringWidth(k.Help().Key))
			descW = max(descW, ansi.StringWidth(k.Help().Desc))
		}
		if len(b.rows) > 0 {
			b.width = b.keyW + 1 + descW
			blocks = append(blocks, b)
		}
	}
	var out []string
	for len(blocks) > 0 {
		// As many groups side by side as fit; always at least one.
		n, w := 1, blocks[0].width
		for n < len(blocks) && w+helpGap+blocks[n].width <= width {
			w += helpGap + blocks[n].width
			n++
		}
		height := 0
		for _, b := range blocks[:n] {
			height = max(height, len(b.rows))
		}
		for i := range height {
			var line strings.Builder
			for j, b := range blocks[:n] {
				cell := ""
				if i < len(b.rows) {
					hk := b.rows[i].Help()
					cell = keyStyle.Render(fit(hk.Key, b.keyW, false)) + " " + descStyle.Render(hk.Desc)
				}
				if j < n-1 {
					cell += strings.Repeat(" ", max(b.width+helpGap-ansi.StringWidth(cell), 0))
				}
				line.WriteString(cell)
			}
			out = append(out, ansi.Truncate(strings.TrimRight(line.String(), " "), width, "…"))
		}
		out = append(out, "")
		blocks = blocks[n:]
	}
	dim := h.style(themes.Dim)
	for _, text := range []string{helpFilterText, helpMarksText} {
		for _, l := range strings.Split(ansi.Wordwrap(text, width, ""), "\n") {
			out = append(out, dim.Render(l))
		}
	}
	return out
}

// helpRoom is how many lines of text fit under the title in height.
func helpRoom(height int) int { return max(height-2, 1) }

// Update scrolls the help or closes it: Esc, the help key and q close it; the
// second quit key (ctrl+c) quits.
func (h *helpPane) Update(k tea.KeyMsg, width, height int) helpAction {
	keys := h.keys
	room := helpRoom(height)
	last := max(len(h.lines(width))-room, 0)
	switch {
	case k.String() == "ctrl+c" && key.Matches(k, keys.Quit):
		return helpQuit
	case key.Matches(k, keys.Back, keys.Help, keys.Quit):
		return helpClose
	case key.Matches(k, keys.Up):
		h.offset--
	case key.Matches(k, keys.Down):
		h.offset++
	case key.Matches(k, keys.PageUp):
		h.offset -= room
	case key.Matches(k, keys.PageDown):
		h.offset += room
	case key.Matches(k, keys.Top):
		h.offset = 0
	case key.Matches(k, keys.Bottom):
		h.offset = last
	}
	h.offset = max(min(h.offset, last), 0)
	return helpNone
}

// View draws the help in width by height cells: the title, with where the view
// is when the text does not fit, then the lines from the scroll offset.
func (h *helpPane) View(width, height int) string {
	lines := h.lines(width)
	room := helpRoom(height)
	off := max(min(h.offset, len(lines)-room), 0) // a resize may have left it past the end
	title := h.style(themes.Title).Render(" Keys ")
	if len(lines) > room {
		title += h.style(themes.Dim).Render(
			"  lines " + strconv.Itoa(off+1) + "–" + strconv.Itoa(min(off+room, len(lines))) + " of " + strconv.Itoa(len(lines)) + " (↑/↓ scroll)")
	}
	shown := lines[off:min(off+room, len(lines))]
	text := title + "\n\n" + strings.Join(shown, "\n")
	return lipgloss.NewStyle().Height(height).MaxHeight(height).MaxWidth(width).Render(text)
}

// footerKeys are the help's own keys, for the footer.
func (h *helpPane) footerKeys() componentKeys {
	return componentKeys{h.keys.Back, helpOnly("↑/↓", "scroll"), helpOnly("ctrl+c", "quit")}
}
