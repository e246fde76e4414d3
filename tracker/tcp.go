package tracker

import (
	"encoding/binary"
	"regexp"
)

// tooLargeSeqDelta is Zeek's TOO_LARGE_SEQ_DELTA: SYN/RST sequence jumps beyond it
// are not trusted.
const tooLargeSeqDelta = 1048576

// Reassembler limits, Zeek's defaults (init-bare.zeek).
const (
	tcpMaxInitialWindow         = 16384
	tcpMaxAboveHoleWithoutAcks  = 16384
	tcpExcessiveDataWithoutAcks = 10 * 1024 * 1024
)

// TCP flag bits.
const (
	flagFIN = 0x01
	flagSYN = 0x02
	flagRST = 0x04
	flagACK = 0x10
)

// tcpEndpoint is one side of a TCP connection: Zeek's TCP_Endpoint plus the part of
// its TCP_Reassembler that decides content gaps. Only sequence ranges are kept, never
// payload.
type tcpEndpoint struct {
	startSeq    int64
	finSeq      uint64
	lastReassem uint64 // reassembler: everything below was delivered or skipped
	trimSeq     uint64 // reassembler: everything below was acknowledged
	lastSeq     uint32
	ackSeq      uint32
	seqWraps    uint32
	ackWraps    uint32
	histLastSYN uint32
	histLastFIN uint32
	histLastRST uint32
	chkCnt      uint32
	rxmtCnt     uint32
	win0Cnt     uint32
	gapCnt      uint32
	pending     *rangeSet // data above a hole, not yet delivered; nil when none
	state       uint8
	prevState   uint8
	finCnt      uint8 // saturating
	rstCnt      uint8 // saturating
	didClose    bool
	seen        bool // HasDoneSomething: any packet from this endpoint
	skipping    bool // reassembler gave up (skip_deliveries)
	didEOF      bool
}

// tcpConn is the TCP part of a connection (Zeek's TCPSessionAdapter).
type tcpConn struct {
	ep               [2]tcpEndpoint // by side
	firstSeen        uint8          // bit 1: orig, bit 2: resp (roles, swapped on flip)
	partial          bool
	closeDeferred    bool
	deferredGenEvent bool
	active           bool // is_active: cleared by reset, finish and attempt timeout
}

func fullSeq(seq, wraps uint32) uint64 { return uint64(wraps)<<32 + uint64(seq) }

func (e *tcpEndpoint) relSeq(seq, wraps uint32) uint64 {
	return fullSeq(seq, wraps) - uint64(e.startSeq)
}

func (e *tcpEndpoint) updateLastSeq(seq uint32) {
	if seq < e.lastSeq {
		e.seqWraps++
	}
	e.lastSeq = seq
}

func (e *tcpEndpoint) updateAckSeq(seq uint32) {
	if seq < e.ackSeq {
		e.ackWraps++
	}
	e.ackSeq = seq
}

func (e *tcpEndpoint) noDataAcked() bool {
	ack := fullSeq(e.ackSeq, e.ackWraps)
	start := uint64(e.startSeq)
	return ack == start || ack == start+1
}

// size is TCP_Endpoint::Size: payload bytes from sequence numbers (conn-semantics §5.6).
func (e *tcpEndpoint) size(peer *tcpEndpoint) uint64 {
	if e.prevState == tcpSynSent && e.state == tcpReset && peer.state == tcpInactive && !e.noDataAcked() {
		return 0
	}
	last := fullSeq(e.lastSeq, e.lastWrapsForSize())
	ack := fullSeq(e.ackSeq, e.ackWraps)
	var size uint64
	if last > ack {
		size = last - uint64(e.startSeq)
	} else {
		size = ack - uint64(e.startSeq)
	}
	if size != 0 {
		size--
	}
	if e.finCnt > 0 && size != 0 {
		size--
	}
	return size
}

func (e *tcpEndpoint) lastWrapsForSize() uint32 { return e.seqWraps }

func seqDelta(a, b uint32) int32 { return int32(a - b) }

