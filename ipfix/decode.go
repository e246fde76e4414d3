package ipfix

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Decoder limits: what one exporter may make a Decoder remember.
const (
	// MaxTemplatesPerSource bounds the templates kept per exporter and
	// observation domain; more are refused (Stats.TemplatesRefused).
	MaxTemplatesPerSource = 512
	// MaxSources bounds the exporters and domains a Decoder keeps templates for.
	MaxSources = 1024
	// maxFields bounds a template's fields.
	maxFields = 256
)

// DecodeStats counts what a Decoder saw.
type DecodeStats struct {
	Messages, Flows  uint64
	Malformed        uint64 // messages or sets that could not be read
	NoTemplate       uint64 // data sets whose template was not (yet) known
	TemplatesRefused uint64 // templates over the bounds
}

// Decoder turns NetFlow v5, NetFlow v9 and IPFIX messages into flows. It keeps
// the templates of each exporter and observation domain, bounded. It is not
// safe for concurrent use.
type Decoder struct {
	pen     uint32 // flowtop's elements' enterprise number
	sources map[sourceKey]map[uint16]tmpl
	// initMs is each source's systemInitTimeMilliseconds (from options
	// records): what IPFIX flowStartSysUpTime and flowEndSysUpTime count from.
	initMs map[sourceKey]uint64
	stats  DecodeStats
}

// tmpl is a kept template: its fields, and whether it is an options template
// (its records describe the exporter, not flows).
type tmpl struct {
	fields  []field
	options bool
}

type sourceKey struct {
	exporter netip.AddrPort
	domain   uint32
	v9       bool
}

// NewDecoder returns a Decoder that reads flowtop's enterprise elements under
// pen (0: DefaultPEN).
func NewDecoder(pen uint32) *Decoder {
	if pen == 0 {
		pen = DefaultPEN
	}
	return &Decoder{pen: pen, sources: map[sourceKey]map[uint16]tmpl{}, initMs: map[sourceKey]uint64{}}
}

// Stats returns the counts so far.
func (d *Decoder) Stats() DecodeStats { return d.stats }

// ErrMalformed says a message could not be read.
var ErrMalformed = errors.New("malformed flow message")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// Decode reads one message from exporter and calls fn with each flow (valid
// only during the call). It returns an error wrapping ErrMalformed for a
// message it could not read, after the flows it could.
func (d *Decoder) Decode(msg []byte, exporter netip.AddrPort, fn func(*Flow)) error {
	if len(msg) < 2 {
		d.stats.Malformed++
		return malformed("%d bytes", len(msg))
	}
	d.stats.Messages++
	var err error
	switch v := binary.BigEndian.Uint16(msg); v {
	case 5:
		err = d.decode5(msg, exporter, fn)
	case 9:
		err = d.decode9(msg, exporter, fn)
	case 10:
		err = d.decode10(msg, exporter, fn)
	default:
		err = malformed("version %d (want 5, 9 or 10)", v)
	}
	if err != nil {
		d.stats.Malformed++
	}
	return err
}

// decode5 reads a NetFlow v5 message: a 24-byte header and 48-byte records.
func (d *Decoder) decode5(msg []byte, exporter netip.AddrPort, fn func(*Flow)) error {
	if len(msg) < 24 {
		return malformed("NetFlow v5 header of %d bytes", len(msg))
	}
	count := int(binary.BigEndian.Uint16(msg[2:]))
	uptime := binary.BigEndian.Uint32(msg[4:])
	base := time.Unix(int64(binary.BigEndian.Uint32(msg[8:])), int64(binary.BigEndian.Uint32(msg[12:])))
	engine := uint32(msg[20])<<8 | uint32(msg[21])
	if count > 30 || len(msg) < 24+48*count {
		return malformed("NetFlow v5: %d records in %d bytes", count, len(msg))
	}
	for i := range count {
		r := msg[24+48*i:]
		f := Flow{
			Src:     netip.AddrFrom4([4]byte(r[0:4])),
			Dst:     netip.AddrFrom4([4]byte(r[4:8])),
			Packets: uint64(binary.BigEndian.Uint32(r[16:])),
			Octets:  uint64(binary.BigEndian.Uint32(r[20:])),
			Start:   upTime(base, uptime, binary.BigEndian.Uint32(r[24:])),
			End:     upTime(base, uptime, binary.BigEndian.Uint32(r[28:])),
			SrcPort: binary.BigEndian.Uint16(r[32:]),
			DstPort: binary.BigEndian.Uint16(r[34:]),
			// r[36] is padding
			TCPFlags: r[37],
			Proto:    r[38],
			Exporter: exporter,
			Domain:   engine,
		}
		icmpPorts(&f)
		d.stats.Flows++
		fn(&f)
	}
	return nil
}

