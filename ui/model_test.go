package ui

import (
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/flowtop/flowtop/analyzer"
	"github.com/flowtop/flowtop/config"
	"github.com/flowtop/flowtop/extract"
	"github.com/flowtop/flowtop/process"
	"github.com/flowtop/flowtop/themes"
	"github.com/flowtop/flowtop/tracker"
	"github.com/flowtop/flowtop/ui/flows"
	"github.com/muesli/termenv"
)

// The config package validates [ui] columns and [keys] actions by name; they must
// be the names this package knows.
func TestConfigNames(t *testing.T) {
	if !slices.Equal(config.Columns, Columns()) {
		t.Errorf("config.Columns %v\nui columns     %v", config.Columns, Columns())
	}
	if !slices.Equal(config.Actions, Actions()) {
		t.Errorf("config.Actions %v\nui actions     %v", config.Actions, Actions())
	}
	for _, a := range actions {
		for _, k := range a.keys {
			if _, err := config.ParseKey(keyName(k)); err != nil && k != " " {
				t.Errorf("default key %q of %s: %v", k, a.name, err)
			}
		}
	}
}

func TestKeyMap(t *testing.T) {
	for _, tc := range []struct {
		name      string
		overrides map[string][]string
		wantErr   string
	}{
		{"defaults", nil, ""},
		{"rebound", map[string][]string{"quit": {"Q"}, "detail": {"enter", "o"}}, ""},
		{"unknown action", map[string][]string{"exit": {"x"}}, `keys: exit: unknown action (known: quit, `},
		{"clash with a default", map[string][]string{"detail": {" "}}, `keys: detail: "space" is bound to both detail and pause`},
		{"clash named where it was rebound", map[string][]string{"pause": {"enter"}}, `keys: pause: "enter" is bound to both detail and pause`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := NewKeyMap(tc.overrides)
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.overrides != nil && (!slices.Equal(k.Quit.Keys(), []string{"Q"}) || k.Detail.Help().Key != "enter/o") {
				t.Errorf("quit %v, detail help %q", k.Quit.Keys(), k.Detail.Help().Key)
			}
		})
	}
}

func TestLayout(t *testing.T) {
	for _, set := range []struct {
		name  string
		names []string
		full  int // the width from which every column shows
	}{
		{"without processes", withoutProcess(DefaultColumns), 180}, // a file's
		{"with processes", DefaultColumns, 190},                    // a live capture's, with attribution
	} {
		t.Run(set.name, func(t *testing.T) { testLayout(t, set.names, set.full) })
	}
}

// withoutProcess is names without the PROCESS column: the default columns until a
// connection has had a process.
func withoutProcess(names []string) []string {
	return slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == processColumn })
}

func testLayout(t *testing.T, set []string, full int) {
	cols, _ := findColumns(set)
	for _, width := range []int{40, 80, 120, 130, 180, 190, 300} {
		kept, widths := layout(cols, width, nil)
		total := marksWidth - 1 // a space between columns
		for i, c := range kept {
			if widths[i] < c.width {
				t.Errorf("%d: %s narrower than its minimum", width, c.name)
			}
			total += widths[i] + 1
		}
		if total > width && len(kept) > 1 {
			t.Errorf("%d columns: %d cells", width, total)
		}
		names := make([]string, len(kept))
		for i, c := range kept {
			names[i] = c.name
		}
		// The most important columns are the last to go: at 80 cells, the
		// endpoints, their state and the bytes both ways; SERVICE from 120,
		// NAME from 150.
		for _, must := range []string{"orig", "resp"} {
			if width >= 60 && !slices.Contains(names, must) {
				t.Errorf("%d: %s dropped: %v", width, must, names)
			}
		}
		for _, must := range []string{"proto", "state", "orig_bytes", "resp_bytes"} {
			if width >= 80 && !slices.Contains(names, must) {
				t.Errorf("%d: %s dropped: %v", width, must, names)
			}
		}
		if width >= 120 && !slices.Contains(names, "service") {
			t.Errorf("%d: service dropped: %v", width, names)
		}
		if width >= 150 && !slices.Contains(names, "name") {
			t.Errorf("%d: name dropped: %v", width, names)
		}
		// PROCESS, where it is, from 120: it outlasts the rates.
		if slices.Contains(set, processColumn) && !slices.Contains(names, processColumn) &&
			(width >= 120 || slices.Contains(names, "orig_rate") || slices.Contains(names, "resp_rate")) {
			t.Errorf("%d: process dropped: %v", width, names)
		}
		if width >= full && len(kept) != len(cols) {
			t.Errorf("%d: dropped columns at full width: %v", width, names)
		}
	}
}

func TestFit(t *testing.T) {
	for _, tc := range []struct {
		s     string
		w     int
		right bool
		want  string
	}{
		{"abc", 5, false, "abc  "},
		{"abc", 5, true, "  abc"},
		{"PROTO↑", 6, false, "PROTO↑"},
		{"[fe80::3074:17d5:2052:c324]:54213", 15, false, "[fe80::…]:54213"},
		{"abc", 1, false, "a"},
	} {
		if got := fit(tc.s, tc.w, tc.right); got != tc.want {
			t.Errorf("fit(%q, %d) = %q, want %q", tc.s, tc.w, got, tc.want)
		}
	}
}

// The cursor stays on its connection, on the same screen line, when the rows move.
func TestCursorFollowsConnection(t *testing.T) {
	tm := newTestModel(t, 120, 10, Options{}, nil, nil)
	var ups []tracker.Update
	for i := range 20 {
		ups = append(ups, upd("C"+string(rune('a'+i)), uint64(i), uint16(1000+i), time.Duration(i)*time.Millisecond, 100, uint64(i)*100))
	}
	tm.apply(&tracker.Snapshot{Time: t0.Add(time.Second), Updates: ups})
	tm.press("j", "j", "j", "j", "j") // Cf on line 5
	if tm.selUID != "Cf" || tm.cursor != 5 {
		t.Fatalf("cursor %d on %s", tm.cursor, tm.selUID)
	}
	line := tm.cursor - tm.offset
	tm.press("S") // reverse: Cf moves to index 14
	if tm.selUID != "Cf" || tm.cursor != 14 || tm.cursor-tm.offset != line {
		t.Errorf("after reversing: cursor %d (line %d) on %s; want 14, line %d, Cf", tm.cursor, tm.cursor-tm.offset, tm.selUID, line)
	}
	// New rows before it do not move the selection either.
	tm.apply(&tracker.Snapshot{Time: t0.Add(2 * time.Second), Updates: []tracker.Update{upd("Cz", 99, 2000, time.Hour, 1, 1)}})
	if tm.selUID != "Cf" || tm.cursor != 15 {
		t.Errorf("after a new row: cursor %d on %s", tm.cursor, tm.selUID)
	}
	// Removed under the cursor: stays selected, listed although closed ones are
	// hidden.
	tm.showClosed = false
	closed := ups[5].Record
	closed.Reason, closed.Removed = tracker.ReasonClose, t0.Add(3*time.Second)
	tm.apply(&tracker.Snapshot{Time: t0.Add(3 * time.Second), Removed: []tracker.Record{closed}})
	if f := tm.selected(); f == nil || f.UID != "Cf" || !f.Closed {
		t.Errorf("closed connection under the cursor: %+v", f)
	}
	tm.press("j")
	if slices.Contains(tm.uids(), "Cf") {
		t.Errorf("closed connection still listed once the cursor left it")
	}
}