func isHandshake(s uint8) bool { return s == tcpInactive || s == tcpSynSent || s == tcpSynAckSent }

// setState is TCP_Endpoint::SetState, including the switch from the initial (UDP)
// inactivity timeout to the TCP one once the handshake is left.
func (t *Tracker) setState(c *conn, e, peer *tcpEndpoint, s uint8) {
	if s == e.state {
		return
	}
	if !isHandshake(s) && isHandshake(e.state) && isHandshake(peer.state) {
		t.setInactivityTimeout(c, t.timeouts.TCPInactivity.Nanoseconds())
	}
	e.prevState = e.state
	e.state = s
}

// tcpPacket processes one TCP segment from side s (TCPAnalyzer::DeliverPacket and
// TCPSessionAdapter::Process). It returns whether the segment passed the header and
// checksum checks, i.e. whether it counts in pkts and ip_bytes.
func (t *Tracker) tcpPacket(c *conn, p *packet, s int) bool {
	l4 := p.l4
	hdrLen := int(l4[12]>>4) * 4
	if hdrLen < 20 || hdrLen > p.l4Len || hdrLen > len(l4) {
		return false // bad or truncated header: the connection exists, the packet is ignored
	}
	length := p.l4Len - hdrLen
	remaining := len(l4) - hdrLen
	tc := c.tcp
	e, peer := &tc.ep[s], &tc.ep[s^1]
	isOrig := c.isOrigSide(s) // Zeek keeps this value even if the roles flip below

	if !t.cfg.IgnoreChecksums && remaining >= length && !p.checksumOK(l4[:p.l4Len], true) {
		c.scaledHistory(roleCode('C', isOrig), &e.chkCnt)
		return false
	}
	flags := l4[13]
	syn, fin, rst, ack := flags&flagSYN != 0, flags&flagFIN != 0, flags&flagRST != 0, flags&flagACK != 0
	baseSeq := binary.BigEndian.Uint32(l4[4:8])
	ackSeq := binary.BigEndian.Uint32(l4[8:12])
	window := binary.BigEndian.Uint16(l4[14:16])
	now := p.ts

	// SetPartialStatus
	if isOrig {
		if tc.firstSeen&1 == 0 {
			tc.partial = !syn || ack
		}
	} else if tc.firstSeen&2 == 0 && !tc.partial {
		tc.partial = !syn
	}

	segLen := length
	if syn {
		segLen++
	}
	if fin {
		segLen++
	}
	if rst {
		segLen -= length
	}
	seqOnePast := baseSeq + uint32(segLen)
	initEndpoint(e, syn, baseSeq, seqOnePast)

	relSeq, underflow := getRelativeSeq(e, baseSeq, e.lastSeq, e.seqWraps)

	t.updateHistory(c, s, flags, relSeq, length)

	// update_window: zero windows
	if window == 0 && !rst && peer.state != tcpClosed && e.state != tcpReset {
		c.scaledHistory(roleCode('W', c.isOrigSide(s)), &e.win0Cnt)
	}

	if !tc.ep[0].didClose || !tc.ep[1].didClose {
		c.last = now
	}
	if fin {
		if e.finCnt < 255 {
			e.finCnt++
		}
		e.finSeq = relSeq + uint64(segLen)
	}
	if rst && e.rstCnt < 255 {
		e.rstCnt++
	}

	var relAck uint64
	if ack {
		if peer.state == tcpInactive {
			relAck = 1
			peer.startSeq = int64(ackSeq - 1)
			peer.ackSeq = ackSeq - 1
			peer.lastSeq = ackSeq - 1
		} else {
			var ackUnderflow bool
			relAck, ackUnderflow = getRelativeSeq(peer, ackSeq, peer.ackSeq, peer.ackWraps)
			if ackUnderflow {
				relAck = 0
			} else if !rst {
				d := seqDelta(ackSeq, peer.ackSeq)
				if !(ackSeq == 0 && d > tooLargeSeqDelta) && d > 0 {
					peer.updateAckSeq(ackSeq)
				}
			}
		}
	}

	deltaLast := updateLastSeq(c, e, s, seqOnePast, syn, fin, rst, length)
	e.seen = true

	doClose, genEvent := t.updateStateMachine(c, s, baseSeq, ackSeq, length, deltaLast, isOrig, syn, fin, rst, ack)

	if ack {
		t.ackReceived(c, s^1, relAck)
	}

	// CheckPIA_FirstPacket
	if c.isOrigSide(s) {
		tc.firstSeen |= 1
	} else {
		tc.firstSeen |= 2
	}

	relDataSeq := relSeq
	if syn {
		relDataSeq++
	}
	if length > 0 && remaining >= length && !rst && !underflow {
		t.dataSent(c, s, relDataSeq, uint64(length))
	}
	t.checkEOF(c, s)
	if doClose {
		t.connectionClosed(c, s, genEvent)
	}
	return true
}

