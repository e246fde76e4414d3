package ui

import (
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/flowtop/flowtop/themes"
	"github.com/flowtop/flowtop/ui/filter"
)

// filterBar is the bottom line's filter editor (the / key): a component with its
// own Update and View. It compiles what was typed on Enter; a bad expression
// stays on screen with its error, and the model's applied filter is untouched
// until one compiles.
type filterBar struct {
	in   textinput.Model
	err  string         // the last compile error, shown after the input
	opts filter.Options // what expressions are compiled with
}

// filterBarAction is what a key in the filter bar asks of the model.
type filterBarAction struct {
	kind int            // barNone, barApply, barCancel
	f    *filter.Filter // for barApply: the compiled filter, nil for none
}

// Filter bar actions.
const (
	barNone = iota
	barApply
	barCancel
)

func newFilterBar(opts filter.Options) filterBar {
	in := textinput.New()
	in.Prompt = "/"
	in.Placeholder = "tcp and port 443, host 10.0.0.1, service http, name ~ example.com, bytes > 1MB"
	return filterBar{in: in, opts: opts}
}

// Open starts editing the applied filter's text (current nil: an empty one).
func (b *filterBar) Open(current *filter.Filter) tea.Cmd {
	b.err = ""
	b.in.SetValue("")
	if current != nil {
		b.in.SetValue(current.String())
	}
	b.in.CursorEnd()
	return b.in.Focus()
}

// Update handles a key: Enter applies what compiles, Esc cancels the edit.
func (b *filterBar) Update(k tea.KeyMsg) (tea.Cmd, filterBarAction) {
	switch k.Type {
	case tea.KeyEnter:
		f, err := filter.CompileWith(b.in.Value(), b.opts)
		if err != nil {
			b.err = err.Error() // the applied filter stays
			return nil, filterBarAction{}
		}
		b.err = ""
		b.in.Blur()
		if f.String() == "" {
			f = nil
		}
		return nil, filterBarAction{barApply, f}
	case tea.KeyEsc:
		b.err = ""
		b.in.SetValue("")
		b.in.Blur()
		return nil, filterBarAction{kind: barCancel}
	case tea.KeyCtrlC:
		return tea.Quit, filterBarAction{}
	}
	var cmd tea.Cmd
	b.in, cmd = b.in.Update(k)
	b.err = ""
	return cmd, filterBarAction{}
}

// View draws the input and the last error in width cells.
func (b *filterBar) View(style func(themes.Role) lipgloss.Style, width int) string {
	s := b.in.View()
	if b.err != "" {
		s += "  " + style(themes.Error).Render(b.err)
	}
	return lipgloss.NewStyle().MaxWidth(width).Render(s)
}
