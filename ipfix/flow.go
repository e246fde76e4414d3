package ipfix

import (
	"net/netip"
	"time"
)

// Flow is one flow record: a connection, or the part of it since its last
// record (an active timeout), in the direction Src to Dst (a connection's
// originator to its responder). Reverse counters are the other direction.
type Flow struct {
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16 // ICMP: the type and the code
	Proto            uint8

	Packets, Octets       uint64 // Src to Dst: IP packets and IP bytes
	RevPackets, RevOctets uint64 // Dst to Src
	TCPFlags, RevTCPFlags uint8  // the TCP flags seen each way (union)

	Start, End time.Time // first and last packet, millisecond precision
	EndReason  EndReason
	// Biflow says the record is bidirectional (its template has RFC 5103
	// reverse elements): the Rev counters are the whole other direction, even
	// when zero. Collected flows only.
	Biflow bool

	// flowtop's conn.log fields, exported as enterprise-specific elements; empty
	// when unknown (a collected record from another exporter).
	UID, ConnState, History, Service string

	// Exporter is where a collected flow came from (the exporter's address and
	// observation domain); unset for flows to export.
	Exporter netip.AddrPort
	Domain   uint32
}

// EndReason is IPFIX's flowEndReason (IANA element 136).
type EndReason uint8

// End reasons.
const (
	EndIdle     EndReason = 1 // idle timeout
	EndActive   EndReason = 2 // active timeout: the flow goes on
	EndOfFlow   EndReason = 3 // end of flow detected (FIN, RST)
	EndForced   EndReason = 4 // forced end (the exporter stopped, end of input)
	EndResource EndReason = 5 // lack of resources (eviction)
)

// String returns the reason as RFC 5102 names it.
func (r EndReason) String() string {
	switch r {
	case EndIdle:
		return "idle timeout"
	case EndActive:
		return "active timeout"
	case EndOfFlow:
		return "end of flow"
	case EndForced:
		return "forced end"
	case EndResource:
		return "lack of resources"
	}
	return "unknown"
}

// Reverse returns the flow seen from the other side: addresses, ports and
// counters swapped (the uniflow record of the Dst to Src direction).
func (f *Flow) Reverse() Flow {
	r := *f
	r.Src, r.Dst = f.Dst, f.Src
	r.SrcPort, r.DstPort = f.DstPort, f.SrcPort
	r.Packets, r.RevPackets = f.RevPackets, f.Packets
	r.Octets, r.RevOctets = f.RevOctets, f.Octets
	r.TCPFlags, r.RevTCPFlags = f.RevTCPFlags, f.TCPFlags
	return r
}
