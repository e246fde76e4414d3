package tracker

import (
	"io"
	"net/netip"
	"sync"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// FlowRecord is a flow record as a collector received it (NetFlow, IPFIX): the
// packets and IP bytes of a connection, or of a part of it, in each direction.
// AddFlow counts it into the table as a connection, without packets.
type FlowRecord struct {
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16 // ICMP and ICMPv6: the message type and code
	Proto            Proto

	Packets, Octets       uint64 // Src to Dst: packets and IP bytes
	RevPackets, RevOctets uint64 // Dst to Src
	Start, End            time.Time

	// What an exporting flowtop says of the connection (its conn.log fields);
	// empty when the exporter did not say.
	ConnState, History, Service string

	// Final says the exporter ended the flow (idle, end of flow, forced end,
	// lack of resources): the connection is removed with Reason once counted.
	// Records of an active timeout, and those that do not say (NetFlow v5),
	// leave it to its inactivity timeout.
	Final  bool
	Reason RemoveReason
}

// AddFlow counts a flow record as a connection's, creating the connection when
// the table has none for its 5-tuple (either way round): the record's source is
// the originator of a new one. Network time moves to the record's end. Such a
// connection has no history, no payload byte counts and no analyzers of its own
// (Record.FromFlows), only what records say; it is removed as any other, by its
// inactivity timeout on network time or at the end. Thresholds and the event
// handlers see it as they see captured ones. Call AddFlow on the tracker's
// goroutine: from a function given to Do, while Run runs an IdleSource.
func (t *Tracker) AddFlow(f *FlowRecord) {
	if !f.Src.IsValid() || !f.Dst.IsValid() {
		t.stats.Malformed++
		return
	}
	t.depth++
	start, end := f.Start.UnixNano(), f.End.UnixNano()
	if end < start {
		end = start
	}
	t.stats.Packets += f.Packets + f.RevPackets
	t.stats.Bytes += f.Octets + f.RevOctets
	t.advance(end)
	src, dst := f.Src.As16(), f.Dst.As16()
	sport, dport := f.SrcPort, f.DstPort
	oneWay := false
	if f.Proto == ProtoICMP || f.Proto == ProtoICMPv6 {
		sport, dport, oneWay = icmpKeyPorts(f.Proto == ProtoICMPv6, uint8(sport), uint8(dport))
	} else if f.Proto != ProtoTCP && f.Proto != ProtoUDP {
		sport, dport = 0, 0 // as Zeek keys other transports
	}
	key, srcIsA := makeKey(&src, &dst, sport, dport, f.Proto, oneWay)
	side := 1
	if srcIsA {
		side = 0
	}
	h := t.table.hash(&key)
	var c *conn
	if idx, ok := t.lookup(&key, h); ok {
		c = t.slot(idx)
	} else {
		c = t.newFlowConn(&key, h, side, start)
		// The new connection's handlers and default thresholds come first, so
		// that this record's counts can cross them.
		if c = t.drainFor(c); c == nil {
			t.depth--
			return
		}
	}
	if start < c.start {
		c.start = start
	}
	if end > c.last {
		c.last = end
	}
	info := t.infoOf(c)
	info.flowSeen = t.now
	if f.ConnState != "" || f.History != "" || f.Service != "" {
		info.flowState, info.flowHistory, info.flowService = f.ConnState, f.History, f.Service
	}
	c.pkts[side] += f.Packets
	c.ipBytes[side] += f.Octets
	c.pkts[side^1] += f.RevPackets
	c.ipBytes[side^1] += f.RevOctets
	if c.flags&connThresholds != 0 {
		t.checkSide(c, side) // crossings are queued, not run
		t.checkSide(c, side^1)
	}
	if t.feed != nil {
		t.feed.mark(c)
	}
	switch {
	case !f.Final:
		t.armTimers(c)
	case t.drainFor(c) != nil:
		// Its crossings reached the handlers while it was alive; now it goes.
		t.removeConn(c, f.Reason)
	}
	t.depth--
	if len(t.queue) != 0 {
		t.settle()
	}
}

// drainFor runs the queued events now, inside AddFlow, and returns c if it is
// still in the table after them (a handler may have ended it), else nil.
func (t *Tracker) drainFor(c *conn) *conn {
	t.depth--
	t.settle()
	t.depth++
	return t.liveConn(c.idx, c.gen)
}

// newFlowConn creates a connection for a flow record: no TCP state, no
// inspection, twice the inactivity timeout of its transport.
func (t *Tracker) newFlowConn(key *FlowKey, h uint32, side int, start int64) *conn {
	c := t.allocConn(key, h, side, start)
	c.flags2 = connInspected | connFromFlows
	switch key.Proto {
	case ProtoTCP:
		c.inactivity = t.timeouts.TCPInactivity.Nanoseconds()
	case ProtoUDP:
		c.inactivity = t.timeouts.UDPInactivity.Nanoseconds()
	case ProtoICMP, ProtoICMPv6:
		c.inactivity = t.timeouts.ICMPInactivity.Nanoseconds()
	default:
		c.inactivity = t.timeouts.UnknownInactivity.Nanoseconds()
	}
	// An exporter sends a connection's last record when its own inactivity
	// timeout expires, that long after the connection's last packet: waiting
	// twice as long keeps the record's connection alive until it arrives.
	c.inactivity *= 2
	if t.wantNew {
		t.enqueue(c, event{kind: evNewConn, ts: start})
	}
	return c
}

// AdvanceTo moves network time to ts (never back), firing the timers due: what
// a collector does while no records arrive, so that connections time out. Call
// it on the tracker's goroutine.
func (t *Tracker) AdvanceTo(ts time.Time) {
	t.depth++
	t.advance(ts.UnixNano())
	t.depth--
	if len(t.queue) != 0 {
		t.settle()
	}
}

// IdleSource is a Source without packets, for a Tracker fed by other means
// (AddFlow through Do): Run waits on it, runs the calls given to Do and the
// Feed's snapshots, until Close makes it end as a file ends.
type IdleSource struct {
	wake      chan struct{}
	closed    chan struct{}
	once      sync.Once // the ticker
	closeOnce sync.Once
	tick      *time.Ticker
}

var _ Source = (*IdleSource)(nil)

// NewIdleSource returns an IdleSource.
func NewIdleSource() *IdleSource {
	return &IdleSource{wake: make(chan struct{}, 1), closed: make(chan struct{})}
}

// idleWake bounds how long ReadPacket waits: calls queued by Do before Run
// could wake the source still run soon.
const idleWake = 100 * time.Millisecond

// ReadPacket waits until the source is woken (no packet) or closed (io.EOF),
// at most idleWake.
func (s *IdleSource) ReadPacket() ([]byte, gopacket.CaptureInfo, layers.LinkType, error) {
	s.once.Do(s.init)
	select {
	case <-s.wake:
	case <-s.tick.C:
	case <-s.closed:
		return nil, gopacket.CaptureInfo{}, 0, io.EOF
	}
	return nil, gopacket.CaptureInfo{}, 0, errWoken
}

func (s *IdleSource) init() { s.tick = time.NewTicker(idleWake) }

func (s *IdleSource) wakeUp() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// idleTime leaves network time to AddFlow and AdvanceTo.
func (s *IdleSource) idleTime() (int64, bool) { return 0, false }

// Close ends the source: Run flushes every connection and returns.
func (s *IdleSource) Close() error {
	s.closeOnce.Do(func() {
		close(s.closed)
		s.once.Do(s.init)
		s.tick.Stop()
	})
	return nil
}
