package tracker

import "time"

// Handlers are the tracker's callbacks. Each runs on the owner goroutine, in the
// order in which Zeek would handle the matching event, after the packet (or timer,
// or call) that caused it; a nil handler is skipped. A handler may use the Conn it is
// given (set thresholds, register removal hooks, poll), but must not call Packet,
// Flush or Run.
type Handlers struct {
	// NewConn runs after the first packet of a connection (Zeek's new_connection).
	NewConn func(Conn)
	// Established runs when a TCP handshake completes (connection_established):
	// the responder's SYN-ACK was seen and the originator is not partial.
	Established func(Conn)
	// Threshold runs for each threshold crossing (ConnThreshold::*_threshold_crossed).
	Threshold func(*Crossing)
	// Remove runs for each removed connection with its final record, after the
	// connection's removal hooks. The Record is reused afterwards: copy what you keep.
	Remove func(*Record)
	// Drops runs, for a live capture, when the kernel's drop counter grew: its
	// counters are read every second while Run runs, and at its end. st is the
	// total since the capture was opened; now is network time.
	Drops func(st CaptureStats, now time.Time)
	// Content, unlike the others, is a question asked during packet processing: the
	// ContentSink (nil for none) of each new UDP connection, before its first
	// datagram is delivered, and of each TCP connection as it becomes established,
	// before any data (Zeek's contents.zeek marks connections there). It may not
	// call Conn methods other than the getters.
	Content func(Conn) ContentSink
}

// Metric is what a threshold measures.
type Metric uint8

// Threshold metrics.
const (
	MetricBytes    Metric = iota // IP-level bytes of one direction (the running *_ip_bytes)
	MetricPackets                // packets of one direction (*_pkts)
	MetricDuration               // time since the connection's first packet
)

var metricNames = [...]string{"bytes", "packets", "duration"}

// String returns "bytes", "packets" or "duration".
func (m Metric) String() string {
	if int(m) < len(metricNames) {
		return metricNames[m]
	}
	return "unknown"
}

// Crossing is one threshold crossing.
type Crossing struct {
	Conn Conn      // the connection; live while the Threshold handler runs
	ID   ConnID    // its 5-tuple
	UID  string    // its uid
	Time time.Time // network time of the crossing
	// Metric and Threshold say what crossed: a byte or packet count, or for
	// MetricDuration a number of nanoseconds (see Duration).
	Metric    Metric
	Threshold uint64
	// IsOrig is the direction: whose counter crossed, or for a duration the
	// direction of the packet that noticed it (true when noticed as it was set).
	IsOrig bool
}

// Duration returns a duration threshold as a time.Duration.
func (x *Crossing) Duration() time.Duration { return time.Duration(x.Threshold) }

// eventKind is a kind of queued event.
type eventKind uint8

const (
	evNewConn     eventKind = iota // new_connection
	evEstablished                  // connection_established
	evCoreCrossed                  // conn_*_threshold_crossed: the core's slot fired
	evCrossed                      // ConnThreshold::*_threshold_crossed: a set's value crossed
)

// event is one entry of the tracker's event queue, naming its connection by slot and
// generation (so it goes stale, and is skipped, if the connection is removed first).
type event struct {
	kind   eventKind
	metric Metric
	isOrig bool
	idx    uint32
	gen    uint32
	value  uint64
	ts     int64
}

// enqueue appends an event to the queue that drain empties.
func (t *Tracker) enqueue(c *conn, e event) {
	e.idx, e.gen = c.idx, c.gen
	t.queue = append(t.queue, e)
}

// settle runs the queued events, unless the tracker is already inside a packet, a
// timer or a handler: then the outermost call drains them. Zeek drains its event
// queue after each packet; settle is that point.
func (t *Tracker) settle() {
	if t.depth > 0 || len(t.queue) == 0 {
		return
	}
	t.depth++
	t.drain()
	t.depth--
}

// drain runs queued events in FIFO order, including those that handlers queue while
// it runs, as Zeek's event manager does.
func (t *Tracker) drain() {
	for i := 0; i < len(t.queue); i++ {
		e := t.queue[i]
		c := t.liveConn(e.idx, e.gen)
		if c == nil {
			continue
		}
		h := Conn{t: t, idx: e.idx, gen: e.gen}
		switch e.kind {
		case evNewConn:
			if c.tcp == 0 {
				t.applyDefaultThresholds(c)
			}
			if t.h.NewConn != nil {
				t.h.NewConn(h)
			}
		case evEstablished:
			t.applyDefaultThresholds(c)
			if t.h.Established != nil {
				t.h.Established(h)
			}
		case evCoreCrossed:
			t.coreCrossed(c, e)
		case evCrossed:
			t.crossed(c, e)
		}
	}
	clear(t.queue)
	t.queue = t.queue[:0]
}

// crossed publishes a threshold crossing to the handler and the feed.
func (t *Tracker) crossed(c *conn, e event) {
	if t.h.Threshold == nil && t.feed == nil {
		return
	}
	x := Crossing{
		Conn:      Conn{t: t, idx: c.idx, gen: c.gen},
		ID:        c.connID(),
		UID:       t.uid(c.seq),
		Time:      time.Unix(0, e.ts),
		Metric:    e.metric,
		Threshold: e.value,
		IsOrig:    e.isOrig,
	}
	if t.h.Threshold != nil {
		t.h.Threshold(&x)
	}
	if t.feed != nil {
		t.feed.crossing(&x)
	}
}

// liveConn returns the connection in slot idx if it is still generation gen.
func (t *Tracker) liveConn(idx, gen uint32) *conn {
	if int(idx/slabChunk) >= len(t.slab) {
		return nil
	}
	// Removal bumps a slot's generation and creation bumps it again, so a freed
	// slot's generation matches no handle; a slot never used has generation 0.
	c := t.slot(idx)
	if gen == 0 || c.gen != gen {
		return nil
	}
	return c
}
