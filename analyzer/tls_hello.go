package analyzer

import "golang.org/x/crypto/cryptobyte"

// The hello messages of TLS and DTLS, shared by the ssl, dtls and quic analyzers
// (service-detection.md §8 rows ssl, dtls, quic). The ssl analyzer confirms when a
// ClientHello parses with an acceptable version; a malformed hello, or one with a
// version outside the list, is a violation. ServerHellos are checked the same way
// but never confirm.

// TLS handshake message types the parsers look into.
const (
	tlsTypeClientHello = 1
	tlsTypeServerHello = 2
)

// tlsMaxHello bounds the hello message a parser buffers when it spans records,
// fragments or segments. Real ClientHellos are a few KiB at most (post-quantum key
// shares included); a bigger one is not judged at all.
const tlsMaxHello = 16 << 10

// tlsHello is what a parsed hello message says.
type tlsHello struct {
	version uint16 // client_version or server_version, as on the wire
	sni     []byte // the first host_name of the server_name extension; in the message
}

// tlsVersionOK reports whether a hello's version is one the ssl analyzer accepts
// (§8 row ssl): SSLv2, SSLv3, TLS 1.0 to 1.3, a TLS 1.3 draft (0x7fXX) or a DTLS
// version (1.0, 1.2, 1.3).
func tlsVersionOK(v uint16) bool {
	switch {
	case v == 0x0002, v >= 0x0300 && v <= 0x0304, v>>8 == 0x7f:
		return true
	case v == 0xfeff, v == 0xfefd, v == 0xfefc:
		return true
	}
	return false
}

// tlsDTLSVersion reports whether v is a DTLS version: a ClientHello with one
// carries a cookie after the session id.
func tlsDTLSVersion(v uint16) bool { return v == 0xfeff || v == 0xfefd || v == 0xfefc }

// tlsKnownHandshake reports whether t is a handshake message type the parsers know;
// any other type is a violation (§8 row ssl: "an unknown handshake type"). The list
// is the registered TLS HandshakeType values that can appear on the wire, SSL 3.0
// through TLS 1.3 and DTLS, so that no real message is rejected.
func tlsKnownHandshake(t byte) bool {
	switch t {
	case 0, 1, 2, 3, 4, 5, 6, 8, 11, 12, 13, 14, 15, 16, 20, 21, 22, 23, 24, 25, 26, 254:
		return true
	}
	return false
}

// tlsParseClientHello parses the body of a ClientHello (after the handshake
// header). It reports false when the message does not parse: a cipher-suite list
// that is empty or odd, no compression method, or extensions whose lengths run
// past the message. As Zeek does, the extensions' total length is read but not
// trusted: extensions are read to the end of the message.
func tlsParseClientHello(body []byte) (h tlsHello, ok bool) {
	s := cryptobyte.String(body)
	var sid, cookie, suites, comp cryptobyte.String
	if !s.ReadUint16(&h.version) || !s.Skip(32) || !s.ReadUint8LengthPrefixed(&sid) {
		return h, false
	}
	if tlsDTLSVersion(h.version) && !s.ReadUint8LengthPrefixed(&cookie) {
		return h, false
	}
	if !s.ReadUint16LengthPrefixed(&suites) || len(suites) < 2 || len(suites)%2 != 0 {
		return h, false
	}
	if !s.ReadUint8LengthPrefixed(&comp) || len(comp) == 0 {
		return h, false
	}
	return h, tlsExtensions(s, &h, true)
}

// tlsParseServerHello parses the body of a ServerHello. TLS 1.3 drafts before 22
// (server_version 0x7fXX) had neither session id nor compression method.
func tlsParseServerHello(body []byte) (h tlsHello, ok bool) {
	s := cryptobyte.String(body)
	if !s.ReadUint16(&h.version) || !s.Skip(32) {
		return h, false
	}
	if h.version>>8 == 0x7f {
		if !s.Skip(2) {
			return h, false
		}
	} else {
		var sid cryptobyte.String
		if !s.ReadUint8LengthPrefixed(&sid) || !s.Skip(3) {
			return h, false
		}
	}
	return h, tlsExtensions(s, &h, false)
}

// tlsExtensions reads the optional extension block that ends a hello: nothing, or
// a 2-byte total length and then extensions to the end of the message. From a
// ClientHello it keeps the first server name.
func tlsExtensions(s cryptobyte.String, h *tlsHello, client bool) bool {
	if len(s) == 0 {
		return true
	}
	if !s.Skip(2) {
		return false
	}
	for len(s) > 0 {
		var typ uint16
		var data cryptobyte.String
		if !s.ReadUint16(&typ) || !s.ReadUint16LengthPrefixed(&data) {
			return false
		}
		if typ == 0 {
			name, ok := tlsServerName(data)
			if !ok {
				return false
			}
			if client && h.sni == nil && len(name) > 0 {
				h.sni = name
			}
		}
	}
	return true
}

// tlsServerName parses a server_name extension (RFC 6066 §3) and returns its first
// host_name. An empty extension (what servers send back) is valid. The list's
// length must fit the extension; entries are read to the list's end, and an entry
// of an unknown name type takes the rest of the list.
func tlsServerName(data cryptobyte.String) ([]byte, bool) {
	if len(data) == 0 {
		return nil, true
	}
	var list cryptobyte.String
	if !data.ReadUint16LengthPrefixed(&list) {
		return nil, false
	}
	var first []byte
	for len(list) > 0 {
		var typ uint8
		if !list.ReadUint8(&typ) {
			return nil, false
		}
		if typ != 0 {
			break
		}
		var name cryptobyte.String
		if !list.ReadUint16LengthPrefixed(&name) {
			return nil, false
		}
		if first == nil {
			first = name
		}
	}
	return first, true
}

// tlsCheckHello parses a complete hello message of type typ (tlsTypeClientHello or
// tlsTypeServerHello) and reports false when it is a violation: it does not parse, or
// its version is not acceptable. A good ClientHello names the connection (its
// server name) and confirms the analyzer; a ServerHello never confirms.
func tlsCheckHello(c *Ctx, typ byte, body []byte) bool {
	var h tlsHello
	var ok bool
	if typ == tlsTypeClientHello {
		h, ok = tlsParseClientHello(body)
	} else {
		h, ok = tlsParseServerHello(body)
	}
	if !ok || !tlsVersionOK(h.version) {
		return false
	}
	if typ == tlsTypeClientHello {
		if len(h.sni) > 0 {
			c.Name(NameSNI, string(h.sni))
		}
		c.Confirm()
	}
	return true
}

// tlsSpans is a set of received byte ranges [lo, hi), sorted and disjoint, for the
// reassembly of DTLS hello fragments and QUIC CRYPTO frames, which may come out
// of order. It keeps at most 32 ranges.
type tlsSpans []tlsSpan

// tlsSpan is one received range.
type tlsSpan struct{ lo, hi uint64 }

// add records [lo, hi), merging it with the ranges it touches; it reports false
// (and drops the range) when 32 ranges are kept already.
func (ss *tlsSpans) add(lo, hi uint64) bool {
	out := (*ss)[:0:0]
	for _, h := range *ss {
		if h.hi < lo || h.lo > hi {
			out = append(out, h)
		} else {
			lo, hi = min(lo, h.lo), max(hi, h.hi)
		}
	}
	if len(out) >= 32 {
		return false
	}
	i := 0
	for i < len(out) && out[i].lo < lo {
		i++
	}
	out = append(out, tlsSpan{})
	copy(out[i+1:], out[i:])
	out[i] = tlsSpan{lo, hi}
	*ss = out
	return true
}
