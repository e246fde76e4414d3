package analyzer

import "encoding/binary"

// SMB (SMB1 and SMB2/3 over NetBIOS session framing) on 139 and 445/tcp. As in
// Zeek (service-detection.md §8 row smb), parsing starts, and restarts after an
// error or a gap, only at a chunk with \xffSMB or \xfeSMB at offsets 4-7, so
// NetBIOS session setup before it is skipped; the analyzer confirms when the 3rd
// chunk has been parsed without error, and a parse error is a violation. The
// security blobs of negotiate responses and session setups go to ntlm when they
// start with NTLMSSP and to gssapi otherwise (§5.3).
//
// Not done: SMB pipe traffic (DCE-RPC over named pipes, which gives dce_rpc in
// Zeek) is not followed.
func init() {
	register(&Analyzer{Name: "smb", Transport: TCP, Ports: []uint16{139, 445}, New: func() Parser { return new(smbParser) }},
		&Rule{Name: "smb", Transport: TCP, Pattern: `^....[\xfe\xff]SMB`, Match: smbMatch, Enables: "smb"})
}

var smbMarker = bytesOf(0xfe, 0xff)

// smbMatch is the smb signature: an SMB header after a 4-byte NetBIOS header.
func smbMatch(b []byte) Result {
	return seq(b, smbSig...)
}

// smbHasHeader reports whether a chunk can (re)start parsing: it has \xffSMB or
// \xfeSMB at offsets 4-7.
func smbHasHeader(b []byte) bool {
	return len(b) >= 8 && (b[4] == 0xff || b[4] == 0xfe) && string(b[5:8]) == "SMB"
}

// smbMaxFrame bounds the bytes kept of one NetBIOS frame; of a larger one (reads
// and writes) only the start is parsed.
const smbMaxFrame = 16 << 10

// NT status codes the parser looks at.
const (
	smbStatusOK             = 0
	smbMoreProcessingNeeded = 0xc0000016
)

// smbParser is the smb analyzer.
type smbParser struct {
	synced   bool // parsing has started at a chunk with an SMB header
	chunks   int  // chunks parsed without error
	dir      [2]pduStream
	gss      *Child
	ntlm     *Child
	haveGSS  bool
	haveNTLM bool
}

// nbssLen is the size of a NetBIOS session frame: type, 24-bit length, data.
func nbssLen(b []byte) (uint64, berStatus) {
	if len(b) < 4 {
		return 0, berShort
	}
	return 4 + (uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])), berOK
}

// Data parses one chunk, when parsing has started or this chunk starts it.
func (p *smbParser) Data(c *Ctx, isOrig bool, data []byte) {
	if !p.synced {
		if !smbHasHeader(data) {
			return
		}
		p.synced = true
	}
	if !p.chunk(c, isOrig, data) {
		c.Violation()
		p.resync()
		return
	}
	p.chunks++
	if p.chunks == 3 {
		c.Confirm()
	}
}

// resync drops both directions' partial frames and waits for an SMB header.
func (p *smbParser) resync() {
	p.dir[0].reset()
	p.dir[1].reset()
	p.synced = false
}

// Gap makes the parser resynchronise (no violation).
func (p *smbParser) Gap(c *Ctx, isOrig bool, n uint64) { p.resync() }

// End does nothing.
func (p *smbParser) End(c *Ctx, isOrig bool) {}

// chunk parses the frames a chunk completes; false on a parse error.
func (p *smbParser) chunk(c *Ctx, isOrig bool, data []byte) bool {
	st := &p.dir[dirIndex(isOrig)]
	for {
		f, kind := st.next(&data, smbMaxFrame, nbssLen)
		switch kind {
		case pduNone:
			return true
		case pduWhole, pduHead:
			if !p.frame(c, isOrig, f, kind == pduHead) {
				return false
			}
		}
	}
}

// frame parses one NetBIOS frame (trunc: only its first smbMaxFrame bytes).
// Frames other than session messages are skipped, as is a session message of
// another protocol (an SMB3 transform header, for one).
func (p *smbParser) frame(c *Ctx, isOrig bool, f []byte, trunc bool) bool {
	if f[0] != 0 {
		return true
	}
	m := f[4:]
	if len(m) < 4 {
		return false
	}
	switch string(m[:4]) {
	case "\xffSMB":
		return p.smb1(c, isOrig, m, trunc)
	case "\xfeSMB":
		return p.smb2(c, isOrig, m, trunc)
	}
	return true
}

