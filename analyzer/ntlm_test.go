package analyzer

import (
	"strings"
	"testing"
)

// Hand-built NTLMSSP messages (MS-NLMP §2.2.1).

// ntlmVersion is a VERSION structure (Windows 10, NTLM revision 15).
const ntlmVersion = "\x0a\x00\x63\x45\x00\x00\x00\x0f"

// secBuf is a security buffer: length, maximum length, offset.
func secBuf(n, off int) string { return le16(n) + le16(n) + le32(off) }

// ntlmNegotiate is a NEGOTIATE_MESSAGE with the version and no domain or
// workstation.
func ntlmNegotiate() string {
	return "NTLMSSP\x00" + le32(1) + le32(0xe2088297) + secBuf(0, 0) + secBuf(0, 0) + ntlmVersion
}

// ntlmChallenge is a CHALLENGE_MESSAGE with a target name and target info.
func ntlmChallenge() string {
	name := "E\x00X\x00A\x00M\x00P\x00L\x00E\x00"
	info := le16(2) + le16(len(name)) + name + le16(7) + le16(8) + "\x01\x02\x03\x04\x05\x06\x07\x08" + le16(0) + le16(0)
	return "NTLMSSP\x00" + le32(2) + secBuf(len(name), 56) + le32(0xe2898215) + "\x11\x22\x33\x44\x55\x66\x77\x88" +
		strings.Repeat("\x00", 8) + secBuf(len(info), 56+len(name)) + ntlmVersion + name + info
}

// ntlmAuthenticate is an AUTHENTICATE_MESSAGE from EXAMPLE\alice at WS1.
func ntlmAuthenticate() string {
	const base = 88 // fields, flags, version, MIC
	lm := strings.Repeat("\x00", 24)
	nt := strings.Repeat("\x5a", 48)
	dom := "E\x00X\x00"
	user := "a\x00l\x00i\x00c\x00e\x00"
	ws := "W\x00S\x001\x00"
	off := base
	f := func(s string) string { b := secBuf(len(s), off); off += len(s); return b }
	fields := f(lm) + f(nt) + f(dom) + f(user) + f(ws) + secBuf(0, off)
	return "NTLMSSP\x00" + le32(3) + fields + le32(0xe2888215) + ntlmVersion + strings.Repeat("\x00", 16) + lm + nt + dom + user + ws
}

// TestNTLM checks which NTLMSSP messages parse, and that ntlm ignores its
// violations.
func TestNTLM(t *testing.T) {
	good := []string{ntlmNegotiate(), ntlmChallenge(), ntlmAuthenticate(),
		// An old NEGOTIATE with a supplied domain and workstation.
		"NTLMSSP\x00" + le32(1) + le32(0x3207) + secBuf(3, 32) + secBuf(2, 35) + "DOMWS"}
	for i, b := range good {
		if !ntlmValid([]byte(b)) {
			t.Errorf("good message %d does not parse", i)
		}
	}
	bad := []string{"", "NTLMSSP", "NTLMSSQ\x00" + ntlmNegotiate()[8:], "NTLMSSP\x00" + le32(4) + strings.Repeat("\x00", 40),
		ntlmNegotiate()[:20],
		"NTLMSSP\x00" + le32(1) + le32(0x1000) + secBuf(3, 300) + secBuf(0, 0),       // domain past the end
		"NTLMSSP\x00" + le32(1) + le32(0x1000) + secBuf(3, 8) + secBuf(0, 0) + "abc", // domain inside the header
		ntlmChallenge()[:60], ntlmAuthenticate()[:70],
		// target info without MsvAvEOL
		"NTLMSSP\x00" + le32(2) + secBuf(0, 0) + le32(0x800000) + strings.Repeat("\x00", 16) + secBuf(4, 48) + le16(1) + le16(0),
		// an unknown AV pair
		"NTLMSSP\x00" + le32(2) + secBuf(0, 0) + le32(0x800000) + strings.Repeat("\x00", 16) + secBuf(8, 48) + le16(99) + le16(0) + le32(0),
	}
	for i, b := range bad {
		if ntlmValid([]byte(b)) {
			t.Errorf("bad message %d parses", i)
		}
	}
	// As a helper, fed directly: it confirms, and its violations do not count.
	for _, c := range []struct {
		blobs []string
		want  string
	}{
		{[]string{ntlmNegotiate()}, "ntlm"},
		{[]string{"junk", ntlmNegotiate()}, "ntlm"},
		{[]string{ntlmNegotiate(), "junk"}, "ntlm"},
		{[]string{"junk"}, ""},
	} {
		var steps []step
		for _, b := range c.blobs {
			steps = append(steps, o(b))
		}
		s := fuzzSession(t, "ntlm", 9, fuzzInput(steps...))
		h := s.in.host.(*fakeHost)
		if got := h.service(); got != c.want {
			t.Errorf("%q: service %q, want %q", c.blobs, got, c.want)
		}
		s.Release()
	}
}

// FuzzNTLM feeds the NTLM parser arbitrary blobs.
func FuzzNTLM(f *testing.F) {
	f.Add([]byte(ntlmNegotiate()))
	f.Add([]byte(ntlmChallenge()))
	f.Add([]byte(ntlmAuthenticate()))
	f.Fuzz(func(t *testing.T, b []byte) {
		ntlmValid(b)
	})
}