// initEndpoint is Zeek's init_endpoint: sequence initialisation (conn-semantics §5.5).
func initEndpoint(e *tcpEndpoint, syn bool, firstSeq, lastSeq uint32) {
	switch e.state {
	case tcpInactive:
		if syn {
			e.ackSeq = firstSeq
			e.startSeq = int64(firstSeq)
		} else {
			// Pretend a SYN one octet earlier; Zeek computes it in 32 bits.
			e.ackSeq = firstSeq - 1
			e.startSeq = int64(firstSeq - 1)
			lastSeq = firstSeq
		}
		e.lastSeq = lastSeq
	case tcpSynSent, tcpSynAckSent:
		if syn && firstSeq != uint32(e.startSeq) {
			e.reinit(firstSeq, lastSeq)
		}
	case tcpEstablished, tcpPartial:
		if syn {
			e.reinit(firstSeq, lastSeq)
		}
	case tcpReset:
		if syn && e.prevState == tcpInactive {
			e.reinit(firstSeq, lastSeq)
		}
	}
}

func (e *tcpEndpoint) reinit(first, last uint32) {
	e.startSeq = int64(first)
	e.ackSeq = first
	e.lastSeq = last
}

// getRelativeSeq is Zeek's get_relative_seq.
func getRelativeSeq(e *tcpEndpoint, cur, last, wraps uint32) (uint64, bool) {
	delta := seqDelta(cur, last)
	if delta < 0 {
		if wraps != 0 && cur > last {
			wraps--
		}
	} else if delta > 0 && cur < last {
		wraps++
	}
	if wraps == 0 {
		d := seqDelta(cur, uint32(e.startSeq))
		return uint64(int64(d)), d < 0
	}
	return e.relSeq(cur, wraps), false
}

// updateLastSeq is Zeek's update_last_seq; it records retransmissions.
func updateLastSeq(c *conn, e *tcpEndpoint, s int, lastSeq uint32, syn, fin, rst bool, length int) int32 {
	d := seqDelta(lastSeq, e.lastSeq)
	switch {
	case (syn || rst) && (d > tooLargeSeqDelta || d < -tooLargeSeqDelta):
	case fin && int64(e.lastSeq) == e.startSeq+1:
		e.updateLastSeq(lastSeq)
	case e.state == tcpReset:
	case d > 0:
		e.updateLastSeq(lastSeq)
	case length > 0:
		c.scaledHistory(roleCode('T', c.isOrigSide(s)), &e.rxmtCnt)
	}
	return d
}