// upTime converts a sysUpTime stamp (ms) into a time, given the header's
// sysUpTime and the wall clock at export: the exporter's boot time plus the
// stamp, as nfdump computes it.
func upTime(base time.Time, now, at uint32) time.Time {
	return base.Add(time.Duration(int64(at)-int64(now)) * time.Millisecond)
}

// decode9 reads a NetFlow v9 message (RFC 3954): a 20-byte header and flowsets.
func (d *Decoder) decode9(msg []byte, exporter netip.AddrPort, fn func(*Flow)) error {
	if len(msg) < 20 {
		return malformed("NetFlow v9 header of %d bytes", len(msg))
	}
	h := header{
		uptime: binary.BigEndian.Uint32(msg[4:]),
		base:   time.Unix(int64(binary.BigEndian.Uint32(msg[8:])), 0),
		hasUp:  true,
	}
	src := sourceKey{exporter: exporter, domain: binary.BigEndian.Uint32(msg[16:]), v9: true}
	return d.sets(msg[20:], src, h, 0, 1, fn)
}

// decode10 reads an IPFIX message (RFC 7011): a 16-byte header and sets.
func (d *Decoder) decode10(msg []byte, exporter netip.AddrPort, fn func(*Flow)) error {
	if len(msg) < headerLen {
		return malformed("IPFIX header of %d bytes", len(msg))
	}
	n := int(binary.BigEndian.Uint16(msg[2:]))
	if n < headerLen || n > len(msg) {
		return malformed("IPFIX length %d of a %d-byte message", n, len(msg))
	}
	h := header{base: time.Unix(int64(binary.BigEndian.Uint32(msg[4:])), 0)}
	src := sourceKey{exporter: exporter, domain: binary.BigEndian.Uint32(msg[12:])}
	return d.sets(msg[headerLen:n], src, h, setTemplate, setOptionsTmpl, fn)
}

// header is what a message header gives its records' times.
type header struct {
	base   time.Time // export time
	uptime uint32    // NetFlow v9: sysUpTime at export, ms
	hasUp  bool
	// IPFIX: the exporter's systemInitTimeMilliseconds, which sysUpTime
	// elements count from.
	init    uint64
	hasInit bool
}

// sets reads the sets (flowsets) of a message; tmplID and optID are the set IDs
// of templates and options templates.
func (d *Decoder) sets(b []byte, src sourceKey, h header, tmplID, optID uint16, fn func(*Flow)) error {
	for len(b) > 0 {
		if len(b) < setHeaderLen {
			return malformed("%d bytes after the last set", len(b))
		}
		id := binary.BigEndian.Uint16(b)
		n := int(binary.BigEndian.Uint16(b[2:]))
		if n < setHeaderLen || n > len(b) {
			return malformed("set %d of length %d in %d bytes", id, n, len(b))
		}
		body := b[setHeaderLen:n]
		b = b[n:]
		switch {
		case id == tmplID:
			if err := d.templates(body, src, false); err != nil {
				return err
			}
		case id == optID:
			if err := d.templates(body, src, true); err != nil {
				return err
			}
		case id >= minDataSetID:
			tp, ok := d.sources[src][id]
			if !ok {
				d.stats.NoTemplate++
				continue
			}
			if tp.options {
				d.options(body, tp.fields, src)
				continue
			}
			if err := d.data(body, tp.fields, src, h, fn); err != nil {
				return err
			}
		}
	}
	return nil
}

// templates reads a template set and keeps its templates, within the bounds.
func (d *Decoder) templates(b []byte, src sourceKey, options bool) error {
	for len(b) >= 4 {
		id := binary.BigEndian.Uint16(b)
		count := int(binary.BigEndian.Uint16(b[2:]))
		b = b[4:]
		switch {
		case options && src.v9:
			// NetFlow v9: scope and option lengths in bytes, 4 per field.
			if len(b) < 2 {
				return malformed("options template %d cut short", id)
			}
			count = (count + int(binary.BigEndian.Uint16(b))) / 4
			b = b[2:]
		case options:
			if count == 0 {
				break // a withdrawal has no scope count
			}
			if len(b) < 2 {
				return malformed("options template %d cut short", id)
			}
			b = b[2:] // the scope field count: scope fields are read as the others
		}
		if id < minDataSetID || count > maxFields {
			return malformed("template %d with %d fields", id, count)
		}
		fs := make([]field, 0, count)
		for range count {
			if len(b) < 4 {
				return malformed("template %d cut short", id)
			}
			f := field{id: binary.BigEndian.Uint16(b), length: binary.BigEndian.Uint16(b[2:])}
			b = b[4:]
			if !src.v9 && f.id&0x8000 != 0 {
				if len(b) < 4 {
					return malformed("template %d cut short", id)
				}
				f.id &^= 0x8000
				f.pen = binary.BigEndian.Uint32(b)
				b = b[4:]
			}
			if src.v9 && f.length == varLen {
				return malformed("NetFlow v9 template %d with a variable-length field", id)
			}
			fs = append(fs, f)
		}
		d.keep(src, id, tmpl{fields: fs, options: options})
	}
	return nil // what is left is padding
}

