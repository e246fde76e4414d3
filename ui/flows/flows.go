// Package flows is the TUI's copy of the connection table, built from the tracker's
// Feed snapshots: one Flow per connection, live or recently closed, with its rates,
// sorted and filtered into the rows the flow table shows. It holds no reference to
// the tracker's table; it is plain data that the UI owns.
package flows

import (
	"cmp"
	"slices"
	"time"

	"github.com/flowtop/flowtop/process"
	"github.com/flowtop/flowtop/tracker"
)

// Flow is one connection as the TUI knows it. A closed flow's Record is its final
// record, whose Reason and Removed say why and when it was removed.
//
// A Flow is immutable once a Store has published it in Rows: the Store replaces a
// changed flow with a new one, so another goroutine may keep reading the rows it
// was given while the Store applies the next snapshot.
type Flow struct {
	tracker.Update
	Closed   bool    // removed from the tracker
	Crossed  int     // thresholds crossed so far
	OrigRate float64 // bits/s over the last rate window or so, originator to responder
	RespRate float64 // likewise, responder to originator
	// The rate window's samples: base, where it starts, and mid, where the next
	// window will start (IP bytes each way, and when).
	baseAt, midAt       time.Time
	baseBytes, midBytes [2]uint64
	window              time.Duration // the rate window the rates were sampled with
}

// RateWindow is the default span the rates average over (between one and two
// windows of network time): iftop's shortest average. Store.RateWindow chooses
// another, as iftop's 2 s, 10 s and 40 s.
const RateWindow = 2 * time.Second

// LocalProcess returns the process behind the flow's local side: the originator's
// when known (also when both sides are local), else the responder's; nil when
// neither is known. The Flow holds the tracker's shared pointers, never a copy.
func (f *Flow) LocalProcess() *process.Process {
	if f.OrigProc != nil {
		return f.OrigProc
	}
	return f.RespProc
}

// Last returns the time of the flow's last packet.
func (f *Flow) Last() time.Time { return f.TS.Add(f.Duration) }

// Final reports whether the flow was removed because the input ended. Such flows
// never expire, so that nothing vanishes at the end; they are closed rows like any
// other (dimmed, hidden with the closed ones).
func (f *Flow) Final() bool { return f.Closed && f.Reason == tracker.ReasonEndOfInput }

// Rates returns the flow's rates as of now, the time of the latest snapshot: its
// average over the last window, or 0 once it has been idle for a window (or
// closed).
func (f *Flow) Rates(now time.Time) (orig, resp float64) {
	if f.Closed || now.Sub(f.Last()) > f.window {
		return 0, 0
	}
	return f.OrigRate, f.RespRate
}

// entry is a flow's place in the Store: it stays while the flow is replaced.
type entry struct {
	f    *Flow
	gone bool // expired: dropped from order at the next Rows
}

// Store holds the flows. It is used by one goroutine.
type Store struct {
	flows  map[string]*entry // by uid
	order  []*entry          // every entry, in the order of the latest Rows call
	closed []*entry          // closed flows in removal order, for expiry
	now    time.Time         // network time of the latest snapshot
	stats  tracker.Stats
	drops  tracker.Drops
	pin    string    // uid kept past its linger time
	keys   []sortKey // reused by sort
	procs  bool      // some flow has had a process (see HasProcesses)

	// Linger is how long closed flows stay (network time); 0 keeps them forever.
	Linger time.Duration
	// MaxFlows bounds the flows held: past it, the oldest closed ones go first
	// (the pinned one last), and Trimmed counts them. 0 is no bound.
	MaxFlows int
	// Trimmed counts the closed flows dropped for MaxFlows.
	Trimmed uint64
	// RateWindow is the span rates average over from the next snapshot on; 0 is
	// the default, RateWindow.
	RateWindow time.Duration
}

func (s *Store) window() time.Duration {
	if s.RateWindow > 0 {
		return s.RateWindow
	}
	return RateWindow
}

// New returns an empty store.
func New(linger time.Duration) *Store {
	return &Store{flows: map[string]*entry{}, Linger: linger}
}

// Now returns the network time of the latest snapshot.
func (s *Store) Now() time.Time { return s.now }

// Stats returns the tracker's counters as of the latest snapshot, and the events it
// dropped.
func (s *Store) Stats() (tracker.Stats, tracker.Drops) { return s.stats, s.drops }

// HasProcesses reports whether any flow applied so far had a process behind one
// of its sides: the capture attributes processes (a live one, where the host's
// sockets are readable). It stays true once set, so that what depends on it does
// not come and go as such flows expire.
func (s *Store) HasProcesses() bool { return s.procs }

// Len returns the number of flows held.
func (s *Store) Len() int { return len(s.flows) }

// Get returns the flow with uid, or nil.
func (s *Store) Get(uid string) *Flow {
	if e := s.flows[uid]; e != nil {
		return e.f
	}
	return nil
}

// Pin keeps the flow with uid (the one under the cursor) past its linger time, until
// another is pinned; "" pins none.
func (s *Store) Pin(uid string) { s.pin = uid }

