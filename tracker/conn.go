package tracker

import "math"

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
// left by 16 bits so that both fit one word.
const (
	histSYN    uint32 = 0x1
	histFIN    uint32 = 0x2
	histRST    uint32 = 0x4
	histFINRST uint32 = 0x8
	histData   uint32 = 0x10
	histACK    uint32 = 0x20
	histMulti  uint32 = 0x40
)

// conn is one tracked connection. Its fields are owned by the tracker goroutine.
//
// Per-direction state is indexed by side (0 = the key's A address, 1 = B), which never
// changes; origSide says which side is currently the originator, so a role flip is one
// assignment.
type conn struct {
	key      FlowKey
	start    int64 // ts of the first packet, ns
	last     int64 // last_time, ns
	seq      uint64
	missed   uint64 // missed_bytes
	gen      uint32 // slot generation, invalidates timers of a removed connection
	idx      uint32 // slab slot
	origSide uint8
	active   [2]bool // UDP: the orig (0) or resp (1) role sent a good packet
	history  []byte
	histSeen uint32

	pkts    [2]uint64
	ipBytes [2]uint64
	size    [2]uint64 // UDP and ICMP payload bytes, by role (0 = orig)
	chkCnt  [2]uint32 // UDP checksum errors, by side

	inactivity int64 // inactivity timeout, ns
	timers     timerSet
	tcp        *tcpConn // nil unless TCP
}

// isOrigSide reports whether side s is the current originator.
func (c *conn) isOrigSide(s int) bool { return int(c.origSide) == s }

func (c *conn) addHistory(code byte) { c.history = append(c.history, code) }

// checkHistory records code once per mask (Zeek's Session::CheckHistory). It
// returns true when the mask had already been seen.
func (c *conn) checkHistory(mask uint32, code byte) bool {
	if c.histSeen&mask == 0 {
		c.histSeen |= mask
		c.addHistory(code)
		return false
	}
	return true
}

// scaledHistory counts an event and records code at the 1st, 10th, 100th, ...
// occurrence (Zeek's ScaledHistoryEntry with base 10).
func (c *conn) scaledHistory(code byte, counter *uint32) {
	if *counter == math.MaxUint32 {
		return
	}
	*counter++
	n := *counter
	for n%10 == 0 {
		n /= 10
	}
	if n == 1 {
		c.addHistory(code)
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
func (c *conn) flip() {
	c.origSide ^= 1
	if c.tcp != nil {
		t := c.tcp
		t.firstSeen = (t.firstSeen&1)<<1 | (t.firstSeen&2)>>1
		t.partial = false
	}
	c.addHistory('^')
}

// connState computes conn_state (conn-semantics §6).
func (c *conn) connState() string {
	o, r := int(c.origSide), int(c.origSide^1)
	switch c.key.Proto {
	case ProtoTCP:
		return c.tcp.connState(o, r, c.history)
	case ProtoUDP:
		switch {
		case c.active[0] && c.active[1]:
			return "SF"
		case c.active[0]:
			return "S0"
		case c.active[1]:
			return "SHR"
		}
	}
	return "OTH"
}