func TestSortAndFilterKeys(t *testing.T) {
	tm := newTestModel(t, 180, 30, Options{ShowClosed: true}, nil, nil)
	tm.apply(finalSnapshot(t, ordinary))
	if len(tm.frame.rows) != 8 {
		t.Fatalf("%d rows, want the capture's 8 connections", len(tm.frame.rows))
	}
	tm.press("s")
	if tm.sort != flows.ByProto {
		t.Errorf("s: sort %v", tm.sort)
	}
	protos := func() string {
		var s []string
		for _, f := range tm.frame.rows {
			s = append(s, f.Proto.Transport())
		}
		return strings.Join(slices.Compact(s), " ")
	}
	if got := protos(); got != "icmp tcp udp" {
		t.Errorf("by proto: %s", got)
	}
	tm.press("S")
	if got := protos(); got != "udp tcp icmp" {
		t.Errorf("by proto, reversed: %s", got)
	}

	tm.press("/")
	tm.typeText("udp")
	tm.press("enter")
	if tm.mode != modeTable || tm.filter == nil || protos() != "udp" {
		t.Fatalf("filter udp: mode %v, rows %s", tm.mode, protos())
	}
	// A bad expression shows its error and keeps the previous filter.
	tm.press("/")
	tm.typeText(" and port")
	tm.press("enter")
	if tm.mode != modeFilter || !strings.Contains(tm.bar.err, "column") || tm.filter.String() != "udp" {
		t.Errorf("bad filter: mode %v, error %q, filter %q", tm.mode, tm.bar.err, tm.filter.String())
	}
	if v := tm.View(); !strings.Contains(v, tm.bar.err) {
		t.Errorf("the error is not shown inline:\n%s", v)
	}
	// Esc cancels the edit and keeps the applied filter; Esc again clears it.
	tm.press("esc")
	if tm.mode != modeTable || tm.filter.String() != "udp" || protos() != "udp" || !strings.Contains(tm.View(), "filter kept") {
		t.Errorf("esc while editing: mode %v, filter %v, rows %s", tm.mode, tm.filter, protos())
	}
	tm.press("esc")
	if tm.filter != nil || len(tm.frame.rows) != 8 || !strings.Contains(tm.View(), "filter cleared") {
		t.Errorf("esc again: filter %v, %d rows", tm.filter, len(tm.frame.rows))
	}
}

func TestOverlays(t *testing.T) {
	tm := newTestModel(t, 180, 40, Options{ShowClosed: true}, nil, nil)
	tm.apply(finalSnapshot(t, ordinary))
	for _, tc := range []struct {
		keys []string
		mode mode
		want string
	}{
		{[]string{"enter"}, modeDetail, "history"},
		{[]string{"esc"}, modeTable, "ORIGINATOR"},
		{[]string{"?"}, modeHelp, "default thresholds"},
		{[]string{"esc"}, modeTable, "ORIGINATOR"},
		{[]string{"T"}, modeDialog, "Default thresholds for new connections"},
		{[]string{"esc"}, modeTable, "ORIGINATOR"},
	} {
		tm.press(tc.keys...)
		if tm.mode != tc.mode || !strings.Contains(tm.View(), tc.want) {
			t.Errorf("%v: mode %v, view without %q", tc.keys, tm.mode, tc.want)
		}
	}
	if cmd := tm.key(keyMsg("q")); cmd == nil || cmd() != tea.Quit() {
		t.Errorf("q does not quit")
	}
}

func TestDialogParse(t *testing.T) {
	for _, tc := range []struct {
		metric  tracker.Metric
		in      string
		want    uint64
		wantErr string
	}{
		{tracker.MetricBytes, "10MB", 10_000_000, ""},
		{tracker.MetricBytes, "1.5GiB", 1536 << 20, ""},
		{tracker.MetricBytes, "500k", 500_000, ""},
		{tracker.MetricBytes, "0", 0, "at least 1"},
		{tracker.MetricBytes, "2s", 0, "size"},
		{tracker.MetricPackets, "50k", 50_000, ""},
		{tracker.MetricPackets, "10MB", 0, "a count"},
		{tracker.MetricDuration, "2s", uint64(2 * time.Second), ""},
		{tracker.MetricDuration, "1m30s", uint64(90 * time.Second), ""},
		{tracker.MetricDuration, "10MB", 0, "want e.g."},
		{tracker.MetricDuration, "-1s", 0, "positive"},
		{tracker.MetricBytes, "", 0, "enter a value"},
	} {
		d := newDialog("C1", tracker.Conn{}, "", nil)
		d.metric = tc.metric
		d.in.SetValue(tc.in)
		got, err := d.parse()
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%v %q: error %v, want %q", tc.metric, tc.in, err, tc.wantErr)
		case tc.wantErr == "" && (err != nil || got.value != tc.want):
			t.Errorf("%v %q: %v, %v; want %d", tc.metric, tc.in, got.value, err, tc.want)
		}
	}
}

// The T dialog edits the default thresholds and hands them to the tracker.
func TestDefaultThresholdsDialog(t *testing.T) {
	fake := &fakeTracker{}
	tm := newTestModel(t, 120, 40, Options{Defaults: tracker.Thresholds{RespBytes: []uint64{1000}}}, fake, nil)
	tm.press("T")
	if got := tm.View(); !strings.Contains(got, "resp bytes ≥ 1000 B (1000)") {
		t.Errorf("the configured default is not listed:\n%s", got)
	}
	tm.typeText("10MB")
	tm.press("enter")      // orig bytes ≥ 10 MB
	tm.press("tab", "tab") // to the metric
	tm.press("right", "right")
	tm.press("tab")
	tm.typeText("2s")
	tm.press("enter") // duration > 2s
	want := tracker.Thresholds{OrigBytes: []uint64{10_000_000}, RespBytes: []uint64{1000}, Duration: []time.Duration{2 * time.Second}}
	if !equalThresholds(fake.defaults, want) {
		t.Errorf("defaults %+v, want %+v", fake.defaults, want)
	}
	tm.press("tab") // to the list
	tm.press("d")   // deletes the first: resp bytes 1000… in list order
	if len(fake.defaults.OrigBytes)+len(fake.defaults.RespBytes)+len(fake.defaults.Duration) != 2 {
		t.Errorf("after delete: %+v", fake.defaults)
	}
}

func equalThresholds(a, b tracker.Thresholds) bool {
	return slices.Equal(a.OrigBytes, b.OrigBytes) && slices.Equal(a.RespBytes, b.RespBytes) &&
		slices.Equal(a.OrigPackets, b.OrigPackets) && slices.Equal(a.RespPackets, b.RespPackets) && slices.Equal(a.Duration, b.Duration)
}

// fakeTracker runs calls at once, as if the tracker's goroutine were idle.
type fakeTracker struct{ defaults tracker.Thresholds }

func (f *fakeTracker) Do(fn func()) bool                         { fn(); return true }
func (f *fakeTracker) SetDefaultThresholds(d tracker.Thresholds) { f.defaults = d }

func TestAlerts(t *testing.T) {
	var l alertList
	l.add(t0, "a", false)
	l.add(t0, "b", true)
	l.add(t0.Add(time.Second), "a", false)
	if len(l.items) != 2 || l.items[0].text != "a" || l.items[0].count != 2 || l.items[1].text != "b" {
		t.Errorf("alerts %+v", l.items)
	}
	for i := range maxAlerts + 10 {
		l.add(t0, string(rune(i+1000)), false)
	}
	if len(l.items) != maxAlerts {
		t.Errorf("%d alerts kept", len(l.items))
	}
}

func TestMouse(t *testing.T) {
	tm := newTestModel(t, 180, 30, Options{ShowClosed: true}, nil, nil)
	tm.apply(finalSnapshot(t, ordinary))
	tm.View() // lays out the header
	// A click on the third row selects it; on the STATE header sorts by state.
	tm.Update(tea.MouseMsg{X: 10, Y: headerLine + 3, Action: tea.MouseActionPress, Button: tea.MouseButtonLeft})
	tm.refresh(nil, false)
	if tm.cursor != 2 {
		t.Errorf("click on row 3: cursor %d", tm.cursor)
	}
	header := strings.Split(tm.View(), "\n")[headerLine]
	x := strings.Index(header, "STATE")
	tm.Update(tea.MouseMsg{X: x + 1, Y: headerLine, Action: tea.MouseActionPress, Button: tea.MouseButtonLeft})
	if tm.sort != flows.ByState || tm.desc {
		t.Errorf("click on STATE: sort %v desc %v", tm.sort, tm.desc)
	}
	tm.Update(tea.MouseMsg{X: x + 1, Y: headerLine, Action: tea.MouseActionPress, Button: tea.MouseButtonLeft})
	if !tm.desc {
		t.Errorf("second click does not reverse")
	}
	tm.Update(tea.MouseMsg{Button: tea.MouseButtonWheelDown, Action: tea.MouseActionPress})
	if tm.cursor != 5 {
		t.Errorf("wheel: cursor %d", tm.cursor)
	}
}

// Keys that arrive together (typed faster than the terminal is read) count one by one.
func TestKeysTogether(t *testing.T) {
	tm := newTestModel(t, 180, 30, Options{ShowClosed: true}, nil, nil)
	tm.apply(finalSnapshot(t, ordinary))
	tm.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("/udp")})
	tm.press("enter")
	if tm.filter == nil || tm.filter.String() != "udp" {
		t.Errorf("filter %v", tm.filter)
	}
}