// options reads an options data set for what flows need of it: the exporter's
// systemInitTimeMilliseconds.
func (d *Decoder) options(b []byte, fs []field, src sourceKey) {
	n := 0
	for _, f := range fs {
		if f.length == varLen {
			return // not among the options read here
		}
		n += int(f.length)
	}
	if n == 0 {
		return
	}
	for ; len(b) >= n; b = b[n:] {
		off := 0
		for _, f := range fs {
			if f.id == ieSystemInitTimeMilliseconds && f.pen == 0 && !src.v9 {
				d.initMs[src] = uintOf(b[off : off+int(f.length)])
			}
			off += int(f.length)
		}
	}
}

// keep stores a template unless a bound forbids it. A count of zero (a
// template withdrawal) removes it.
func (d *Decoder) keep(src sourceKey, id uint16, tp tmpl) {
	ts, ok := d.sources[src]
	if !ok {
		if len(d.sources) >= MaxSources {
			d.stats.TemplatesRefused++
			return
		}
		ts = map[uint16]tmpl{}
		d.sources[src] = ts
	}
	if len(tp.fields) == 0 {
		delete(ts, id)
		return
	}
	if _, known := ts[id]; !known && len(ts) >= MaxTemplatesPerSource {
		d.stats.TemplatesRefused++
		return
	}
	ts[id] = tp
}

// data reads the records of a data set.
func (d *Decoder) data(b []byte, fs []field, src sourceKey, h header, fn func(*Flow)) error {
	minLen := 0
	for _, f := range fs {
		if f.length == varLen {
			minLen++
		} else {
			minLen += int(f.length)
		}
	}
	if minLen == 0 {
		return malformed("a template of empty fields")
	}
	for len(b) >= minLen {
		var r record
		for _, f := range fs {
			n := int(f.length)
			if f.length == varLen {
				if len(b) < 1 {
					return malformed("record cut short")
				}
				n, b = int(b[0]), b[1:]
				if n == 255 {
					if len(b) < 2 {
						return malformed("record cut short")
					}
					n, b = int(binary.BigEndian.Uint16(b)), b[2:]
				}
			}
			if len(b) < n {
				return malformed("record cut short")
			}
			r.set(f, b[:n], d.pen)
			b = b[n:]
		}
		if init, ok := d.initMs[src]; ok && !h.hasUp {
			h.init, h.hasInit = init, true
		}
		fl := r.flow(h)
		fl.Exporter, fl.Domain = src.exporter, src.domain
		d.stats.Flows++
		fn(&fl)
	}
	return nil // what is left is padding
}

// record gathers one data record's elements.
type record struct {
	f                                  Flow
	start, end                         stamp
	icmpTypeCode                       uint16
	hasICMP                            bool
	postOctets, postPackets            uint64
	totalOctets, totalPackets          uint64
	hasPost, hasDeltaOctets, hasTotals bool
}

// stamp is one of a record's two times, from whichever elements carried it.
type stamp struct {
	ms, sec              uint64
	up                   uint32 // sysUpTime, ms
	hasMs, hasSec, hasUp bool
}

// at returns the stamp's time; zero when the record had none that h can place.
func (s *stamp) at(h header) time.Time {
	switch {
	case s.hasMs:
		return time.UnixMilli(int64(s.ms))
	case s.hasSec:
		return time.Unix(int64(s.sec), 0)
	case s.hasUp && h.hasUp:
		return upTime(h.base, h.uptime, s.up)
	case s.hasUp && h.hasInit:
		return time.UnixMilli(int64(h.init + uint64(s.up)))
	}
	return time.Time{}
}

// uintOf reads a big-endian unsigned value of 1 to 8 bytes (reduced-size
// encoding, RFC 7011 §6.2).
func uintOf(b []byte) uint64 {
	var v uint64
	for _, c := range b[:min(len(b), 8)] {
		v = v<<8 | uint64(c)
	}
	return v
}

