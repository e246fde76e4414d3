package ui

import (
	"context"
	"io"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/flowtop/flowtop/tracker"
)

// Program is a running TUI.
type Program struct {
	p     *tea.Program
	model *Model
	pipe  *pipeline
}

// New prepares the TUI on feed. tr, ex and replay may be nil: no tracker control,
// no extraction, a live source. in and out are the terminal (nil: standard input
// and output); extra options (e.g. tea.WithoutRenderer in tests) are passed on.
func New(opts Options, feed *tracker.Feed, tr Tracker, ex *Extraction, replay Pauser, in io.Reader, out io.Writer, extra ...tea.ProgramOption) (*Program, error) {
	prog := &Program{}
	prog.pipe = newPipeline(feed.C(), opts.Linger, func(f frameMsg) { prog.p.Send(f) })
	prog.pipe.store.MaxFlows = opts.MaxFlows
	m, err := newModel(opts, tr, ex, replay, prog.pipe, func(msg tea.Msg) { prog.p.Send(msg) })
	if err != nil {
		return nil, err
	}
	prog.model = m
	popts := []tea.ProgramOption{tea.WithAltScreen(), tea.WithMouseCellMotion()}
	if in != nil {
		popts = append(popts, tea.WithInput(in))
	}
	if out != nil {
		popts = append(popts, tea.WithOutput(out))
	}
	prog.p = tea.NewProgram(m, append(popts, extra...)...)
	return prog, nil
}

// Send delivers a message (Done, Alert) from another goroutine.
func (p *Program) Send(msg tea.Msg) { p.p.Send(msg) }

// Run runs the TUI until the user quits (or ctx is cancelled) and restores the
// terminal.
func (p *Program) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go p.pipe.run(ctx)
	go func() {
		<-ctx.Done()
		p.p.Quit()
	}()
	_, err := p.p.Run()
	return err
}
