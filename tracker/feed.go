package tracker

import (
	"sync/atomic"
	"time"
)

// Feed publishes the tracker's events to one consumer on another goroutine, such as
// the TUI, without ever blocking packet processing.
//
// Connection updates are coalesced: the tracker marks each connection it changes,
// and at a steady rate (while Run runs) it publishes one Snapshot with the current
// state of every connection changed since the previous snapshot, the connections
// removed since (with their reasons) and the thresholds crossed since. The channel
// holds at most one snapshot; while the consumer has not taken it, the tracker keeps
// accumulating rather than publishing another, so a slow consumer gets fewer, larger
// snapshots and loses no update. Removals and crossings wait in bounded queues; what
// does not fit is counted in Snapshot.Dropped.
type Feed struct {
	ch    chan *Snapshot
	every time.Duration
	due   atomic.Bool // set by the ticker: publish at the next chance

	dirty     []connRef // connections marked connDirty, in marking order
	stale     int       // entries of dirty whose connection was removed
	removed   []Record
	crossings []Crossing
	drops     Drops

	// Limits of the queues of removals and crossings between two snapshots; the
	// removals of a Flush are never dropped (flushing).
	maxRemoved, maxCrossings int
	flushing                 bool
	lastRemoved              int // removals in the previous snapshot, to size the next queue

	arena []byte // uid and history bytes of the snapshot being built
	offs  []int
}

// Snapshot is what the tracker publishes to its Feed: everything that changed since
// the previous snapshot. Apply snapshots in order.
type Snapshot struct {
	Time  time.Time // network time
	Stats Stats     // the tracker's counters
	// Updates hold the connections changed since the previous snapshot, each as its
	// record would be if it were removed now (Reason is meaningless).
	Updates []Update
	// Removed holds the records of connections removed since, in removal order, with
	// their reasons.
	Removed []Record
	// Crossings holds the threshold crossings since, in order. Their Conn handles are
	// for the tracker's goroutine only.
	Crossings []Crossing
	// Dropped counts, since the start, removals and crossings that were lost because
	// the consumer lagged too far behind.
	Dropped Drops
	// Final is set on the last snapshot, published when Run returns; it includes
	// everything flushed at the end of input.
	Final bool
}

// Update is the state of one live connection.
type Update struct {
	Record
	// Conn is the connection's handle, for calls passed to Tracker.Do (for example
	// to set thresholds on it); use it only on the tracker's goroutine.
	Conn       Conn
	Seq        uint64        // creation order, unique for the tracker's lifetime
	Thresholds int           // thresholds still pending on it
	Inactivity time.Duration // its inactivity timeout, counted from its last packet; 0: none
}

// Drops counts events a Feed could not queue.
type Drops struct {
	Removals  uint64
	Crossings uint64
}

// connRef names a connection slot and generation.
type connRef struct{ idx, gen uint32 }

// Feed queue limits.
const (
	DefaultFeedRemovals  = 1 << 16
	DefaultFeedCrossings = 1 << 12
)

// Feed attaches a Feed to t that publishes a snapshot every interval while Run runs
// (and a final one when Run returns). Call it before Run; a Tracker has one Feed.
func (t *Tracker) Feed(every time.Duration) *Feed {
	if t.feed == nil {
		t.feed = &Feed{
			ch:           make(chan *Snapshot, 1),
			every:        every,
			maxRemoved:   DefaultFeedRemovals,
			maxCrossings: DefaultFeedCrossings,
		}
	}
	return t.feed
}

// C returns the channel on which snapshots arrive.
func (f *Feed) C() <-chan *Snapshot { return f.ch }

// mark records that c changed.
func (f *Feed) mark(c *conn) {
	if c.flags&connDirty != 0 {
		return
	}
	c.flags |= connDirty
	f.dirty = append(f.dirty, connRef{c.idx, c.gen})
}