func (r *record) set(f field, b []byte, pen uint32) {
	switch f.pen {
	case 0:
	case ReversePEN:
		r.f.Biflow = true
		switch f.id {
		case iePacketDeltaCount, iePacketTotalCount:
			r.f.RevPackets = uintOf(b)
		case ieOctetDeltaCount, ieOctetTotalCount:
			r.f.RevOctets = uintOf(b)
		case ieTCPControlBits:
			r.f.RevTCPFlags = uint8(uintOf(b))
		}
		return
	case pen:
		switch f.id {
		case ieFlowtopUID:
			r.f.UID = string(b)
		case ieFlowtopConnState:
			r.f.ConnState = string(b)
		case ieFlowtopHistory:
			r.f.History = string(b)
		case ieFlowtopService:
			r.f.Service = string(b)
		}
		return
	default:
		return
	}
	switch f.id {
	case ieSourceIPv4Address, ieSourceIPv6Address:
		if a, ok := netip.AddrFromSlice(b); ok {
			r.f.Src = a
		}
	case ieDestinationIPv4Address, ieDestinationIPv6Address:
		if a, ok := netip.AddrFromSlice(b); ok {
			r.f.Dst = a
		}
	case ieSourceTransportPort:
		r.f.SrcPort = uint16(uintOf(b))
	case ieDestinationTransportPort:
		r.f.DstPort = uint16(uintOf(b))
	case ieProtocolIdentifier:
		r.f.Proto = uint8(uintOf(b))
	case ieTCPControlBits:
		r.f.TCPFlags = uint8(uintOf(b))
	case iePacketDeltaCount:
		r.f.Packets = uintOf(b)
	case ieOctetDeltaCount:
		r.f.Octets, r.hasDeltaOctets = uintOf(b), true
	case iePacketTotalCount:
		r.totalPackets, r.hasTotals = uintOf(b), true
	case ieOctetTotalCount:
		r.totalOctets, r.hasTotals = uintOf(b), true
	case iePostOctetDeltaCount:
		r.postOctets, r.hasPost = uintOf(b), true
	case iePostPacketDeltaCount:
		r.postPackets, r.hasPost = uintOf(b), true
	case ieFlowEndReason:
		r.f.EndReason = EndReason(uintOf(b))
	case ieFlowStartMilliseconds:
		r.start.ms, r.start.hasMs = uintOf(b), true
	case ieFlowEndMilliseconds:
		r.end.ms, r.end.hasMs = uintOf(b), true
	case ieFlowStartSeconds:
		r.start.sec, r.start.hasSec = uintOf(b), true
	case ieFlowEndSeconds:
		r.end.sec, r.end.hasSec = uintOf(b), true
	case ieFlowStartSysUpTime:
		r.start.up, r.start.hasUp = uint32(uintOf(b)), true
	case ieFlowEndSysUpTime:
		r.end.up, r.end.hasUp = uint32(uintOf(b)), true
	case ieICMPTypeCodeIPv4, ieICMPTypeCodeIPv6:
		r.icmpTypeCode, r.hasICMP = uint16(uintOf(b)), true
	}
}

// flow completes the record's flow: times from whichever elements it had, ICMP
// type and code, totals where deltas are absent.
func (r *record) flow(h header) Flow {
	f := r.f
	f.Start, f.End = r.start.at(h), r.end.at(h)
	if f.Start.IsZero() {
		f.Start = h.base
	}
	if f.End.IsZero() {
		f.End = f.Start
	}
	if r.hasTotals && !r.hasDeltaOctets {
		f.Octets, f.Packets = r.totalOctets, max(f.Packets, r.totalPackets)
	}
	if r.hasPost && f.RevOctets == 0 && f.RevPackets == 0 {
		// NetFlow v9 OUT_BYTES and OUT_PKTS: the reverse direction of a
		// bidirectional record, as exporters that send them mean them.
		f.RevOctets, f.RevPackets = r.postOctets, r.postPackets
	}
	if r.hasICMP && r.icmpTypeCode != 0 && (f.Proto == 1 || f.Proto == 58) {
		f.SrcPort, f.DstPort = r.icmpTypeCode>>8, r.icmpTypeCode&0xff
	} else {
		icmpPorts(&f)
	}
	return f
}

// icmpPorts turns the NetFlow convention for ICMP (source port 0, the type and
// code in the destination port's two bytes, as softflowd, nfdump and routers
// write them) into conn.log's: the type as source port, the code as
// destination port.
func icmpPorts(f *Flow) {
	if (f.Proto == 1 || f.Proto == 58) && f.SrcPort == 0 {
		f.SrcPort, f.DstPort = f.DstPort>>8, f.DstPort&0xff
	}
}
