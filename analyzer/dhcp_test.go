package analyzer

import (
	"strings"
	"testing"
)

// init adds DHCP messages and near misses to the rule samples.
func init() {
	ruleSamples = append(ruleSamples, dhcpMessage(1, "\x35\x01\x01\xff"), strings.Repeat("\x00", 236)+"\x63\x82\x53", strings.Repeat("\x00", 236)+"\x63\x82\x53\x64")
}

// dhcpMessage builds a BOOTP message (RFC 2131 §2) with op (1 request, 2 reply),
// a client hardware address, the magic cookie and the option bytes given.
func dhcpMessage(op byte, options string) string {
	b := make([]byte, dhcpFixedLen)
	b[0], b[1], b[2] = op, 1, 6              // op, htype Ethernet, hlen
	copy(b[4:], "\x3d\x1d\x7a\x01")          // xid
	copy(b[28:], "\x00\x16\x3e\x11\x22\x33") // chaddr
	if op == 2 {
		copy(b[16:], "\xc0\xa8\x01\x64") // yiaddr 192.168.1.100
		copy(b[20:], "\xc0\xa8\x01\x01") // siaddr
	}
	return string(b) + dhcpCookie + options
}

var (
	// dhcpDiscover: message type DISCOVER, client id, parameter request list, END, padding.
	dhcpDiscover = dhcpMessage(1, "\x35\x01\x01\x3d\x07\x01\x00\x16\x3e\x11\x22\x33\x37\x04\x01\x03\x06\x0f\xff\x00\x00\x00")
	// dhcpOffer: OFFER, server id, lease time, subnet mask, router, END.
	dhcpOffer = dhcpMessage(2, "\x35\x01\x02\x36\x04\xc0\xa8\x01\x01\x33\x04\x00\x00\x0e\x10\x01\x04\xff\xff\xff\x00\x03\x04\xc0\xa8\x01\x01\xff")
)

// TestDHCP checks DISCOVER/OFFER, the signature, and each violation.
func TestDHCP(t *testing.T) {
	bad := []byte(dhcpDiscover)
	bad[239] = 0x64
	tests := []struct {
		name, resp string
		steps      []step
		service    string
	}{
		{"discover", "255.255.255.255:67", []step{o(dhcpDiscover)}, "dhcp"},
		{"discover offer", "255.255.255.255:67", []step{o(dhcpDiscover), r(dhcpOffer)}, "dhcp"},
		{"offer to client port", "10.0.0.2:68", []step{o(dhcpOffer)}, "dhcp"},
		{"pxe", "10.0.0.2:4011", []step{o(dhcpDiscover)}, "dhcp"},
		{"signature on other port", "10.0.0.2:9067", []step{o(dhcpDiscover)}, "dhcp"},
		{"pads before END", "10.0.0.2:67", []step{o(dhcpMessage(1, "\x00\x00\x35\x01\x03\x00\xff"))}, "dhcp"},
		{"bad cookie", "10.0.0.2:67", []step{o(string(bad))}, ""},
		{"bad cookie after confirm", "10.0.0.2:67", []step{o(dhcpDiscover), o(string(bad))}, ""},
		{"no END", "10.0.0.2:67", []step{o(dhcpMessage(1, "\x35\x01\x01"))}, ""},
		{"no options", "10.0.0.2:67", []step{o(dhcpMessage(1, ""))}, ""},
		{"option past end", "10.0.0.2:67", []step{o(dhcpMessage(1, "\x35\x01\x01\x37\x09\x01\xff"))}, ""},
		{"option length missing", "10.0.0.2:67", []step{o(dhcpMessage(1, "\x35\x01\x01\x37"))}, ""},
		{"no message type", "10.0.0.2:67", []step{o(dhcpMessage(1, "\x37\x01\x01\xff"))}, ""},
		{"short", "10.0.0.2:67", []step{o(dhcpDiscover[:239])}, ""},
		{"bootp only on other port", "10.0.0.2:9067", []step{o(dhcpMessage(1, "\x37\x01\x01\xff"))}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := run(t, script{Proto: UDP, Orig: "0.0.0.0:68", Resp: tc.resp, Steps: tc.steps})
			if h.service() != tc.service {
				t.Fatalf("service %q, want %q", h.service(), tc.service)
			}
		})
	}
	if matchDHCP([]byte(dhcpDiscover)) != Match || matchDHCP([]byte(dhcpDiscover[:238])) != More || matchDHCP(bad) != Fail {
		t.Fatal("matchDHCP")
	}
}

// FuzzDHCP feeds arbitrary datagrams, to the DHCP port and, through the
// signature, to another one.
func FuzzDHCP(f *testing.F) {
	f.Add([]byte(dhcpDiscover), uint8(0))
	f.Add([]byte(dhcpOffer), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, dirs uint8) {
		steps := simpleUDPSteps(data, dirs)
		steps = append(steps, step{Orig: dirs&1 == 0, Data: dhcpMessage(1, string(data))})
		run(t, script{Analyzers: []string{"dhcp"}, Proto: UDP, Resp: "10.0.0.2:67", Steps: steps})
		run(t, script{Analyzers: []string{"dhcp"}, Proto: UDP, Resp: "10.0.0.2:9999", Steps: steps})
	})
}
