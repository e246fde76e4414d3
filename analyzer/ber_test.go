package analyzer

import (
	"bytes"
	"strings"
	"testing"
)

// tlv builds a BER element from its identifier octet and content (the parts,
// concatenated), with the shortest definite length.
func tlv(tag byte, parts ...string) string {
	body := strings.Join(parts, "")
	n := len(body)
	var h []byte
	switch {
	case n < 0x80:
		h = []byte{tag, byte(n)}
	case n < 0x100:
		h = []byte{tag, 0x81, byte(n)}
	case n < 0x10000:
		h = []byte{tag, 0x82, byte(n >> 8), byte(n)}
	default:
		h = []byte{tag, 0x83, byte(n >> 16), byte(n >> 8), byte(n)}
	}
	return string(h) + body
}

// tlv4 builds a BER element with a 4-byte long length, as Windows writes them.
func tlv4(tag byte, parts ...string) string {
	body := strings.Join(parts, "")
	n := len(body)
	return string([]byte{tag, 0x84, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}) + body
}

// berInt1 is a one-octet INTEGER.
func berInt1(v byte) string { return tlv(0x02, string([]byte{v})) }

// octets is an OCTET STRING.
func octets(s string) string { return tlv(0x04, s) }

// be32 is a big-endian 32-bit length prefix.
func be32(n int) string { return string([]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}) }

// le16 is a little-endian 16-bit integer.
func le16(n int) string { return string([]byte{byte(n), byte(n >> 8)}) }

// le32 is a little-endian 32-bit integer.
func le32(n int) string { return string([]byte{byte(n), byte(n >> 8), byte(n >> 16), byte(n >> 24)}) }

// TestBERHeader checks the header reader on short, long, indefinite and broken
// lengths, and berCheck on good and bad element lists.
func TestBERHeader(t *testing.T) {
	for _, c := range []struct {
		in   string
		hdr  int
		n    uint64
		st   berStatus
		name string
	}{
		{"\x30\x05", 2, 5, berOK, "short"},
		{"\x30\x81\x80", 3, 128, berOK, "long1"},
		{"\x30\x84\x00\x00\x01\x00", 6, 256, berOK, "long4"},
		{"\x30\x80", 2, 0, berOK, "indefinite is zero"},
		{"\x30", 0, 0, berShort, "no length"},
		{"\x30\x82\x01", 0, 0, berShort, "cut length"},
		{"\x30\x89\x01\x02\x03\x04\x05\x06\x07\x08\x09", 0, 0, berBad, "nine length octets"},
	} {
		_, h, n, st := berHeader([]byte(c.in))
		if h != c.hdr || n != c.n || st != c.st {
			t.Errorf("%s: berHeader(%q) = %d %d %d, want %d %d %d", c.name, c.in, h, n, st, c.hdr, c.n, c.st)
		}
	}
	if !berCheck([]byte(tlv(0x30, berInt1(1), tlv(0x01, "\xff"), tlv(0x05))), 0) {
		t.Error("berCheck rejects a good SEQUENCE")
	}
	for _, bad := range []string{tlv(0x30, tlv(0x01, "")), tlv(0x30, tlv(0x05, "x")), "\x30\x03\x02\x05", tlv(0x30, tlv(0x06))} {
		if berCheck([]byte(bad), 0) {
			t.Errorf("berCheck accepts %q", bad)
		}
	}
	if berInt([]byte{0xff}) != -1 || berInt([]byte{0x01, 0x00}) != 256 {
		t.Error("berInt")
	}
}

// TestPDUStream cuts a stream of units at every pair of split points and checks
// that the same units come out, the oversized one as its head and tail.
func TestPDUStream(t *testing.T) {
	big := tlv(0x30, strings.Repeat("x", 300))
	units := []string{tlv(0x30, "a"), tlv(0x30), big, tlv(0x30, strings.Repeat("y", 40)), "\x30\x01z"}
	stream := strings.Join(units, "")
	const max = 64
	for i := 0; i <= len(stream); i++ {
		for j := i; j <= len(stream); j += 7 {
			want := "30|30|H30|T|30|30|"
			var s pduStream
			var got strings.Builder
			var whole [][]byte
			for _, part := range []string{stream[:i], stream[i:j], stream[j:]} {
				data := []byte(part)
				for {
					m, kind := s.next(&data, max, berFrame)
					if kind == pduNone {
						break
					}
					switch kind {
					case pduWhole:
						got.WriteString("30|")
						whole = append(whole, bytes.Clone(m))
					case pduHead:
						if len(m) != max || !strings.HasPrefix(big, string(m)) {
							t.Fatalf("split %d,%d: bad head %q", i, j, m)
						}
						got.WriteString("H30|")
					case pduTail:
						got.WriteString("T|")
					case pduBad:
						t.Fatalf("split %d,%d: bad", i, j)
					}
				}
				if cap(s.buf) > max+16 {
					t.Fatalf("split %d,%d: buffer grew to %d", i, j, cap(s.buf))
				}
			}
			if got.String() != want {
				t.Fatalf("split %d,%d: got %s, want %s", i, j, got.String(), want)
			}
			k := 0
			for _, u := range units {
				if u == big {
					continue
				}
				if string(whole[k]) != u {
					t.Fatalf("split %d,%d: unit %d is %q, want %q", i, j, k, whole[k], u)
				}
				k++
			}
			if s.pending() {
				t.Fatalf("split %d,%d: pending at the end", i, j)
			}
		}
	}
}

// fuzzSession feeds one analyzer, attached by its port (and, for helpers, directly)
// and through the PIA, a stream described by data (fuzzSteps' format). It returns
// the session so the caller can look at the parser.
func fuzzSession(t *testing.T, name string, port uint16, data []byte) *Session {
	h, s := attachedSession(t, name, port)
	play(h, s, fuzzSteps(data))
	return s
}

// streamsBounded checks that no pduStream of the parser keeps more than max bytes.
func streamsBounded(t *testing.T, s *Session, max int) {
	t.Helper()
	var check func(i *instance)
	check = func(i *instance) {
		var dirs []*pduStream
		switch p := i.p.(type) {
		case *ldapParser:
			dirs = []*pduStream{&p.dir[0], &p.dir[1]}
		case *krbTCPParser:
			dirs = []*pduStream{&p.dir[0], &p.dir[1]}
		case *smbParser:
			dirs = []*pduStream{&p.dir[0], &p.dir[1]}
		case *dceParser:
			dirs = []*pduStream{&p.dir[0], &p.dir[1]}
		}
		for _, d := range dirs {
			if cap(d.buf) > max+16 {
				t.Fatalf("%s keeps %d bytes", i.a.Name, cap(d.buf))
			}
		}
		for _, c := range i.children {
			check(c)
		}
	}
	for _, i := range s.root.insts {
		check(i)
	}
}

// FuzzBER holds the BER reader to its bounds on any input.
func FuzzBER(f *testing.F) {
	f.Add([]byte(tlv(0x30, berInt1(1), tlv(0x60, berInt1(3)))))
	f.Add([]byte("\x30\x84\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		berCheck(b, 0)
		if e, rest, ok := berNext(b); ok && len(e.body)+len(rest) > len(b) {
			t.Fatal("berNext grew the input")
		}
		var s pduStream
		data := b
		for {
			_, kind := s.next(&data, 32, berFrame)
			if kind == pduNone || kind == pduBad {
				break
			}
		}
		if cap(s.buf) > 48 {
			t.Fatalf("pduStream keeps %d bytes", cap(s.buf))
		}
	})
}
