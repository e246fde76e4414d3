package analyzer

// The dtls analyzer: TLS over UDP (service-detection.md §8 row dtls; signature
// dtls-c of §7). Each datagram holds one or more records with 13-byte headers; the
// handshake messages of epoch 0 are in the clear, each with a 12-byte header that
// places its fragment in the message. A ClientHello that parses with an acceptable
// version confirms and names the connection, as for ssl. A record of an unknown
// version or that runs past the datagram, and a fragment that runs past its record
// or its message, are violations.

import "encoding/binary"

// init registers dtls on 443/udp with the DTLS ClientHello signature.
func init() {
	register(&Analyzer{
		Name:      "dtls",
		Transport: UDP,
		Ports:     []uint16{443},
		New:       func() Parser { return new(dtlsParser) },
	},
		&Rule{Name: "dtls-c", Transport: UDP, Dir: Any, Enables: "dtls",
			Pattern: `^\x16\xfe[\xff\xfd]\x00{7}...\x01.{11}\xfe[\xff\xfd]`, Match: matchDTLSClient},
	)
}

// dtlsSig is dtls-c byte by byte: a handshake record of DTLS 1.0 or 1.2 in epoch 0
// with a small sequence number, holding a ClientHello of DTLS 1.0 or 1.2.
var dtlsSig = func() []class {
	v := bytesOf(0xff, 0xfd)
	z := bytesOf(0)
	cs := []class{bytesOf(0x16), bytesOf(0xfe), v, z, z, z, z, z, z, z, anyByte, anyByte, anyByte, bytesOf(0x01)}
	for range 11 {
		cs = append(cs, anyByte)
	}
	return append(cs, bytesOf(0xfe), v)
}()

// matchDTLSClient is dtls-c.
func matchDTLSClient(data []byte) Result { return seq(data, dtlsSig...) }

// dtlsParser is the dtls analyzer on one connection: the reassembly of a hello
// fragmented over several records, per direction.
type dtlsParser struct {
	asm [2]dtlsReasm
}

// dtlsReasm reassembles one fragmented hello; fragments may come in any order
// and overlap.
type dtlsReasm struct {
	active bool
	typ    byte
	seq    uint16   // message_seq
	have   tlsSpans // the ranges of the message received
	buf    []byte   // the message, len is its length
}

// Data reads one datagram.
func (p *dtlsParser) Data(c *Ctx, isOrig bool, d []byte) {
	for len(d) > 0 {
		if d[0]&0xe0 == 0x20 {
			// A DTLS 1.3 record with the unified header (RFC 9147 §4): ciphertext,
			// and no plaintext record can follow it in the datagram that matters.
			// It is not a record of an unknown version.
			return
		}
		if len(d) < 13 {
			p.fail(c)
			return
		}
		typ := d[0]
		v := binary.BigEndian.Uint16(d[1:])
		epoch := binary.BigEndian.Uint16(d[3:])
		n := int(binary.BigEndian.Uint16(d[11:]))
		if v != 0xfeff && v != 0xfefd || 13+n > len(d) {
			p.fail(c)
			return
		}
		body := d[13 : 13+n]
		d = d[13+n:]
		if typ == tlsHandshake && epoch == 0 && !p.handshake(c, &p.asm[dirIndex(isOrig)], body) {
			return
		}
	}
}

// handshake reads the handshake fragments of one record.
func (p *dtlsParser) handshake(c *Ctx, a *dtlsReasm, b []byte) bool {
	for len(b) > 0 {
		if len(b) < 12 {
			return p.fail(c)
		}
		typ := b[0]
		length := int(b[1])<<16 | int(b[2])<<8 | int(b[3])
		seq := binary.BigEndian.Uint16(b[4:])
		off := int(b[6])<<16 | int(b[7])<<8 | int(b[8])
		n := int(b[9])<<16 | int(b[10])<<8 | int(b[11])
		if 12+n > len(b) || off+n > length || !tlsKnownHandshake(typ) {
			return p.fail(c)
		}
		frag := b[12 : 12+n]
		b = b[12+n:]
		if typ != tlsTypeClientHello && typ != tlsTypeServerHello {
			continue
		}
		if off == 0 && n == length {
			if !p.message(c, typ, frag) {
				return false
			}
			continue
		}
		if length > tlsMaxHello {
			continue // not judged (see tlsMaxHello)
		}
		if !a.active || a.typ != typ || a.seq != seq || len(a.buf) != length {
			// A new message (a retransmitted hello has a new message_seq).
			a.active, a.typ, a.seq, a.have = true, typ, seq, nil
			if cap(a.buf) < length {
				a.buf = make([]byte, length)
			}
			a.buf = a.buf[:length]
		}
		if n == 0 || !a.have.add(uint64(off), uint64(off+n)) {
			continue
		}
		copy(a.buf[off:], frag)
		if len(a.have) == 1 && a.have[0] == (tlsSpan{0, uint64(length)}) {
			a.active = false
			ok := p.message(c, typ, a.buf)
			a.buf = nil
			if !ok {
				return false
			}
		}
	}
	return true
}

// message parses a complete hello (tlsCheckHello); a bad one is a violation.
func (p *dtlsParser) message(c *Ctx, typ byte, body []byte) bool {
	if !tlsCheckHello(c, typ, body) {
		return p.fail(c)
	}
	return true
}

// fail raises a violation and stops the parser.
func (p *dtlsParser) fail(c *Ctx) bool {
	c.Violation()
	c.Stop()
	return false
}

// Gap does not happen on UDP.
func (p *dtlsParser) Gap(c *Ctx, isOrig bool, n uint64) {}

// End does not happen on UDP.
func (p *dtlsParser) End(c *Ctx, isOrig bool) {}
