package analyzer

import (
	"encoding/binary"
	"testing"
)

// radiusPacket builds a RADIUS packet (RFC 2865 §3) with the attributes given
// (already encoded); the length field counts the header and the attributes.
func radiusPacket(code, id byte, attrs string) string {
	b := []byte{code, id}
	b = binary.BigEndian.AppendUint16(b, uint16(radiusHeaderLen+len(attrs)))
	b = append(b, "\x0f\x3e\x8a\x41\x92\x17\x55\x2c\x9e\x7b\x00\x11\x6d\xd4\x01\xa8"...) // authenticator
	return string(b) + attrs
}

var (
	// radiusRequest: Access-Request with User-Name "bob", User-Password (16 bytes),
	// NAS-IP-Address, NAS-Port and a vendor-specific attribute.
	radiusRequest = radiusPacket(1, 0x2a, "\x01\x05bob"+
		"\x02\x12\x5c\x1a\x7e\x44\x8d\x02\x31\x90\xa2\x0e\x4b\x6f\x18\x99\xc2\x07"+
		"\x04\x06\xc0\xa8\x01\x0a\x05\x06\x00\x00\x00\x01"+
		"\x1a\x0c\x00\x00\x01\x37\x01\x06\x00\x00\x00\x01")
	// radiusAccept: Access-Accept with a Reply-Message.
	radiusAccept = radiusPacket(2, 0x2a, "\x12\x07Hello")
)

// TestRADIUS checks Access-Request/Accept and the parse errors.
func TestRADIUS(t *testing.T) {
	long := []byte(radiusRequest)
	long[3]++ // one byte more than the datagram
	short := []byte(radiusRequest)
	short[3]-- // the last attribute runs past the length
	tests := []struct {
		name    string
		steps   []step
		service string
	}{
		{"request", []step{o(radiusRequest)}, "radius"},
		{"exchange", []step{o(radiusRequest), r(radiusAccept)}, "radius"},
		{"reply only", []step{r(radiusAccept)}, "radius"},
		{"no attributes", []step{o(radiusPacket(12, 1, ""))}, "radius"},
		{"empty attribute", []step{o(radiusPacket(1, 1, "\x18\x02"))}, "radius"},
		{"padding", []step{o(radiusRequest + "\x00\x00\x00")}, "radius"},
		{"short header", []step{o(radiusRequest[:19])}, ""},
		{"length past datagram", []step{o(string(long))}, ""},
		{"length under header", []step{o("\x01\x01\x00\x13" + radiusRequest[4:])}, ""},
		{"attribute past length", []step{o(string(short))}, ""},
		{"attribute length 1", []step{o(radiusPacket(1, 1, "\x01\x01"))}, ""},
		{"attribute length 0", []step{o(radiusPacket(1, 1, "\x01\x00\x01\x02"))}, ""},
		{"half attribute", []step{o(radiusPacket(1, 1, "\x01"))}, ""},
		{"bad after confirm", []step{o(radiusRequest), r(radiusAccept[:10])}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := run(t, script{Analyzers: []string{"radius"}, Proto: UDP, Resp: "10.0.0.2:1812", Steps: tc.steps})
			if h.service() != tc.service {
				t.Fatalf("service %q, want %q", h.service(), tc.service)
			}
		})
	}
}

// FuzzRADIUS feeds arbitrary datagrams from either side.
func FuzzRADIUS(f *testing.F) {
	f.Add([]byte(radiusRequest), uint8(0))
	f.Add([]byte(radiusAccept), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, dirs uint8) {
		run(t, script{Analyzers: []string{"radius"}, Proto: UDP, Resp: "10.0.0.2:1812", Steps: simpleUDPSteps(data, dirs)})
	})
}