// entryOf returns uid's entry, creating an empty one.
func (s *Store) entryOf(uid string) *entry {
	e := s.flows[uid]
	if e == nil {
		e = &entry{f: &Flow{}}
		s.flows[uid] = e
		s.order = append(s.order, e)
	}
	return e
}

// Apply merges a snapshot: updates, removals and crossings, in order. Changed flows
// are replaced, never modified (see Flow).
func (s *Store) Apply(snap *tracker.Snapshot) {
	s.now, s.stats, s.drops = snap.Time, snap.Stats, snap.Dropped
	for i := range snap.Updates {
		u := &snap.Updates[i]
		e := s.entryOf(u.UID)
		f := new(Flow)
		*f = *e.f
		if f.UID == "" {
			f.baseAt, f.midAt = u.TS, u.TS // no byte before the first packet
		}
		f.Update = *u
		s.procs = s.procs || u.OrigProc != nil || u.RespProc != nil
		f.sampleRates(snap.Time, s.window())
		e.f = f
	}
	for i := range snap.Removed {
		r := &snap.Removed[i]
		e := s.entryOf(r.UID)
		f := new(Flow)
		*f = *e.f
		f.Record = *r
		s.procs = s.procs || r.OrigProc != nil || r.RespProc != nil
		f.Closed = true
		f.OrigRate, f.RespRate = 0, 0
		e.f = f
		s.closed = append(s.closed, e)
	}
	for i := range snap.Crossings {
		if e := s.flows[snap.Crossings[i].UID]; e != nil {
			f := *e.f
			f.Crossed++
			e.f = &f
		}
	}
	s.expire()
}

// sampleRates updates the flow's rates at now: its IP bytes since the window's
// start, which moves on a window at a time, so that the average spans one to two
// windows and does not swing with each refresh.
func (f *Flow) sampleRates(now time.Time, window time.Duration) {
	f.window = window
	span := max(now.Sub(f.baseAt), window/8).Seconds() // a first rate stays finite
	cur := [2]uint64{f.OrigIPBytes, f.RespIPBytes}
	f.OrigRate = float64(cur[0]-min(f.baseBytes[0], cur[0])) * 8 / span
	f.RespRate = float64(cur[1]-min(f.baseBytes[1], cur[1])) * 8 / span
	if now.Sub(f.midAt) >= window {
		f.baseAt, f.baseBytes = f.midAt, f.midBytes
		f.midAt, f.midBytes = now, cur
	}
}

// expire drops closed flows older than Linger, oldest first, except the pinned one
// and those that the end of input removed. Its cost is that of what expires.
func (s *Store) expire() {
	defer s.trim()
	if s.Linger <= 0 {
		return
	}
	n := 0
	var pinned *entry
	for ; n < len(s.closed); n++ {
		e := s.closed[n]
		if s.now.Sub(e.f.Removed) <= s.Linger {
			break
		}
		switch {
		case e.f.Final():
		case e.f.UID == s.pin:
			pinned = e
		default:
			e.gone = true
			delete(s.flows, e.f.UID)
		}
	}
	clear(s.closed[:n]) // the array's head must not keep the flows
	s.closed = s.closed[n:]
	if pinned != nil {
		s.closed = append(s.closed, pinned) // looked at again once unpinned
	}
}

// trim drops the oldest closed flows while the store holds more than MaxFlows.
func (s *Store) trim() {
	var pinned *entry
	for s.MaxFlows > 0 && len(s.flows) > s.MaxFlows && len(s.closed) > 0 {
		e := s.closed[0]
		s.closed[0] = nil // the array's head must not keep the flow
		s.closed = s.closed[1:]
		if e.f.UID == s.pin {
			pinned = e
			continue
		}
		e.gone = true
		delete(s.flows, e.f.UID)
		s.Trimmed++
	}
	if pinned != nil {
		s.closed = append(s.closed, pinned)
	}
}

// Column is a sortable column.
type Column int

// The sortable columns.
const (
	ByStart Column = iota
	ByProto
	ByOrig
	ByResp
	ByState
	ByOrigBytes
	ByRespBytes
	ByPkts
	ByRate
	ByDuration
	ByIdle
	ByProcess // the local side's process (Flow.LocalProcess): by command name, then pid; none first
	numColumns
)

var columnNames = [...]string{"start", "proto", "orig", "resp", "state", "orig bytes", "resp bytes", "packets", "rate", "duration", "idle", "process"}

// String names the column.
func (c Column) String() string { return columnNames[c] }

// Next returns the column after c, cycling.
func (c Column) Next() Column { return (c + 1) % numColumns }

// Query selects and orders rows.
type Query struct {
	Sort       Column
	Desc       bool
	Match      func(*tracker.Record) bool // nil matches all
	ShowClosed bool
	Keep       string // uid of a flow to list even when closed and hidden (the selected one)
	// RateWindow, when set, becomes the Store's rate window (see Store.RateWindow).
	RateWindow time.Duration
}