// blob checks that the security blob of length n at offset off, which must not
// start before min, lies within the message m, and passes it on. A blob past the
// end of a truncated frame is not checked.
func (p *smbParser) blob(c *Ctx, isOrig bool, m []byte, off, n, min int, trunc bool) bool {
	if n == 0 {
		return true
	}
	if off < min {
		return false
	}
	if off+n > len(m) {
		return trunc
	}
	b := m[off : off+n]
	if isNTLMSSP(b) {
		if !p.haveNTLM {
			p.haveNTLM = true
			p.ntlm = c.Child("ntlm")
		}
		p.ntlm.Data(isOrig, b)
		return true
	}
	if !p.haveGSS {
		p.haveGSS = true
		p.gss = c.Child("gssapi")
	}
	p.gss.Data(isOrig, b)
	return true
}

// smb2 parses an SMB2 message: the 64-byte header and, for NEGOTIATE responses
// and SESSION_SETUP requests and responses, the security buffer.
func (p *smbParser) smb2(c *Ctx, isOrig bool, m []byte, trunc bool) bool {
	if len(m) < 64 {
		return false
	}
	le := binary.LittleEndian
	status := le.Uint32(m[8:])
	cmd := le.Uint16(m[12:])
	resp := le.Uint32(m[16:])&1 != 0
	body := len(m) - 64
	switch {
	case cmd == 0 && resp && status == smbStatusOK:
		// NEGOTIATE response: 64 fixed bytes, SecurityBufferOffset/Length at 56.
		if body < 64 {
			return trunc
		}
		return p.blob(c, isOrig, m, int(le.Uint16(m[64+56:])), int(le.Uint16(m[64+58:])), 128, trunc)
	case cmd == 1 && !resp:
		// SESSION_SETUP request: 24 fixed bytes, the buffer's offset/length at 12.
		if body < 24 {
			return trunc
		}
		return p.blob(c, isOrig, m, int(le.Uint16(m[64+12:])), int(le.Uint16(m[64+14:])), 88, trunc)
	case cmd == 1 && resp && (status == smbStatusOK || status == smbMoreProcessingNeeded):
		// SESSION_SETUP response: 8 fixed bytes, the buffer's offset/length at 4.
		if body < 8 {
			return trunc
		}
		return p.blob(c, isOrig, m, int(le.Uint16(m[64+4:])), int(le.Uint16(m[64+6:])), 72, trunc)
	}
	return true
}

// smb1 parses an SMB1 message: the 32-byte header and its parameter block, and
// for a NEGOTIATE response with extended security and SESSION_SETUP_ANDX with a
// security blob, the blob.
func (p *smbParser) smb1(c *Ctx, isOrig bool, m []byte, trunc bool) bool {
	if len(m) < 33 {
		return false
	}
	le := binary.LittleEndian
	cmd := m[4]
	status := le.Uint32(m[5:])
	reply := m[9]&0x80 != 0
	wc := int(m[32])
	words := m[33:]
	if len(words) < 2*wc+2 {
		return trunc
	}
	bc := int(le.Uint16(words[2*wc:]))
	bytesAt := 33 + 2*wc + 2 // where the data block starts in m
	switch {
	case cmd == 0x72 && reply && wc == 17:
		// NT LM 0.12 NEGOTIATE response; capabilities at word offset 19.
		if le.Uint32(words[19:])&0x80000000 == 0 || bc <= 16 {
			return true
		}
		return p.blob(c, isOrig, m, bytesAt+16, bc-16, bytesAt+16, trunc)
	case cmd == 0x73 && !reply && wc == 12:
		// SESSION_SETUP_ANDX request with extended security: blob length at 14.
		n := int(le.Uint16(words[14:]))
		if n > bc {
			return false
		}
		return p.blob(c, isOrig, m, bytesAt, n, bytesAt, trunc)
	case cmd == 0x73 && reply && wc == 4 && (status == smbStatusOK || status == smbMoreProcessingNeeded):
		// SESSION_SETUP_ANDX response with extended security: blob length at 6.
		n := int(le.Uint16(words[6:]))
		if n > bc {
			return false
		}
		return p.blob(c, isOrig, m, bytesAt, n, bytesAt, trunc)
	}
	return true
}

// smbSig is the smb signature's classes, byte by byte.
var smbSig = []class{anyByte, anyByte, anyByte, anyByte, smbMarker, bytesOf('S'), bytesOf('M'), bytesOf('B')}
