package main

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowtop/flowtop/ipfix"
	"github.com/flowtop/flowtop/tracker"
)

// flowCollect feeds the tracker with the flow records a collector receives
// (--collect): each message's records become one call on the tracker's
// goroutine, and network time follows the records, then the wall clock from
// the last one, so that connections time out when records stop.
type flowCollect struct {
	c       *ipfix.Collector
	tr      *tracker.Tracker
	src     *tracker.IdleSource
	lastEnd atomic.Int64 // ns: the latest record end
	lastAt  atomic.Int64 // ns, wall clock: when it arrived
	dropped atomic.Uint64
	stop    chan struct{}
	wg      sync.WaitGroup
	closing atomic.Bool
}

// startCollect listens on --collect's address and feeds tr.
func startCollect(o *options, tr *tracker.Tracker, src *tracker.IdleSource, warn func(string)) (*flowCollect, error) {
	fc := &flowCollect{tr: tr, src: src, stop: make(chan struct{})}
	c, err := ipfix.Listen(o.collect, 0, fc.handle, warn)
	if err != nil {
		return nil, err
	}
	fc.c = c
	fc.wg.Add(1)
	go fc.clock()
	return fc, nil
}

// handle queues one message's records for the tracker. It waits (the exporter's
// datagrams queue in the socket meanwhile) rather than drop, until closing.
func (fc *flowCollect) handle(flows []ipfix.Flow) {
	recs := make([]tracker.FlowRecord, len(flows))
	var last int64
	for i := range flows {
		f := &flows[i]
		recs[i] = tracker.FlowRecord{
			Src: f.Src, Dst: f.Dst, SrcPort: f.SrcPort, DstPort: f.DstPort, Proto: tracker.Proto(f.Proto),
			Packets: f.Packets, Octets: f.Octets, RevPackets: f.RevPackets, RevOctets: f.RevOctets,
			Start: f.Start, End: f.End, ConnState: f.ConnState, History: f.History, Service: f.Service,
		}
		// An ended biflow ends its connection. A record of one direction does
		// not: the other direction's record, from a uniflow exporter, may follow,
		// and belongs to the same connection.
		if r, ok := removeReason(f.EndReason); ok && (f.Biflow || f.RevPackets > 0 || f.RevOctets > 0) {
			recs[i].Final, recs[i].Reason = true, r
		}
		last = max(last, f.End.UnixNano())
	}
	if last > fc.lastEnd.Load() {
		fc.lastEnd.Store(last)
	}
	fc.lastAt.Store(time.Now().UnixNano())
	for !fc.tr.Do(func() {
		for i := range recs {
			fc.tr.AddFlow(&recs[i])
		}
	}) {
		if fc.closing.Load() {
			fc.dropped.Add(uint64(len(recs)))
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// clock moves network time on while no records come: from the last record's
// end, as the wall clock moves.
func (fc *flowCollect) clock() {
	defer fc.wg.Done()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-fc.stop:
			return
		case <-tick.C:
			end, at := fc.lastEnd.Load(), fc.lastAt.Load()
			if end == 0 {
				continue
			}
			ts := time.Unix(0, end).Add(time.Since(time.Unix(0, at)))
			fc.tr.Do(func() { fc.tr.AdvanceTo(ts) })
		}
	}
}

// close stops the collector, lets the tracker count what was received, and
// ends the source (the tracker then flushes every connection).
func (fc *flowCollect) close() {
	if fc == nil || fc.closing.Swap(true) {
		return
	}
	fc.c.Close() // returns once the last message's records are queued
	close(fc.stop)
	fc.wg.Wait()
	// A call behind the queued ones: once it runs, they have been counted.
	done := make(chan struct{})
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if fc.tr.Do(func() { close(done) }) {
			select {
			case <-done:
			case <-time.After(5 * time.Second):
			}
			break
		}
	}
	fc.src.Close()
}

// report says what the collector received, with -v or when some was lost.
func (fc *flowCollect) report(stderr io.Writer, verbose bool) {
	if fc == nil {
		return
	}
	s := fc.c.Stats()
	if verbose || s.Malformed > 0 || s.TemplatesRefused > 0 || fc.dropped.Load() > 0 {
		fmt.Fprintf(stderr, "flowtop: collected on %s: %d messages, %d flow records; %d malformed, %d data sets before their template, %d templates refused, %d records dropped\n",
			fc.c.Addr(), s.Messages, s.Flows, s.Malformed, s.NoTemplate, s.TemplatesRefused, fc.dropped.Load())
	}
}

// removeReason maps an exporter's flowEndReason to the removal it means; false
// for an active timeout or no reason (the connection goes on).
func removeReason(r ipfix.EndReason) (tracker.RemoveReason, bool) {
	switch r {
	case ipfix.EndIdle:
		return tracker.ReasonInactivity, true
	case ipfix.EndOfFlow:
		return tracker.ReasonClose, true
	case ipfix.EndForced:
		return tracker.ReasonEndOfInput, true
	case ipfix.EndResource:
		return tracker.ReasonEviction, true
	}
	return 0, false
}
