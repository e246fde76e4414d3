package ui

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/flowtop/flowtop/tracker"
	"github.com/flowtop/flowtop/ui/flows"
)

// frameMsg is one refresh of the display: the rows of the current query, sorted and
// filtered on the pipeline's goroutine, and the figures of the status bar. The rows
// are immutable (see flows.Flow).
type frameMsg struct {
	rows      []*flows.Flow
	keep      int // index in rows of the flow under the cursor when the frame was made, or -1
	now       time.Time
	stats     tracker.Stats
	drops     tracker.Drops
	flows     int // flows held: live, lingering closed and final
	closed    int // of which closed (lingering or final)
	crossings []tracker.Crossing
	final     bool // the tracker has stopped: no frame will follow but for a new query
	procs     bool // some connection has had a process (flows.Store.HasProcesses)
}

// pipeline sits between the tracker's Feed and the Bubble Tea program, on its own
// goroutine: it applies snapshots to the flow store and sorts and filters the rows,
// so that neither the capture nor the event loop ever waits for that work. It sends
// one frame per snapshot and one per new query.
type pipeline struct {
	store    *flows.Store
	feed     <-chan *tracker.Snapshot
	queries  chan flows.Query // holds the latest query only
	pause    chan bool
	selected atomic.Pointer[string] // the uid under the cursor: pinned and kept listed
	send     func(frameMsg)
}

func newPipeline(feed <-chan *tracker.Snapshot, linger time.Duration, send func(frameMsg)) *pipeline {
	return &pipeline{
		store:   flows.New(linger),
		feed:    feed,
		queries: make(chan flows.Query, 1),
		pause:   make(chan bool, 1),
		send:    send,
	}
}

// setQuery replaces the query; it never blocks (an unread query is replaced).
func (p *pipeline) setQuery(q flows.Query) { replace(p.queries, q) }

// setPaused stops or resumes taking snapshots. While paused the tracker keeps
// accumulating changes (coalesced), so nothing is lost, and queries are still
// answered from the frozen table.
func (p *pipeline) setPaused(paused bool) { replace(p.pause, paused) }

// replace puts v in the one-slot channel ch, replacing an unread value; it never
// blocks (only one goroutine sends).
func replace[T any](ch chan T, v T) {
	for {
		select {
		case ch <- v:
			return
		default:
		}
		select {
		case <-ch:
		default:
		}
	}
}

// selectUID tells the pipeline which flow is under the cursor.
func (p *pipeline) selectUID(uid string) { p.selected.Store(&uid) }

// run applies snapshots and answers queries until ctx is done.
func (p *pipeline) run(ctx context.Context) {
	var q flows.Query
	var paused, final bool
	for {
		feed := p.feed
		if paused {
			feed = nil
		}
		select {
		case snap := <-feed:
			p.store.Pin(p.selectedUID())
			p.store.Apply(snap)
			final = final || snap.Final
			p.emit(q, snap.Crossings, final)
		case q = <-p.queries:
			p.emit(q, nil, final)
		case paused = <-p.pause:
		case <-ctx.Done():
			return
		}
	}
}

func (p *pipeline) selectedUID() string {
	if s := p.selected.Load(); s != nil {
		return *s
	}
	return ""
}

// emit computes the rows of q and sends a frame.
func (p *pipeline) emit(q flows.Query, crossings []tracker.Crossing, final bool) {
	q.Keep = p.selectedUID()
	rows, keep := p.store.Rows(q)
	stats, drops := p.store.Stats()
	p.send(frameMsg{
		rows:      rows,
		keep:      keep,
		now:       p.store.Now(),
		stats:     stats,
		drops:     drops,
		flows:     p.store.Len(),
		closed:    p.store.Len() - stats.Active,
		crossings: crossings,
		final:     final,
		procs:     p.store.HasProcesses(),
	})
}
