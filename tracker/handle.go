package tracker

import (
	"net/netip"
	"time"

	"github.com/flowtop/flowtop/process"
)

// Conn is a handle on one live connection, given to Handlers and poll callbacks. Use
// it on the owner goroutine only. It goes stale when the connection is removed:
// then Alive reports false and every other method does nothing and reports false or
// a zero value. A Conn is a small value; copy it freely. The zero Conn is stale.
type Conn struct {
	t   *Tracker
	idx uint32
	gen uint32
}

// conn returns the connection h refers to, or nil when h is stale.
func (h Conn) conn() *conn {
	if h.t == nil {
		return nil
	}
	return h.t.liveConn(h.idx, h.gen)
}

// Alive reports whether the connection is still in the table.
func (h Conn) Alive() bool { return h.conn() != nil }

// ID returns the connection's 5-tuple, originator first.
func (h Conn) ID() ConnID {
	c := h.conn()
	if c == nil {
		return ConnID{}
	}
	return c.connID()
}

// UID returns the connection's uid, as conn.log will show it.
func (h Conn) UID() string {
	c := h.conn()
	if c == nil {
		return ""
	}
	return h.t.uid(c.seq)
}

// Record fills r with the connection's record as it would be if the connection were
// removed now (Reason is left zero). It reports false, leaving r alone, when the
// connection is gone.
func (h Conn) Record(r *Record) bool {
	c := h.conn()
	if c == nil {
		return false
	}
	h.t.fillRecord(c, r)
	return true
}

// Counters are a connection's running totals, by role.
type Counters struct {
	Start, Last              time.Time // first and latest packet
	OrigPkts, RespPkts       uint64
	OrigIPBytes, RespIPBytes uint64
}

// Counters returns the connection's running totals without allocating: cheap
// enough for a poll callback that samples rates.
func (h Conn) Counters() Counters {
	c := h.conn()
	if c == nil {
		return Counters{}
	}
	o, r := int(c.origSide), int(c.origSide^1)
	return Counters{
		Start:       time.Unix(0, c.start),
		Last:        time.Unix(0, c.last),
		OrigPkts:    c.pkts[o],
		RespPkts:    c.pkts[r],
		OrigIPBytes: c.ipBytes[o],
		RespIPBytes: c.ipBytes[r],
	}
}

// SetProcess records p as the process behind the connection's endpoint local
// (its address and port as the connection's ConnID gives them, whichever role
// it has now), and marks the connection changed. It reports false when the
// connection is gone or has no such endpoint. Call it on the tracker's
// goroutine (through Do).
func (h Conn) SetProcess(local netip.AddrPort, p *process.Process) bool {
	c := h.conn()
	if c == nil {
		return false
	}
	for s := range 2 {
		if addrOf(c.addr(s)) == local.Addr().Unmap() && c.port(s) == local.Port() {
			info := h.t.infoOf(c)
			if info.procs[s] == p {
				return true
			}
			info.procs[s] = p
			if h.t.feed != nil {
				h.t.feed.mark(c)
			}
			return true
		}
	}
	return false
}
