package tracker

import (
	"math"

	"github.com/flowtop/flowtop/analyzer"
)

// TCP endpoint states, numbered as Zeek numbers them (TCP_ENDPOINT_*).
const (
	tcpInactive    uint8 = 0
	tcpSynSent     uint8 = 1
	tcpSynAckSent  uint8 = 2
	tcpPartial     uint8 = 3
	tcpEstablished uint8 = 4
	tcpClosed      uint8 = 5
	tcpReset       uint8 = 6
)

// History masks, as Zeek's TCP_Endpoint::HistoryMasks; the responder's are shifted
// left by histResp bits so that both fit one word.
const (
	histSYN    uint16 = 0x1
	histFIN    uint16 = 0x2
	histRST    uint16 = 0x4
	histFINRST uint16 = 0x8
	histData   uint16 = 0x10
	histACK    uint16 = 0x20
	histMulti  uint16 = 0x40
	histTunnel uint16 = 0x80 // X: too many tunnel changes, or a tunnel too deep

	histResp = 8
)

// histInline is the number of history letters a connection holds itself; longer
// histories continue in its connExtra.
const histInline = 13

// Connection flags.
const (
	connActiveOrig uint8 = 1 << iota // UDP: the originator role sent a good packet
	connActiveResp                   // UDP: the responder role sent a good packet
	connThresholds                   // has a thresholdSet: check it on counted packets
	connDirty                        // changed since the feed's last snapshot
	connTunnel                       // seen inside a tunnel: check every packet's encapsulation
	connDNS                          // UDP to a DNS port: Zeek's DNS analyzer expires it (dnsDeadline)
)

// conn is one tracked connection. Its fields are owned by the tracker goroutine.
//
// Per-direction state is indexed by side (0 = the key's A address, 1 = B), which never
// changes; origSide says which side is currently the originator, so a role flip is one
// assignment.
//
// A conn holds no pointers, so the slab chunks that hold connections are not scanned
// by the garbage collector. TCP state is in the tracker's TCP slab (index tcp), and
// what few connections need (long histories, event counters, missed bytes, data above
// holes) is in a connExtra (index extra).
type conn struct {
	key      FlowKey
	origSide uint8
	flags    uint8
	start    int64 // ts of the first packet, ns
	last     int64 // last_time, ns
	seq      uint64
	heapAt   int64 // time of this connection's live timer heap entry; 0 = none

	inactivity int64 // inactivity timeout, ns

	pkts    [2]uint64
	ipBytes [2]uint64
	size    [2]uint64 // UDP and ICMP payload bytes, by role (0 = orig)

	gen      uint32 // slot generation, invalidates timers of a removed connection
	idx      uint32 // slab slot
	tcp      uint32 // TCP slab slot + 1; 0 unless TCP
	histSeen uint16
	histLen  uint8
	hist     [histInline]byte // the first history letters
	extra    uint32           // Tracker.extras index + 1; 0 = none

	// Service identification (inspect.go): the confirmed services in confirmation
	// order, the inspection under way, the names learned on the wire.
	svc    [maxServices]analyzer.ID
	insp   uint32 // Tracker.insps index + 1; 0 = none
	info   uint32 // Tracker.infos index + 1; 0 = none
	flags2 uint8
}

// Service identification flags (conn.flags2).
const (
	connInspected uint8 = 1 << iota // inspection ended (or never starts): no session again
	connExpected                    // an expected connection matched: no port analyzers
	connInitSide1                   // side 1 was the originator at creation (the port analyzers' responder is side 0)
	connFromFlows                   // built from flow records (AddFlow), not packets
	connPackets                     // has a PacketSink: deliver every frame
)

// maxServices is how many services a connection keeps; Zeek's longest layering
// (http,websocket,ssh) has three.
const maxServices = 4

// Counters of events recorded in the history with ScaledHistoryEntry, by side.
const (
	cntChecksum = iota // bad checksums (UDP and TCP)
	cntRexmit          // TCP retransmissions
	cntWindow0         // TCP zero windows
	cntGap             // TCP content gaps
	numCounters
)

// connExtra is the state few connections need, allocated on first use.
type connExtra struct {
	history []byte                 // history letters after the first histInline
	counts  [numCounters][2]uint32 // event counters, by side
	missed  uint64                 // missed_bytes
	pending [2]rangeSet            // TCP: data above a hole, not yet delivered, by side
	th      *thresholdSet          // thresholds, when connThresholds is set
	hooks   []*RemovalHook         // removal hooks
	content *contentState          // payload delivery to a ContentSink
	tunnel  *tunnelState           // encapsulation, for connections seen in tunnels
	// tunViolated: the UDP tunnel this connection carries violated its protocol,
	// and is not decapsulated any more.
	tunViolated bool
	teredoSeen  uint8      // roles (bit 0 orig, 1 resp) that sent a valid Teredo encapsulation
	packets     PacketSink // the connection's frames go here (connPackets)
}

// isOrigSide reports whether side s is the current originator.
func (c *conn) isOrigSide(s int) bool { return int(c.origSide) == s }

