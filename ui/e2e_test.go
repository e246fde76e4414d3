package ui

import (
	"bytes"
	"context"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/flowtop/flowtop/tracker"
)

// TestEndToEnd runs the whole TUI, as flowtop -r does, on the project's capture:
// tracker, Feed, pipeline and Bubble Tea program, driven by keys.
func TestEndToEnd(t *testing.T) {
	src, err := tracker.OpenFile(ordinary)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	replay := tracker.NewReplay(src, 0)
	tr := tracker.New(tracker.Config{UIDSeed: 1}, tracker.Handlers{})
	feed := tr.Feed(20 * time.Millisecond)
	var tm *teatest.TestModel
	pipe := newPipeline(feed.C(), time.Minute, func(f frameMsg) { tm.Send(f) })
	m, err := newModel(Options{Source: "ordinary.pcap", ShowClosed: true}, tr, nil, replay, pipe, func(msg tea.Msg) { tm.Send(msg) })
	if err != nil {
		t.Fatal(err)
	}
	tm = teatest.NewTestModel(t, m, teatest.WithInitialTermSize(180, 50))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go pipe.run(ctx)
	go func() { tm.Send(Done(tr.Run(ctx, replay))) }()

	wait := func(what ...string) {
		t.Helper()
		teatest.WaitFor(t, tm.Output(), func(out []byte) bool {
			for _, w := range what {
				if !bytes.Contains(out, []byte(w)) {
					return false
				}
			}
			return true
		}, teatest.WithDuration(10*time.Second))
	}
	wait("END OF INPUT", "10.77.0.1:57526", "[fd77::1]:41958", "REJ", "RSTO")
	tm.Type("/udp")
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	wait("filter udp", "10.77.0.1:54531")
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	wait("Connection C", "history", "Dd")
	tm.Send(tea.KeyMsg{Type: tea.KeyEsc})
	tm.Type("?")
	wait("default thresholds")
	tm.Send(tea.KeyMsg{Type: tea.KeyEsc})
	tm.Type("q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))

	final := tm.FinalModel(t).(*Model)
	if final.mode != modeTable || final.filter == nil || final.filter.String() != "udp" || !final.ended || final.endErr != nil {
		t.Errorf("final model: mode %v, filter %v, ended %v (%v)", final.mode, final.filter, final.ended, final.endErr)
	}
	if len(final.frame.rows) != 1 || final.frame.rows[0].Proto.Transport() != "udp" || final.frame.stats.Conns != 8 {
		t.Errorf("final rows %d, %d connections tracked", len(final.frame.rows), final.frame.stats.Conns)
	}
}
