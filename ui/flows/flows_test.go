package flows

import (
	"math"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/flowtop/flowtop/process"
	"github.com/flowtop/flowtop/tracker"
)

var t0 = time.Unix(1_700_000_000, 0)

func update(uid string, port uint16, start time.Duration, state string, origIP, respIP uint64) tracker.Update {
	return tracker.Update{Record: tracker.Record{
		UID: uid, TS: t0.Add(start), ConnState: state, OrigIPBytes: origIP, RespIPBytes: respIP,
		OrigBytes: origIP / 2, RespBytes: respIP / 2,
		ConnID: tracker.ConnID{OrigH: netip.MustParseAddr("10.0.0.1"), OrigP: port, RespH: netip.MustParseAddr("10.0.0.2"), RespP: 80, Proto: tracker.ProtoTCP},
	}}
}

func uids(rows []*Flow) string {
	var s []string
	for _, f := range rows {
		s = append(s, f.UID)
	}
	return strings.Join(s, " ")
}

func TestStore(t *testing.T) {
	s := New(10 * time.Second)
	s.Apply(&tracker.Snapshot{Time: t0.Add(time.Second), Updates: []tracker.Update{
		update("Ca", 1, 0, "S1", 1000, 1000),
		update("Cb", 2, time.Millisecond, "S1", 100, 50000),
		update("Cc", 3, 2*time.Millisecond, "S0", 60, 0),
	}})
	s.Apply(&tracker.Snapshot{Time: t0.Add(2 * time.Second),
		Updates:   []tracker.Update{update("Cb", 2, time.Millisecond, "S1", 100, 175000)},
		Crossings: []tracker.Crossing{{UID: "Cb", Metric: tracker.MetricBytes, Threshold: 100000}},
	})
	// Its first window: 175000 bytes since its start 1999 ms before.
	if f, want := s.Get("Cb"), 175000*8/1.999; math.Abs(f.RespRate-want) > 1 || f.Crossed != 1 {
		t.Errorf("Cb: resp rate %v bit/s (want %v), crossed %d", f.RespRate, want, f.Crossed)
	}
	for _, tc := range []struct {
		q    Query
		want string
	}{
		{Query{}, "Ca Cb Cc"},
		{Query{Sort: ByRespBytes, Desc: true}, "Cb Ca Cc"},
		{Query{Sort: ByState}, "Cc Ca Cb"},
		{Query{Sort: ByState, Desc: true}, "Cb Ca Cc"}, // the exact reverse, ties included
		{Query{Match: func(r *tracker.Record) bool { return r.ConnState == "S0" }}, "Cc"},
	} {
		if got := uids(rowsOf(s, tc.q)); got != tc.want {
			t.Errorf("%+v: %s, want %s", tc.q.Sort, got, tc.want)
		}
	}

	// Ca closes: hidden unless closed flows are shown, kept for the linger time.
	closed := update("Ca", 1, 0, "SF", 1200, 1200).Record
	closed.Reason, closed.Removed = tracker.ReasonClose, t0.Add(3*time.Second)
	s.Apply(&tracker.Snapshot{Time: t0.Add(3 * time.Second), Removed: []tracker.Record{closed}})
	if got := uids(rowsOf(s, Query{})); got != "Cb Cc" {
		t.Errorf("live rows %s", got)
	}
	rows := rowsOf(s, Query{ShowClosed: true})
	if Index(rows, "Ca") != 0 || !s.Get("Ca").Closed || s.Get("Ca").ConnState != "SF" || s.Get("Ca").Reason != tracker.ReasonClose {
		t.Errorf("closed flow: %+v", s.Get("Ca"))
	}
	s.Apply(&tracker.Snapshot{Time: t0.Add(14 * time.Second)})
	if s.Get("Ca") != nil || s.Len() != 2 {
		t.Errorf("closed flow kept past its linger time")
	}
}

// A published flow never changes: the Store replaces it.
func TestFlowsImmutable(t *testing.T) {
	s := New(0)
	s.Apply(&tracker.Snapshot{Time: t0.Add(time.Second), Updates: []tracker.Update{update("Ca", 1, 0, "S1", 100, 100)}})
	rows := rowsOf(s, Query{})
	before := *rows[0]
	s.Apply(&tracker.Snapshot{Time: t0.Add(2 * time.Second),
		Updates:   []tracker.Update{update("Ca", 1, 0, "S1", 900, 900)},
		Crossings: []tracker.Crossing{{UID: "Ca"}}})
	closed := update("Ca", 1, 0, "SF", 1000, 1000).Record
	closed.Reason = tracker.ReasonClose
	s.Apply(&tracker.Snapshot{Time: t0.Add(3 * time.Second), Removed: []tracker.Record{closed}})
	if !reflect.DeepEqual(*rows[0], before) {
		t.Errorf("published flow changed: %+v", rows[0])
	}
	if f := s.Get("Ca"); !f.Closed || f.Crossed != 1 || f.OrigIPBytes != 1000 {
		t.Errorf("current flow %+v", f)
	}
}

