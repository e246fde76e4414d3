package ipfix

import (
	"encoding/binary"
	"errors"
	"time"
)

// IPFIX message and set constants (RFC 7011 §3).
const (
	version10      = 10
	headerLen      = 16
	setHeaderLen   = 4
	setTemplate    = 2
	setOptionsTmpl = 3
	minDataSetID   = 256
	maxMessageLen  = 65535
)

// EncoderConfig says how an Encoder writes its messages.
type EncoderConfig struct {
	// Domain is the observation domain ID of every message.
	Domain uint32
	// PEN is the enterprise number of flowtop's elements; 0 is DefaultPEN.
	PEN uint32
	// Uniflow writes two records per connection, one each way, for collectors
	// that cannot read RFC 5103's reverse elements; by default one biflow record.
	Uniflow bool
	// MaxMessage bounds a message's length in bytes: 1400 keeps a UDP datagram
	// within an Ethernet MTU; 0 is 1400.
	MaxMessage int
}

// Encoder turns flows into IPFIX messages. It keeps the sequence number (the
// data records sent before each message, RFC 7011 §3.1). It is not safe for
// concurrent use.
type Encoder struct {
	cfg   EncoderConfig
	seq   uint32
	msg   []byte
	set   int // offset of the open set's header in msg; -1 none
	setID uint16
	nrec  uint32 // data records in msg
}

// NewEncoder returns an Encoder.
func NewEncoder(cfg EncoderConfig) *Encoder {
	if cfg.PEN == 0 {
		cfg.PEN = DefaultPEN
	}
	if cfg.MaxMessage <= 0 {
		cfg.MaxMessage = 1400
	}
	cfg.MaxMessage = min(max(cfg.MaxMessage, 512), maxMessageLen)
	return &Encoder{cfg: cfg, set: -1}
}

// Sequence returns the number of data records encoded so far, mod 2^32.
func (e *Encoder) Sequence() uint32 { return e.seq }

// templateIDs are the templates a message announces.
func (e *Encoder) templateIDs() []uint16 {
	if e.cfg.Uniflow {
		return []uint16{TemplateUniflow4, TemplateUniflow6}
	}
	return []uint16{TemplateBiflow4, TemplateBiflow6}
}

// Templates returns a message holding only the template set, for a collector
// that must learn the templates before data (TCP at connect, UDP periodically).
func (e *Encoder) Templates(now time.Time) []byte {
	e.begin(now)
	e.appendTemplates()
	return append([]byte(nil), e.finish()...)
}

// ErrTooLong says a flow's record does not fit in a message.
var ErrTooLong = errors.New("ipfix: record longer than a message")

// Encode appends the flows' records to messages of at most MaxMessage bytes,
// the first one led by the template set when withTemplates is set, and calls
// emit with each message (valid only during the call). A flow whose record
// cannot fit in any message is skipped and reported as ErrTooLong after the
// others are encoded.
func (e *Encoder) Encode(flows []Flow, now time.Time, withTemplates bool, emit func([]byte) error) error {
	var tooLong error
	e.begin(now)
	if withTemplates {
		e.appendTemplates()
	}
	for i := range flows {
		recs := [2]Flow{flows[i]}
		n := 1
		if e.cfg.Uniflow {
			// The reverse direction's record, when it saw anything.
			if recs[0].RevPackets > 0 || recs[0].RevOctets > 0 {
				recs[1] = recs[0].Reverse()
				n = 2
			}
		}
		for _, f := range recs[:n] {
			id := e.templateFor(&f)
			start, set, setID, nrec := len(e.msg), e.set, e.setID, e.nrec
			e.appendRecord(id, &f)
			if len(e.msg) <= e.cfg.MaxMessage {
				continue
			}
			// It does not fit: end this message before the record and start anew.
			e.msg, e.set, e.setID, e.nrec = e.msg[:start], set, setID, nrec
			if len(e.msg) > headerLen {
				if err := emit(e.finish()); err != nil {
					return err
				}
			}
			e.begin(now)
			e.appendRecord(id, &f)
			if len(e.msg) > e.cfg.MaxMessage {
				e.msg, e.set, e.nrec = e.msg[:headerLen], -1, 0
				tooLong = ErrTooLong
			}
		}
	}
	if e.nrec > 0 || len(e.msg) > headerLen {
		if err := emit(e.finish()); err != nil {
			return err
		}
	}
	return tooLong
}

func (e *Encoder) templateFor(f *Flow) uint16 {
	v6 := !f.Src.Unmap().Is4() || !f.Dst.Unmap().Is4()
	switch {
	case e.cfg.Uniflow && v6:
		return TemplateUniflow6
	case e.cfg.Uniflow:
		return TemplateUniflow4
	case v6:
		return TemplateBiflow6
	}
	return TemplateBiflow4
}

