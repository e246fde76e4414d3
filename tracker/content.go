package tracker

import "slices"

// Content delivery: the reassembled payload of each direction of a connection that
// has a ContentSink, as Zeek's contents.zeek writes it (conn-semantics §11). Bytes
// come in sequence order, retransmitted bytes once; data above a hole waits until
// the hole is filled, or is given up as a gap once the peer acknowledges past it, or
// at removal. Only connections with a sink keep payload; for the others the tracker
// still keeps sequence ranges only.

// ContentSink receives the reassembled payload of a connection. Its methods run on
// the tracker's goroutine and must not block: copy the data and hand it on.
type ContentSink interface {
	// Data delivers the next bytes of one direction in stream order. data is valid
	// only during the call.
	Data(isOrig bool, data []byte)
	// Gap reports n bytes of one direction, next in stream order, that were never
	// captured.
	Gap(isOrig bool, n uint64)
}

// maxContentBuffered bounds the data one direction holds above holes; beyond it the
// oldest holes are given up as gaps.
const maxContentBuffered = 16 << 20

// contentBlock is data above a hole, at relative sequence seq.
type contentBlock struct {
	seq  uint64
	data []byte
}

// contentSide is one direction's delivery state.
type contentSide struct {
	started  bool
	next     uint64 // relative sequence of the next byte to deliver
	start    uint64 // relative sequence where delivery started
	blocks   []contentBlock
	buffered int
}

// contentState is a connection's content delivery, by side.
type contentState struct {
	sink  ContentSink
	side  [2]contentSide
	limit int // bound of the data held above holes per direction; 0 is maxContentBuffered
}

// SetContentSink starts delivering the connection's payload to sink, or stops with a
// nil sink (discarding data held above holes). A TCP connection already under way
// starts at the next byte of each direction (after the SYN when set as it becomes
// established); a UDP connection delivers each later datagram's payload. It reports
// false for a stale handle.
func (h Conn) SetContentSink(sink ContentSink) bool {
	c := h.conn()
	if c == nil {
		return false
	}
	t := h.t
	if sink == nil {
		if x := t.peekExtra(c); x != nil {
			x.content = nil
		}
		return true
	}
	t.keepPayload.Store(true)
	x := t.extraOf(c)
	if x.content != nil {
		x.content.sink = sink
		return true
	}
	cs := &contentState{sink: sink}
	if c.tcp != 0 {
		tc := t.tcpOf(c)
		for s := range cs.side {
			e := &tc.ep[s]
			if e.state != tcpInactive {
				// Everything up to the highest sequence seen is history; a SYN's
				// sequence number is not data.
				next := max(e.relSeq(e.lastSeq, e.seqWraps), 1)
				cs.side[s] = contentSide{started: true, next: next, start: next}
			}
		}
	}
	x.content = cs
	return true
}

// ContentStart returns the stream offset (bytes after the SYN) at which content
// delivery of one direction started, and whether it has started.
func (h Conn) ContentStart(isOrig bool) (uint64, bool) {
	c := h.conn()
	if c == nil {
		return 0, false
	}
	x := h.t.peekExtra(c)
	if x == nil || x.content == nil {
		return 0, false
	}
	s := int(c.origSide)
	if !isOrig {
		s ^= 1
	}
	cs := &x.content.side[s]
	if !cs.started || c.tcp == 0 {
		return 0, cs.started
	}
	return cs.start - 1, true
}

// askContent asks Handlers.Content for c's sink.
func (t *Tracker) askContent(c *conn) {
	h := Conn{t: t, idx: c.idx, gen: c.gen}
	if s := t.h.Content(h); s != nil {
		h.SetContentSink(s)
	}
}

// contentOf returns c's content state, or nil.
func (t *Tracker) contentOf(c *conn) *contentState {
	if c.extra == 0 {
		return nil
	}
	return t.extras[c.extra-1].content
}