// updateHistory is Zeek's update_history, with the SYN-ACK-first flip (§2.3a).
func (t *Tracker) updateHistory(c *conn, s int, flags uint8, relSeq uint64, length int) {
	e := &c.tcp.ep[s]
	syn, fin, rst, ack := flags&flagSYN != 0, flags&flagFIN != 0, flags&flagRST != 0, flags&flagACK != 0
	bits := 0
	for _, b := range [3]bool{syn, fin, rst} {
		if b {
			bits++
		}
	}
	check := func(mask uint32, code byte) bool {
		if c.isOrigSide(s) {
			return c.checkHistory(mask, code)
		}
		return c.checkHistory(mask<<16, code|0x20)
	}
	add := func(code byte) { c.addHistory(roleCode(code, c.isOrigSide(s))) }
	rel32 := uint32(relSeq)
	switch {
	case bits > 1:
		if fin && rst {
			check(histFINRST, 'I')
		} else {
			check(histMulti, 'Q')
		}
	case bits == 1:
		if syn {
			code := byte('S')
			if ack {
				code = 'H'
			}
			if check(histSYN, code) && rel32 != e.histLastSYN {
				add(code)
			}
			e.histLastSYN = rel32
		}
		if fin {
			end := uint32(relSeq + uint64(length))
			if check(histFIN, 'F') && end != e.histLastFIN {
				add('F')
			}
			e.histLastFIN = end
		}
		if rst {
			if check(histRST, 'R') && rel32 != e.histLastRST {
				add('R')
			}
			e.histLastRST = rel32
		}
	default:
		if length == 0 && !ack {
			return
		}
		if len(c.history) == 1 && c.history[0] == 'H' {
			// Only a SYN-ACK from the originator was seen: it was the responder.
			c.flip()
			c.history = append(c.history[:0], '^', 'h')
		}
		if length > 0 {
			check(histData, 'D')
		} else {
			check(histACK, 'A')
		}
	}
}

// updateStateMachine is Zeek's UpdateStateMachine (conn-semantics §5.2).
func (t *Tracker) updateStateMachine(c *conn, s int, baseSeq, ackSeq uint32, length int, deltaLast int32,
	isOrig, syn, fin, rst, ack bool) (doClose, genEvent bool) {
	tc := c.tcp
	e, peer := &tc.ep[s], &tc.ep[s^1]
	switch e.state {
	case tcpInactive:
		if syn {
			if isOrig {
				if ack {
					t.setState(c, e, peer, tcpSynAckSent)
				} else {
					t.setState(c, e, peer, tcpSynSent)
				}
				c.timers.set(timerAttempt, c.last+t.timeouts.TCPAttempt.Nanoseconds())
				t.armTimers(c)
			} else {
				if !ack && peer.state == tcpSynAckSent && baseSeq == uint32(e.startSeq) {
					// SYN/SYN-ACK reversal (§2.3b).
					tc.partial = false
					c.flip()
					t.setState(c, peer, e, tcpEstablished)
					tc.firstSeen |= 1
				}
				if peer.state == tcpSynSent {
					t.setState(c, peer, e, tcpEstablished)
				}
				t.setState(c, e, peer, tcpEstablished)
				if peer.state != tcpPartial {
					t.connectionEstablished(c)
				}
			}
		}
		if fin {
			t.setState(c, e, peer, tcpClosed)
			doClose, genEvent = true, true
		}
		if rst {
			t.setState(c, e, peer, tcpReset)
			isReject := false
			if isOrig {
				isReject = peer.state == tcpEstablished
			} else {
				isReject = peer.state == tcpSynSent || peer.state == tcpSynAckSent
			}
			doClose, genEvent = true, !isReject
		}
		if e.state == tcpInactive {
			origEp := &tc.ep[c.origSide]
			switch {
			case !isOrig && length == 0 && origEp.state == tcpSynSent:
				// Some stacks ACK a SYN before answering it: not a partial connection.
			case ack && peer.state == tcpEstablished:
				t.setState(c, e, peer, tcpEstablished)
				tc.partial = false
				if c.isOrigSide(s) {
					tc.firstSeen |= 1
				} else {
					tc.firstSeen |= 2
				}
			default:
				t.setState(c, e, peer, tcpPartial)
			}
		}
	case tcpSynSent, tcpSynAckSent:
		if fin {
			t.setState(c, e, peer, tcpClosed)
			doClose, genEvent = true, true
		}
		if rst {
			t.setState(c, e, peer, tcpReset)
			tc.active = false // ConnectionReset
			doClose = true
		}
	case tcpEstablished, tcpPartial:
		if syn && e.state == tcpPartial && peer.state == tcpInactive && !ack {
			t.setState(c, e, peer, tcpSynSent)
		}
		if fin && !rst {
			t.setState(c, e, peer, tcpClosed)
			if peer.state == tcpReset && peer.prevState == tcpClosed {
				t.setState(c, peer, e, tcpClosed)
			}
			doClose, genEvent = true, true
		}
		if rst {
			t.setState(c, e, peer, tcpReset)
			doClose = true
			if peer.state != tcpReset || peer.prevState != tcpEstablished {
				tc.active = false
			}
		}
	case tcpClosed:
		if rst && peer.state != tcpClosed {
			t.setState(c, e, peer, tcpReset)
			if !e.didClose {
				doClose = true
			}
			c.timers.set(timerReset, c.last+t.timeouts.TCPReset.Nanoseconds())
			t.armTimers(c)
		}
	case tcpReset:
	}
	return doClose, genEvent
}

