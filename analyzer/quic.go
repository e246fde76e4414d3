package analyzer

// The quic analyzer (service-detection.md §8 row quic; signature quic of §7). QUIC
// protects even its first packets, but the keys of Initial packets derive from the
// Destination Connection ID of the client's first Initial (RFC 9001 §5.2, RFC 9369
// §3.3 for version 2), so a passive observer can decrypt them. Decrypting an
// Initial confirms; a failed decryption, or a packet or frame that does not
// parse, is a violation. The CRYPTO frames of the Initials carry the TLS
// ClientHello and ServerHello without the record layer: they are reassembled by
// offset and fed to an ssl child wrapped in handshake records, so the child
// confirms on the ClientHello (service quic,ssl) and names the connection (§5.1).

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"

	"golang.org/x/crypto/cryptobyte"
)

// init registers quic on its ports (443/udp, and 853 and 784 for DNS over QUIC)
// with the signature of version 1 and 2 Initials.
func init() {
	register(&Analyzer{
		Name:      "quic",
		Transport: UDP,
		Ports:     []uint16{443, 853, 784},
		New:       func() Parser { return new(quicParser) },
	},
		&Rule{Name: "quic", Transport: UDP, Dir: Any, Enables: "quic",
			Pattern: `^[\xc0-\xcf]\x00\x00\x00\x01|^[\xd0-\xdf]\x6b\x33\x43\xcf`, Match: matchQUIC},
	)
}

// The QUIC versions the analyzer decrypts, by index into quicVersions.
var quicVersions = [...]struct {
	version  uint32
	salt     []byte
	key, iv  string // HKDF labels of the packet protection key and IV
	hp       string // and of the header protection key
	initialT byte   // the long-header packet type of Initial
}{
	{0x00000001, []byte{0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a},
		"quic key", "quic iv", "quic hp", 0},
	{0x6b3343cf, []byte{0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9},
		"quicv2 key", "quicv2 iv", "quicv2 hp", 1},
}

// matchQUIC is the quic signature: a long-header Initial of version 1 or 2 (the
// low four bits of the first byte are header-protected).
func matchQUIC(data []byte) Result {
	if len(data) == 0 {
		return More
	}
	switch data[0] & 0xf0 {
	case 0xc0:
		return lit(data[1:], "\x00\x00\x00\x01")
	case 0xd0:
		return lit(data[1:], "\x6b\x33\x43\xcf")
	}
	return Fail
}

// Long-header packet types, as version 1 numbers them (version 2 rotates them).
const (
	quicInitial = iota
	quic0RTT
	quicHandshake
	quicRetry
)

// quicMaxCrypto bounds the CRYPTO stream offsets kept per direction: the Initial
// stream holds only a hello, which the ssl child judges up to tlsMaxHello.
const quicMaxCrypto = tlsMaxHello + 64

// quicParser is the quic analyzer on one connection.
type quicParser struct {
	// dcid is the Destination Connection ID of the client's first Initial (or of
	// its first after a Retry): the Initial keys of both sides derive from it.
	dcid    []byte
	hasDCID bool                // dcid is set (it may be empty)
	retry   bool                // a Retry came: the client's next Initial sets dcid anew
	keys    [2]*quicInitialKeys // by version index, derived when first needed
	largest [2]int64            // largest Initial packet number decrypted, by direction, plus one
	crypto  [2]quicCrypto       // the CRYPTO stream of each direction
	short   [2]bool             // a 1-RTT packet was seen from that direction
	ssl     *Child              // the ssl child, attached at the first decrypted Initial
	sslDone bool                // the child was attached (or ssl is disabled)
	rec     [5]byte             // the handshake record header put before CRYPTO data for ssl
	buf     []byte              // a packet being decrypted
}

// quicInitialKeys are the Initial packet protection keys of one version: the
// client's, then the server's.
type quicInitialKeys struct {
	side [2]quicKeys
}

// quicKeys protect one direction's Initial packets.
type quicKeys struct {
	aead cipher.AEAD  // AES-128-GCM
	iv   [12]byte     // xored with the packet number for the nonce
	hp   cipher.Block // AES-128 for the header protection mask
}

