package tracker

import (
	"slices"
	"time"
)

// Thresholds translate Zeek's ConnThreshold framework (conn-semantics §9): the
// script's per-connection sets of wanted thresholds, of which only the smallest per
// metric and direction is programmed into the core (the ConnSize analyzer's slots).
// The core checks its slots after each counted packet, clears a slot when it fires
// and queues a low-level crossing; handling that event removes the value from its
// set, publishes the crossing and programs the next smallest, which may fire at once.
// Reproducing both layers and the event queue between them reproduces Zeek's order
// of crossings exactly.

// Thresholds are default thresholds, applied to every TCP connection when it becomes
// established and to every other connection when it is created.
type Thresholds struct {
	OrigBytes   []uint64 // IP-level bytes from the originator
	RespBytes   []uint64 // IP-level bytes from the responder
	OrigPackets []uint64
	RespPackets []uint64
	Duration    []time.Duration
}

// empty reports whether d sets nothing.
func (d *Thresholds) empty() bool {
	return len(d.OrigBytes)+len(d.RespBytes)+len(d.OrigPackets)+len(d.RespPackets)+len(d.Duration) == 0
}

// thresholdSet is one connection's thresholds.
type thresholdSet struct {
	want    [2][2][]uint64 // by metric (bytes, packets) and role (0 = orig), ascending
	dur     []uint64       // duration thresholds, ns, ascending
	core    [2][2]uint64   // the programmed slot per metric and role; 0 = none
	coreDur uint64         // the programmed duration slot, ns; 0 = none
}

// thresholdsOf returns c's threshold set, creating it (and switching on the per-packet
// check) on first use.
func (t *Tracker) thresholdsOf(c *conn) *thresholdSet {
	x := t.extraOf(c)
	if x.th == nil {
		x.th = new(thresholdSet)
	}
	c.flags |= connThresholds
	return x.th
}

// checkSide is checkThresholds after a counted packet of side s (kept out of count,
// so that count stays small enough to inline).
//
//go:noinline
func (t *Tracker) checkSide(c *conn, s int) { t.checkThresholds(c, c.isOrigSide(s)) }

// checkThresholds is ConnSize_Analyzer::CheckThresholds: after a counted packet of
// direction isOrig (or when a slot is programmed), fire the slots that are reached.
func (t *Tracker) checkThresholds(c *conn, isOrig bool) {
	th := t.extras[c.extra-1].th
	r := roleIndex(isOrig)
	s := int(c.origSide) ^ r
	counts := [2]uint64{c.ipBytes[s], c.pkts[s]}
	for m := range counts {
		if v := th.core[m][r]; v != 0 && counts[m] >= v {
			t.enqueue(c, event{kind: evCoreCrossed, metric: Metric(m), isOrig: isOrig, value: v, ts: t.now})
			th.core[m][r] = 0
		}
	}
	if v := th.coreDur; v != 0 && t.now-c.start > int64(v) {
		t.enqueue(c, event{kind: evCoreCrossed, metric: MetricDuration, isOrig: isOrig, value: v, ts: t.now})
		th.coreDur = 0
	}
}

// wantSet returns the set of metric m and role r.
func (th *thresholdSet) wantSet(m Metric, r int) *[]uint64 {
	if m == MetricDuration {
		return &th.dur
	}
	return &th.want[m][r]
}

// setCurrent is the script's set_current_threshold: program the smallest wanted value
// into the core slot, unless it is already there.
func (t *Tracker) setCurrent(c *conn, th *thresholdSet, m Metric, r int) {
	set := *th.wantSet(m, r)
	var least uint64
	if len(set) > 0 {
		least = set[0]
	}
	if m == MetricDuration {
		if least == th.coreDur {
			return
		}
		th.coreDur = least
		t.checkThresholds(c, true) // SetDurationThreshold checks as the originator
		return
	}
	if least == th.core[m][r] {
		return
	}
	th.core[m][r] = least
	t.checkThresholds(c, r == 0)
}

// addThreshold is set_{bytes,packets,duration}_threshold.
func (t *Tracker) addThreshold(c *conn, m Metric, r int, v uint64) bool {
	if v == 0 {
		return false
	}
	th := t.thresholdsOf(c)
	set := th.wantSet(m, r)
	if i, found := slices.BinarySearch(*set, v); !found {
		*set = slices.Insert(*set, i, v)
	}
	t.setCurrent(c, th, m, r)
	return true
}

// deleteThreshold is delete_{bytes,packets,duration}_threshold.
func (t *Tracker) deleteThreshold(c *conn, m Metric, r int, v uint64) bool {
	if c.flags&connThresholds == 0 {
		return false
	}
	th := t.extras[c.extra-1].th
	set := th.wantSet(m, r)
	i, found := slices.BinarySearch(*set, v)
	if !found {
		return false
	}
	*set = slices.Delete(*set, i, i+1)
	t.setCurrent(c, th, m, r)
	return true
}

// coreCrossed handles a fired core slot (the script's conn_*_threshold_crossed
// handler): a value still wanted is removed and published, then the next smallest is
// programmed.
func (t *Tracker) coreCrossed(c *conn, e event) {
	th := t.extras[c.extra-1].th
	r := roleIndex(e.isOrig)
	set := th.wantSet(e.metric, r)
	if i, found := slices.BinarySearch(*set, e.value); found {
		*set = slices.Delete(*set, i, i+1)
		e.kind = evCrossed
		t.queue = append(t.queue, e)
	}
	t.setCurrent(c, th, e.metric, r)
}