// removal queues the final record of c.
func (f *Feed) removal(c *conn, r *Record) {
	if c.flags&connDirty != 0 {
		f.stale++
	}
	if len(f.removed) >= f.maxRemoved && !f.flushing {
		f.drops.Removals++
		return
	}
	if f.removed == nil && f.lastRemoved > 0 {
		f.removed = make([]Record, 0, min(f.lastRemoved, f.maxRemoved))
	}
	f.removed = append(f.removed, *r)
}

// crossing queues a threshold crossing.
func (f *Feed) crossing(x *Crossing) {
	if len(f.crossings) >= f.maxCrossings {
		f.drops.Crossings++
		return
	}
	f.crossings = append(f.crossings, *x)
}

// publish hands a snapshot to the consumer if it took the previous one; otherwise it
// keeps accumulating. A final snapshot is always published, merged after an
// untaken one.
func (t *Tracker) publish(final bool) {
	f := t.feed
	if len(f.ch) > 0 && !final {
		f.compact(t)
		return
	}
	s := &Snapshot{
		Time:      time.Unix(0, max(t.now, t.shown)),
		Stats:     t.Stats(),
		Removed:   f.removed,
		Crossings: f.crossings,
		Dropped:   f.drops,
		Final:     final,
	}
	f.lastRemoved = len(f.removed)
	f.removed, f.crossings = nil, nil
	s.Updates = t.updates()
	if final {
		select {
		case old := <-f.ch:
			old.Updates = append(old.Updates, s.Updates...)
			old.Removed = append(old.Removed, s.Removed...)
			old.Crossings = append(old.Crossings, s.Crossings...)
			old.Time, old.Stats, old.Dropped, old.Final = s.Time, s.Stats, s.Dropped, true
			s = old
		default:
		}
	}
	f.ch <- s // never blocks: only this goroutine sends, and the slot is empty
}

// updates builds the updates of the marked connections and clears their marks. The
// uids and histories of all updates share one string, one allocation.
func (t *Tracker) updates() []Update {
	f := t.feed
	if len(f.dirty) == 0 {
		return nil
	}
	ups := make([]Update, 0, len(f.dirty)-min(f.stale, len(f.dirty)))
	f.arena, f.offs = f.arena[:0], f.offs[:0]
	for _, ref := range f.dirty {
		c := t.liveConn(ref.idx, ref.gen)
		if c == nil || c.flags&connDirty == 0 {
			continue
		}
		c.flags &^= connDirty
		var u Update
		t.fillFigures(c, &u.Record)
		u.Conn = Conn{t: t, idx: c.idx, gen: c.gen}
		u.Seq = c.seq
		u.Thresholds = t.pendingThresholds(c)
		u.Inactivity = time.Duration(c.inactivity)
		ups = append(ups, u)
		f.arena = t.appendUID(f.arena, c.seq)
		f.offs = append(f.offs, len(f.arena))
		f.arena = append(f.arena, t.historyOf(c)...)
		f.offs = append(f.offs, len(f.arena))
	}
	clear(f.dirty)
	f.dirty, f.stale = f.dirty[:0], 0
	all := string(f.arena)
	start := 0
	for i := range ups {
		uidEnd, histEnd := f.offs[2*i], f.offs[2*i+1]
		ups[i].UID = all[start:uidEnd]
		ups[i].History = all[uidEnd:histEnd]
		start = histEnd
	}
	if cap(f.arena) > 1<<20 {
		f.arena, f.offs = nil, nil // do not hold on to a burst's memory
	}
	return ups
}

// compact drops the entries of removed connections from the dirty list once they
// make up half of it, so that a consumer that stopped taking snapshots costs memory
// bounded by the live connections.
func (f *Feed) compact(t *Tracker) {
	if f.stale < 1024 || f.stale < len(f.dirty)/2 {
		return
	}
	keep := f.dirty[:0]
	for _, ref := range f.dirty {
		if c := t.liveConn(ref.idx, ref.gen); c != nil && c.flags&connDirty != 0 {
			keep = append(keep, ref)
		}
	}
	clear(f.dirty[len(keep):])
	f.dirty, f.stale = keep, 0
}