// quicCrypto reassembles one direction's CRYPTO stream by offset. Data at the
// next offset goes to the ssl child at once; data beyond it waits in buf (indexed
// by stream offset) until the hole before it is filled.
type quicCrypto struct {
	next uint64
	buf  []byte
	have tlsSpans // received ranges beyond next
}

// Data reads one datagram: one or more coalesced packets (RFC 9000 §12.2).
func (p *quicParser) Data(c *Ctx, isOrig bool, d []byte) {
	dir := dirIndex(isOrig)
	first := true
	for len(d) > 0 {
		if d[0]&0x80 == 0 {
			// A short-header (1-RTT) packet takes the rest of the datagram; after
			// coalesced packets this may also be padding.
			if first {
				if !p.hasDCID {
					p.fail(c) // no Initial first: nothing this analyzer can follow
					return
				}
				p.short[dir] = true
				if p.short[0] && p.short[1] {
					// Both sides left the Initial space: no more Initials come.
					c.Stop()
				}
			}
			return
		}
		first = false
		if len(d) < 5 {
			p.fail(c)
			return
		}
		version := binary.BigEndian.Uint32(d[1:])
		if version == 0 {
			return // Version Negotiation
		}
		vi := -1
		for i := range quicVersions {
			if quicVersions[i].version == version {
				vi = i
			}
		}
		if vi < 0 {
			p.fail(c)
			return
		}
		s := cryptobyte.String(d[5:])
		var dcid, scid cryptobyte.String
		if !s.ReadUint8LengthPrefixed(&dcid) || !s.ReadUint8LengthPrefixed(&scid) {
			p.fail(c)
			return
		}
		typ := ((d[0]>>4)&3 - quicVersions[vi].initialT) & 3
		if typ == quicRetry {
			if !isOrig {
				p.retry = true
			}
			return // a Retry takes the rest of the datagram
		}
		if typ == quicInitial {
			var n uint64
			if !quicVarint(&s, &n) || !s.Skip(int(min(n, 1<<20))) || n > 1<<20 {
				p.fail(c)
				return
			}
		}
		var n uint64
		if !quicVarint(&s, &n) || n > uint64(len(s)) {
			p.fail(c)
			return
		}
		pnOff := len(d) - len(s)
		pkt := d[:pnOff+int(n)]
		d = d[pnOff+int(n):]
		if typ == quicInitial && !p.initial(c, isOrig, vi, dcid, pkt, pnOff) {
			return
		}
	}
}

// initial decrypts an Initial packet (pkt, whose packet number starts at pnOff)
// and reads its frames. A server Initial before any client Initial cannot be
// decrypted and is passed over.
func (p *quicParser) initial(c *Ctx, isOrig bool, vi int, dcid, pkt []byte, pnOff int) bool {
	if isOrig && (!p.hasDCID || p.retry) {
		p.dcid = append(p.dcid[:0], dcid...)
		p.hasDCID, p.retry = true, false
		p.keys = [2]*quicInitialKeys{}
	}
	if !p.hasDCID {
		return true
	}
	if p.keys[vi] == nil {
		k, ok := quicDeriveKeys(vi, p.dcid)
		if !ok {
			return p.fail(c)
		}
		p.keys[vi] = k
	}
	dir := dirIndex(isOrig)
	k := &p.keys[vi].side[dir]
	// RFC 9001 §5.4.2: the sample starts 4 bytes after the packet number's start.
	if pnOff+4+aes.BlockSize > len(pkt) {
		return p.fail(c)
	}
	p.buf = append(p.buf[:0], pkt...)
	b := p.buf
	var mask [aes.BlockSize]byte
	k.hp.Encrypt(mask[:], b[pnOff+4:pnOff+4+aes.BlockSize])
	b[0] ^= mask[0] & 0x0f
	pnLen := int(b[0]&3) + 1
	var truncated uint64
	for i := range pnLen {
		b[pnOff+i] ^= mask[1+i]
		truncated = truncated<<8 | uint64(b[pnOff+i])
	}
	pn := quicPacketNumber(p.largest[dir]-1, truncated, uint(pnLen*8))
	nonce := k.iv
	for i := range 8 {
		nonce[4+i] ^= byte(pn >> (56 - 8*i))
	}
	ct := b[pnOff+pnLen:]
	pt, err := k.aead.Open(ct[:0], nonce[:], ct, b[:pnOff+pnLen])
	if err != nil {
		return p.fail(c)
	}
	if int64(pn)+1 > p.largest[dir] {
		p.largest[dir] = int64(pn) + 1
	}
	c.Confirm()
	if !p.sslDone {
		p.sslDone = true
		p.ssl = c.Child("ssl")
	}
	ok := p.frames(c, isOrig, pt)
	if cap(p.buf) > 4<<10 {
		p.buf = nil
	}
	return ok
}