// applyDefaultThresholds sets the configured default thresholds on c.
func (t *Tracker) applyDefaultThresholds(c *conn) {
	d := &t.cfg.Thresholds
	if d.empty() {
		return
	}
	for _, v := range d.OrigBytes {
		t.addThreshold(c, MetricBytes, 0, v)
	}
	for _, v := range d.RespBytes {
		t.addThreshold(c, MetricBytes, 1, v)
	}
	for _, v := range d.OrigPackets {
		t.addThreshold(c, MetricPackets, 0, v)
	}
	for _, v := range d.RespPackets {
		t.addThreshold(c, MetricPackets, 1, v)
	}
	for _, v := range d.Duration {
		if v > 0 {
			t.addThreshold(c, MetricDuration, 0, uint64(v))
		}
	}
}

// SetDefaultThresholds replaces the default thresholds (Config.Thresholds) for the
// connections created or established from now on; connections that have their
// thresholds already keep them. Call it on the owner goroutine (e.g. through Do).
func (t *Tracker) SetDefaultThresholds(d Thresholds) {
	t.cfg.Thresholds = d
	t.setWants()
}

// setWants decides whether the new and established events are queued: for their
// handlers, and for the default thresholds, which they apply.
func (t *Tracker) setWants() {
	t.wantNew = t.h.NewConn != nil || !t.cfg.Thresholds.empty()
	t.wantEst = t.h.Established != nil || !t.cfg.Thresholds.empty()
}

// DefaultThresholds returns the default thresholds. Call it on the owner goroutine.
func (t *Tracker) DefaultThresholds() Thresholds { return t.cfg.Thresholds }

// ThresholdList is the thresholds still pending on a connection, ascending.
type ThresholdList struct {
	OrigBytes, RespBytes     []uint64
	OrigPackets, RespPackets []uint64
	Duration                 []time.Duration
}

// SetBytesThreshold asks for a crossing when the IP-level bytes of one direction
// reach n (at once if they already have). It reports false for n = 0 or a stale
// handle. Setting a value twice is the same as setting it once.
func (h Conn) SetBytesThreshold(n uint64, isOrig bool) bool {
	return h.setThreshold(MetricBytes, isOrig, n)
}

// SetPacketsThreshold asks for a crossing when the packets of one direction reach n.
func (h Conn) SetPacketsThreshold(n uint64, isOrig bool) bool {
	return h.setThreshold(MetricPackets, isOrig, n)
}

// SetDurationThreshold asks for a crossing on the first packet after the connection
// has lasted longer than d.
func (h Conn) SetDurationThreshold(d time.Duration) bool {
	if d < 0 {
		return false
	}
	return h.setThreshold(MetricDuration, true, uint64(d))
}

// DeleteBytesThreshold removes a pending byte threshold; it reports whether it was set.
func (h Conn) DeleteBytesThreshold(n uint64, isOrig bool) bool {
	return h.deleteThreshold(MetricBytes, isOrig, n)
}

// DeletePacketsThreshold removes a pending packet threshold; it reports whether it
// was set.
func (h Conn) DeletePacketsThreshold(n uint64, isOrig bool) bool {
	return h.deleteThreshold(MetricPackets, isOrig, n)
}

// DeleteDurationThreshold removes a pending duration threshold; it reports whether it
// was set.
func (h Conn) DeleteDurationThreshold(d time.Duration) bool {
	if d < 0 {
		return false
	}
	return h.deleteThreshold(MetricDuration, true, uint64(d))
}

func (h Conn) setThreshold(m Metric, isOrig bool, v uint64) bool {
	c := h.conn()
	if c == nil {
		return false
	}
	ok := h.t.addThreshold(c, m, roleIndex(isOrig), v)
	h.t.settle()
	return ok
}

func (h Conn) deleteThreshold(m Metric, isOrig bool, v uint64) bool {
	c := h.conn()
	if c == nil {
		return false
	}
	ok := h.t.deleteThreshold(c, m, roleIndex(isOrig), v)
	h.t.settle()
	return ok
}

// Thresholds returns the thresholds still pending on the connection.
func (h Conn) Thresholds() ThresholdList {
	c := h.conn()
	if c == nil || c.flags&connThresholds == 0 {
		return ThresholdList{}
	}
	th := h.t.extras[c.extra-1].th
	l := ThresholdList{
		OrigBytes:   slices.Clone(th.want[MetricBytes][0]),
		RespBytes:   slices.Clone(th.want[MetricBytes][1]),
		OrigPackets: slices.Clone(th.want[MetricPackets][0]),
		RespPackets: slices.Clone(th.want[MetricPackets][1]),
	}
	for _, v := range th.dur {
		l.Duration = append(l.Duration, time.Duration(v))
	}
	return l
}

// pendingThresholds counts c's thresholds still pending.
func (t *Tracker) pendingThresholds(c *conn) int {
	if c.flags&connThresholds == 0 {
		return 0
	}
	th := t.extras[c.extra-1].th
	return len(th.want[0][0]) + len(th.want[0][1]) + len(th.want[1][0]) + len(th.want[1][1]) + len(th.dur)
}
