package tracker

import (
	"net/netip"
	"strconv"
	"time"

	"github.com/flowtop/flowtop/analyzer"
	"github.com/flowtop/flowtop/communityid"
	"github.com/flowtop/flowtop/process"
)

// Record is the final, immutable summary of a removed connection: one conn.log line.
// It holds no references into the connection table.
type Record struct {
	TS  time.Time // first packet of the connection
	UID string
	ConnID

	// Service is conn.log's service: the protocols analyzers confirmed, in
	// confirmation order, comma-joined; "" is unset.
	Service string
	// Names are the names learned on the connection's wire (nil when none), and
	// OrigName and RespName the names DNS answers seen on the wire gave its
	// endpoints (passive DNS).
	Names              *Names
	OrigName, RespName string
	// Analyzers say what became of each protocol analyzer attached to the
	// connection (shared, never changed).
	Analyzers []analyzer.Outcome
	// OrigProc and RespProc are the local processes behind the endpoints, where
	// an attributor named them (Conn.SetProcess); nil is unknown or not local.
	OrigProc, RespProc *process.Process
	// FromFlows says the connection was built from flow records (NetFlow,
	// IPFIX; Tracker.AddFlow), not packets: OrigBytes and RespBytes are unknown,
	// and ConnState and History are what an exporting flowtop said, else "".
	FromFlows bool
	// SCTPOrigP and SCTPRespP are an SCTP connection's ports, from its first
	// packet (Zeek's conn.log gives other transports port 0); 0 otherwise.
	SCTPOrigP, SCTPRespP uint16

	// Duration is last_time - ts. HasDuration is false when it is not positive, and then
	// Duration, OrigBytes and RespBytes are unset in conn.log.
	Duration    time.Duration
	HasDuration bool
	OrigBytes   uint64
	RespBytes   uint64

	ConnState string

	// HasLocal is false when no local_nets are configured (both fields unset).
	HasLocal  bool
	LocalOrig bool
	LocalResp bool

	MissedBytes uint64
	History     string // "" is unset

	OrigPkts    uint64
	OrigIPBytes uint64
	RespPkts    uint64
	RespIPBytes uint64

	TunnelParents []string // nil is unset

	// Reason says why the connection was removed, and Removed when (network time).
	Reason  RemoveReason
	Removed time.Time
}

// ConnID is a connection's 5-tuple, oriented as conn.log orients it: the
// originator first.
type ConnID struct {
	OrigH netip.Addr
	OrigP uint16
	RespH netip.Addr
	RespP uint16
	Proto Proto // IP protocol number; Proto.Transport() is the conn.log proto
}

// CommunityFlow returns the tuple the connection's Community ID hashes: its
// conn.log 5-tuple, with an SCTP connection's own ports.
func (r *Record) CommunityFlow() communityid.Flow {
	f := communityid.Flow{Src: r.OrigH, Dst: r.RespH, Proto: uint8(r.Proto), SrcPort: r.OrigP, DstPort: r.RespP}
	switch {
	case r.Proto == protoSCTP:
		f.SrcPort, f.DstPort = r.SCTPOrigP, r.SCTPRespP
	case r.Proto == ProtoICMP && r.OrigP == 9:
		// Zeek pairs router advertisements with solicitations (resp_p 10); the
		// Community ID takes them as one-way, keyed by the code, 0 (RFC 1256).
		f.DstPort = 0
	}
	return f
}

// CommunityID returns the connection's Community ID v1 with the given seed (see
// package communityid): the same string Zeek's community-id-logging, Suricata,
// Arkime and Wireshark give the same traffic.
func (r *Record) CommunityID(seed uint16) string { return communityid.ID(seed, r.CommunityFlow()) }

// Orig formats the originator's endpoint as Zeek's contents files name it:
// "10.0.0.1:80", "[2001:db8::1]:443" (IPv4-mapped addresses as IPv4).
func (id ConnID) Orig() string { return endpoint(id.OrigH, id.OrigP) }

// Resp formats the responder's endpoint, as Orig does.
func (id ConnID) Resp() string { return endpoint(id.RespH, id.RespP) }

func endpoint(a netip.Addr, p uint16) string {
	a = a.Unmap()
	if a.Is6() {
		return "[" + a.String() + "]:" + strconv.Itoa(int(p))
	}
	return a.String() + ":" + strconv.Itoa(int(p))
}

// RemoveReason says why a connection left the table.
type RemoveReason uint8

// Removal reasons.
const (
	ReasonEndOfInput RemoveReason = iota // input ended, or the tracker was stopped
	ReasonClose                          // both sides closed (FIN) and the close delay passed
	ReasonReset                          // a RST ended it and the reset delay passed
	ReasonInactivity                     // the inactivity timeout expired
	ReasonAttempt                        // an unanswered SYN hit the attempt timeout
	ReasonReuse                          // a new SYN reused the 5-tuple
	ReasonExpire                         // the session expire check found it over (half-closed, never established)
	ReasonEviction                       // the table was full
)

var reasonNames = [...]string{"end_of_input", "close", "reset", "inactivity", "attempt", "reuse", "expire", "eviction"}

// String returns the reason's name as used in event logs, e.g. "inactivity".
func (r RemoveReason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "unknown"
}