// The t dialog and the x key act on a real connection through Tracker.Do: the
// threshold fires as the download crosses it, and the content files hold the
// stream from the offset where extraction started.
func TestThresholdAndExtractOnConnection(t *testing.T) {
	dir := t.TempDir()
	ex := extract.New(extract.Config{Dir: dir}, nil)
	extraction := NewExtraction(ex, false)
	handles := map[string]tracker.Conn{}
	var crossings []tracker.Crossing
	tr := tracker.New(tracker.Config{UIDSeed: 1, KeepPayload: true}, tracker.Handlers{
		NewConn:   func(c tracker.Conn) { handles[c.UID()] = c },
		Threshold: func(x *tracker.Crossing) { crossings = append(crossings, *x) },
		Content:   extraction.Content,
	})
	src, err := tracker.OpenFile(ordinary)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	// Read until the 300 KiB download (to port 8080, the second one) is under way.
	var download tracker.Conn
	for download == (tracker.Conn{}) || download.Counters().RespIPBytes < 50_000 {
		data, ci, link, err := src.ReadPacket()
		if err != nil {
			t.Fatal("the download never got under way")
		}
		tr.Packet(data, ci, link)
		for _, c := range handles {
			if id := c.ID(); id.RespP == 8080 && id.OrigP == 57526 {
				download = c
			}
		}
	}
	var u tracker.Update
	download.Record(&u.Record)
	u.Conn = download
	tm := newTestModel(t, 120, 40, Options{}, &fakeTracker{}, extraction)
	tm.apply(&tracker.Snapshot{Time: u.TS.Add(u.Duration), Updates: []tracker.Update{u}})

	tm.press("t")
	tm.press("up")    // to the direction
	tm.press("right") // resp → orig
	tm.press("tab")   // back to the value
	tm.typeText("200k")
	tm.press("enter")
	tm.reply(nil) // a marker: the replies before it are in
	var msg connMsg
	for r := tm.next(t); r != nil; r = tm.next(t) {
		msg = r.(connMsg)
	}
	if len(msg.list) != 1 || msg.list[0] != (threshold{tracker.MetricBytes, false, 200_000}) {
		t.Fatalf("thresholds after adding: %+v", msg.list)
	}
	tm.press("esc", "x")
	if got := tm.next(t).(extractMsg); !got.on || got.uid != u.UID {
		t.Fatalf("x: %+v", got)
	}
	if want := "extracting " + u.UID + " into " + dir + string(filepath.Separator); tm.message != want {
		t.Errorf("x says %q, want %q", tm.message, want)
	}
	start, ok := download.ContentStart(false)
	if !ok || start == 0 {
		t.Fatalf("extraction start offset %d, %v; want within the stream", start, ok)
	}
	for {
		data, ci, link, err := src.ReadPacket()
		if err != nil {
			break
		}
		tr.Packet(data, ci, link)
	}
	tr.Flush()
	ex.Close()

	if len(crossings) != 1 || crossings[0].UID != u.UID || crossings[0].IsOrig || crossings[0].Threshold != 200_000 {
		t.Errorf("crossings %+v", crossings)
	}
	p := extraction.sink(u.UID).Progress()
	_, respName := extract.FileNames(u.ConnID)
	fi, err := os.Stat(filepath.Join(dir, respName))
	if err != nil || uint64(fi.Size()) != 307404-start || p.Written[1] != uint64(fi.Size()) {
		t.Errorf("resp file: %v, %v; want %d bytes (the body after offset %d), progress %+v", fi, err, 307404-start, start, p)
	}
}

// TestStatusDrops checks the kernel's drop count in the status bar: shown for a
// live capture, with its share of the packets once there are drops, and never for
// a file.
func TestStatusDrops(t *testing.T) {
	for _, c := range []struct {
		live bool
		st   tracker.CaptureStats
		want string
	}{
		{true, tracker.CaptureStats{Received: 500}, "drops 0 "},
		{true, tracker.CaptureStats{Received: 1000, Dropped: 12}, "drops 12 (1.2%)"},
		{false, tracker.CaptureStats{}, ""},
	} {
		tm := newTestModel(t, 220, 20, Options{Source: "eth0", Live: c.live}, nil, nil)
		tm.apply(&tracker.Snapshot{Time: t0, Stats: tracker.Stats{Capture: c.st}})
		status := tm.statusView()
		if c.want == "" {
			if strings.Contains(status, "drops") {
				t.Errorf("file source: status %q shows drops", status)
			}
		} else if !strings.Contains(status, c.want) {
			t.Errorf("live %+v: status %q lacks %q", c.st, status, c.want)
		}
	}
}

// namedUpdates are connections with and without names: a passive-DNS name for
// both ends, an SNI only, a DNS query only, and none.
func namedUpdates() []tracker.Update {
	wiki := upd("Cwiki", 1, 40000, 0, 100, 100)
	wiki.OrigName, wiki.RespName = "laptop.lan", "en.wikipedia.org"
	wiki.Names = &tracker.Names{HTTPHost: "en.wikipedia.org"}
	wiki.Service = "http"
	tls := upd("Ctls", 2, 40001, time.Millisecond, 100, 100)
	tls.RespP = 443
	tls.Names = &tracker.Names{SNI: "example.com"}
	dns := upd("Cdns", 3, 40002, 2*time.Millisecond, 100, 100)
	dns.Proto, dns.RespP, dns.RespH = tracker.ProtoUDP, 53, netip.MustParseAddr("10.0.0.53")
	dns.Names = &tracker.Names{DNSQuery: "wikipedia.org"}
	dns.Service = "dns"
	none := upd("Cnone", 4, 40003, 3*time.Millisecond, 100, 100)
	none.RespP = 1
	return []tracker.Update{wiki, tls, dns, none}
}

// The n key shows endpoints as names where known, and back as addresses.
func TestNamesKey(t *testing.T) {
	tm := newTestModel(t, 180, 20, Options{}, nil, nil)
	tm.apply(&tracker.Snapshot{Time: t0.Add(time.Second), Updates: namedUpdates()})
	cells := func() map[string][2]string {
		ctx := &cellContext{now: tm.frame.now, names: tm.names}
		out := map[string][2]string{}
		for _, f := range tm.frame.rows {
			out[f.UID] = [2]string{origCell(ctx, f), respCell(ctx, f)}
		}
		return out
	}
	addresses := map[string][2]string{
		"Cwiki": {"10.0.0.1:40000", "10.0.0.2:80"}, "Ctls": {"10.0.0.1:40001", "10.0.0.2:443"},
		"Cdns": {"10.0.0.1:40002", "10.0.0.53:53"}, "Cnone": {"10.0.0.1:40003", "10.0.0.2:1"},
	}
	if got := cells(); !maps.Equal(got, addresses) {
		t.Errorf("by default: %v, want addresses", got)
	}
	tm.press("n")
	if tm.message != "showing names" || !strings.Contains(tm.View(), "showing names") {
		t.Errorf("n: message %q", tm.message)
	}
	names := map[string][2]string{
		"Cwiki": {"laptop.lan:40000", "en.wikipedia.org:80"}, // passive DNS, both ends
		"Ctls":  {"10.0.0.1:40001", "example.com:443"},       // the SNI for the responder
		"Cdns":  {"10.0.0.1:40002", "10.0.0.53:53"},          // a DNS query does not name the server
		"Cnone": {"10.0.0.1:40003", "10.0.0.2:1"},
	}
	if got := cells(); !maps.Equal(got, names) {
		t.Errorf("names: %v\nwant %v", got, names)
	}
	if v := tm.View(); !strings.Contains(v, "laptop.lan:40000") || !strings.Contains(v, "en.wikipedia.org:80") {
		t.Errorf("the table does not show the names:\n%s", v)
	}
	tm.press("n")
	if tm.message != "showing addresses" || !maps.Equal(cells(), addresses) {
		t.Errorf("n again: message %q, cells %v", tm.message, cells())
	}
	if v := tm.View(); strings.Contains(v, "laptop.lan:40000") {
		t.Errorf("names still shown:\n%s", v)
	}
	// An IPv6 address as an HTTP Host goes in brackets.
	f := &flows.Flow{Update: upd("C6", 1, 1, 0, 0, 0)}
	f.Names = &tracker.Names{HTTPHost: "2001:db8::1"}
	if got := respCell(&cellContext{names: true}, f); got != "[2001:db8::1]:80" {
		t.Errorf("IPv6 host: %q", got)
	}
}

