package analyzer

import "encoding/binary"

// NTLM (MS-NLMP) is a helper analyzer: SMB, GSSAPI, LDAP and DCE-RPC hand it
// NTLMSSP blobs (service-detection.md §5.3). It confirms on every blob that parses
// (§8 row ntlm); its violations are ignored by DPD::ignore_violations, which Ctx
// applies.
func init() {
	register(&Analyzer{Name: "ntlm", New: func() Parser { return new(ntlmParser) }})
}

// ntlmParser parses each delivery as one NTLMSSP message.
type ntlmParser struct{}

// Data parses one blob.
func (p *ntlmParser) Data(c *Ctx, isOrig bool, data []byte) {
	if ntlmValid(data) {
		c.Confirm()
	} else {
		c.Violation()
	}
}

// Gap does nothing: every blob is delivered whole.
func (p *ntlmParser) Gap(c *Ctx, isOrig bool, n uint64) {}

// End does nothing.
func (p *ntlmParser) End(c *Ctx, isOrig bool) {}

// NTLM negotiate flags that say which fields a message carries.
const (
	ntlmRequestTarget    = 0x00000004
	ntlmDomainSupplied   = 0x00001000
	ntlmWorkstationGiven = 0x00002000
	ntlmTargetInfo       = 0x00800000
)

// ntlmValid reports whether b is an NTLMSSP NEGOTIATE, CHALLENGE or AUTHENTICATE
// message whose fixed part is complete and whose payload fields lie inside the
// message, after the fixed part. Which fields are checked follows Zeek's NTLM
// grammar: the domain and workstation of a NEGOTIATE only when its flags say they
// are supplied, the target name and info of a CHALLENGE when flagged, the fields of
// an AUTHENTICATE when not empty. Other message types neither confirm nor violate
// there; here they are not NTLM either.
func ntlmValid(b []byte) bool {
	if len(b) < 12 || string(b[:8]) != "NTLMSSP\x00" {
		return false
	}
	// field checks the 8-byte security buffer (length, max length, offset) at off
	// against a payload that starts at base.
	field := func(off, base int) bool {
		n := int(binary.LittleEndian.Uint16(b[off:]))
		o := binary.LittleEndian.Uint32(b[off+4:])
		return uint64(o) >= uint64(base) && uint64(o)+uint64(n) <= uint64(len(b))
	}
	switch binary.LittleEndian.Uint32(b[8:]) {
	case 1:
		if len(b) < 32 {
			return false
		}
		flags := binary.LittleEndian.Uint32(b[12:])
		if flags&ntlmDomainSupplied != 0 && !field(16, 32) {
			return false
		}
		if flags&ntlmWorkstationGiven != 0 && !field(24, 32) {
			return false
		}
		return true
	case 2:
		if len(b) < 48 {
			return false
		}
		flags := binary.LittleEndian.Uint32(b[20:])
		if flags&ntlmRequestTarget != 0 && !field(12, 48) {
			return false
		}
		if flags&ntlmTargetInfo != 0 {
			if !field(40, 48) {
				return false
			}
			o := int(binary.LittleEndian.Uint32(b[44:]))
			return ntlmAVPairs(b[o:])
		}
		return true
	case 3:
		if len(b) < 64 {
			return false
		}
		for off := 12; off <= 52; off += 8 {
			if binary.LittleEndian.Uint16(b[off:]) > 0 && !field(off, 64) {
				return false
			}
		}
		return true
	}
	return false
}

// ntlmAVPairs reports whether b starts with a list of AV pairs of known ids
// (MsvAvEOL through MsvAvChannelBindings), ended by MsvAvEOL.
func ntlmAVPairs(b []byte) bool {
	for len(b) >= 4 {
		id := binary.LittleEndian.Uint16(b)
		n := int(binary.LittleEndian.Uint16(b[2:]))
		if id == 0 {
			return true
		}
		if id > 10 || 4+n > len(b) {
			return false
		}
		b = b[4+n:]
	}
	return false
}
