// Package flows is the TUI's copy of the connection table, built from the tracker's
// Feed snapshots: one Flow per connection, live or recently closed, with its rates,
// sorted and filtered into the rows the flow table shows. It holds no reference to
// the tracker's table; it is plain data that the UI owns.
package flows

import (
	"cmp"
	"slices"
	"time"

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
	Closed    bool      // removed from the tracker
	Crossed   int       // thresholds crossed so far
	OrigRate  float64   // current bits/s, originator to responder
	RespRate  float64   // current bits/s, responder to originator
	rateAt    time.Time // when the rates were last sampled
	rateBytes [2]uint64 // IP bytes at that time
}

// Last returns the time of the flow's last packet.
func (f *Flow) Last() time.Time { return f.TS.Add(f.Duration) }

// Final reports whether the flow was removed because the input ended: reading a
// file, such flows stay visible like live ones, so that nothing vanishes at the end.
func (f *Flow) Final() bool { return f.Closed && f.Reason == tracker.ReasonEndOfInput }

// Store holds the flows. It is used by one goroutine.
type Store struct {
	flows map[string]int // uid → index in all
	all   []*Flow        // every flow, in the order of the latest Rows call
	now   time.Time      // network time of the latest snapshot
	stats tracker.Stats
	drops tracker.Drops
	pin   string // uid kept past its linger time

	// Linger is how long closed flows stay (network time); 0 keeps them forever.
	Linger time.Duration
}

// New returns an empty store.
func New(linger time.Duration) *Store {
	return &Store{flows: map[string]int{}, Linger: linger}
}

// Now returns the network time of the latest snapshot.
func (s *Store) Now() time.Time { return s.now }

// Stats returns the tracker's counters as of the latest snapshot, and the events it
// dropped.
func (s *Store) Stats() (tracker.Stats, tracker.Drops) { return s.stats, s.drops }

// Len returns the number of flows held.
func (s *Store) Len() int { return len(s.all) }

// Get returns the flow with uid, or nil.
func (s *Store) Get(uid string) *Flow {
	if i, ok := s.flows[uid]; ok {
		return s.all[i]
	}
	return nil
}

// Pin keeps the flow with uid (the one under the cursor) past its linger time, until
// another is pinned; "" pins none.
func (s *Store) Pin(uid string) { s.pin = uid }

// put stores f under its uid, replacing the previous flow.
func (s *Store) put(f *Flow) {
	if i, ok := s.flows[f.UID]; ok {
		s.all[i] = f
		return
	}
	s.flows[f.UID] = len(s.all)
	s.all = append(s.all, f)
}

// Apply merges a snapshot: updates, removals and crossings, in order. Changed flows
// are replaced, never modified (see Flow).
func (s *Store) Apply(snap *tracker.Snapshot) {
	s.now, s.stats, s.drops = snap.Time, snap.Stats, snap.Dropped
	for i := range snap.Updates {
		u := &snap.Updates[i]
		f := new(Flow)
		if old := s.Get(u.UID); old != nil {
			*f = *old
		} else {
			f.rateAt = u.TS
		}
		f.Update = *u
		f.sampleRates(snap.Time)
		s.put(f)
	}
	for i := range snap.Removed {
		r := &snap.Removed[i]
		f := new(Flow)
		if old := s.Get(r.UID); old != nil {
			*f = *old
		}
		f.Record = *r
		f.Closed = true
		f.OrigRate, f.RespRate = 0, 0
		s.put(f)
	}
	for i := range snap.Crossings {
		if old := s.Get(snap.Crossings[i].UID); old != nil {
			f := *old
			f.Crossed++
			s.put(&f)
		}
	}
	s.expire()
}

// sampleRates updates the flow's rates from the IP bytes since the last sample.
func (f *Flow) sampleRates(now time.Time) {
	dt := now.Sub(f.rateAt).Seconds()
	if dt <= 0 {
		return
	}
	f.OrigRate = float64(f.OrigIPBytes-min(f.rateBytes[0], f.OrigIPBytes)) * 8 / dt
	f.RespRate = float64(f.RespIPBytes-min(f.rateBytes[1], f.RespIPBytes)) * 8 / dt
	f.rateAt, f.rateBytes = now, [2]uint64{f.OrigIPBytes, f.RespIPBytes}
}

// expire drops closed flows older than Linger, except the pinned one and those
// that the end of input removed.
func (s *Store) expire() {
	if s.Linger <= 0 {
		return
	}
	gone := func(f *Flow) bool {
		return f.Closed && !f.Final() && f.UID != s.pin && s.now.Sub(f.Removed) > s.Linger
	}
	if !slices.ContainsFunc(s.all, gone) {
		return
	}
	s.all = slices.DeleteFunc(s.all, func(f *Flow) bool {
		if gone(f) {
			delete(s.flows, f.UID)
			return true
		}
		return false
	})
	for i, f := range s.all {
		s.flows[f.UID] = i
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
	numColumns
)

var columnNames = [...]string{"start", "proto", "orig", "resp", "state", "orig bytes", "resp bytes", "packets", "rate", "duration", "idle"}

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
}

// Rows returns a new slice of the flows that q selects, in q's order (ties by start,
// then creation order, then uid, all reversed with Desc, so the order is stable
// across refreshes). The
// Store keeps its flows in the order of the last call, so that sorting again by the
// same column, the usual case, sorts an almost sorted slice.
func (s *Store) Rows(q Query) []*Flow {
	s.sort(q.Sort, q.Desc)
	for i, f := range s.all {
		s.flows[f.UID] = i
	}
	rows := make([]*Flow, 0, len(s.all))
	for _, f := range s.all {
		if f.Closed && !q.ShowClosed && !f.Final() && f.UID != q.Keep {
			continue
		}
		if q.Match != nil && !q.Match(&f.Record) {
			continue
		}
		rows = append(rows, f)
	}
	return rows
}

// sort orders s.all by column c.
func (s *Store) sort(c Column, desc bool) {
	now := s.now
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
		case ByOrigBytes:
			return cmp.Compare(a.OrigBytes, b.OrigBytes)
		case ByRespBytes:
			return cmp.Compare(a.RespBytes, b.RespBytes)
		case ByPkts:
			return cmp.Compare(a.OrigPkts+a.RespPkts, b.OrigPkts+b.RespPkts)
		case ByRate:
			return cmp.Compare(a.OrigRate+a.RespRate, b.OrigRate+b.RespRate)
		case ByDuration:
			return cmp.Compare(a.Duration, b.Duration)
		case ByIdle:
			return cmp.Compare(now.Sub(a.Last()), now.Sub(b.Last()))
		}
		return 0
	}
	slices.SortFunc(s.all, func(a, b *Flow) int {
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

// Index returns the position of uid in rows, or -1: the cursor stays on its
// connection across refreshes and re-sorts.
func Index(rows []*Flow, uid string) int {
	return slices.IndexFunc(rows, func(f *Flow) bool { return f.UID == uid })
}