// extraOf returns c's connExtra, allocating it on first use.
func (t *Tracker) extraOf(c *conn) *connExtra {
	if c.extra != 0 {
		return t.extras[c.extra-1]
	}
	var i uint32
	if n := len(t.extraFree); n > 0 {
		i = t.extraFree[n-1]
		t.extraFree = t.extraFree[:n-1]
	} else {
		t.extras = append(t.extras, new(connExtra))
		i = uint32(len(t.extras) - 1)
	}
	c.extra = i + 1
	return t.extras[i]
}

// peekExtra returns c's connExtra, or nil when it has none.
func (t *Tracker) peekExtra(c *conn) *connExtra {
	if c.extra == 0 {
		return nil
	}
	return t.extras[c.extra-1]
}

// freeExtra releases c's connExtra for reuse.
func (t *Tracker) freeExtra(c *conn) {
	if c.extra == 0 {
		return
	}
	x := t.extras[c.extra-1]
	th := x.th
	if th != nil {
		*th = thresholdSet{
			want: [2][2][]uint64{{th.want[0][0][:0], th.want[0][1][:0]}, {th.want[1][0][:0], th.want[1][1][:0]}},
			dur:  th.dur[:0],
		}
	}
	clear(x.hooks)
	tun := x.tunnel
	if tun != nil {
		*tun = tunnelState{parents: tun.parents[:0]}
	}
	*x = connExtra{
		history: x.history[:0],
		pending: [2]rangeSet{{x.pending[0].r[:0]}, {x.pending[1].r[:0]}},
		th:      th,
		hooks:   x.hooks[:0],
		tunnel:  tun,
	}
	t.extraFree = append(t.extraFree, c.extra-1)
	c.extra = 0
}

func (t *Tracker) addHistory(c *conn, code byte) {
	if c.histLen < histInline {
		c.hist[c.histLen] = code
		c.histLen++
		return
	}
	x := t.extraOf(c)
	x.history = append(x.history, code)
}

// history returns c's history letters, in a buffer reused by the next call.
func (t *Tracker) history(c *conn) []byte {
	t.histBuf = append(t.histBuf[:0], c.hist[:c.histLen]...)
	if x := t.peekExtra(c); x != nil {
		t.histBuf = append(t.histBuf, x.history...)
	}
	return t.histBuf
}

// checkHistory records code once per mask (Zeek's Session::CheckHistory). It
// returns true when the mask had already been seen.
func (t *Tracker) checkHistory(c *conn, mask uint16, code byte) bool {
	if c.histSeen&mask == 0 {
		c.histSeen |= mask
		t.addHistory(c, code)
		return false
	}
	return true
}

// checkRoleHistory is checkHistory for an event of side s: the responder's mask and
// letter when s is not the originator.
func (t *Tracker) checkRoleHistory(c *conn, s int, mask uint16, code byte) bool {
	if c.isOrigSide(s) {
		return t.checkHistory(c, mask, code)
	}
	return t.checkHistory(c, mask<<histResp, code|0x20)
}

// scaledHistory counts an event of side s and records code at the 1st, 10th, 100th,
// ... occurrence (Zeek's ScaledHistoryEntry with base 10).
func (t *Tracker) scaledHistory(c *conn, code byte, counter, s int) {
	n := &t.extraOf(c).counts[counter][s]
	if *n == math.MaxUint32 {
		return
	}
	*n++
	v := *n
	for v%10 == 0 {
		v /= 10
	}
	if v == 1 {
		t.addHistory(c, code)
	}
}

// roleCode returns code upper-cased for the originator, lower-cased for the responder.
func roleCode(code byte, orig bool) byte {
	if orig {
		return code
	}
	return code | 0x20
}

// flip swaps the originator and responder roles and records '^'.
func (t *Tracker) flip(c *conn) {
	c.origSide ^= 1
	if c.tcp != 0 {
		tc := t.tcpOf(c)
		tc.firstSeen = (tc.firstSeen&1)<<1 | (tc.firstSeen&2)>>1
		tc.partial = false
	}
	t.addHistory(c, '^')
	if t.insp != nil && (c.key.Proto == ProtoTCP || c.key.Proto == ProtoUDP) {
		t.expectAt(c)
	}
}

// connState computes conn_state (conn-semantics §6).
func (t *Tracker) connState(c *conn) string {
	if c.flags2&connFromFlows != 0 {
		if c.info != 0 {
			return t.infos[c.info-1].flowState
		}
		return "" // unknown: flow records do not say
	}
	o, r := int(c.origSide), int(c.origSide^1)
	switch c.key.Proto {
	case ProtoTCP:
		return t.tcpOf(c).connState(o, r, t.history(c))
	case ProtoUDP:
		switch c.flags & (connActiveOrig | connActiveResp) {
		case connActiveOrig | connActiveResp:
			return "SF"
		case connActiveOrig:
			return "S0"
		case connActiveResp:
			return "SHR"
		}
	}
	return "OTH"
}