// frames reads the frames of a decrypted Initial: only PADDING, PING, ACK, CRYPTO
// and CONNECTION_CLOSE may appear there (RFC 9000 §17.2.2); anything else, or a
// frame cut short, is a parse error.
func (p *quicParser) frames(c *Ctx, isOrig bool, b []byte) bool {
	s := cryptobyte.String(b)
	for len(s) > 0 {
		var t uint64
		if !quicVarint(&s, &t) {
			return p.fail(c)
		}
		ok := true
		switch t {
		case 0x00: // PADDING: skip the run at once
			for len(s) > 0 && s[0] == 0 {
				s = s[1:]
			}
		case 0x01: // PING
		case 0x02, 0x03: // ACK: largest, delay, range count, first range, ranges, ECN counts
			var count uint64
			ok = quicSkip(&s, 2) && quicVarint(&s, &count) && quicSkip(&s, 1)
			for i := uint64(0); ok && i < count; i++ {
				ok = quicSkip(&s, 2)
			}
			if ok && t == 0x03 {
				ok = quicSkip(&s, 3)
			}
		case 0x06: // CRYPTO
			var off, n uint64
			ok = quicVarint(&s, &off) && quicVarint(&s, &n) && n <= uint64(len(s))
			if ok {
				p.cryptoData(isOrig, off, s[:n])
				s = s[n:]
			}
		case 0x1c, 0x1d: // CONNECTION_CLOSE: error code, [frame type,] reason
			var v, n uint64
			ok = quicVarint(&s, &v) && (t == 0x1d || quicVarint(&s, &v)) && quicVarint(&s, &n) && n <= uint64(len(s))
			if ok {
				s = s[n:]
			}
		default:
			ok = false
		}
		if !ok {
			return p.fail(c)
		}
	}
	return true
}

// cryptoData takes the CRYPTO frame data at stream offset off of one direction.
func (p *quicParser) cryptoData(isOrig bool, off uint64, data []byte) {
	cs := &p.crypto[dirIndex(isOrig)]
	if off >= quicMaxCrypto {
		return
	}
	end := off + uint64(len(data))
	if end > quicMaxCrypto {
		data = data[:quicMaxCrypto-off]
		end = quicMaxCrypto
	}
	if end <= cs.next {
		return // retransmitted
	}
	if off <= cs.next {
		p.feed(isOrig, data[cs.next-off:])
		cs.next = end
	} else {
		if uint64(len(cs.buf)) < end {
			if uint64(cap(cs.buf)) < end {
				nb := make([]byte, end, max(end, min(2*uint64(cap(cs.buf)), quicMaxCrypto)))
				copy(nb, cs.buf)
				cs.buf = nb
			}
			cs.buf = cs.buf[:end]
		}
		copy(cs.buf[off:], data)
		if !cs.have.add(off, end) {
			return
		}
	}
	// Deliver what the new data made contiguous.
	for len(cs.have) > 0 && cs.have[0].lo <= cs.next {
		if sp := cs.have[0]; sp.hi > cs.next {
			p.feed(isOrig, cs.buf[cs.next:sp.hi])
			cs.next = sp.hi
		}
		cs.have = cs.have[1:]
	}
}