// Rows returns a new slice of the flows that q selects, in q's order (ties by start,
// then creation order, then uid, all reversed with Desc, so the order is stable
// across refreshes), and the index of q.Keep in it (-1 if absent). The Store keeps
// its flows in the order of the last call, so that sorting again by the same
// column, the usual case, sorts an almost sorted slice.
func (s *Store) Rows(q Query) ([]*Flow, int) {
	if q.RateWindow > 0 {
		s.RateWindow = q.RateWindow
	}
	s.order = slices.DeleteFunc(s.order, func(e *entry) bool { return e.gone })
	s.sort(q.Sort, q.Desc)
	rows := make([]*Flow, 0, len(s.order))
	keep := -1
	for _, e := range s.order {
		f := e.f
		if f.Closed && !q.ShowClosed && f.UID != q.Keep {
			continue
		}
		if q.Match != nil && !q.Match(&f.Record) {
			continue
		}
		if f.UID == q.Keep {
			keep = len(rows)
		}
		rows = append(rows, f)
	}
	return rows, keep
}

// sortKey is one flow's sort key, computed once per sort: numeric columns compare
// keys in a contiguous slice instead of chasing two flows per comparison.
type sortKey struct {
	k   float64
	ts  int64
	seq uint64
	e   *entry
}

// sort orders s.order by column c.
func (s *Store) sort(c Column, desc bool) {
	now := s.now
	var key func(f *Flow) float64
	switch c {
	case ByStart:
		key = func(*Flow) float64 { return 0 } // the start is the first tie-break
	case ByOrigBytes:
		key = func(f *Flow) float64 { return float64(f.OrigBytes) }
	case ByRespBytes:
		key = func(f *Flow) float64 { return float64(f.RespBytes) }
	case ByPkts:
		key = func(f *Flow) float64 { return float64(f.OrigPkts + f.RespPkts) }
	case ByRate:
		key = func(f *Flow) float64 { o, r := f.Rates(now); return o + r }
	case ByDuration:
		key = func(f *Flow) float64 { return float64(f.Duration) }
	case ByIdle:
		key = func(f *Flow) float64 { return float64(now.Sub(f.Last())) }
	default:
		s.sortBy(c, desc)
		return
	}
	keys := s.keys[:0]
	for _, e := range s.order {
		keys = append(keys, sortKey{key(e.f), e.f.TS.UnixNano(), e.f.Seq, e})
	}
	slices.SortFunc(keys, func(a, b sortKey) int {
		c := cmp.Compare(a.k, b.k)
		if c == 0 {
			c = cmp.Compare(a.ts, b.ts)
		}
		if c == 0 {
			c = cmp.Compare(a.seq, b.seq)
		}
		if c == 0 {
			c = cmp.Compare(a.e.f.UID, b.e.f.UID)
		}
		if desc {
			return -c
		}
		return c
	})
	for i := range keys {
		s.order[i] = keys[i].e
		keys[i].e = nil
	}
	s.keys = keys
}

// sortBy orders s.order by a column whose values are not numbers.
func (s *Store) sortBy(c Column, desc bool) {
	key := func(a, b *Flow) int {
		switch c {
		case ByProto:
			return cmp.Compare(a.Proto.Transport(), b.Proto.Transport()) // as shown: ICMPv6 with ICMP
		case ByOrig:
			if c := a.OrigH.Compare(b.OrigH); c != 0 {
				return c
			}
			return cmp.Compare(a.OrigP, b.OrigP)
		case ByResp:
			if c := a.RespH.Compare(b.RespH); c != 0 {
				return c
			}
			return cmp.Compare(a.RespP, b.RespP)
		case ByState:
			return cmp.Compare(a.ConnState, b.ConnState)
		case ByProcess:
			return compareProcess(a.LocalProcess(), b.LocalProcess())
		}
		return 0
	}
	slices.SortFunc(s.order, func(ea, eb *entry) int {
		a, b := ea.f, eb.f
		c := key(a, b)
		if c == 0 {
			c = a.TS.Compare(b.TS)
		}
		if c == 0 {
			c = cmp.Compare(a.Seq, b.Seq)
		}
		if c == 0 {
			c = cmp.Compare(a.UID, b.UID)
		}
		if desc {
			return -c
		}
		return c
	})
}

// compareProcess orders processes as the PROCESS column reads: none first, then
// by command name, pid and user (a process known by its user alone has no name
// and pid 0, so it comes before the named ones).
func compareProcess(a, b *process.Process) int {
	switch {
	case a == b:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	if c := cmp.Compare(a.Comm, b.Comm); c != 0 {
		return c
	}
	if c := cmp.Compare(a.PID, b.PID); c != 0 {
		return c
	}
	return cmp.Compare(a.User, b.User)
}

// Index returns the position of uid in rows, or -1: the cursor stays on its
// connection across refreshes and re-sorts.
func Index(rows []*Flow, uid string) int {
	return slices.IndexFunc(rows, func(f *Flow) bool { return f.UID == uid })
}