// SERVICE shows what an analyzer confirmed; where none did, the port's guess,
// marked with "?" and dimmed. NAME shows the connection's name, else the
// responder's passive-DNS name.
func TestServiceAndNameColumns(t *testing.T) {
	tm := newTestModel(t, 200, 20, Options{}, nil, nil)
	tm.apply(&tracker.Snapshot{Time: t0.Add(time.Second), Updates: namedUpdates()})
	svc := columns[indexColumn("service")]
	name := columns[indexColumn("name")]
	for _, tc := range []struct {
		uid, service string
		role         themes.Role
		name         string
	}{
		{"Cwiki", "http", "", "en.wikipedia.org"},
		{"Ctls", "https?", themes.Dim, "example.com"},
		{"Cdns", "dns", "", "wikipedia.org"},
		{"Cnone", "", themes.Dim, ""},
	} {
		i := flows.Index(tm.frame.rows, tc.uid)
		if i < 0 {
			t.Fatalf("%s not listed", tc.uid)
		}
		f := tm.frame.rows[i]
		if got := svc.cell(&cellContext{}, f); got != tc.service {
			t.Errorf("%s: service %q, want %q", tc.uid, got, tc.service)
		}
		if got := svc.role(f); got != tc.role {
			t.Errorf("%s: service role %q, want %q", tc.uid, got, tc.role)
		}
		if got := name.cell(&cellContext{}, f); got != tc.name {
			t.Errorf("%s: name %q, want %q", tc.uid, got, tc.name)
		}
	}
	// Passive DNS names the responder when the connection carried no name.
	f := &flows.Flow{Update: upd("Cp", 1, 1, 0, 0, 0)}
	f.RespName = "cdn.example.net"
	if got := name.cell(&cellContext{}, f); got != "cdn.example.net" {
		t.Errorf("passive-DNS name: %q", got)
	}
	v := tm.View()
	for _, want := range []string{"SERVICE", "NAME", "https?", "en.wikipedia.org"} {
		if !strings.Contains(v, want) {
			t.Errorf("the table lacks %q:\n%s", want, v)
		}
	}
	// In colour, the guess is drawn in the Dim style, a confirmed service in the
	// row's, and a selected row keeps its own style throughout.
	lipgloss.SetColorProfile(termenv.TrueColor)
	defer lipgloss.SetColorProfile(termenv.Ascii)
	cols, widths := tm.tableLayout()
	w := widths[slices.IndexFunc(cols, func(c column) bool { return c.name == "service" })]
	ctx := &cellContext{now: tm.frame.now}
	row := tm.style(themes.Row)
	dimmed := tm.style(themes.Dim).Inherit(row).Render(fit("https?", w, false))
	plain := row.Render(fit("http", w, false))
	tls := tm.frame.rows[flows.Index(tm.frame.rows, "Ctls")]
	wiki := tm.frame.rows[flows.Index(tm.frame.rows, "Cwiki")]
	if dimmed == row.Render(fit("https?", w, false)) {
		t.Fatalf("the theme draws dim text as a row's")
	}
	if r := tm.rowView(tls, false, cols, widths, ctx); !strings.Contains(r, dimmed) {
		t.Errorf("the guess is not dimmed: %q", r)
	}
	if r := tm.rowView(wiki, false, cols, widths, ctx); !strings.Contains(r, plain) {
		t.Errorf("the confirmed service is not drawn as the row: %q", r)
	}
	if r := tm.rowView(tls, true, cols, widths, ctx); strings.Contains(r, dimmed) {
		t.Errorf("the guess is dimmed in the selected row: %q", r)
	}
}

// The detail view gives the service or the port's guess, each analyzer's outcome
// and the names learned.
func TestDetailServiceAndNames(t *testing.T) {
	ups := namedUpdates()
	ups[0].Names.SSHClient = "OpenSSH_9.6" // every kind of name on one connection
	ups[0].Names.SNI, ups[0].Names.DNSQuery, ups[0].Names.SSHServer = "sni.example", "q.example", "OpenSSH_8.9"
	confirmed := analyzer.Outcome{Analyzer: 1, Via: analyzer.ViaPort, Verdict: analyzer.VerdictConfirmed, Orig: true}
	ruledOut := analyzer.Outcome{Analyzer: 2, Via: analyzer.ViaPort, Verdict: analyzer.VerdictViolation}
	ups[0].Analyzers = []analyzer.Outcome{confirmed, ruledOut}
	tm := newTestModel(t, 160, 60, Options{}, nil, nil)
	tm.apply(&tracker.Snapshot{Time: t0.Add(time.Second), Updates: ups})
	detail := func(uid string) string {
		return tm.detailText(tm.frame.rows[flows.Index(tm.frame.rows, uid)])
	}
	got := detail("Cwiki")
	for _, want := range []string{
		"service         http\n", confirmed.String(), ruledOut.String(),
		"sni             sni.example", "http host       en.wikipedia.org", "dns query       q.example",
		"ssh client      OpenSSH_9.6", "ssh server      OpenSSH_8.9",
		"orig name       laptop.lan", "resp name       en.wikipedia.org",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Cwiki: the detail lacks %q:\n%s", want, got)
		}
	}
	got = detail("Ctls")
	if !strings.Contains(got, "service         -  port suggests https, no analyzer confirmed") ||
		strings.Contains(got, "http host") || strings.Contains(got, "orig name") || !strings.Contains(got, "sni             example.com") {
		t.Errorf("Ctls: detail:\n%s", got)
	}
	if got = detail("Cnone"); !strings.Contains(got, "service         -  no analyzer confirmed") {
		t.Errorf("Cnone: detail:\n%s", got)
	}
}

func TestCutStart(t *testing.T) {
	for _, tc := range []struct {
		s    string
		w    int
		want string
	}{
		{"upload.wikimedia.org", 14, "…wikimedia.org"},
		{"upload.wikimedia.org", 20, "upload.wikimedia.org"},
		{"upload.wikimedia.org", 0, "upload.wikimedia.org"},
		{"ab", 1, "ab"}, // fit cuts it
	} {
		if got := cutStart(tc.s, tc.w); got != tc.want {
			t.Errorf("cutStart(%q, %d) = %q, want %q", tc.s, tc.w, got, tc.want)
		}
	}
}

// The row marks (cursor, extraction, thresholds) keep a space before the first
// column, whichever are set.
func TestRowMarksStandApart(t *testing.T) {
	tm := newTestModel(t, 120, 20, Options{}, nil, nil)
	tm.apply(&tracker.Snapshot{Time: t0.Add(time.Second), Updates: namedUpdates()})
	cols, widths := tm.tableLayout()
	ctx := &cellContext{now: tm.frame.now}
	f := tm.frame.rows[flows.Index(tm.frame.rows, "Cwiki")]
	f.Thresholds = 1
	for _, selected := range []bool{false, true} {
		r := tm.rowView(f, selected, cols, widths, ctx)
		want := " t tcp"
		if selected {
			want = "> t tcp"
		}
		if !strings.HasPrefix(strings.TrimLeft(r, " "), strings.TrimLeft(want, " ")) || !strings.Contains(r, "t tcp") {
			t.Errorf("selected %v: row %q, want the marks %q apart from the protocol", selected, r, want)
		}
	}
}

// A connection the end of input removed is a closed row like any other: drawn in
// the Closed style, its IDLE cell giving the reason, hidden by c.
func TestEndOfInputRowsAreClosed(t *testing.T) {
	tm := newTestModel(t, 200, 20, Options{ShowClosed: true}, nil, nil)
	a, b := upd("Ca", 1, 1, 0, 100, 100), upd("Cb", 1, 2, 0, 100, 100)
	tm.apply(&tracker.Snapshot{Time: t0.Add(time.Second), Updates: []tracker.Update{a, b}})
	rec := b.Record
	rec.Reason, rec.Removed = tracker.ReasonEndOfInput, t0.Add(2*time.Second)
	tm.apply(&tracker.Snapshot{Time: t0.Add(2 * time.Second), Removed: []tracker.Record{rec}, Final: true})
	idle := columns[indexColumn("idle")]
	f := tm.frame.rows[flows.Index(tm.frame.rows, "Cb")]
	if got := idle.cell(&cellContext{now: tm.frame.now}, f); got != "end_of_input" {
		t.Errorf("IDLE of a flow the end of input removed: %q, want its reason", got)
	}
	lipgloss.SetColorProfile(termenv.TrueColor)
	defer lipgloss.SetColorProfile(termenv.Ascii)
	cols, widths := tm.tableLayout()
	ctx := &cellContext{now: tm.frame.now}
	row := tm.rowView(f, false, cols, widths, ctx)
	closed := tm.style(themes.Closed).Render(fit("tcp", widths[0], false))
	if !strings.Contains(row, closed) {
		t.Errorf("the row is not drawn closed: %q", row)
	}
	tm.press("c")
	if got := strings.Join(tm.uids(), " "); got != "Ca" {
		t.Errorf("c leaves %q, want the open Ca only", got)
	}
}

