package analyzer

import "testing"

// DNP3 frames (IEEE 1815 link layer), their CRCs checked with Wireshark's DNP3
// dissector: a master (address 3) reads class 0 from an outstation (address 4).
const (
	// Unconfirmed user data: transport FIR FIN, application READ of class 0.
	dnp3Read = "\x05\x64\x0b\xc4\x04\x00\x03\x00\xe4\x2b" + "\xc0\xc0\x01\x3c\x01\x06\xff\x50"
	// The outstation's RESPONSE with empty IIN.
	dnp3Response = "\x05\x64\x0a\x44\x03\x00\x04\x00\x7c\xae" + "\xc0\xc0\x81\x00\x00\x9c\xe8"
	// A response of 26 bytes of user data: a full 16-byte block and one of 10.
	dnp3Long = "\x05\x64\x1f\x44\x03\x00\x04\x00\x34\x2e" +
		"\xc0\xc0\x81\x00\x00\x1e\x02\x00\x00\x03\x00\x01\x02\x03\x04\x05\x3d\xa1" +
		"\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\xf8\xca"
	// Request link status: a header without user data.
	dnp3LinkStatus = "\x05\x64\x05\xc9\x04\x00\x03\x00\xb6\x20"
)

// dnp3Corrupt returns frame with byte i flipped.
func dnp3Corrupt(frame string, i int) string {
	b := []byte(frame)
	b[i] ^= 0x01
	return string(b)
}

// TestDNP3CRC checks the CRC against the catalogue vector and frames Wireshark accepts.
func TestDNP3CRC(t *testing.T) {
	// The check value of CRC-16/DNP (the CRC catalogue's "123456789" vector).
	if got := dnp3CRC([]byte("123456789")); got != 0xea82 {
		t.Errorf("crc of 123456789 = %#04x, want 0xea82", got)
	}
	for _, f := range []string{dnp3Read, dnp3Response, dnp3Long, dnp3LinkStatus} {
		if !dnp3CRCOK([]byte(f[:8]), []byte(f[8:10])) {
			t.Errorf("header crc of %x is wrong", f[:10])
		}
	}
	if dnp3CRCOK([]byte(dnp3Read[:8]), []byte("\x2b\xe4")) {
		t.Error("crc accepted in the wrong byte order")
	}
	if got := dnp3CRC([]byte("\xc0\xc0\x01\x3c\x01\x06")); got != 0x50ff {
		t.Errorf("block crc = %#04x, want 0x50ff", got)
	}
}

// TestDNP3 covers both analyzers: confirmation, signatures, CRC violations and quiet stops.
func TestDNP3(t *testing.T) {
	conv := []step{o(dnp3LinkStatus), o(dnp3Read), r(dnp3Response), r(dnp3Long)}
	for _, tc := range []struct {
		name string
		s    script
		want string
	}{
		{"tcp on 20000", script{Steps: conv}, "dnp3_tcp"},
		{"one byte at a time", script{Steps: bytewise(conv)}, "dnp3_tcp"},
		{"all in one chunk", script{Steps: []step{o(dnp3LinkStatus + dnp3Read + dnp3LinkStatus), r(dnp3Response + dnp3Long)}}, "dnp3_tcp"},
		{"client alone on 20000", script{Steps: []step{o(dnp3Read)}}, "dnp3_tcp"},
		{"mid-stream", script{Partial: true, Steps: []step{r(dnp3Response)}}, "dnp3_tcp"},
		{"an incomplete header", script{Steps: []step{o(dnp3Read[:9])}}, ""},
		{"signature on another port", script{Resp: "10.0.0.2:20001", Steps: conv}, "dnp3_tcp"},
		{"the signature needs the responder", script{Resp: "10.0.0.2:20001", Steps: []step{o(dnp3Read), o(dnp3Read)}}, ""},
		{"bad header crc", script{Steps: []step{o(dnp3Corrupt(dnp3Read, 8))}}, ""},
		{"bad header crc after confirmation", script{Steps: []step{o(dnp3Read), r(dnp3Corrupt(dnp3Response, 3))}}, ""},
		{"bad header crc after a good header", script{Steps: []step{o(dnp3LinkStatus + dnp3Corrupt(dnp3LinkStatus, 9))}}, ""},
		{"bad block crc stops quietly", script{Steps: []step{o(dnp3Corrupt(dnp3Read, 12)), o(dnp3Corrupt(dnp3Read, 8))}}, "dnp3_tcp"},
		{"no 05 64 stops quietly", script{Steps: []step{o("GET / HTTP/1.1\r\n\r\n"), r(dnp3Response)}}, ""},
		{"a length below 5 stops", script{Steps: []step{o("\x05\x64\x04\xc9\x04\x00\x03\x00" + crcBytes("\x05\x64\x04\xc9\x04\x00\x03\x00")), o(dnp3Corrupt(dnp3Read, 8))}}, "dnp3_tcp"},
		{"a gap stops", script{Steps: []step{{Orig: true, Gap: 5}, o(dnp3Read)}}, ""},
		{"udp by signature", script{Proto: UDP, Resp: "10.0.0.2:20000", Steps: []step{o(dnp3Read), r(dnp3Response)}}, "dnp3_udp"},
		{"udp, a frame across datagrams", script{Proto: UDP, Resp: "10.0.0.2:20000", Steps: []step{r(dnp3Long[:5]), r(dnp3Long[5:])}}, "dnp3_udp"},
		{"udp bad crc", script{Proto: UDP, Resp: "10.0.0.2:20000", Steps: []step{o(dnp3Corrupt(dnp3Read, 4))}}, ""},
		{"udp bad crc later", script{Proto: UDP, Resp: "10.0.0.2:20000", Steps: []step{o(dnp3Read), o(dnp3Corrupt(dnp3Read, 4))}}, ""},
		{"udp has no port", script{Proto: UDP, Resp: "10.0.0.2:20000", Steps: []step{o("x" + dnp3Read)}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.s.Analyzers = []string{"dnp3_tcp", "dnp3_udp"}
			if tc.s.Resp == "" {
				tc.s.Resp = "10.0.0.2:20000"
			}
			if h, _ := run(t, tc.s); h.service() != tc.want {
				t.Errorf("service %q, want %q", h.service(), tc.want)
			}
		})
	}
}

// crcBytes returns the DNP3 CRC of s as it follows s on the wire.
func crcBytes(s string) string {
	v := dnp3CRC([]byte(s))
	return string([]byte{byte(v), byte(v >> 8)})
}

// FuzzDNP3 feeds the DNP3 parser arbitrary streams (TCP) or datagrams (UDP).
func FuzzDNP3(f *testing.F) {
	f.Add(false, rpFuzzInput(o(dnp3LinkStatus), o(dnp3Read), r(dnp3Response), r(dnp3Long)))
	f.Add(true, rpFuzzInput(o(dnp3Read), r(dnp3Response), r(dnp3Long[:7]), r(dnp3Long[7:])))
	f.Add(false, rpFuzzInput(bytewise([]step{r(dnp3Long)})...))
	f.Fuzz(func(t *testing.T, udp bool, data []byte) {
		if udp {
			rpFuzz(t, []string{"dnp3_udp"}, UDP, 20000, true, data, rpCheckBounds)
		} else {
			rpFuzz(t, []string{"dnp3_tcp"}, TCP, 20000, false, data, rpCheckBounds)
		}
	})
}