// connectionEstablished applies Conn::port_inactivity_timeouts (conn-semantics §8.1).
func (t *Tracker) connectionEstablished(c *conn) {
	if len(t.portInactivity) == 0 {
		return
	}
	o := int(c.origSide)
	origP, respP := c.port(o), c.port(o^1)
	svc := respP
	if c.tcp.ep[o].state == tcpInactive && !t.likelyServer(respP, ProtoTCP) && t.likelyServer(origP, ProtoTCP) {
		svc = origP
	}
	if d, ok := t.portInactivity[PortProto{svc, ProtoTCP}]; ok {
		t.setInactivityTimeout(c, d.Nanoseconds())
	}
}

// connectionClosed is TCPSessionAdapter::ConnectionClosed for the endpoint on side s.
func (t *Tracker) connectionClosed(c *conn, s int, genEvent bool) {
	tc := c.tcp
	e, peer := &tc.ep[s], &tc.ep[s^1]
	if e.dataPending(peer) {
		tc.closeDeferred = true
		if !tc.deferredGenEvent {
			tc.deferredGenEvent = genEvent
		}
		return
	}
	tc.closeDeferred = false
	if e.didClose {
		return
	}
	e.didClose = true
	if e.state == tcpReset || peer.didClose || peer.state == tcpInactive {
		if e.prevState != tcpInactive || peer.state != tcpInactive {
			if tc.deferredGenEvent {
				genEvent = true
				tc.deferredGenEvent = false
			}
			if genEvent {
				tc.active = false // ConnectionFinished
			}
		}
		c.timers.cancelAnalyzer()
		c.timers.set(timerDelete, c.last+t.timeouts.TCPClose.Nanoseconds())
	} else if e.prevState != tcpInactive {
		c.timers.set(timerExpire2, c.last+t.timeouts.TCPSession.Nanoseconds())
	}
	t.armTimers(c)
}

// dataPending is TCP_Reassembler::DataPending.
func (e *tcpEndpoint) dataPending(peer *tcpEndpoint) bool {
	if e.skipping {
		return false
	}
	delivered := uint64(e.startSeq) + e.lastReassem
	last := fullSeq(e.lastSeq, e.seqWraps)
	if last < delivered {
		return false
	}
	if delivered != last-1 && delivered != last {
		return true
	}
	if e.state != tcpReset && peer.hasUndelivered() {
		return true
	}
	return false
}

func (e *tcpEndpoint) hasUndelivered() bool {
	return e.pending != nil && len(e.pending.r) > 0
}

// checkEOF is TCP_Reassembler::CheckEOF followed by EndpointEOF.
func (t *Tracker) checkEOF(c *conn, s int) {
	tc := c.tcp
	e, peer := &tc.ep[s], &tc.ep[s^1]
	if e.didEOF || !(e.finCnt > 0 || e.state == tcpClosed || e.state == tcpReset) || e.dataPending(peer) {
		return
	}
	e.didEOF = true
	if tc.closeDeferred {
		t.connectionClosed(c, s, tc.deferredGenEvent)
		tc.closeDeferred = false
	}
}

