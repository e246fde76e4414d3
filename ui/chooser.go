package ui

import (
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/flowtop/flowtop/themes"
)

// chooser is the column chooser (the columns key): every column the table can
// show, the visible ones first in their order, each to show or hide and to move.
// It is a component with its own Update and View; what it chose reaches the model
// as an action.
type chooser struct {
	names []string        // every column, in the order being edited
	shown map[string]bool // the visible ones
	sel   int
}

// chooserAction is what a key in the chooser asks of the model.
type chooserAction struct {
	kind int      // chooseNone, chooseClose, chooseApply, chooseSave
	cols []string // for apply and save: the visible columns in order
}

// Chooser actions.
const (
	chooseNone = iota
	chooseClose
	chooseApply
	chooseSave
)

func newChooser(visible []column) *chooser {
	c := &chooser{shown: map[string]bool{}}
	for _, col := range visible {
		c.names = append(c.names, col.name)
		c.shown[col.name] = true
	}
	for _, name := range Columns() {
		if !c.shown[name] {
			c.names = append(c.names, name)
		}
	}
	return c
}

// visible returns the shown columns in order.
func (c *chooser) visible() []string {
	var out []string
	for _, n := range c.names {
		if c.shown[n] {
			out = append(out, n)
		}
	}
	return out
}

// Update handles a key: ↑/↓ select, space shows or hides, [ and ] move the
// selected column, enter applies, w applies and saves, esc closes.
func (c *chooser) Update(k tea.KeyMsg) (tea.Cmd, chooserAction) {
	switch k.String() {
	case "esc", "q":
		return nil, chooserAction{kind: chooseClose}
	case "ctrl+c":
		return tea.Quit, chooserAction{}
	case "up", "k":
		c.sel = max(c.sel-1, 0)
	case "down", "j":
		c.sel = min(c.sel+1, len(c.names)-1)
	case " ", "x":
		n := c.names[c.sel]
		if c.shown[n] && len(c.visible()) == 1 {
			break // the table keeps one column at least
		}
		c.shown[n] = !c.shown[n]
	case "[", "K":
		if c.sel > 0 {
			c.names[c.sel-1], c.names[c.sel] = c.names[c.sel], c.names[c.sel-1]
			c.sel--
		}
	case "]", "J":
		if c.sel < len(c.names)-1 {
			c.names[c.sel+1], c.names[c.sel] = c.names[c.sel], c.names[c.sel+1]
			c.sel++
		}
	case "enter":
		return nil, chooserAction{chooseApply, c.visible()}
	case "w":
		return nil, chooserAction{chooseSave, c.visible()}
	}
	return nil, chooserAction{}
}

// chooserKeys are the chooser's keys, for the footer help.
var chooserKeys = componentKeys{
	helpOnly("↑/↓", "select"), helpOnly("space", "show / hide"), helpOnly("[/]", "move"),
	helpOnly("enter", "apply"), helpOnly("w", "apply and save to the config file"), helpOnly("esc", "close"),
}

// View draws the list in width x height; it changes nothing.
func (c *chooser) View(style func(themes.Role) lipgloss.Style, width, height int) string {
	var b strings.Builder
	b.WriteString(style(themes.Title).Render(" Columns ") + "\n\n")
	// Keep the selection in sight when the list is taller than the room.
	rows := max(height-4, 1)
	first := min(max(c.sel-rows+1, 0), max(len(c.names)-rows, 0))
	for i := first; i < min(first+rows, len(c.names)); i++ {
		n := c.names[i]
		mark := "[ ]"
		if c.shown[n] {
			mark = "[x]"
		}
		line := "  " + mark + " " + n
		if col := indexColumn(n); col >= 0 {
			line += "  " + style(themes.Dim).Render(columns[col].title)
		}
		if i == c.sel {
			line = style(themes.Selected).Render(line)
		}
		b.WriteString(line + "\n")
	}
	return lipgloss.NewStyle().MaxWidth(width).Height(height).MaxHeight(height).Render(b.String())
}
