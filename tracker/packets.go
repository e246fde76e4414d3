package tracker

import (
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// PacketSink receives the frames of one connection, as captured: for a
// connection inside a tunnel, the whole outer frame. frame is valid only
// during the call. Close is called once, when the connection is removed or the
// sink replaced. Both run on the tracker's goroutine and must not block.
type PacketSink interface {
	Packet(ci gopacket.CaptureInfo, link layers.LinkType, frame []byte)
	Close()
}

// SetPacketSink starts delivering the connection's frames to sink: first those
// of it still in the recent-packet ring (Config.RecentBuffer), oldest first,
// then each new one. nil stops delivery (closing the sink). It reports false
// for a stale handle. A frame the tracker no longer holds (a file read ahead
// of the table when the sink was set) is counted in Stats.FramesMissed.
func (h Conn) SetPacketSink(sink PacketSink) bool {
	c := h.conn()
	if c == nil {
		return false
	}
	t := h.t
	x := t.extraOf(c)
	if x.packets != nil {
		x.packets.Close()
	}
	x.packets = sink
	if sink == nil {
		c.flags2 &^= connPackets
		return true
	}
	c.flags2 |= connPackets
	t.keepFrames.Store(true)
	if t.recent != nil {
		t.recent.replay(c, sink)
	}
	return true
}

// deliverFrame hands p's frame to c's packet sink.
func (t *Tracker) deliverFrame(c *conn, p *packet) {
	x := t.peekExtra(c)
	if x == nil || x.packets == nil {
		return
	}
	if p.frame == nil {
		t.stats.FramesMissed++
		return
	}
	x.packets.Packet(frameInfo(p.ts, len(p.frame), p.wireLen), p.link, p.frame)
}

func frameInfo(ts int64, capLen, wireLen int) gopacket.CaptureInfo {
	return gopacket.CaptureInfo{Timestamp: time.Unix(0, ts), CaptureLength: capLen, Length: wireLen}
}

// recentRing keeps the latest frames, up to a byte budget, with the
// connection each was counted for, so that a connection's earlier packets can
// still be written when it is marked.
type recentRing struct {
	buf     []byte
	pos     int           // where the next frame goes
	entries []recentFrame // oldest first, from head
	head    int
}

type recentFrame struct {
	idx, gen uint32
	off, n   int
	ts       int64
	wireLen  int
	link     layers.LinkType
}

func newRecentRing(size int) *recentRing {
	return &recentRing{buf: make([]byte, size)}
}

// add copies p's frame into the ring, dropping the oldest frames it overwrites.
func (r *recentRing) add(c *conn, p *packet) {
	n := len(p.frame)
	if n == 0 || n > len(r.buf) {
		return
	}
	// A tunnel's frame is kept once for each connection it was counted for.
	if r.pos+n > len(r.buf) {
		r.pos = 0
	}
	start, end := r.pos, r.pos+n
	for r.head < len(r.entries) {
		e := &r.entries[r.head]
		if e.off < end && e.off+e.n > start {
			r.head++
			continue
		}
		break
	}
	if r.head > len(r.entries)/2 && r.head > 1024 {
		r.entries = append(r.entries[:0], r.entries[r.head:]...)
		r.head = 0
	}
	copy(r.buf[start:end], p.frame)
	r.entries = append(r.entries, recentFrame{idx: c.idx, gen: c.gen, off: start, n: n, ts: p.ts, wireLen: p.wireLen, link: p.link})
	r.pos = end
}

// replay hands sink the frames of c still in the ring, oldest first.
func (r *recentRing) replay(c *conn, sink PacketSink) {
	for _, e := range r.entries[r.head:] {
		if e.idx == c.idx && e.gen == c.gen {
			sink.Packet(frameInfo(e.ts, e.n, e.wireLen), e.link, r.buf[e.off:e.off+e.n])
		}
	}
}
