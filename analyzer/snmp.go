package analyzer

// SNMP (service-detection.md §8): registered on 161/udp and 162/udp, no signature.
// Each datagram is one message: a SEQUENCE holding the version (INTEGER), then for
// v1 and v2c the community (OCTET STRING) and a PDU, for v3 the header data
// (SEQUENCE of msgID, msgMaxSize, msgFlags, msgSecurityModel), the security
// parameters (OCTET STRING) and the scoped PDU, in clear or encrypted. A message
// from the responder whose header (through the community or the v3 header data)
// parses confirms; traps, sent by the originator to 162, never do. A wrong tag, a
// field that overruns the datagram or bad v3 flags (not one byte, or privacy
// without authentication) is a violation, from either side.
//
// As Zeek's grammar does, the reader takes the TLVs one after the other and
// trusts only the lengths of primitive values: the lengths of SEQUENCEs and PDUs
// are not checked. It is its own small BER reader, bounded by the datagram.

// init registers SNMP on its ports (§8); it has no signature (§7).
func init() {
	register(&Analyzer{
		Name:      "snmp",
		Transport: UDP,
		Ports:     []uint16{161, 162},
		New:       func() Parser { return snmpParser{} },
	})
}

// BER tags of SNMP messages.
const (
	snmpInteger   = 0x02
	snmpOctets    = 0x04
	snmpOID       = 0x06
	snmpSequence  = 0x30
	snmpIPAddress = 0x40
	snmpTimeTicks = 0x43
	snmpTrapV1    = 0xa4 // the v1 Trap-PDU, whose fields differ from the others'
)

// snmpParser parses SNMP datagrams; it keeps no state.
type snmpParser struct{}

// Data parses one datagram.
func (snmpParser) Data(c *Ctx, isOrig bool, data []byte) {
	header, ok := snmpMessage(data)
	if header && !isOrig {
		c.Confirm()
	}
	if !ok {
		c.Violation()
	}
}

// Gap cannot happen on UDP.
func (snmpParser) Gap(c *Ctx, isOrig bool, n uint64) {}

// End cannot happen on UDP.
func (snmpParser) End(c *Ctx, isOrig bool) {}

// snmpMessage parses a message: header says its header parsed, ok that nothing
// was wrong. A version other than 1, 2c and 3 is neither.
func snmpMessage(data []byte) (header, ok bool) {
	r := snmpReader{b: data}
	r.open(snmpSequence)
	version, known := r.integer()
	if r.bad {
		return false, false
	}
	switch {
	case known && (version == 0 || version == 1):
		r.value(snmpOctets) // community
		if r.bad {
			return false, false
		}
		r.pdu()
		return true, !r.bad
	case known && version == 3:
		r.open(snmpSequence) // msgGlobalData
		r.integer()          // msgID
		r.integer()          // msgMaxSize
		flags := r.value(snmpOctets)
		if !r.bad && (len(flags) != 1 || flags[0]&0x03 == 0x02) {
			r.bad = true // privacy without authentication, or not one byte
		}
		r.integer() // msgSecurityModel
		if r.bad {
			return false, false
		}
		r.value(snmpOctets) // msgSecurityParameters
		if flags[0]&0x02 != 0 {
			r.value(snmpOctets) // the encrypted scoped PDU
		} else {
			r.open(snmpSequence)
			r.value(snmpOctets) // contextEngineID
			r.value(snmpOctets) // contextName
			r.pdu()
		}
		return true, !r.bad
	}
	return false, true
}

// snmpReader reads BER TLVs from a datagram; bad records a wrong tag or an overrun,
// after which nothing more is read.
type snmpReader struct {
	b   []byte
	bad bool
}

// header reads a tag and a length (short or long form, at most 8 length bytes;
// the indefinite form reads as 0).
func (r *snmpReader) header() (tag byte, n int) {
	if r.bad || len(r.b) < 2 {
		r.bad = true
		return 0, 0
	}
	tag, l := r.b[0], r.b[1]
	r.b = r.b[2:]
	if l < 0x80 {
		return tag, int(l)
	}
	k := int(l & 0x7f)
	if k > 8 || k > len(r.b) {
		r.bad = true
		return 0, 0
	}
	var v uint64
	for _, x := range r.b[:k] {
		v = v<<8 | uint64(x)
	}
	r.b = r.b[k:]
	if v > uint64(len(r.b)) {
		// No value can be that long: it would overrun the datagram.
		v = uint64(len(r.b)) + 1
	}
	return tag, int(v)
}

// open reads the header of a constructed value of the tag; its contents follow.
func (r *snmpReader) open(tag byte) int {
	t, n := r.header()
	if t != tag {
		r.bad = true
	}
	return n
}

// value reads a primitive value of the tag and returns its contents.
func (r *snmpReader) value(tag byte) []byte {
	t, n := r.header()
	if t != tag || n > len(r.b) {
		r.bad = true
	}
	if r.bad {
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

// integer reads an INTEGER; known is false when it is longer than 8 bytes.
func (r *snmpReader) integer() (v int64, known bool) {
	b := r.value(snmpInteger)
	if r.bad || len(b) > 8 {
		return 0, false
	}
	for i, x := range b {
		if i == 0 && x&0x80 != 0 {
			v = -1
		}
		v = v<<8 | int64(x)
	}
	return v, true
}

// any reads a value of any tag (a variable binding's value), skipping its contents
// even when it is constructed.
func (r *snmpReader) any() {
	_, n := r.header()
	if !r.bad && n > len(r.b) {
		r.bad = true
	}
	if !r.bad {
		r.b = r.b[n:]
	}
}

// pdu reads a PDU and its variable bindings. A PDU tag SNMP does not define is not
// an error: that message is left unparsed.
func (r *snmpReader) pdu() {
	tag, _ := r.header()
	switch {
	case r.bad:
		return
	case tag == snmpTrapV1:
		r.value(snmpOID)       // enterprise
		r.value(snmpIPAddress) // agent address
		r.integer()            // generic trap
		r.integer()            // specific trap
		r.value(snmpTimeTicks) // time stamp
	case tag >= 0xa0 && tag <= 0xa8:
		r.integer() // request id
		r.integer() // error status, or non-repeaters
		r.integer() // error index, or max-repetitions
	default:
		return
	}
	n := r.open(snmpSequence)
	if r.bad {
		return
	}
	// The bindings end with their SEQUENCE (or with the datagram, if it says more).
	list := snmpReader{b: r.b[:min(n, len(r.b))]}
	for len(list.b) > 0 && !list.bad {
		list.open(snmpSequence)
		list.value(snmpOID)
		list.any()
	}
	r.bad = list.bad
}