// Flows removed at the end of input outlive the linger time; the pinned flow too,
// and the kept one the closed filter. Closed rows follow one rule whatever the
// reason: hiding closed rows hides those the end of input removed.
func TestFinalPinKeep(t *testing.T) {
	s := New(time.Second)
	var ups []tracker.Update
	for i, uid := range []string{"Ca", "Cb", "Cc"} {
		ups = append(ups, update(uid, uint16(i+1), time.Duration(i)*time.Millisecond, "S1", 10, 10))
	}
	s.Apply(&tracker.Snapshot{Time: t0, Updates: ups})
	rm := func(uid string, port uint16, why tracker.RemoveReason) tracker.Record {
		r := update(uid, port, 0, "SF", 10, 10).Record
		r.Reason, r.Removed = why, t0
		return r
	}
	s.Pin("Cb")
	s.Apply(&tracker.Snapshot{Time: t0, Removed: []tracker.Record{rm("Cb", 2, tracker.ReasonClose), rm("Cc", 3, tracker.ReasonClose)}})
	if got := uids(rowsOf(s, Query{Keep: "Cc"})); got != "Ca Cc" {
		t.Errorf("rows with Cc kept: %s", got)
	}
	s.Apply(&tracker.Snapshot{Time: t0.Add(time.Minute), Removed: []tracker.Record{rm("Ca", 1, tracker.ReasonEndOfInput)}, Final: true})
	if got := uids(rowsOf(s, Query{ShowClosed: true})); got != "Ca Cb" {
		t.Errorf("after the end of input: %s, want Ca Cb (Cc expired, Cb pinned)", got)
	}
	if got := uids(rowsOf(s, Query{})); got != "" {
		t.Errorf("after the end of input, closed hidden: %q, want none", got)
	}
	if s.Get("Cb") == nil || s.Get("Cc") != nil {
		t.Errorf("pinned flow expired or unpinned flow kept")
	}
}

// rowsOf returns the rows of q.
func rowsOf(s *Store, q Query) []*Flow {
	rows, _ := s.Rows(q)
	return rows
}

// An idle flow's rate is 0 once it has been idle for a rate window.
func TestIdleRate(t *testing.T) {
	s := New(0)
	s.Apply(&tracker.Snapshot{Time: t0.Add(time.Second), Updates: []tracker.Update{update("Ca", 1, 0, "S1", 100, 100), update("Cb", 2, 0, "S1", 100, 100)}})
	s.Apply(&tracker.Snapshot{Time: t0.Add(2 * time.Second), Updates: []tracker.Update{update("Ca", 1, 0, "S1", 1100, 100)}})
	if o, _ := s.Get("Ca").Rates(s.Now()); o != 1100*8/2 {
		t.Errorf("Ca: %v bit/s, want 4400 (1100 bytes in its first 2 s)", o)
	}
	s.Apply(&tracker.Snapshot{Time: t0.Add(3 * time.Second)})
	if o, r := s.Get("Ca").Rates(s.Now()); o != 0 || r != 0 {
		t.Errorf("idle Ca: %v, %v bit/s, want 0", o, r)
	}
	rows, keep := s.Rows(Query{Sort: ByRate, Desc: true, Keep: "Cb"})
	if keep < 0 || rows[keep].UID != "Cb" {
		t.Errorf("keep index %d", keep)
	}
}

// A steady flow reads a steady rate: a 100-byte packet every 500 ms, seen in every
// other 250 ms snapshot, reads 1600 bit/s give or take, never 0, after its first
// window.
func TestSteadyRate(t *testing.T) {
	s := New(0)
	for i := 1; i <= 40; i++ {
		now := t0.Add(time.Duration(i) * 250 * time.Millisecond)
		snap := &tracker.Snapshot{Time: now}
		if i%2 == 0 {
			u := update("Cp", 1, 0, "OTH", uint64(i/2)*100, 0)
			u.Duration = now.Sub(t0)
			snap.Updates = []tracker.Update{u}
		}
		s.Apply(snap)
		if now.Sub(t0) < 4*time.Second { // two windows
			continue
		}
		if o, _ := s.Get("Cp").Rates(now); o < 1200 || o > 2000 {
			t.Errorf("at +%v: %v bit/s, want about 1600", now.Sub(t0), o)
		}
	}
}

