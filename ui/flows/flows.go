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

// Store holds the flows.
type Store struct {
	flows map[string]*Flow // by uid
	now   time.Time        // network time of the latest snapshot
	stats tracker.Stats
	drops tracker.Drops

	// Linger is how long closed flows stay (network time); 0 keeps them forever.
	Linger time.Duration
	// Crossings holds the latest threshold crossings (at most MaxCrossings), newest
	// last.
	Crossings []tracker.Crossing
}

// MaxCrossings bounds Store.Crossings.
const MaxCrossings = 1000

// New returns an empty store.
func New(linger time.Duration) *Store {
	return &Store{flows: map[string]*Flow{}, Linger: linger}
}

// Now returns the network time of the latest snapshot.
func (s *Store) Now() time.Time { return s.now }

// Stats returns the tracker's counters as of the latest snapshot, and the events it
// dropped.
func (s *Store) Stats() (tracker.Stats, tracker.Drops) { return s.stats, s.drops }

// Len returns the number of flows held.
func (s *Store) Len() int { return len(s.flows) }

// Get returns the flow with uid, or nil.
func (s *Store) Get(uid string) *Flow { return s.flows[uid] }

// Apply merges a snapshot: updates, removals and crossings, in order.
func (s *Store) Apply(snap *tracker.Snapshot) {
	s.now, s.stats, s.drops = snap.Time, snap.Stats, snap.Dropped
	for i := range snap.Updates {
		u := &snap.Updates[i]
		f := s.flows[u.UID]
		if f == nil {
			f = &Flow{rateAt: u.TS}
			s.flows[u.UID] = f
		}
		f.Update = *u
		f.sampleRates(snap.Time)
	}
	for i := range snap.Removed {
		r := &snap.Removed[i]
		f := s.flows[r.UID]
		if f == nil {
			f = &Flow{}
			s.flows[r.UID] = f
		}
		f.Record = *r
		f.Closed = true
		f.OrigRate, f.RespRate = 0, 0
	}
	for _, x := range snap.Crossings {
		if f := s.flows[x.UID]; f != nil {
			f.Crossed++
		}
		s.Crossings = append(s.Crossings, x)
	}
	if n := len(s.Crossings); n > MaxCrossings {
		s.Crossings = slices.Delete(s.Crossings, 0, n-MaxCrossings)
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

// expire drops closed flows older than Linger.
func (s *Store) expire() {
	if s.Linger <= 0 {
		return
	}
	for uid, f := range s.flows {
		if f.Closed && s.now.Sub(f.Removed) > s.Linger {
			delete(s.flows, uid)
		}
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
}

// Rows returns the flows that q selects, in q's order (ties by start, then uid, so
// the order is stable across refreshes).
func (s *Store) Rows(q Query) []*Flow {
	rows := make([]*Flow, 0, len(s.flows))
	for _, f := range s.flows {
		if f.Closed && !q.ShowClosed {
			continue
		}
		if q.Match != nil && !q.Match(&f.Record) {
			continue
		}
		rows = append(rows, f)
	}
	now := s.now
	key := func(a, b *Flow) int {
		switch q.Sort {
		case ByProto:
			return cmp.Compare(a.Proto, b.Proto)
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
	slices.SortFunc(rows, func(a, b *Flow) int {
		c := key(a, b)
		if q.Desc {
			c = -c
		}
		if c != 0 {
			return c
		}
		if c := a.TS.Compare(b.TS); c != 0 {
			return c
		}
		return cmp.Compare(a.UID, b.UID)
	})
	return rows
}

// Index returns the position of uid in rows, or -1: the cursor stays on its
// connection across refreshes and re-sorts.
func Index(rows []*Flow, uid string) int {
	return slices.IndexFunc(rows, func(f *Flow) bool { return f.UID == uid })
}
