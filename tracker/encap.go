package tracker

import (
	"bytes"
	"math"
	"time"
)

// Encapsulation of connections (conn-semantics §13; Zeek's EncapsulationStack,
// Connection::CheckEncapsulation and the tunnel_parents logic of
// base/protocols/conn/main.zeek).

// encapLevel is one level of a packet's encapsulation: Zeek's EncapsulatingConn,
// reduced to what its equality tells apart. seq is the sequence number of the uid:
// the outer UDP connection's, or the IP tunnel's (ipTunnelSeq).
type encapLevel struct {
	kind tunnelKind
	seq  uint64
}

// tunnelState is the encapsulation state of a connection that has been seen inside
// a tunnel.
type tunnelState struct {
	stack   [maxTunnelDepth]encapLevel // the current encapsulation, outermost first
	n       uint8                      // its depth; 0 = not encapsulated now
	changes uint8                      // counted changes (tunnel to another tunnel)
	parents []uint64                   // uid sequence numbers for tunnel_parents, in order
}

// addParent adds seq to tunnel_parents, once.
func (ct *tunnelState) addParent(seq uint64) {
	for _, s := range ct.parents {
		if s == seq {
			return
		}
	}
	ct.parents = append(ct.parents, seq)
}

// ipTunnelTimeout is Zeek's Tunnel::ip_tunnel_timeout: an IP tunnel idle this long
// gets a new uid.
const ipTunnelTimeout = 24 * time.Hour

// ipTunnelSeq marks the uid sequence numbers of IP tunnels, so that they never
// equal a connection's.
const ipTunnelSeq = 1 << 63

// maxIPTunnels bounds the IP tunnel table; beyond it, idle tunnels are forgotten.
const maxIPTunnels = 1 << 16

// ipTunnelEntry is an IP-in-IP or GRE tunnel between two addresses (Zeek's ip_tunnels
// map, keyed by the address pair in either order): its uid and last activity.
type ipTunnelEntry struct {
	kind tunnelKind // the first kind seen between the pair
	seq  uint64
	last int64
}

// ipTunnelLevel records the IP tunnel p travels in as the next level of the
// frame's encapsulation.
func (t *Tracker) ipTunnelLevel(p *packet) {
	key := [32]byte{}
	a, b := p.src, p.dst
	if bytes.Compare(a[:], b[:]) > 0 {
		a, b = b, a
	}
	copy(key[:16], a[:])
	copy(key[16:], b[:])
	e, ok := t.ipTunnels[key]
	if !ok || t.now-e.last >= ipTunnelTimeout.Nanoseconds() {
		if !ok && len(t.ipTunnels) >= maxIPTunnels {
			t.pruneIPTunnels()
		}
		t.ipTunnelsMade++
		e = ipTunnelEntry{kind: p.tun, seq: ipTunnelSeq | t.ipTunnelsMade}
	}
	e.last = t.now
	t.ipTunnels[key] = e
	t.pushLevel(p, encapLevel{e.kind, e.seq})
}

// pruneIPTunnels forgets the idle IP tunnels, or, when none is idle, those last
// active in the older half of the time the table spans.
func (t *Tracker) pruneIPTunnels() {
	lo, hi := t.now, int64(math.MinInt64)
	for k, e := range t.ipTunnels {
		if t.now-e.last >= ipTunnelTimeout.Nanoseconds() {
			delete(t.ipTunnels, k)
		} else {
			lo, hi = min(lo, e.last), max(hi, e.last)
		}
	}
	if len(t.ipTunnels) < maxIPTunnels {
		return
	}
	cut := lo + (hi-lo)/2
	for k, e := range t.ipTunnels {
		if e.last <= cut {
			delete(t.ipTunnels, k)
		}
	}
}

// pushLevel makes level the encapsulation of the packets that come after p in its
// frame.
func (t *Tracker) pushLevel(p *packet, level encapLevel) {
	t.enc[p.depth] = level
	t.encN = p.depth + 1
	t.stats.Tunnels++
}