// dataSent is TCP_Reassembler::DataSent for side s: payload [seq, seq+n) in relative
// sequence space.
func (t *Tracker) dataSent(c *conn, s int, seq, n uint64) {
	e := &c.tcp.ep[s]
	if e.skipping {
		return
	}
	ack := e.relSeq(e.ackSeq, e.ackWraps)
	upper := seq + n
	if seq < ack {
		if upper <= ack {
			return
		}
		seq = ack
	}
	// NewBlock
	if upper <= e.trimSeq {
		return
	}
	if seq < e.trimSeq {
		seq = e.trimSeq
	}
	if seq <= e.lastReassem {
		if upper > e.lastReassem {
			e.lastReassem = upper
			e.deliverPending()
		}
	} else {
		if e.pending == nil {
			e.pending = &rangeSet{}
		}
		e.pending.add(seq, upper)
	}
	// BlockInserted: give up holding data nobody acknowledges.
	peer := &c.tcp.ep[s^1]
	if e.noDataAcked() && e.size(peer) > tcpMaxInitialWindow {
		e.trimTo(e.lastReassem)
	}
	if e.noDataAcked() && e.undeliveredBytes() > tcpMaxAboveHoleWithoutAcks {
		e.clearBlocks()
	}
	if e.bufferedBytes() > tcpExcessiveDataWithoutAcks {
		e.clearBlocks()
	}
}

// deliverPending delivers pending ranges that now touch the delivered point.
func (e *tcpEndpoint) deliverPending() {
	if e.pending == nil {
		return
	}
	r := e.pending.r
	i := 0
	for i < len(r) && r[i].lo <= e.lastReassem {
		if r[i].hi > e.lastReassem {
			e.lastReassem = r[i].hi
		}
		i++
	}
	e.pending.r = append(r[:0], r[i:]...)
}

func (e *tcpEndpoint) undeliveredBytes() uint64 {
	if e.pending == nil || len(e.pending.r) == 0 {
		return 0
	}
	return e.pending.r[len(e.pending.r)-1].hi - e.lastReassem
}

// bufferedBytes approximates the reassembler's block list size: delivered but
// unacknowledged data plus data above holes.
func (e *tcpEndpoint) bufferedBytes() uint64 {
	var n uint64
	if e.lastReassem > e.trimSeq {
		n = e.lastReassem - e.trimSeq
	}
	if e.pending != nil {
		for _, r := range e.pending.r {
			n += r.hi - r.lo
		}
	}
	return n
}

func (e *tcpEndpoint) clearBlocks() {
	e.pending = nil
	e.skipping = true
}

// trimTo drops buffered data below seq without reporting gaps.
func (e *tcpEndpoint) trimTo(seq uint64) {
	if seq > e.trimSeq {
		e.trimSeq = seq
	}
}

// ackReceived is TCP_Reassembler::AckReceived for the reassembler of side s, given an
// acknowledgement from the peer (relative to s's sequence space).
func (t *Tracker) ackReceived(c *conn, s int, seq uint64) {
	tc := c.tcp
	e, peer := &tc.ep[s], &tc.ep[s^1]
	if e.finCnt > 0 && seq >= e.finSeq {
		seq = e.finSeq - 1
	}
	if seq <= e.trimSeq {
		return
	}
	if seq > e.lastReassem {
		t.undelivered(c, s, seq)
	}
	e.trimSeq = seq
	t.checkEOF(c, s)
	_ = peer
}

// undelivered is TCP_Reassembler::Undelivered: the peer acknowledged data up to
// upTo that was never seen. Each hole is a content gap.
func (t *Tracker) undelivered(c *conn, s int, upTo uint64) {
	e := &c.tcp.ep[s]
	if upTo <= 2 && c.tcp.partial {
		return
	}
	if !e.skipping {
		if e.pending != nil {
			for len(e.pending.r) > 0 && e.pending.r[0].lo < upTo {
				b := e.pending.r[0]
				if b.lo > e.lastReassem {
					t.gap(c, s, b.lo-e.lastReassem)
					e.lastReassem = b.lo
				}
				e.deliverPending()
			}
		}
		if upTo > e.lastReassem {
			t.gap(c, s, upTo-e.lastReassem)
		}
	}
	if upTo > e.lastReassem {
		e.lastReassem = upTo
	}
}

