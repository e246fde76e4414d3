package ui

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/flowtop/flowtop/tracker"
	"github.com/muesli/termenv"
)

// TestMain renders without colour, in UTC, so views compare as text.
func TestMain(m *testing.M) {
	lipgloss.SetColorProfile(termenv.Ascii)
	time.Local = time.UTC
	os.Exit(m.Run())
}

// ordinary is the project's own capture of ordinary traffic (testdata/ordinary).
var ordinary = filepath.Join("..", "testdata", "ordinary", "ordinary.pcap")

// finalSnapshot runs the tracker over a capture and returns its final snapshot:
// every connection, as the TUI has it once a file has been read.
func finalSnapshot(t testing.TB, path string) *tracker.Snapshot {
	t.Helper()
	src, err := tracker.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	tr := tracker.New(tracker.Config{UIDSeed: 1}, tracker.Handlers{})
	feed := tr.Feed(time.Hour) // only the final snapshot
	if err := tr.Run(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	return <-feed.C()
}

// testModel returns a model of size w×h fed by a synchronous pipeline: each
// snapshot given to apply, and each query, produces its frame at once.
type testModel struct {
	*Model
	pipe *pipeline
	msgs chan tea.Msg // messages the model sent itself from other goroutines
}

func newTestModel(t testing.TB, w, h int, opts Options, tr Tracker, ex *Extraction) *testModel {
	t.Helper()
	tm := &testModel{msgs: make(chan tea.Msg, 64)}
	tm.pipe = newPipeline(nil, opts.Linger, func(f frameMsg) { tm.Model.Update(f) })
	tm.pipe.queries = nil // queries are answered synchronously below
	m, err := newModel(opts, tr, ex, nil, nil, func(msg tea.Msg) { tm.msgs <- msg })
	if err != nil {
		t.Fatal(err)
	}
	tm.Model = m
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	return tm
}

// apply hands a snapshot to the pipeline and the resulting frame to the model.
func (tm *testModel) apply(snap *tracker.Snapshot) {
	tm.pipe.store.Pin(tm.pipe.selectedUID())
	tm.pipe.store.Apply(snap)
	tm.refresh(snap.Crossings, snap.Final)
}

// refresh recomputes the frame for the model's current query.
func (tm *testModel) refresh(crossings []tracker.Crossing, final bool) {
	m := tm.Model
	tm.pipe.selectUID(m.selUID)
	tm.pipe.emit(m.query(), crossings, final || m.frame.final)
}

// press sends keys to the model, then refreshes the frame as the pipeline would.
func (tm *testModel) press(keys ...string) {
	for _, k := range keys {
		tm.Update(keyMsg(k))
	}
	tm.refresh(nil, false)
}

// keyMsg builds the KeyMsg of a key name as Bubble Tea spells it.
func keyMsg(k string) tea.KeyMsg {
	switch k {
	case "enter":
		return tea.KeyMsg{Type: tea.KeyEnter}
	case "esc":
		return tea.KeyMsg{Type: tea.KeyEsc}
	case "tab":
		return tea.KeyMsg{Type: tea.KeyTab}
	case "up":
		return tea.KeyMsg{Type: tea.KeyUp}
	case "down":
		return tea.KeyMsg{Type: tea.KeyDown}
	case "left":
		return tea.KeyMsg{Type: tea.KeyLeft}
	case "right":
		return tea.KeyMsg{Type: tea.KeyRight}
	case "pgdown":
		return tea.KeyMsg{Type: tea.KeyPgDown}
	case "backspace":
		return tea.KeyMsg{Type: tea.KeyBackspace}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
}

// typeText sends each character of s as a key.
func (tm *testModel) typeText(s string) {
	for _, r := range s {
		tm.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
}

// uids lists the uids of the model's rows.
func (tm *testModel) uids() []string {
	var out []string
	for _, f := range tm.frame.rows {
		out = append(out, f.UID)
	}
	return out
}

var t0 = time.Unix(1_700_000_000, 0).UTC()

// upd builds an update of a TCP connection from 10.0.0.1:port to 10.0.0.2:80.
func upd(uid string, seq uint64, port uint16, start time.Duration, origIP, respIP uint64) tracker.Update {
	return tracker.Update{Seq: seq, Record: tracker.Record{
		UID: uid, TS: t0.Add(start), ConnState: "S1", History: "ShAD",
		OrigIPBytes: origIP, RespIPBytes: respIP, OrigBytes: origIP / 2, RespBytes: respIP / 2, OrigPkts: 3, RespPkts: 2,
		Duration: time.Second, HasDuration: true,
		ConnID: tracker.ConnID{OrigH: netip.MustParseAddr("10.0.0.1"), OrigP: port, RespH: netip.MustParseAddr("10.0.0.2"), RespP: 80, Proto: tracker.ProtoTCP},
	}}
}

// next waits for the next message the model sent itself, and applies it.
func (tm *testModel) next(t testing.TB) tea.Msg {
	t.Helper()
	select {
	case msg := <-tm.msgs:
		if msg != nil {
			tm.Update(msg)
		}
		return msg
	case <-time.After(10 * time.Second):
		t.Fatal("no message from the model")
	}
	return nil
}