// The status bar's rates fall to zero when the input ends, though network time
// stops with the last packet.
func TestStatusRatesEndWithInput(t *testing.T) {
	tm := newTestModel(t, 200, 20, Options{}, nil, nil)
	tm.apply(&tracker.Snapshot{Time: t0, Stats: tracker.Stats{Packets: 10, Bytes: 1000}})
	tm.apply(&tracker.Snapshot{Time: t0.Add(time.Second), Stats: tracker.Stats{Packets: 16, Bytes: 1500}})
	if tm.pktRate != 6 || tm.bitRate != 4000 {
		t.Fatalf("rates %v pkt/s %v b/s, want 6 and 4000", tm.pktRate, tm.bitRate)
	}
	tm.apply(&tracker.Snapshot{Time: t0.Add(time.Second), Stats: tracker.Stats{Packets: 16, Bytes: 1500}, Final: true})
	if tm.pktRate != 0 || tm.bitRate != 0 || !strings.Contains(tm.View(), " 0 pkt/s 0 b/s ") {
		t.Errorf("after the end of input: %v pkt/s %v b/s", tm.pktRate, tm.bitRate)
	}
}

// The status bar's counts add up: active and closed make the total; the rows the
// table still holds are given when closed ones left it.
func TestStatusCountsAddUp(t *testing.T) {
	tm := newTestModel(t, 200, 20, Options{Linger: time.Second, ShowClosed: true}, nil, nil)
	a, b, c := upd("Ca", 1, 1, 0, 1, 1), upd("Cb", 1, 2, 0, 1, 1), upd("Cc", 1, 3, 0, 1, 1)
	tm.apply(&tracker.Snapshot{Time: t0, Updates: []tracker.Update{a, b, c}, Stats: tracker.Stats{Conns: 3, Active: 3}})
	rec := c.Record
	rec.Reason, rec.Removed = tracker.ReasonClose, t0
	tm.apply(&tracker.Snapshot{Time: t0.Add(time.Second), Removed: []tracker.Record{rec}, Stats: tracker.Stats{Conns: 3, Active: 2}})
	if v := tm.View(); !strings.Contains(v, "2 active 1 closed 3 total │") {
		t.Errorf("counts with Cc closed and listed:\n%s", strings.SplitN(v, "\n", 2)[0])
	}
	tm.apply(&tracker.Snapshot{Time: t0.Add(time.Minute), Stats: tracker.Stats{Conns: 3, Active: 2}})
	if v := tm.View(); !strings.Contains(v, "2 active 1 closed 3 total (2 listed)") {
		t.Errorf("counts once Cc left the table:\n%s", strings.SplitN(v, "\n", 2)[0])
	}
}

// The thresholds dialog names what a packets threshold counts, and fits the
// screen at 80x24 and 60x20 even with a long error.
func TestThresholdsDialogFits(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {60, 20}} {
		tm := newTestModel(t, size[0], size[1], Options{}, &fakeTracker{}, nil)
		tm.press("T", "tab", "right") // metric (the empty list is skipped): packets
		if v := tm.View(); !strings.Contains(v, "(originator's packets)") {
			t.Errorf("%dx%d: a packets threshold's direction:\n%s", size[0], size[1], v)
		}
		tm.press("tab", "tab") // to the value
		tm.typeText("a great many packets, more than anyone could count")
		v := tm.View()
		if !strings.Contains(v, "╰") || !strings.Contains(v, "esc close") {
			t.Errorf("%dx%d: the dialog is cut:\n%s", size[0], size[1], v)
		}
		for i, line := range strings.Split(v, "\n") {
			if w := lipgloss.Width(line); w > size[0] {
				t.Errorf("%dx%d: line %d is %d cells: %q", size[0], size[1], i, w, line)
			}
		}
	}
}

// A connection's thresholds dialog stops editing once the connection closed: it
// says so, and only esc works.
func TestThresholdsDialogOfClosedConn(t *testing.T) {
	tm := newTestModel(t, 120, 40, Options{ShowClosed: true}, &fakeTracker{}, nil)
	u := upd("Ca", 1, 1, 0, 100, 100)
	tm.apply(&tracker.Snapshot{Time: t0, Updates: []tracker.Update{u}})
	tm.press("t")
	if tm.dialog == nil {
		t.Fatal("t opened no dialog")
	}
	rec := u.Record
	rec.Reason, rec.Removed = tracker.ReasonClose, t0.Add(time.Second)
	tm.apply(&tracker.Snapshot{Time: t0.Add(time.Second), Removed: []tracker.Record{rec}})
	tm.typeText("5k")
	if got := tm.dialog.in.Value(); got != "" {
		t.Errorf("the closed connection's dialog took %q", got)
	}
	if v := tm.View(); !strings.Contains(v, "The connection closed") {
		t.Errorf("the dialog does not say its connection closed:\n%s", v)
	}
	tm.press("esc")
	if tm.dialog != nil {
		t.Error("esc did not close the dialog")
	}
}

// Columns grow to what the visible rows hold: at 200 cells a long history shows
// whole, and IPv4 endpoints are not padded to an IPv6 width.
func TestWidthsFollowRows(t *testing.T) {
	tm := newTestModel(t, 200, 20, Options{}, nil, nil)
	u := upd("Ca", 1, 1, 0, 100, 100)
	u.History = "ShADadttcfFRrTWwGgIi" // 20 letters
	tm.apply(&tracker.Snapshot{Time: t0, Updates: []tracker.Update{u}})
	v := tm.View()
	if !strings.Contains(v, u.History) {
		t.Errorf("the history is cut:\n%s", v)
	}
	cols, widths := tm.tableLayout()
	for i, c := range cols {
		if (c.name == "orig" || c.name == "resp") && widths[i] > 21 { // the minimum, an IPv4 endpoint's widest
			t.Errorf("%s is %d cells for %q", c.name, widths[i], origCell(&cellContext{}, tm.frame.rows[0]))
		}
	}
}

// START gives the time of day, with the date once the capture spans days; d
// switches to the time since the capture's first packet, then to epoch seconds.
func TestStartTimeModes(t *testing.T) {
	tm := newTestModel(t, 200, 20, Options{Columns: []string{"start", "proto", "orig", "resp"}}, nil, nil)
	u := upd("Ca", 1, 1, 90*time.Minute+1500*time.Millisecond, 100, 100)
	first := u.TS.Add(-90*time.Minute - 1500*time.Millisecond)
	tm.apply(&tracker.Snapshot{Time: u.TS, Updates: []tracker.Update{u}, Stats: tracker.Stats{First: first.UnixNano()}})
	start := columns[indexColumn("start")]
	cell := func() string { return start.cell(tm.cellContext(), tm.frame.rows[0]) }
	if got, want := cell(), u.TS.Local().Format("15:04:05.000"); got != want {
		t.Errorf("time of day: %q, want %q", got, want)
	}
	tm.press("d")
	if got := cell(); got != "+1:30:01.500" {
		t.Errorf("since the start: %q", got)
	}
	tm.press("d")
	if got, want := cell(), fmt.Sprintf("%d.%06d", u.TS.Unix(), u.TS.Nanosecond()/1000); got != want {
		t.Errorf("epoch: %q, want %q", got, want)
	}
	tm.press("d")
	// Two days later the capture spans days: the date shows.
	tm.apply(&tracker.Snapshot{Time: u.TS.Add(48 * time.Hour), Stats: tracker.Stats{First: first.UnixNano()}})
	if got, want := cell(), u.TS.Local().Format("2006-01-02 15:04:05.000"); got != want {
		t.Errorf("a capture over days: %q, want %q", got, want)
	}
	if v := tm.View(); !strings.Contains(v, u.TS.Local().Format("2006-01-02 15:04:05.000")) {
		t.Errorf("the date is cut in the table:\n%s", v)
	}
}