// gap records a content gap of side s (TCP_Reassembler::Gap): reported only while both
// endpoints are established or closed cleanly.
func (t *Tracker) gap(c *conn, s int, n uint64) {
	e, peer := &c.tcp.ep[s], &c.tcp.ep[s^1]
	if isClean(e) && isClean(peer) {
		c.scaledHistory(roleCode('G', c.isOrigSide(s)), &e.gapCnt)
		c.missed += n
	}
}

func isClean(e *tcpEndpoint) bool {
	return e.state == tcpEstablished || (e.state == tcpClosed && e.prevState == tcpEstablished)
}

// isReuse is TCPSessionAdapter::IsReuse (conn-semantics §5.4): a SYN that starts a new
// connection on this 5-tuple.
func (c *conn) isReuse(p *packet, s int) bool {
	l4 := p.l4
	if l4[12]>>4 < 5 {
		return false
	}
	flags := l4[13]
	if flags&flagSYN == 0 {
		return false
	}
	tc := c.tcp
	orig, resp := &tc.ep[c.origSide], &tc.ep[c.origSide^1]
	connOrig := orig
	if flags&flagACK != 0 {
		if orig.state != tcpInactive {
			return false
		}
		connOrig = resp
	}
	if !orig.didClose && !resp.didClose {
		base := binary.BigEndian.Uint32(l4[4:8])
		if base == uint32(connOrig.startSeq) {
			return false
		}
		if flags&flagACK == 0 && connOrig.state == tcpSynAckSent && resp.state == tcpInactive && base == uint32(resp.startSeq) {
			return false
		}
	}
	return true
}

var rstos0 = regexp.MustCompile(`^\^?S[^HAFGIQ]*R.*$`)

// connState is main.zeek's conn_state for TCP; o and r are the orig and resp sides.
func (tc *tcpConn) connState(o, r int, history []byte) string {
	os, rs := tc.ep[o].state, tc.ep[r].state
	oInactive := os == tcpInactive || os == tcpPartial
	rInactive := rs == tcpInactive || rs == tcpPartial
	switch {
	case rs == tcpReset:
		if os == tcpSynSent || os == tcpSynAckSent ||
			(os == tcpReset && tc.ep[o].size(&tc.ep[r]) == 0 && tc.ep[r].size(&tc.ep[o]) == 0) {
			return "REJ"
		}
		if oInactive {
			return "RSTRH"
		}
		return "RSTR"
	case os == tcpReset:
		if rInactive {
			if rstos0.Match(history) {
				return "RSTOS0"
			}
			return "OTH"
		}
		return "RSTO"
	case os == tcpClosed && rs == tcpClosed:
		return "SF"
	case os == tcpClosed:
		if rInactive {
			return "SH"
		}
		return "S2"
	case rs == tcpClosed:
		if oInactive {
			return "SHR"
		}
		return "S3"
	case os == tcpSynSent && rs == tcpInactive:
		return "S0"
	case os == tcpEstablished && rs == tcpEstablished:
		return "S1"
	}
	return "OTH"
}

// rangeSet is a sorted set of disjoint, non-adjacent half-open sequence ranges.
type rangeSet struct{ r []seqRange }

type seqRange struct{ lo, hi uint64 }

// add inserts [lo, hi), merging with overlapping or adjacent ranges.
func (s *rangeSet) add(lo, hi uint64) {
	r := s.r
	i := 0
	for i < len(r) && r[i].hi < lo {
		i++
	}
	j := i
	for j < len(r) && r[j].lo <= hi {
		if r[j].lo < lo {
			lo = r[j].lo
		}
		if r[j].hi > hi {
			hi = r[j].hi
		}
		j++
	}
	if i == j {
		r = append(r, seqRange{})
		copy(r[i+1:], r[i:])
		r[i] = seqRange{lo, hi}
	} else {
		r[i] = seqRange{lo, hi}
		r = append(r[:i+1], r[j:]...)
	}
	s.r = r
}
