package analyzer

import (
	"strings"
	"testing"
)

// ntpPacket returns a 48-byte NTP packet of version v and mode m, as ntpd and
// chrony send them (RFC 5905 §7.3), with extra bytes appended.
func ntpPacket(v, m byte, extra string) string {
	b := make([]byte, 48)
	b[0] = v<<3 | m
	if m == ntpModeServer {
		b[1], b[2], b[3] = 2, 6, 0xe9 // stratum, poll, precision
		copy(b[12:], "\xc0\x00\x02\x01")
		copy(b[40:], "\xe9\x6a\x10\x20\x12\x34\x56\x78") // transmit timestamp
	} else {
		b[2], b[3] = 6, 0x20
		copy(b[40:], "\xe9\x6a\x10\x1f\x00\x00\x00\x01")
	}
	return string(b) + extra
}

// TestNTP checks confirmation, parse errors per mode and the role flip.
func TestNTP(t *testing.T) {
	client, server := ntpPacket(4, ntpModeClient, ""), ntpPacket(4, ntpModeServer, "")
	tests := []struct {
		name    string
		steps   []step
		service string
		flips   int
	}{
		{"client", []step{o(client)}, "ntp", 0},
		{"exchange", []step{o(client), r(server)}, "ntp", 0},
		{"server only", []step{r(server)}, "ntp", 0},
		{"reply from orig", []step{o(server)}, "ntp", 1},
		{"request from resp", []step{r(client)}, "ntp", 1},
		{"flip once", []step{o(server), o(server), r(client)}, "ntp", 1},
		{"exchange reversed", []step{o(server), o(client)}, "ntp", 1}, // after the flip o is the old resp
		{"version 0 no flip", []step{o(ntpPacket(0, ntpModeServer, ""))}, "ntp", 0},
		{"version 5 no flip", []step{o(ntpPacket(5, ntpModeServer, ""))}, "ntp", 0},
		{"v3 with MAC", []step{o(ntpPacket(3, ntpModeClient, strings.Repeat("\x01", 20)))}, "ntp", 0},
		{"symmetric", []step{o(ntpPacket(4, 1, "")), r(ntpPacket(4, 2, ""))}, "ntp", 0},
		{"broadcast", []step{o(ntpPacket(4, 5, ""))}, "ntp", 0},
		{"short client", []step{o(client[:47])}, "", 0},
		{"short after confirm", []step{o(client), r(server[:20])}, "", 0},
		{"mode 0", []step{o("\x00")}, "ntp", 0},
		{"control", []step{o("\x16\x02\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00")}, "ntp", 0},
		{"control with data", []step{r("\x16\x82\x00\x01\x06\x15\x00\x00\x00\x00\x00\x04abcd")}, "ntp", 0},
		{"control short", []step{o("\x16\x02\x00\x01\x00\x00")}, "", 0},
		{"control data past end", []step{o("\x16\x02\x00\x01\x00\x00\x00\x00\x00\x00\x00\x05abcd")}, "", 0},
		{"private monlist", []step{o("\x17\x00\x03\x2a" + strings.Repeat("\x00", 44))}, "ntp", 0},
		{"private short", []step{o("\x17\x00\x03\x2a\x00")}, "", 0},
		{"private auth without MAC", []step{o("\x17\x80\x03\x2a\x00\x00")}, "", 0},
		{"private data past end", []step{o("\x17\x00\x03\x2a\x00\x08abc")}, "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := run(t, script{Analyzers: []string{"ntp"}, Proto: UDP, Resp: "10.0.0.2:123", Steps: tc.steps})
			if h.service() != tc.service || h.flips != tc.flips {
				t.Fatalf("service %q flips %d, want %q %d", h.service(), h.flips, tc.service, tc.flips)
			}
		})
	}
}

// FuzzNTP feeds arbitrary datagrams from either side.
func FuzzNTP(f *testing.F) {
	f.Add([]byte(ntpPacket(4, ntpModeClient, "")), uint8(0))
	f.Add([]byte(ntpPacket(4, ntpModeServer, "")), uint8(1))
	f.Add([]byte("\x17\x80\x03\x2a\x00\x00"), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, dirs uint8) {
		run(t, script{Analyzers: []string{"ntp"}, Proto: UDP, Resp: "10.0.0.2:123", Steps: simpleUDPSteps(data, dirs)})
	})
}

// simpleUDPSteps cuts data into datagrams at each 0xff byte, from the side the bits
// of dirs give in turn.
func simpleUDPSteps(data []byte, dirs uint8) []step {
	var steps []step
	for i, d := range strings.Split(string(data), "\xff") {
		if d != "" {
			steps = append(steps, step{Orig: dirs>>(i&7)&1 == 0, Data: d})
		}
	}
	return steps
}
