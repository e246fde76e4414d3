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
//
// Its event counters and the data it holds above holes are in the connection's
// connExtra: few connections have any.
type tcpEndpoint struct {
	finSeq      uint64
	lastReassem uint64 // reassembler: everything below was delivered or skipped
	trimSeq     uint64 // reassembler: everything below was acknowledged
	startSeq    uint32 // Zeek keeps it in 64 bits, but only ever stores 32-bit values
	lastSeq     uint32
	ackSeq      uint32
	seqWraps    uint32
	ackWraps    uint32
	histLastSYN uint32
	histLastFIN uint32
	histLastRST uint32
	state       uint8
	prevState   uint8
	finCnt      uint8 // saturating
	rstCnt      uint8 // saturating
	didClose    bool
	skipping    bool // reassembler gave up (skip_deliveries)
	didEOF      bool
}

// tcpConn is the TCP part of a connection (Zeek's TCPSessionAdapter) and its timers.
type tcpConn struct {
	ep               [2]tcpEndpoint   // by side
	at               [numTimers]int64 // timer deadlines, ns; 0 = not armed
	firstSeen        uint8            // bit 1: orig, bit 2: resp (roles, swapped on flip)
	partial          bool
	closeDeferred    bool
	deferredGenEvent bool
	active           bool // is_active: cleared by reset, finish and attempt timeout
}

// tcpOf returns c's TCP state; c must be a TCP connection.
func (t *Tracker) tcpOf(c *conn) *tcpConn {
	i := c.tcp - 1
	return &t.tcpSlab[i/slabChunk][i%slabChunk]
}

