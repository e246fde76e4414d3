package main

import (
	"fmt"
	"io"
	"time"

	"github.com/flowtop/flowtop/ipfix"
	"github.com/flowtop/flowtop/tracker"
)

// defaultActiveTimeout is how often a long-lived connection is exported while it
// lasts, on network time: 60 s, as collectors expect of routers.
const defaultActiveTimeout = 60 * time.Second

// flowExport sends each connection to an IPFIX collector: a record at removal,
// and one per active timeout while it lasts, each counting the packets and
// bytes since the previous one. Its handlers run on the tracker's goroutine.
type flowExport struct {
	x      *ipfix.Exporter
	active time.Duration
	// sent holds what earlier records of a live connection counted, for the
	// connections that have had one (those older than the active timeout).
	sent map[string]sentCounts
}

type sentCounts struct {
	origPkts, origBytes, respPkts, respBytes uint64
	end                                      time.Time
}

// startExport starts exporting to --export's target; nil when none.
func startExport(o *options, h *tracker.Handlers, warn func(string)) (*flowExport, error) {
	if o.export == "" {
		return nil, nil
	}
	t, err := ipfix.ParseTarget(o.export)
	if err != nil {
		return nil, fmt.Errorf("--export %v", err)
	}
	x, err := ipfix.NewExporter(t, warn)
	if err != nil {
		return nil, err
	}
	e := &flowExport{x: x, active: defaultActiveTimeout, sent: map[string]sentCounts{}}
	if o.activeTimeout > 0 {
		e.active = o.activeTimeout
	}
	prevNew, prevRemove := h.NewConn, h.Remove
	h.NewConn = func(c tracker.Conn) {
		if prevNew != nil {
			prevNew(c)
		}
		c.Poll(e.active, e.poll)
	}
	h.Remove = func(r *tracker.Record) {
		if prevRemove != nil {
			prevRemove(r)
		}
		e.export(r, endReason(r.Reason))
	}
	return e, nil
}

// poll exports a live connection's record at each active timeout.
func (e *flowExport) poll(c tracker.Conn, _ int) time.Duration {
	var r tracker.Record
	if !c.Record(&r) {
		return -1
	}
	e.export(&r, ipfix.EndActive)
	return e.active
}

// export sends r's record, counting what earlier records did not.
func (e *flowExport) export(r *tracker.Record, why ipfix.EndReason) {
	prev, had := e.sent[r.UID]
	if had && why != ipfix.EndActive {
		delete(e.sent, r.UID)
	}
	last := r.TS.Add(r.Duration)
	f := ipfix.Flow{
		Src: r.OrigH, Dst: r.RespH, SrcPort: r.OrigP, DstPort: r.RespP, Proto: uint8(r.Proto),
		Packets: r.OrigPkts - prev.origPkts, Octets: r.OrigIPBytes - prev.origBytes,
		RevPackets: r.RespPkts - prev.respPkts, RevOctets: r.RespIPBytes - prev.respBytes,
		Start: r.TS, End: last, EndReason: why,
		UID: r.UID, ConnState: r.ConnState, History: r.History, Service: r.Service,
	}
	if had {
		f.Start = prev.end
	}
	switch r.Proto {
	case tracker.ProtoTCP:
		f.TCPFlags, f.RevTCPFlags = tcpFlags(r.History)
	case tracker.ProtoICMP, tracker.ProtoICMPv6:
		f.DstPort = uint16(tracker.ICMPCode(r.Proto == tracker.ProtoICMPv6, r.OrigP, r.RespP))
	}
	if why == ipfix.EndActive {
		if f.Packets == 0 && f.RevPackets == 0 {
			return // nothing since the last record
		}
		e.sent[r.UID] = sentCounts{r.OrigPkts, r.OrigIPBytes, r.RespPkts, r.RespIPBytes, last}
	}
	// A connection's final record is sent even when active records counted
	// every packet: it has the end reason and the final state and history.
	e.x.Export(f)
}

// close sends what is queued and stops the exporter.
func (e *flowExport) close() {
	if e != nil {
		e.x.Close()
	}
}

// report says, with -v or when records were lost, what the export did.
func (e *flowExport) report(stderr io.Writer, target string, verbose bool) {
	if e == nil {
		return
	}
	s := e.x.Stats()
	if verbose || s.Dropped > 0 {
		fmt.Fprintf(stderr, "flowtop: export to %s: %d records in %d messages, %d dropped\n", target, s.Flows, s.Messages, s.Dropped)
	}
}

// endReason maps a removal reason to IPFIX's flowEndReason.
func endReason(r tracker.RemoveReason) ipfix.EndReason {
	switch r {
	case tracker.ReasonClose, tracker.ReasonReset, tracker.ReasonReuse:
		return ipfix.EndOfFlow
	case tracker.ReasonEndOfInput:
		return ipfix.EndForced
	case tracker.ReasonEviction:
		return ipfix.EndResource
	}
	return ipfix.EndIdle // inactivity, attempt, expire
}

// TCP flag bits.
const (
	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpRST = 0x04
	tcpPSH = 0x08
	tcpACK = 0x10
)

// tcpFlags derives the TCP flags each side sent from Zeek's history: what the
// history saw, which is all a record keeps (S a SYN, H a SYN+ACK, A an ACK, D data
// (sent with PSH and ACK by every common stack), F a FIN, R a RST; upper case the
// originator's).
func tcpFlags(history string) (orig, resp uint8) {
	for _, c := range history {
		var bits uint8
		switch c {
		case 'S', 's':
			bits = tcpSYN
		case 'H', 'h':
			bits = tcpSYN | tcpACK
		case 'A', 'a':
			bits = tcpACK
		case 'D', 'd':
			bits = tcpPSH | tcpACK
		case 'F', 'f':
			bits = tcpFIN
		case 'R', 'r':
			bits = tcpRST
		}
		if c >= 'A' && c <= 'Z' { // upper case: the originator's
			orig |= bits
		} else {
			resp |= bits
		}
	}
	return orig, resp
}