// contentTCP takes the n bytes of segment data of side s at relative sequence seq.
// data is nil when the payload was not kept (decoded ahead, before delivery was
// asked for). Before any byte was delivered such a segment moves the start of the
// extraction past it; later, its bytes stay a hole, given up as a gap.
func (t *Tracker) contentTCP(c *conn, cs *contentState, s int, seq, n uint64, data []byte) {
	d := &cs.side[s]
	if !d.started {
		d.started, d.next, d.start = true, seq, seq
	}
	if data == nil {
		if d.next == d.start && len(d.blocks) == 0 && seq <= d.next {
			d.next = max(d.next, seq+n)
			d.start = d.next
		}
		return
	}
	if end := seq + uint64(len(data)); end <= d.next {
		return // all delivered before: a retransmission
	} else if seq < d.next {
		data = data[d.next-seq:]
		seq = d.next
	}
	isOrig := c.isOrigSide(s)
	if seq == d.next {
		cs.sink.Data(isOrig, data)
		d.next += uint64(len(data))
		t.deliverBlocks(cs, d, isOrig, d.next)
		return
	}
	d.insert(seq, data)
	limit := cs.limit
	if limit == 0 {
		limit = maxContentBuffered
	}
	for d.buffered > limit {
		t.deliverBlocks(cs, d, isOrig, d.blocks[0].seq+1) // give up the first hole
	}
}

// insert keeps a copy of the parts of data at seq that no block holds yet.
func (d *contentSide) insert(seq uint64, data []byte) {
	for len(data) > 0 {
		i, _ := slices.BinarySearchFunc(d.blocks, seq, func(b contentBlock, s uint64) int {
			switch {
			case b.seq+uint64(len(b.data)) <= s:
				return -1
			case b.seq > s:
				return 1
			}
			return 0
		})
		if i < len(d.blocks) && d.blocks[i].seq <= seq {
			// seq is inside block i: skip what it holds.
			skip := d.blocks[i].seq + uint64(len(d.blocks[i].data)) - seq
			if skip >= uint64(len(data)) {
				return
			}
			seq += skip
			data = data[skip:]
			continue
		}
		n := len(data)
		if i < len(d.blocks) && d.blocks[i].seq < seq+uint64(n) {
			n = int(d.blocks[i].seq - seq) // stop at the next block
		}
		d.blocks = slices.Insert(d.blocks, i, contentBlock{seq: seq, data: slices.Clone(data[:n])})
		d.buffered += n
		seq += uint64(n)
		data = data[n:]
	}
}

// deliverBlocks delivers the held blocks that start below upTo, each hole before them
// as a gap, then the blocks that became contiguous.
func (t *Tracker) deliverBlocks(cs *contentState, d *contentSide, isOrig bool, upTo uint64) {
	i := 0
	for ; i < len(d.blocks); i++ {
		b := d.blocks[i]
		if b.seq > d.next && b.seq >= upTo {
			break
		}
		if b.seq > d.next {
			cs.sink.Gap(isOrig, b.seq-d.next)
			d.next = b.seq
		}
		end := b.seq + uint64(len(b.data))
		if end > d.next {
			cs.sink.Data(isOrig, b.data[d.next-b.seq:])
			d.next = end
		}
		d.buffered -= len(b.data)
	}
	clear(d.blocks[:i])
	d.blocks = slices.Delete(d.blocks, 0, i)
}

// contentAcked handles an acknowledgement of side s's data up to upTo (relative):
// held data below it is delivered, and what was never seen becomes a gap.
func (t *Tracker) contentAcked(c *conn, cs *contentState, s int, upTo uint64) {
	d := &cs.side[s]
	if !d.started || upTo <= d.next {
		return
	}
	isOrig := c.isOrigSide(s)
	t.deliverBlocks(cs, d, isOrig, upTo)
	if upTo > d.next {
		cs.sink.Gap(isOrig, upTo-d.next)
		d.next = upTo
		t.deliverBlocks(cs, d, isOrig, d.next)
	}
}

// flushContent delivers everything still held, with its holes as gaps, as Zeek does
// when a connection ends.
func (t *Tracker) flushContent(c *conn, cs *contentState) {
	for s := range cs.side {
		d := &cs.side[s]
		if len(d.blocks) > 0 {
			last := d.blocks[len(d.blocks)-1]
			t.deliverBlocks(cs, d, c.isOrigSide(s), last.seq+uint64(len(last.data)))
		}
	}
}

// contentUDP delivers a datagram's payload (as much as was captured; the rest is a
// gap).
func (t *Tracker) contentUDP(c *conn, cs *contentState, p *packet, isOrig bool) {
	ulen := int(p.hdr[4])<<8 | int(p.hdr[5])
	if ulen <= udpHeader {
		return
	}
	n := ulen - udpHeader
	var got []byte
	if len(p.l4data) > udpHeader {
		got = p.l4data[udpHeader:min(len(p.l4data), ulen)]
	}
	if len(got) > 0 {
		cs.sink.Data(isOrig, got)
	}
	if len(got) < n {
		cs.sink.Gap(isOrig, uint64(n-len(got)))
	}
}