// begin starts a message: the header, its length and sequence set by finish.
func (e *Encoder) begin(now time.Time) {
	e.msg = append(e.msg[:0], make([]byte, headerLen)...)
	binary.BigEndian.PutUint16(e.msg[0:], version10)
	binary.BigEndian.PutUint32(e.msg[4:], uint32(now.Unix()))
	binary.BigEndian.PutUint32(e.msg[8:], e.seq)
	binary.BigEndian.PutUint32(e.msg[12:], e.cfg.Domain)
	e.set, e.nrec = -1, 0
}

// finish closes the open set, sets the message length and advances the
// sequence number by the message's data records.
func (e *Encoder) finish() []byte {
	e.closeSet()
	binary.BigEndian.PutUint16(e.msg[2:], uint16(len(e.msg)))
	e.seq += e.nrec
	return e.msg
}

func (e *Encoder) openSet(id uint16) {
	if e.set >= 0 && e.setID == id {
		return
	}
	e.closeSet()
	e.set, e.setID = len(e.msg), id
	e.msg = binary.BigEndian.AppendUint16(e.msg, id)
	e.msg = append(e.msg, 0, 0)
}

func (e *Encoder) closeSet() {
	if e.set < 0 {
		return
	}
	binary.BigEndian.PutUint16(e.msg[e.set+2:], uint16(len(e.msg)-e.set))
	e.set = -1
}

func (e *Encoder) appendTemplates() {
	e.openSet(setTemplate)
	for _, id := range e.templateIDs() {
		fs := template(id, e.cfg.PEN)
		e.msg = binary.BigEndian.AppendUint16(e.msg, id)
		e.msg = binary.BigEndian.AppendUint16(e.msg, uint16(len(fs)))
		for _, f := range fs {
			if f.pen != 0 {
				e.msg = binary.BigEndian.AppendUint16(e.msg, f.id|0x8000)
				e.msg = binary.BigEndian.AppendUint16(e.msg, f.length)
				e.msg = binary.BigEndian.AppendUint32(e.msg, f.pen)
				continue
			}
			e.msg = binary.BigEndian.AppendUint16(e.msg, f.id)
			e.msg = binary.BigEndian.AppendUint16(e.msg, f.length)
		}
	}
	e.closeSet()
}

// appendRecord appends f as a data record of template id, in the order template
// lists its fields.
func (e *Encoder) appendRecord(id uint16, f *Flow) {
	e.openSet(id)
	b := e.msg
	if id == TemplateBiflow6 || id == TemplateUniflow6 {
		s, d := f.Src.As16(), f.Dst.As16()
		b = append(append(b, s[:]...), d[:]...)
	} else {
		s, d := f.Src.Unmap().As4(), f.Dst.Unmap().As4()
		b = append(append(b, s[:]...), d[:]...)
	}
	if f.Proto == 1 || f.Proto == 58 {
		// ICMP as NetFlow and nfdump carry it: source port 0, the type and code
		// in the destination port, and in icmpTypeCode.
		tc := f.SrcPort<<8 | f.DstPort&0xff
		b = binary.BigEndian.AppendUint16(b, 0)
		b = binary.BigEndian.AppendUint16(b, tc)
		b = append(b, f.Proto)
		b = binary.BigEndian.AppendUint16(b, uint16(f.TCPFlags))
		b = binary.BigEndian.AppendUint16(b, tc)
	} else {
		b = binary.BigEndian.AppendUint16(b, f.SrcPort)
		b = binary.BigEndian.AppendUint16(b, f.DstPort)
		b = append(b, f.Proto)
		b = binary.BigEndian.AppendUint16(b, uint16(f.TCPFlags))
		b = binary.BigEndian.AppendUint16(b, 0)
	}
	b = append(b, byte(f.EndReason))
	b = binary.BigEndian.AppendUint64(b, uint64(f.Start.UnixMilli()))
	b = binary.BigEndian.AppendUint64(b, uint64(f.End.UnixMilli()))
	b = binary.BigEndian.AppendUint64(b, f.Packets)
	b = binary.BigEndian.AppendUint64(b, f.Octets)
	if id == TemplateBiflow4 || id == TemplateBiflow6 {
		b = binary.BigEndian.AppendUint64(b, f.RevPackets)
		b = binary.BigEndian.AppendUint64(b, f.RevOctets)
		b = binary.BigEndian.AppendUint16(b, uint16(f.RevTCPFlags))
	}
	for _, s := range [...]string{f.UID, f.ConnState, f.History, f.Service} {
		b = appendVarString(b, s)
	}
	e.msg = b
	e.nrec++
}

// appendVarString appends s as a variable-length field (RFC 7011 §7): one
// length byte below 255, else 255 and two length bytes.
func appendVarString(b []byte, s string) []byte {
	if len(s) > 0xfff0 {
		s = s[:0xfff0]
	}
	if len(s) < 255 {
		b = append(b, byte(len(s)))
	} else {
		b = append(b, 255)
		b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	}
	return append(b, s...)
}