// Live, the busiest connections come first; each toggle says what it did.
func TestLiveOrderAndToggleFeedback(t *testing.T) {
	tm := newTestModel(t, 200, 20, Options{Live: true}, nil, nil)
	a, b := upd("Cslow", 1, 1, 0, 100, 100), upd("Cbusy", 1, 2, 0, 100, 100)
	tm.apply(&tracker.Snapshot{Time: t0, Updates: []tracker.Update{a, b}})
	b.OrigIPBytes, b.RespIPBytes = 1_000_000, 1_000_000
	b.Duration = time.Second
	a.Duration = time.Second
	tm.apply(&tracker.Snapshot{Time: t0.Add(time.Second), Updates: []tracker.Update{a, b}})
	if got := strings.Join(tm.uids(), " "); got != "Cbusy Cslow" {
		t.Errorf("live rows %q, want the busiest first", got)
	}
	if v := tm.View(); !strings.Contains(v, "sort rate ↓") {
		t.Errorf("the status bar does not say the order:\n%s", strings.SplitN(v, "\n", 2)[0])
	}
	for _, tc := range []struct{ key, want string }{
		{"c", "showing closed connections"}, {"c", "hiding closed connections"},
		{"b", "rates in bytes/s"}, {"a", "alerts pane hidden"}, {"p", "display paused"}, {"p", "display resumed"},
	} {
		tm.press(tc.key)
		if !strings.Contains(tm.View(), tc.want) {
			t.Errorf("%s: no %q", tc.key, tc.want)
		}
	}
}

// At 80 cells the status bar keeps the counts, rates and sort, and the source
// gives way, shortened from the left.
func TestStatusBarAt80(t *testing.T) {
	tm := newTestModel(t, 80, 24, Options{Source: "/var/tmp/captures/2026-12-01/a-rather-long-name.pcapng"}, nil, nil)
	tm.apply(&tracker.Snapshot{Time: t0, Updates: []tracker.Update{upd("Ca", 1, 1, 0, 100, 100)}, Stats: tracker.Stats{Conns: 1, Active: 1}})
	top := strings.SplitN(tm.View(), "\n", 2)[0]
	for _, want := range []string{"1 active 0 closed 1 total", "pkt/s", "sort start ↑", "…me.pcapng"} {
		if !strings.Contains(top, want) {
			t.Errorf("the status bar lacks %q: %q", want, top)
		}
	}
	if w := lipgloss.Width(top); w > 80 {
		t.Errorf("the status bar is %d cells", w)
	}
}

// y copies the selected connection's uid, then its 5-tuple, then its conn.log
// line, saying what it copied.
func TestCopy(t *testing.T) {
	var got []string
	tm := newTestModel(t, 120, 20, Options{Clipboard: func(s string) { got = append(got, s) }}, nil, nil)
	tm.apply(&tracker.Snapshot{Time: t0, Updates: []tracker.Update{upd("Ca", 1, 1, 0, 100, 100)}})
	tm.press("y", "y", "y", "y")
	if len(got) != 4 || got[0] != "Ca" || got[1] != "tcp 10.0.0.1:1 → 10.0.0.2:80" || !strings.HasPrefix(got[2], `{"ts":`) ||
		!strings.Contains(got[2], `"uid":"Ca"`) || got[3] != "Ca" {
		t.Errorf("copied %q", got)
	}
	if v := tm.View(); !strings.Contains(v, "copied uid (y again: 5-tuple)") {
		t.Errorf("no confirmation:\n%s", v)
	}
	tm.press("j", "y") // another key starts over at the uid
	if got[len(got)-1] != "Ca" {
		t.Errorf("after another key: %q", got[len(got)-1])
	}
}

// The jump key moves the cursor to a connection by uid prefix or address,
// without filtering; an unknown one says so.
func TestJump(t *testing.T) {
	tm := newTestModel(t, 120, 20, Options{}, nil, nil)
	tm.apply(&tracker.Snapshot{Time: t0, Updates: []tracker.Update{
		upd("Caaa1", 1, 1, 0, 1, 2), upd("Cbbb2", 1, 2, time.Millisecond, 1, 2), upd("Cccc3", 1, 3, 2*time.Millisecond, 1, 2),
	}})
	jump := func(text string) {
		tm.press(":")
		tm.typeText(text)
		tm.press("enter")
	}
	jump("Cbb")
	if f := tm.selected(); f == nil || f.UID != "Cbbb2" || len(tm.frame.rows) != 3 {
		t.Fatalf("after :Cbb: selected %v, %d rows", f, len(tm.frame.rows))
	}
	jump("10.0.0.1:3")
	if f := tm.selected(); f == nil || f.UID != "Cccc3" {
		t.Errorf("after :10.0.0.1:3: selected %v", f)
	}
	jump("Czzz")
	if f := tm.selected(); f.UID != "Cccc3" || !strings.Contains(tm.View(), "no listed connection matches Czzz") {
		t.Errorf("an unknown uid moved the cursor or said nothing")
	}
}

// Below narrowWidth the table switches to NarrowColumns: at 80 cells PROTO, both
// endpoints, STATE, the bytes both ways, the rate and IDLE all show; endpoints
// shorten keeping their port.
func TestNarrowTable(t *testing.T) {
	tm := newTestModel(t, 80, 24, Options{}, nil, nil)
	u := upd("Ca", 1, 1, 0, 100, 100)
	u.OrigH = netip.MustParseAddr("141.142.220.118")
	u.OrigP = 35634
	tm.apply(&tracker.Snapshot{Time: t0, Updates: []tracker.Update{u}})
	cols, widths := tm.tableLayout()
	var names []string
	total := marksWidth - 1
	for i, c := range cols {
		names = append(names, c.name)
		total += widths[i] + 1
	}
	if got := strings.Join(names, " "); got != strings.Join(withoutProcess(NarrowColumns), " ") || total > 80 {
		t.Errorf("at 80 cells: %s in %d cells", got, total)
	}
	if got := endpointIn("141.142.220.118:35634", 17); got != "141.1…0.118:35634" {
		t.Errorf("endpoint in 17 cells: %q", got)
	}
	if got := endpointIn("[2001:db8::1]:443", 0); got != "[2001:db8::1]:443" {
		t.Errorf("endpoint in any width: %q", got)
	}
	if got := shortReason(tracker.ReasonEndOfInput, 6); got != "ended" {
		t.Errorf("short reason: %q", got)
	}
	// Configured columns are kept at any width.
	tm2 := newTestModel(t, 80, 24, Options{Columns: []string{"proto", "orig", "resp"}}, nil, nil)
	if cols, _ := tm2.tableLayout(); len(cols) != 3 || cols[1].name != "orig" {
		t.Errorf("configured columns replaced at 80 cells")
	}
}

// The footer help follows the active component: the dialog's keys in the dialog,
// the detail view's in the detail view, the table's at the table.
func TestFooterFollowsComponent(t *testing.T) {
	tm := newTestModel(t, 120, 20, Options{}, &fakeTracker{}, nil)
	tm.apply(&tracker.Snapshot{Time: t0, Updates: []tracker.Update{upd("Ca", 1, 1, 0, 100, 100)}})
	footer := func() string { v := strings.Split(tm.View(), "\n"); return v[len(v)-1] }
	if f := footer(); !strings.Contains(f, "filter") {
		t.Errorf("table footer %q", f)
	}
	tm.press("T")
	if f := footer(); !strings.Contains(f, "next field") || strings.Contains(f, "filter") {
		t.Errorf("dialog footer %q", f)
	}
	tm.press("esc", "enter")
	if f := footer(); !strings.Contains(f, "scroll") || strings.Contains(f, "filter") {
		t.Errorf("detail footer %q", f)
	}
}

// The column chooser shows, hides and moves columns; enter applies them for the
// session, at every width; w also saves them through Options.SaveColumns.
func TestColumnChooser(t *testing.T) {
	var saved []string
	tm := newTestModel(t, 200, 40, Options{Columns: []string{"proto", "orig", "resp"},
		SaveColumns: func(c []string) error { saved = c; return nil }}, nil, nil)
	tm.apply(&tracker.Snapshot{Time: t0, Updates: []tracker.Update{upd("Ca", 1, 1, 0, 100, 100)}})
	tm.press("C")
	if v := tm.View(); !strings.Contains(v, "[x] proto") || !strings.Contains(v, "[ ] service") || !strings.Contains(v, "apply and save") {
		t.Fatalf("the chooser:\n%s", v)
	}
	tm.press(" ")         // hide proto
	tm.press("down", "]") // move resp above orig: orig, then resp... orig moves down
	tm.press("enter")
	names := func() string {
		cols, _ := tm.tableLayout()
		var n []string
		for _, c := range cols {
			n = append(n, c.name)
		}
		return strings.Join(n, " ")
	}
	if got := names(); got != "resp orig" {
		t.Errorf("columns after the chooser: %q, want resp orig", got)
	}
	tm.press("C", "down", "down", "down", " ", "w") // show the fourth (the first hidden one), save
	if got := strings.Join(saved, " "); !strings.HasPrefix(got, "resp orig ") || len(saved) != 3 {
		t.Errorf("saved %q", got)
	}
	if !strings.Contains(tm.View(), "saved to the config file") {
		t.Error("no confirmation of the save")
	}
	tm.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	if got := names(); !strings.HasPrefix(got, "resp orig") {
		t.Errorf("at 80 cells chosen columns gave way: %q", got)
	}
}