// feed gives contiguous CRYPTO data to the ssl child as handshake records.
func (p *quicParser) feed(isOrig bool, data []byte) {
	for len(data) > 0 {
		n := min(len(data), 1<<14)
		p.rec = [5]byte{tlsHandshake, 0x03, 0x03, byte(n >> 8), byte(n)}
		p.ssl.Data(isOrig, p.rec[:])
		p.ssl.Data(isOrig, data[:n])
		data = data[n:]
	}
}

// fail raises a violation and stops the parser.
func (p *quicParser) fail(c *Ctx) bool {
	c.Violation()
	c.Stop()
	return false
}

// Gap does not happen on UDP.
func (p *quicParser) Gap(c *Ctx, isOrig bool, n uint64) {}

// End does not happen on UDP.
func (p *quicParser) End(c *Ctx, isOrig bool) {}

// quicVarint reads a variable-length integer (RFC 9000 §16).
// quicSkip consumes n variable-length integers.
func quicSkip(s *cryptobyte.String, n int) bool {
	var v uint64
	for ; n > 0; n-- {
		if !quicVarint(s, &v) {
			return false
		}
	}
	return true
}

func quicVarint(s *cryptobyte.String, out *uint64) bool {
	if len(*s) == 0 {
		return false
	}
	n := 1 << ((*s)[0] >> 6)
	if len(*s) < n {
		return false
	}
	v := uint64((*s)[0] & 0x3f)
	for _, b := range (*s)[1:n] {
		v = v<<8 | uint64(b)
	}
	*s = (*s)[n:]
	*out = v
	return true
}

// quicPacketNumber recovers a full packet number from its truncated bits and the
// largest packet number decrypted so far (-1 for none) (RFC 9000 §A.3).
func quicPacketNumber(largest int64, truncated uint64, bits uint) uint64 {
	expected := largest + 1
	win := int64(1) << bits
	hwin := win / 2
	candidate := expected&^(win-1) | int64(truncated)
	switch {
	case candidate <= expected-hwin && candidate < 1<<62-win:
		return uint64(candidate + win)
	case candidate > expected+hwin && candidate >= win:
		return uint64(candidate - win)
	}
	return uint64(candidate)
}

// quicDeriveKeys derives the Initial keys of version vi from the client's first
// Destination Connection ID (RFC 9001 §5.2; RFC 9369 §3.3.1 and §3.3.2).
func quicDeriveKeys(vi int, dcid []byte) (*quicInitialKeys, bool) {
	v := &quicVersions[vi]
	initial, err := hkdf.Extract(sha256.New, dcid, v.salt)
	if err != nil {
		return nil, false
	}
	k := new(quicInitialKeys)
	for i, label := range [2]string{"client in", "server in"} {
		secret, ok := quicExpandLabel(initial, label, sha256.Size)
		if !ok {
			return nil, false
		}
		key, ok1 := quicExpandLabel(secret, v.key, 16)
		iv, ok2 := quicExpandLabel(secret, v.iv, 12)
		hp, ok3 := quicExpandLabel(secret, v.hp, 16)
		if !ok1 || !ok2 || !ok3 {
			return nil, false
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, false
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, false
		}
		hpBlock, err := aes.NewCipher(hp)
		if err != nil {
			return nil, false
		}
		k.side[i] = quicKeys{aead: aead, hp: hpBlock}
		copy(k.side[i].iv[:], iv)
	}
	return k, true
}

// quicExpandLabel is TLS 1.3's HKDF-Expand-Label with an empty context (RFC 8446
// §7.1).
func quicExpandLabel(secret []byte, label string, n int) ([]byte, bool) {
	info := make([]byte, 0, 4+6+len(label))
	info = append(info, byte(n>>8), byte(n), byte(6+len(label)))
	info = append(info, "tls13 "...)
	info = append(info, label...)
	info = append(info, 0)
	out, err := hkdf.Expand(sha256.New, secret, string(info), n)
	return out, err == nil
}