// cancelTimers cancels the TCP analyzer's timers (Analyzer::CancelTimers).
func (tc *tcpConn) cancelTimers() { tc.at = [numTimers]int64{} }

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
	l4 := &p.hdr
	hdrLen := int(l4[12]>>4) * 4
	if hdrLen < 20 || hdrLen > p.l4Len || hdrLen > p.capLen {
		return false // bad or truncated header: the connection exists, the packet is ignored
	}
	length := p.l4Len - hdrLen
	remaining := p.capLen - hdrLen
	tc := t.tcpOf(c)
	e, peer := &tc.ep[s], &tc.ep[s^1]
	isOrig := c.isOrigSide(s) // Zeek keeps this value even if the roles flip below

	if !t.cfg.IgnoreChecksums && remaining >= length && !p.csumOK {
		t.scaledHistory(c, roleCode('C', isOrig), cntChecksum, s)
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

	t.updateHistory(c, tc, s, flags, relSeq, length)

	// update_window: zero windows
	if window == 0 && !rst && peer.state != tcpClosed && e.state != tcpReset {
		t.scaledHistory(c, roleCode('W', c.isOrigSide(s)), cntWindow0, s)
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
			peer.startSeq = ackSeq - 1
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

	deltaLast := t.updateLastSeq(c, e, s, seqOnePast, syn, fin, rst, length)

	doClose, genEvent := t.updateStateMachine(c, tc, s, baseSeq, ackSeq, length, deltaLast, isOrig, syn, fin, rst, ack)

	if ack {
		t.ackReceived(c, tc, s^1, relAck)
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
		t.dataSent(c, tc, s, relDataSeq, uint64(length))
		if cs := t.contentOf(c); cs != nil {
			var data []byte
			if p.l4data != nil {
				data = p.l4data[hdrLen : hdrLen+length]
			}
			t.contentTCP(c, cs, s, relDataSeq, uint64(length), data)
		}
		if c.flags2&connInspected == 0 {
			var data []byte
			if p.l4data != nil {
				data = p.l4data[hdrLen : hdrLen+length]
			}
			t.inspectTCP(c, s, relDataSeq, uint64(length), data)
		}
	}
	if fin && c.insp != 0 {
		t.inspectEnd(c, s, relDataSeq+uint64(length))
	}
	t.checkEOF(c, tc, s)
	if doClose {
		t.connectionClosed(c, tc, s, genEvent)
	}
	return true
}

// initEndpoint is Zeek's init_endpoint: sequence initialisation (conn-semantics §5.5).
func initEndpoint(e *tcpEndpoint, syn bool, firstSeq, lastSeq uint32) {
	switch e.state {
	case tcpInactive:
		if syn {
			e.ackSeq = firstSeq
			e.startSeq = firstSeq
		} else {
			// Pretend a SYN one octet earlier; Zeek computes it in 32 bits.
			e.ackSeq = firstSeq - 1
			e.startSeq = firstSeq - 1
			lastSeq = firstSeq
		}
		e.lastSeq = lastSeq
	case tcpSynSent, tcpSynAckSent:
		if syn && firstSeq != e.startSeq {
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
	e.startSeq = first
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
		d := seqDelta(cur, e.startSeq)
		return uint64(int64(d)), d < 0
	}
	return e.relSeq(cur, wraps), false
}

// updateLastSeq is Zeek's update_last_seq; it records retransmissions.
func (t *Tracker) updateLastSeq(c *conn, e *tcpEndpoint, s int, lastSeq uint32, syn, fin, rst bool, length int) int32 {
	d := seqDelta(lastSeq, e.lastSeq)
	switch {
	case (syn || rst) && (d > tooLargeSeqDelta || d < -tooLargeSeqDelta):
	case fin && int64(e.lastSeq) == int64(e.startSeq)+1:
		e.updateLastSeq(lastSeq)
	case e.state == tcpReset:
	case d > 0:
		e.updateLastSeq(lastSeq)
	case length > 0:
		t.scaledHistory(c, roleCode('T', c.isOrigSide(s)), cntRexmit, s)
	}
	return d
}

// updateHistory is Zeek's update_history, with the SYN-ACK-first flip (§2.3a).
func (t *Tracker) updateHistory(c *conn, tc *tcpConn, s int, flags uint8, relSeq uint64, length int) {
	e := &tc.ep[s]
	syn, fin, rst, ack := flags&flagSYN != 0, flags&flagFIN != 0, flags&flagRST != 0, flags&flagACK != 0
	n := 0 // SYN, FIN and RST flags set
	if syn {
		n++
	}
	if fin {
		n++
	}
	if rst {
		n++
	}
	rel32 := uint32(relSeq)
	switch {
	case n > 1:
		if fin && rst {
			t.checkRoleHistory(c, s, histFINRST, 'I')
		} else {
			t.checkRoleHistory(c, s, histMulti, 'Q')
		}
	case n == 1:
		if syn {
			code := byte('S')
			if ack {
				code = 'H'
			}
			if t.checkRoleHistory(c, s, histSYN, code) && rel32 != e.histLastSYN {
				t.addHistory(c, roleCode(code, c.isOrigSide(s)))
			}
			e.histLastSYN = rel32
		}
		if fin {
			end := uint32(relSeq + uint64(length))
			if t.checkRoleHistory(c, s, histFIN, 'F') && end != e.histLastFIN {
				t.addHistory(c, roleCode('F', c.isOrigSide(s)))
			}
			e.histLastFIN = end
		}
		if rst {
			if t.checkRoleHistory(c, s, histRST, 'R') && rel32 != e.histLastRST {
				t.addHistory(c, roleCode('R', c.isOrigSide(s)))
			}
			e.histLastRST = rel32
		}
	default:
		if length == 0 && !ack {
			return
		}
		if c.histLen == 1 && c.hist[0] == 'H' {
			// Only a SYN-ACK from the originator was seen: it was the responder.
			t.flip(c)
			c.hist[0], c.hist[1], c.histLen = '^', 'h', 2
		}
		if length > 0 {
			t.checkRoleHistory(c, s, histData, 'D')
		} else {
			t.checkRoleHistory(c, s, histACK, 'A')
		}
	}
}

// updateStateMachine is Zeek's UpdateStateMachine (conn-semantics §5.2).
func (t *Tracker) updateStateMachine(c *conn, tc *tcpConn, s int, baseSeq, ackSeq uint32, length int, deltaLast int32,
	isOrig, syn, fin, rst, ack bool) (doClose, genEvent bool) {
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
				tc.at[timerAttempt] = c.last + t.timeouts.TCPAttempt.Nanoseconds()
				t.armTimers(c)
			} else {
				if !ack && peer.state == tcpSynAckSent && baseSeq == e.startSeq {
					// SYN/SYN-ACK reversal (§2.3b).
					tc.partial = false
					t.flip(c)
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
			tc.at[timerReset] = c.last + t.timeouts.TCPReset.Nanoseconds()
			t.armTimers(c)
		}
	case tcpReset:
	}
	return doClose, genEvent
}

// connectionEstablished raises connection_established and applies
// Conn::port_inactivity_timeouts (conn-semantics §8.1).
func (t *Tracker) connectionEstablished(c *conn) {
	if t.wantEst {
		t.enqueue(c, event{kind: evEstablished, ts: t.now})
	}
	if t.h.Content != nil {
		t.askContent(c)
	}
	if len(t.portInactivity) == 0 {
		return
	}
	o := int(c.origSide)
	origP, respP := c.port(o), c.port(o^1)
	svc := respP
	if t.tcpOf(c).ep[o].state == tcpInactive && !t.likelyServer(respP, ProtoTCP) && t.likelyServer(origP, ProtoTCP) {
		svc = origP
	}
	if d, ok := t.portInactivity[PortProto{svc, ProtoTCP}]; ok {
		t.setInactivityTimeout(c, d.Nanoseconds())
	}
}

// connectionClosed is TCPSessionAdapter::ConnectionClosed for the endpoint on side s.
func (t *Tracker) connectionClosed(c *conn, tc *tcpConn, s int, genEvent bool) {
	e, peer := &tc.ep[s], &tc.ep[s^1]
	if t.dataPending(c, tc, s) {
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
		tc.cancelTimers()
		tc.at[timerDelete] = c.last + t.timeouts.TCPClose.Nanoseconds()
	} else if e.prevState != tcpInactive {
		tc.at[timerExpire2] = c.last + t.timeouts.TCPSession.Nanoseconds()
	}
	t.armTimers(c)
}

// pendingOf returns the data side s holds above holes, or nil when it never had any.
func (t *Tracker) pendingOf(c *conn, s int) *rangeSet {
	if x := t.peekExtra(c); x != nil {
		return &x.pending[s]
	}
	return nil
}

// dataPending is TCP_Reassembler::DataPending for side s.
func (t *Tracker) dataPending(c *conn, tc *tcpConn, s int) bool {
	e := &tc.ep[s]
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
	if e.state != tcpReset {
		if ps := t.pendingOf(c, s^1); ps != nil && len(ps.r) > 0 {
			return true // the peer has undelivered data
		}
	}
	return false
}

// checkEOF is TCP_Reassembler::CheckEOF followed by EndpointEOF.
func (t *Tracker) checkEOF(c *conn, tc *tcpConn, s int) {
	e := &tc.ep[s]
	if e.didEOF || !(e.finCnt > 0 || e.state == tcpClosed || e.state == tcpReset) || t.dataPending(c, tc, s) {
		return
	}
	e.didEOF = true
	if tc.closeDeferred {
		t.connectionClosed(c, tc, s, tc.deferredGenEvent)
		tc.closeDeferred = false
	}
}

// dataSent is TCP_Reassembler::DataSent for side s: payload [seq, seq+n) in relative
// sequence space.
func (t *Tracker) dataSent(c *conn, tc *tcpConn, s int, seq, n uint64) {
	e := &tc.ep[s]
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
	ps := t.pendingOf(c, s)
	if seq <= e.lastReassem {
		if upper > e.lastReassem {
			e.lastReassem = upper
			e.deliverPending(ps)
		}
	} else {
		ps = &t.extraOf(c).pending[s]
		ps.add(seq, upper)
	}
	// BlockInserted: give up holding data nobody acknowledges.
	peer := &tc.ep[s^1]
	if e.noDataAcked() && e.size(peer) > tcpMaxInitialWindow {
		e.trimTo(e.lastReassem)
	}
	if e.noDataAcked() && e.undeliveredBytes(ps) > tcpMaxAboveHoleWithoutAcks {
		e.clearBlocks(ps)
	}
	if e.bufferedBytes(ps) > tcpExcessiveDataWithoutAcks {
		e.clearBlocks(ps)
	}
}

// deliverPending delivers pending ranges (ps, nil when none) that now touch the
// delivered point.
func (e *tcpEndpoint) deliverPending(ps *rangeSet) {
	if ps == nil {
		return
	}
	r := ps.r
	i := 0
	for i < len(r) && r[i].lo <= e.lastReassem {
		if r[i].hi > e.lastReassem {
			e.lastReassem = r[i].hi
		}
		i++
	}
	ps.r = append(r[:0], r[i:]...)
}

func (e *tcpEndpoint) undeliveredBytes(ps *rangeSet) uint64 {
	if ps == nil || len(ps.r) == 0 {
		return 0
	}
	return ps.r[len(ps.r)-1].hi - e.lastReassem
}

// bufferedBytes approximates the reassembler's block list size: delivered but
// unacknowledged data plus data above holes.
func (e *tcpEndpoint) bufferedBytes(ps *rangeSet) uint64 {
	var n uint64
	if e.lastReassem > e.trimSeq {
		n = e.lastReassem - e.trimSeq
	}
	if ps != nil {
		for _, r := range ps.r {
			n += r.hi - r.lo
		}
	}
	return n
}

func (e *tcpEndpoint) clearBlocks(ps *rangeSet) {
	if ps != nil {
		ps.r = ps.r[:0]
	}
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
func (t *Tracker) ackReceived(c *conn, tc *tcpConn, s int, seq uint64) {
	e := &tc.ep[s]
	if e.finCnt > 0 && seq >= e.finSeq {
		seq = e.finSeq - 1
	}
	if cs := t.contentOf(c); cs != nil && !(seq <= 2 && tc.partial) {
		t.contentAcked(c, cs, s, seq)
	}
	if c.insp != 0 && !(seq <= 2 && tc.partial) {
		t.inspectAcked(c, s, seq)
	}
	if seq <= e.trimSeq {
		return
	}
	if seq > e.lastReassem {
		t.undelivered(c, tc, s, seq)
	}
	e.trimSeq = seq
	t.checkEOF(c, tc, s)
}

// undelivered is TCP_Reassembler::Undelivered: the peer acknowledged data up to
// upTo that was never seen. Each hole is a content gap.
func (t *Tracker) undelivered(c *conn, tc *tcpConn, s int, upTo uint64) {
	e := &tc.ep[s]
	if upTo <= 2 && tc.partial {
		return
	}
	if !e.skipping {
		if ps := t.pendingOf(c, s); ps != nil {
			for len(ps.r) > 0 && ps.r[0].lo < upTo {
				b := ps.r[0]
				if b.lo > e.lastReassem {
					t.gap(c, tc, s, b.lo-e.lastReassem)
					e.lastReassem = b.lo
				}
				e.deliverPending(ps)
			}
		}
		if upTo > e.lastReassem {
			t.gap(c, tc, s, upTo-e.lastReassem)
		}
	}
	if upTo > e.lastReassem {
		e.lastReassem = upTo
	}
}

// gap records a content gap of side s (TCP_Reassembler::Gap): reported only while both
// endpoints are established or closed cleanly.
func (t *Tracker) gap(c *conn, tc *tcpConn, s int, n uint64) {
	e, peer := &tc.ep[s], &tc.ep[s^1]
	if isClean(e) && isClean(peer) {
		t.scaledHistory(c, roleCode('G', c.isOrigSide(s)), cntGap, s)
		t.extraOf(c).missed += n
	}
}

func isClean(e *tcpEndpoint) bool {
	return e.state == tcpEstablished || (e.state == tcpClosed && e.prevState == tcpEstablished)
}

// isReuse is TCPSessionAdapter::IsReuse (conn-semantics §5.4): a SYN that starts a new
// connection on this 5-tuple.
func (t *Tracker) isReuse(c *conn, p *packet) bool {
	l4 := &p.hdr
	if l4[12]>>4 < 5 {
		return false
	}
	flags := l4[13]
	if flags&flagSYN == 0 {
		return false
	}
	tc := t.tcpOf(c)
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
		if base == connOrig.startSeq {
			return false
		}
		if flags&flagACK == 0 && connOrig.state == tcpSynAckSent && resp.state == tcpInactive && base == resp.startSeq {
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