// udpTunnelLevel decides whether the payload of UDP packet p of connection c is
// decapsulated, as Zeek's UDP analyzer and the tunnel's analyzer decide: the
// tunnel's port must be the connection's responder port (or, for a payload
// recognised as Teredo or AYIYA, that port must belong to no tunnel), the checksum
// must be good (good), and the connection must not have violated the protocol
// before. A violation stops decapsulation for good (except for GTP, which goes on),
// and a tunnel too deep adds X to the history.
func (t *Tracker) udpTunnelLevel(c *conn, p *packet, good, isOrig bool) {
	resp := c.port(int(c.origSide ^ 1))
	if p.tunPort != 0 && resp != p.tunPort || p.tunPort == 0 && udpTunnelPort(resp) != tunNone || !good {
		return
	}
	if x := t.peekExtra(c); x != nil && x.tunViolated && p.tun != tunGTP {
		return
	}
	if confirmsTunnel(p) {
		t.tunnelConfirm(c, p.tun, isOrig)
	}
	switch p.tunVerdict {
	case tunInner:
		t.pushLevel(p, encapLevel{p.tun, c.seq})
	case tunViolation:
		t.extraOf(c).tunViolated = true
	case tunTooDeep:
		if p.tun != tunGTP {
			t.checkHistory(c, histTunnel, 'X')
		}
	}
}

// confirmsTunnel reports whether a UDP tunnel packet confirms its tunnel's
// protocol (service-detection.md §6): any good VXLAN or Teredo header (a Teredo
// bubble included), a Geneve header of version 0 whose options fit, and AYIYA and
// GTP packets that carry an inner packet.
func confirmsTunnel(p *packet) bool {
	switch p.tun {
	case tunVXLAN, tunTeredo:
		return p.tunVerdict == tunInner || p.tunVerdict == tunNoInner
	case tunGeneve:
		return p.tunVerdict == tunInner || p.tunVerdict == tunNoInner && p.capLen > udpHeader && p.hdr[udpHeader]>>6 == 0
	case tunAYIYA, tunGTP:
		return p.tunVerdict == tunInner
	}
	return false
}

// checkEncap compares the encapsulation of connection c's packet p, at depth
// levels, with the connection's (Zeek's Connection::CheckEncapsulation and the
// tunnel_changed handler): tunnel_parents gains the innermost uid of every change
// that is reported, and a connection that changes tunnels more than
// maxTunnelChanges times gets X in its history.
func (t *Tracker) checkEncap(c *conn, depth uint8) {
	cur := t.enc[:depth]
	x := t.extraOf(c)
	if x.tunnel == nil {
		x.tunnel = new(tunnelState)
	}
	ct := x.tunnel
	switch {
	case ct.n > 0 && depth > 0:
		if levelsEqual(ct.stack[:ct.n], cur) {
			return
		}
		if ct.changes < maxTunnelChanges {
			ct.changes++
			ct.addParent(cur[depth-1].seq)
		} else {
			t.checkHistory(c, histTunnel, 'X')
		}
	case ct.n > 0:
		c.flags &^= connTunnel
	case depth > 0:
		ct.addParent(cur[depth-1].seq)
	}
	ct.n = depth
	copy(ct.stack[:], cur)
	if depth > 0 {
		c.flags |= connTunnel
	}
}

func levelsEqual(a, b []encapLevel) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// tunnelParents returns c's tunnel_parents uids, or nil.
func (t *Tracker) tunnelParents(c *conn) []string {
	x := t.peekExtra(c)
	if x == nil || x.tunnel == nil || len(x.tunnel.parents) == 0 {
		return nil
	}
	out := make([]string, len(x.tunnel.parents))
	for i, s := range x.tunnel.parents {
		out[i] = t.uid(s)
	}
	return out
}