// A longer rate window (iftop's 10 s) keeps a rate through a pause that the
// default 2 s window reads as idle.
func TestRateWindow(t *testing.T) {
	for _, tc := range []struct {
		window time.Duration
		idle   bool
	}{{0, true}, {10 * time.Second, false}} {
		s := New(0)
		s.Rows(Query{RateWindow: tc.window})
		u := update("Ca", 1, 0, "S1", 1000, 0)
		u.Duration = time.Second
		s.Apply(&tracker.Snapshot{Time: t0.Add(time.Second), Updates: []tracker.Update{u}})
		s.Apply(&tracker.Snapshot{Time: t0.Add(5 * time.Second)}) // 4 s without a packet
		o, _ := s.Get("Ca").Rates(s.Now())
		if (o == 0) != tc.idle {
			t.Errorf("window %v: rate %v after 4 s idle", tc.window, o)
		}
	}
}

// Flows sort by the local side's process (the originator's, else the
// responder's): none first, then by name and pid. HasProcesses turns on with the
// first flow that has one, removed or not, and stays on.
func TestProcesses(t *testing.T) {
	s := New(time.Second)
	none := update("Cnone", 1, 0, "S1", 1, 1)
	s.Apply(&tracker.Snapshot{Time: t0, Updates: []tracker.Update{none}})
	if s.HasProcesses() {
		t.Error("HasProcesses without a process")
	}
	curl := &process.Process{PID: 4242, Comm: "curl"}
	curl2 := &process.Process{PID: 99, Comm: "curl"}
	nginx := &process.Process{PID: 900, Comm: "nginx"}
	a, b, c := update("Ca", 2, time.Millisecond, "S1", 1, 1), update("Cb", 3, 2*time.Millisecond, "S1", 1, 1), update("Cc", 4, 3*time.Millisecond, "S1", 1, 1)
	a.OrigProc, a.RespProc = nginx, curl // the originator's counts
	b.RespProc = curl
	c.OrigProc = curl2
	closed := update("Cd", 5, 4*time.Millisecond, "SF", 1, 1).Record
	closed.RespProc, closed.Reason, closed.Removed = nginx, tracker.ReasonClose, t0
	s.Apply(&tracker.Snapshot{Time: t0, Removed: []tracker.Record{closed}})
	if !s.HasProcesses() {
		t.Error("a removed flow's process does not count")
	}
	s.Apply(&tracker.Snapshot{Time: t0, Updates: []tracker.Update{a, b, c}})
	if got := uids(rowsOf(s, Query{Sort: ByProcess, ShowClosed: true})); got != "Cnone Cc Cb Ca Cd" {
		t.Errorf("by process: %s", got)
	}
	if f := s.Get("Ca"); f.LocalProcess() != nginx || s.Get("Cb").LocalProcess() != curl || s.Get("Cnone").LocalProcess() != nil {
		t.Errorf("LocalProcess: %v", f.LocalProcess())
	}
	s.Apply(&tracker.Snapshot{Time: t0.Add(time.Minute)}) // Cd expires
	if s.Get("Cd") != nil || !s.HasProcesses() {
		t.Errorf("after expiry: Cd %v, HasProcesses %v", s.Get("Cd"), s.HasProcesses())
	}
	if ByProcess.String() != "process" || ByIdle.Next() != ByProcess || ByProcess.Next() != ByStart {
		t.Errorf("ByProcess: %q, cycle %v %v", ByProcess, ByIdle.Next(), ByProcess.Next())
	}
}

// TestMaxFlows: past MaxFlows the oldest closed flows go, the pinned one last;
// live flows are never dropped.
func TestMaxFlows(t *testing.T) {
	s := New(0) // closed flows would stay forever
	s.MaxFlows = 3
	var ups []tracker.Update
	for i, uid := range []string{"Ca", "Cb", "Cc", "Cd", "Ce"} {
		ups = append(ups, update(uid, uint16(i+1), time.Duration(i)*time.Millisecond, "S1", 10, 10))
	}
	s.Apply(&tracker.Snapshot{Time: t0, Updates: ups})
	if s.Len() != 5 || s.Trimmed != 0 {
		t.Fatalf("live flows over the bound: %d held, %d trimmed; want all 5, none", s.Len(), s.Trimmed)
	}
	rm := func(uid string, port uint16) tracker.Record {
		r := update(uid, port, 0, "SF", 10, 10).Record
		r.Reason, r.Removed = tracker.ReasonClose, t0
		return r
	}
	s.Pin("Ca")
	s.Apply(&tracker.Snapshot{Time: t0, Removed: []tracker.Record{rm("Ca", 1), rm("Cb", 2), rm("Cc", 3)}})
	if got := uids(rowsOf(s, Query{ShowClosed: true})); got != "Ca Cd Ce" || s.Trimmed != 2 {
		t.Errorf("rows %q, %d trimmed; want Ca (pinned) Cd Ce, 2 trimmed", got, s.Trimmed)
	}
}