// At 80 cells the chooser starts from the narrow set, the columns in use.
func TestColumnChooserNarrow(t *testing.T) {
	tm := newTestModel(t, 80, 24, Options{}, nil, nil)
	tm.press("C")
	if got := strings.Join(tm.chooser.visible(), " "); got != strings.Join(withoutProcess(NarrowColumns), " ") {
		t.Errorf("the chooser at 80 cells starts from %q", got)
	}
}

// r cycles the table's rate window through 2 s, 10 s and 40 s.
func TestRateWindowKey(t *testing.T) {
	tm := newTestModel(t, 120, 20, Options{}, nil, nil)
	tm.press("r")
	if !strings.Contains(tm.View(), "rates averaged over 10s") || tm.pipe.store.RateWindow != 10*time.Second {
		t.Errorf("after r: window %v", tm.pipe.store.RateWindow)
	}
	tm.press("r", "r")
	if tm.pipe.store.RateWindow != 2*time.Second {
		t.Errorf("after r r r: window %v", tm.pipe.store.RateWindow)
	}
}

// The help shows every binding at any size: the groups that do not fit side by
// side go one under another, and a screen too short for it all scrolls.
func TestHelpFitsEverySize(t *testing.T) {
	keys, err := NewKeyMap(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range [][2]int{{200, 50}, {120, 30}, {80, 24}, {60, 20}} {
		w, h := size[0], size[1]
		tm := newTestModel(t, w, h, Options{}, nil, nil)
		tm.press("?")
		seen := map[string]bool{}
		for range 40 { // more than the lines of the help
			v := tm.View()
			lines := strings.Split(v, "\n")
			if len(lines) != h {
				t.Fatalf("%dx%d: %d lines", w, h, len(lines))
			}
			for _, l := range lines {
				if lw := lipgloss.Width(l); lw > w {
					t.Fatalf("%dx%d: a line of %d cells: %q", w, h, lw, l)
				}
				seen[strings.TrimSpace(l)] = true
			}
			tm.press("j")
		}
		text := strings.Join(slices.Collect(maps.Keys(seen)), "\n")
		for _, g := range keys.FullHelp() {
			for _, b := range g {
				if !strings.Contains(text, b.Help().Desc) {
					t.Errorf("%dx%d: the help never shows %q", w, h, b.Help().Desc)
				}
			}
		}
		if !strings.Contains(text, "reverses).") {
			t.Errorf("%dx%d: the end of the help never shows", w, h)
		}
		if tm.press("esc"); tm.mode != modeTable {
			t.Errorf("%dx%d: esc left the help in mode %v", w, h, tm.mode)
		}
	}
}

// The detail view shares the table's keys for its connection: y copies it, b
// switches units at once, and the help and the thresholds dialog opened from it
// return to it.
func TestDetailSharesTableKeys(t *testing.T) {
	var got []string
	tm := newTestModel(t, 120, 40, Options{Clipboard: func(s string) { got = append(got, s) }}, nil, nil)
	tm.apply(&tracker.Snapshot{Time: t0, Updates: []tracker.Update{upd("Ca", 1, 1, 0, 100, 100)}})
	tm.press("enter", "y")
	if len(got) != 1 || got[0] != "Ca" {
		t.Errorf("y in the detail view copied %q", got)
	}
	for _, k := range []string{"?", "t"} {
		tm.press(k)
		if tm.mode == modeDetail {
			t.Fatalf("%s did not open over the detail view", k)
		}
		tm.press("esc")
		if tm.mode != modeDetail {
			t.Errorf("esc after %s went to mode %v, not back to the detail view", k, tm.mode)
		}
	}
	tm.press("esc")
	if tm.mode != modeTable {
		t.Errorf("esc in the detail view: mode %v", tm.mode)
	}
}

// At 80 columns the detail view wraps a long value under itself instead of
// cutting it: every word of the wide view is in the narrow one, and no line is
// wider than the screen.
func TestDetailWraps(t *testing.T) {
	snap := finalSnapshot(t, ordinary)
	words := func(w int) ([]string, *testModel) {
		tm := newTestModel(t, w, 24, Options{ShowClosed: true}, nil, nil)
		tm.apply(snap)
		var all []string
		for i := range tm.frame.rows {
			all = append(all, strings.Fields(ansi.Strip(tm.detailText(tm.frame.rows[i])))...)
		}
		slices.Sort(all)
		return all, tm
	}
	wide, _ := words(300)
	narrow, tm := words(80)
	if !slices.Equal(wide, narrow) {
		t.Errorf("the words at 80 columns differ from those at 300:\n%q\n%q", narrow, wide)
	}
	for i := range tm.frame.rows {
		for _, l := range strings.Split(tm.detailText(tm.frame.rows[i]), "\n") {
			if lw := lipgloss.Width(l); lw > 80 {
				t.Errorf("a line of %d cells: %q", lw, l)
			}
		}
	}
}

// procUpdates are connections with local processes: curl to a remote server (the
// originator's), a local client of a local server (both known: the
// originator's shows), a local server of a remote client (the responder's), a
// socket whose process was gone (its owner alone), and one with none.
func procUpdates() ([]tracker.Update, map[string]*process.Process) {
	p := map[string]*process.Process{
		"curl":  {PID: 4242, PPID: 4000, UID: 1000, User: "alice", Comm: "curl", Cmdline: "curl -sS https://example.com/"},
		"psql":  {PID: 5001, UID: 1000, User: "alice", Comm: "psql"},
		"pg":    {PID: 812, PPID: 1, UID: 113, User: "postgres", Comm: "postgres"},
		"nginx": {PID: 900, PPID: 1, UID: 33, User: "www-data", Comm: "nginx"},
		"owner": {UID: 0, User: "root"},
	}
	curl, both, server, owner, none := upd("Ccurl", 1, 1, 0, 100, 100), upd("Cboth", 2, 2, time.Millisecond, 100, 100),
		upd("Cserver", 3, 3, 2*time.Millisecond, 100, 100), upd("Cowner", 4, 4, 3*time.Millisecond, 100, 100),
		upd("Cnone", 5, 5, 4*time.Millisecond, 100, 100)
	curl.OrigProc = p["curl"]
	both.OrigProc, both.RespProc = p["psql"], p["pg"]
	server.RespProc = p["nginx"]
	owner.OrigProc = p["owner"]
	return []tracker.Update{curl, both, server, owner, none}, p
}

// PROCESS shows the local side's process, the originator's first; the default
// columns leave it out until a connection has a process, and keep it then. It
// sorts by name, and the rows hold the tracker's process values, not copies.
func TestProcessColumn(t *testing.T) {
	ups, procs := procUpdates()
	tm := newTestModel(t, 200, 20, Options{}, nil, nil)
	tm.apply(&tracker.Snapshot{Time: t0, Updates: []tracker.Update{ups[4]}}) // no process yet
	if v := tm.View(); strings.Contains(v, "PROCESS") {
		t.Errorf("PROCESS shown before any connection has a process:\n%s", v)
	}
	tm.apply(&tracker.Snapshot{Time: t0.Add(time.Second), Updates: ups[:4]})
	col := columns[indexColumn(processColumn)]
	for uid, want := range map[string]string{
		"Ccurl": "curl/4242", "Cboth": "psql/5001", "Cserver": "nginx/900", "Cowner": "(root)", "Cnone": "",
	} {
		f := tm.frame.rows[flows.Index(tm.frame.rows, uid)]
		if got := col.cell(&cellContext{}, f); got != want {
			t.Errorf("%s: PROCESS %q, want %q", uid, got, want)
		}
	}
	if f := tm.frame.rows[flows.Index(tm.frame.rows, "Cboth")]; f.OrigProc != procs["psql"] || f.RespProc != procs["pg"] {
		t.Errorf("the row holds copies of its processes, not the tracker's")
	}
	v := tm.View()
	for _, want := range []string{"PROCESS", "curl/4242", "psql/5001", "nginx/900", "(root)"} {
		if !strings.Contains(v, want) {
			t.Errorf("the table lacks %q:\n%s", want, v)
		}
	}
	// Once shown it stays, also when the flows with processes are gone.
	tm.apply(&tracker.Snapshot{Time: t0.Add(2 * time.Second), Updates: []tracker.Update{ups[4]}})
	tm.press("/")
	tm.typeText("uid Cnone")
	tm.press("enter")
	if v := tm.View(); !strings.Contains(v, "PROCESS") {
		t.Errorf("PROCESS gone with the rows that had a process:\n%s", v)
	}
	tm.press("esc")

	// Sorted: none first, then the socket's owner alone (no name), then by name
	// (s cycles to it after idle).
	for tm.sort != flows.ByProcess {
		tm.press("s")
	}
	if got, want := strings.Join(tm.uids(), " "), "Cnone Cowner Ccurl Cserver Cboth"; got != want {
		t.Errorf("process order %q, want %q", got, want)
	}
	if !strings.Contains(tm.View(), "PROCESS↑") || !strings.Contains(tm.View(), "sort process ↑") {
		t.Errorf("the header or the status bar does not show the sort:\n%s", tm.View())
	}
	tm.press("S")
	if got, want := strings.Join(tm.uids(), " "), "Cboth Cserver Ccurl Cowner Cnone"; got != want {
		t.Errorf("process order reversed %q, want %q", got, want)
	}

	// The narrow table has it from 91 cells; at 80 it gives way.
	narrow := newTestModel(t, 80, 24, Options{}, nil, nil)
	narrow.apply(&tracker.Snapshot{Time: t0, Updates: ups})
	if v := narrow.View(); strings.Contains(v, "PROCESS") {
		t.Errorf("PROCESS at 80 cells:\n%s", v)
	}
	narrow.Update(tea.WindowSizeMsg{Width: 100, Height: 24})
	if v := narrow.View(); !strings.Contains(v, "PROCESS") || !strings.Contains(v, "curl/4242") {
		t.Errorf("no PROCESS at 100 cells:\n%s", v)
	}

	// Named in [ui] columns it shows whether or not a connection has a process,
	// and the chooser offers it when it waits for one.
	chosen := newTestModel(t, 120, 20, Options{Columns: []string{"proto", "orig", "process"}}, nil, nil)
	chosen.apply(&tracker.Snapshot{Time: t0, Updates: []tracker.Update{ups[4]}})
	if v := chosen.View(); !strings.Contains(v, "PROCESS") {
		t.Errorf("PROCESS named in the columns is not shown:\n%s", v)
	}
	file := newTestModel(t, 200, 40, Options{}, nil, nil)
	file.apply(&tracker.Snapshot{Time: t0, Updates: []tracker.Update{ups[4]}})
	file.press("C")
	if v := file.View(); !strings.Contains(v, "[ ] process") {
		t.Errorf("the chooser does not offer PROCESS:\n%s", v)
	}
}

// A process label fits its cell keeping the pid, and what a process chose for its
// name reaches the screen escaped, one cell a rune.
func TestProcessLabels(t *testing.T) {
	for _, tc := range []struct {
		comm string
		pid  int32
		w    int
		want string
	}{
		{"curl", 4242, 12, "curl/4242"},
		{"chromium-browse", 123456, 14, "chromi…/123456"},
		{"chromium-browse", 123456, 0, "chromium-browse/123456"},
		{"x", 1234567, 5, "x/…67"}, // the pid alone does not fit: cut in the middle
		{"evil\x1b[2J", 7, 0, `evil\x1b[2J/7`},
		{"tab\there", 8, 0, `tab\x09here/8`},
		{"bad\xffutf", 9, 0, `bad\xffutf/9`},
		{"zero\u200bwidth", 10, 0, `zero\u200bwidth/10`},
		{"café", 11, 0, "café/11"},
		{"浏览器", 12, 0, "???/12"},
	} {
		f := &flows.Flow{Update: upd("Cp", 1, 1, 0, 0, 0)}
		f.RespProc = &process.Process{PID: tc.pid, Comm: tc.comm}
		if got := processCell(&cellContext{width: tc.w}, f); got != tc.want {
			t.Errorf("%q/%d in %d cells: %q, want %q", tc.comm, tc.pid, tc.w, got, tc.want)
		}
	}
}

// The detail view has a section for each side's process: pid, parent, command
// line (wrapped, escaped), user and uid, cgroup, unit and container where set,
// and its start; none when neither side has one.
func TestDetailProcess(t *testing.T) {
	ups, _ := procUpdates()
	ups[1].OrigProc = &process.Process{PID: 5001, PPID: 4000, UID: 1000, User: "alice", Comm: "psql",
		Cmdline: "psql --host=localhost --dbname=inventory --command=SELECT\x1b[31m count(*) FROM items WHERE sold_at > now() - interval '1 day'",
		Cgroup:  "/user.slice/user-1000.slice/session-2.scope", Container: "4f2c9a7b1e3d", Start: t0.Add(time.Millisecond - 90*time.Second)} // the connection starts at t0 + 1ms
	ups[1].RespProc = &process.Process{PID: 812, PPID: 1, UID: 113, User: "113", Comm: "postgres",
		Unit: "postgresql@16-main.service", Start: t0.Add(time.Millisecond + time.Hour)}
	tm := newTestModel(t, 80, 24, Options{}, nil, nil)
	tm.apply(&tracker.Snapshot{Time: t0.Add(time.Second), Updates: ups})
	detail := func(uid string) string {
		return ansi.Strip(tm.detailText(tm.frame.rows[flows.Index(tm.frame.rows, uid)]))
	}
	got := detail("Cboth")
	for _, want := range []string{
		"  orig process    psql/5001\n",
		"    pid           5001\n",
		"    parent pid    4000\n",
		"    command       psql --host=localhost --dbname=inventory\n                  --command=SELECT\\x1b[31m count(*)", // at spaces only
		"    user          alice  uid 1000\n",
		"    cgroup        /user.slice/user-1000.slice/session-2.scope\n",
		"    container     4f2c9a7b1e3d\n",
		"    started       2023-11-14 22:11:50 UTC  1m30s before the connection\n",
		"  resp process    postgres/812\n",
		"    user          113  uid, no user name\n",
		"    unit          postgresql@16-main.service\n",
		"    started       2023-11-14 23:13:20 UTC  1h00m after the connection's start\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Cboth: the detail lacks %q:\n%s", want, got)
		}
	}
	for _, l := range strings.Split(got, "\n") {
		if w := lipgloss.Width(l); w > 80 {
			t.Errorf("a line of %d cells: %q", w, l)
		}
	}
	if strings.Contains(got, "\x1b") || strings.Contains(got, "    unit          \n") {
		t.Errorf("an escape reached the text, or an empty field shows:\n%q", got)
	}
	got = detail("Cserver")
	if strings.Contains(got, "orig process") || !strings.Contains(got, "  resp process    nginx/900\n") {
		t.Errorf("Cserver: detail:\n%s", got)
	}
	got = detail("Cowner")
	if !strings.Contains(got, "  orig process    (root)  the socket's owner; its process was gone or unreadable\n") ||
		!strings.Contains(got, "    user          root  uid 0\n") || strings.Contains(got, "    pid") {
		t.Errorf("Cowner: detail:\n%s", got)
	}
	if got = detail("Cnone"); strings.Contains(got, "process") {
		t.Errorf("Cnone: detail:\n%s", got)
	}
}

// hangWords breaks at spaces only, never at a hyphen, and cuts a word longer
// than a line where the line ends.
func TestHangWords(t *testing.T) {
	indent := "\n" + strings.Repeat(" ", 4)
	for _, tc := range []struct {
		s     string
		width int
		want  string
	}{
		{"curl -sS --output x", 40, "curl -sS --output x"},
		{"curl --silent --show-error --output", 24, "curl --silent" + indent + "--show-error" + indent + "--output"},
		{"a /very/long/path/that/goes/on x", 18, "a" + indent + "/very/long/pat" + indent + "h/that/goes/on" + indent + "x"},
		{"short", 8, "short"}, // too narrow to wrap: as it is
	} {
		if got := hangWords(tc.s, tc.width, 4); got != tc.want {
			t.Errorf("hangWords(%q, %d):\n%q\nwant\n%q", tc.s, tc.width, got, tc.want)
		}
	}
}
