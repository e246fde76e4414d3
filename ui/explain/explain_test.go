package explain

import (
	"strings"
	"testing"

	"github.com/flowtop/flowtop/tracker"
)

const (
	tcp    = tracker.ProtoTCP
	udp    = tracker.ProtoUDP
	icmp   = tracker.ProtoICMP
	icmpv6 = tracker.ProtoICMPv6
)

func TestService(t *testing.T) {
	tests := []struct {
		proto      tracker.Proto
		resp, orig uint16
		want       string
	}{
		{tcp, 443, 51234, "https"},
		{udp, 443, 51234, "quic"},
		{tcp, 53, 40000, "dns"},
		{udp, 53, 40000, "dns"},
		{tcp, 22, 50000, "ssh"},
		{tcp, 20, 21, "ftp-data"},
		{tcp, 21, 50000, "ftp"},
		{tcp, 23, 50000, "telnet"},
		{tcp, 25, 50000, "smtp"},
		{tcp, 465, 50000, "smtp"},
		{tcp, 587, 50000, "smtp"},
		{tcp, 80, 50000, "http"},
		{tcp, 8080, 50000, "http"},
		{tcp, 8000, 50000, "http"},
		{tcp, 88, 50000, "kerberos"},
		{udp, 88, 50000, "kerberos"},
		{tcp, 110, 50000, "pop3"},
		{udp, 123, 123, "ntp"},
		{udp, 137, 137, "netbios-ns"},
		{udp, 138, 138, "netbios-dgm"},
		{tcp, 139, 50000, "netbios-ssn"},
		{tcp, 143, 50000, "imap"},
		{tcp, 993, 50000, "imap"},
		{udp, 161, 50000, "snmp"},
		{udp, 162, 50000, "snmp"},
		{tcp, 389, 50000, "ldap"},
		{udp, 389, 50000, "ldap"},
		{tcp, 636, 50000, "ldap"},
		{tcp, 445, 50000, "smb"},
		{udp, 514, 50000, "syslog"},
		{tcp, 554, 50000, "rtsp"},
		{tcp, 631, 50000, "ipp"},
		{udp, 67, 68, "dhcp"},
		{udp, 68, 67, "dhcp"},
		{udp, 69, 50000, "tftp"},
		{tcp, 3306, 50000, "mysql"},
		{tcp, 3389, 50000, "rdp"},
		{udp, 3389, 50000, "rdp"},
		{tcp, 5432, 50000, "postgresql"},
		{tcp, 6660, 50000, "irc"},
		{tcp, 6667, 50000, "irc"},
		{tcp, 6669, 50000, "irc"},
		{tcp, 6697, 50000, "irc"},
		{udp, 5060, 5060, "sip"},
		{tcp, 5060, 50000, "sip"},
		{udp, 5353, 5353, "mdns"},
		{udp, 5355, 50000, "llmnr"},
		{udp, 4789, 50000, "vxlan"},
		{udp, 6081, 50000, "geneve"},
		{tcp, 179, 50000, "bgp"},
		{udp, 1194, 50000, "openvpn"},
		{tcp, 1194, 50000, "openvpn"},
		{udp, 51820, 50000, "wireguard"},
		{tcp, 6379, 50000, "redis"},
		{tcp, 27017, 50000, "mongodb"},
		{tcp, 9092, 50000, "kafka"},
		{tcp, 1080, 50000, "socks"},
		{tcp, 3128, 50000, "http-proxy"},

		// The responder's port wins; the originator's is the fallback.
		{tcp, 80, 22, "http"},
		{tcp, 50000, 22, "ssh"},
		{udp, 40000, 53, "dns"},
		{tcp, 50000, 443, "https"},
		{udp, 50000, 443, "quic"},

		// A port known for one transport only.
		{udp, 22, 50000, ""},
		{tcp, 123, 50000, ""},
		{tcp, 4789, 50000, ""},
		{udp, 80, 50000, ""},
		{udp, 6660, 50000, "" /* irc is TCP */},

		// Unknown ports and transports.
		{tcp, 50000, 50001, ""},
		{udp, 0, 0, ""},
		{tracker.Proto(132), 80, 443, ""},
		{tracker.Proto(0), 0, 0, ""},

		// ICMP: origPort is the type of the first message.
		{icmp, 0, 8, "echo"},
		{icmp, 8, 0, "echo"},
		{icmp, 3, 3, "unreachable"},
		{icmp, 0, 11, "time-exceeded"},
		{icmp, 9, 10, "router-disc"},
		{icmp, 14, 13, "timestamp"},
		{icmp, 0, 42, ""},
		{icmpv6, 129, 128, "echo"},
		{icmpv6, 128, 129, "echo"},
		{icmpv6, 136, 135, "ndp"},
		{icmpv6, 0, 143, "mld"},
		{icmpv6, 0, 1, "unreachable"},
		{icmpv6, 0, 8, "" /* 8 is no ICMPv6 type */},
		{icmp, 0, 128, "" /* 128 is no ICMPv4 type */},
	}
	for _, tt := range tests {
		if got := Service(tt.proto, tt.resp, tt.orig); got != tt.want {
			t.Errorf("Service(%s, %d, %d) = %q, want %q", tt.proto.Transport(), tt.resp, tt.orig, got, tt.want)
		}
	}
}

func TestServiceNoAlloc(t *testing.T) {
	var s string
	n := testing.AllocsPerRun(100, func() {
		s = Service(tcp, 50000, 443)
		s = Service(udp, 5353, 5353)
		s = Service(icmpv6, 129, 128)
		s = Service(tcp, 1, 2)
	})
	if n != 0 {
		t.Errorf("Service allocates %v times per run", n)
	}
	_ = s
}

func TestState(t *testing.T) {
	tests := []struct{ state, contains string }{
		{"S0", "attempt seen, no reply"},
		{"S1", "established, not terminated"},
		{"SF", "Normal establishment and termination"},
		{"REJ", "rejected"},
		{"S2", "close attempt by originator"},
		{"S3", "close attempt by responder"},
		{"RSTO", "originator aborted"},
		{"RSTR", "Responder sent a RST"},
		{"RSTOS0", "Originator sent a SYN followed by a RST"},
		{"RSTRH", "Responder sent a SYN ACK followed by a RST"},
		{"SH", "Originator sent a SYN followed by a FIN"},
		{"SHR", "Responder sent a SYN ACK followed by a FIN"},
		{"OTH", "No SYN seen, just midstream traffic"},
	}
	for _, tt := range tests {
		got := State(tt.state)
		if !strings.Contains(got, tt.contains) {
			t.Errorf("State(%q) = %q, want it to contain %q", tt.state, got, tt.contains)
		}
	}
	for _, s := range []string{"", "sf", "S4", "RST", "SF ", "-"} {
		if got := State(s); got != "" {
			t.Errorf("State(%q) = %q, want \"\"", s, got)
		}
	}
}

// texts returns History(h) as "letter orig|resp|- text" lines, for comparison.
func texts(h string) []string {
	var out []string
	for _, l := range History(h) {
		side := "resp"
		switch {
		case l.Letter == '^':
			side = "-"
		case l.Orig:
			side = "orig"
		}
		out = append(out, string([]byte{l.Letter})+" "+side+" "+l.Text)
	}
	return out
}

func TestHistoryLetters(t *testing.T) {
	tests := []struct {
		c    byte
		orig bool
		text string
	}{
		{'S', true, "SYN without ACK"},
		{'H', true, "SYN+ACK (handshake)"},
		{'A', true, "pure ACK"},
		{'D', true, "packet with payload (data)"},
		{'F', true, "packet with FIN bit set"},
		{'R', true, "packet with RST bit set"},
		{'C', true, "packet with a bad checksum"},
		{'G', true, "content gap (data missing from the capture)"},
		{'I', true, "inconsistent packet (FIN+RST bits set)"},
		{'Q', true, "multi-flag packet (SYN+FIN or SYN+RST bits set)"},
		{'T', true, "packet with retransmitted payload"},
		{'W', true, "zero window advertisement"},
		{'X', true, "limits exceeded: tunnel changed more than 5 times, or nested too deep"},
		{'^', false, "connection direction flipped (roles swapped)"},
		{'B', true, "unknown"},
		{'z', false, "unknown"},
		{'-', false, "unknown"},
		{'1', false, "unknown"},
		{' ', false, "unknown"},
		{0xff, false, "unknown"},
	}
	for _, tt := range tests {
		cases := []struct {
			c    byte
			orig bool
		}{{tt.c, tt.orig}}
		if tt.c >= 'A' && tt.c <= 'Z' && tt.text != "unknown" {
			cases = append(cases, struct {
				c    byte
				orig bool
			}{tt.c + 'a' - 'A', false})
		}
		for _, c := range cases {
			got := History(string([]byte{c.c}))
			want := Letter{Letter: c.c, Orig: c.orig, Text: tt.text}
			if len(got) != 1 || got[0] != want {
				t.Errorf("History(%q) = %+v, want [%+v]", []byte{c.c}, got, want)
			}
		}
	}
	if got := History(""); len(got) != 0 {
		t.Errorf("History(\"\") = %+v, want none", got)
	}
}

func TestHistory(t *testing.T) {
	tests := []struct {
		h    string
		want []string
	}{
		{"ShADadFf", []string{
			"S orig SYN without ACK",
			"h resp SYN+ACK (handshake)",
			"A orig pure ACK",
			"D orig packet with payload (data)",
			"a resp pure ACK",
			"d resp packet with payload (data)",
			"F orig packet with FIN bit set",
			"f resp packet with FIN bit set",
		}},
		{"^hADdFaf", []string{
			"^ - connection direction flipped (roles swapped)",
			"h resp SYN+ACK (handshake)",
			"A orig pure ACK",
			"D orig packet with payload (data)",
			"d resp packet with payload (data)",
			"F orig packet with FIN bit set",
			"a resp pure ACK",
			"f resp packet with FIN bit set",
		}},
		// Retransmissions and zero windows on the log scale, per side.
		{"ShADadtTtwWtwTt", []string{
			"S orig SYN without ACK",
			"h resp SYN+ACK (handshake)",
			"A orig pure ACK",
			"D orig packet with payload (data)",
			"a resp pure ACK",
			"d resp packet with payload (data)",
			"t resp packet with retransmitted payload",
			"T orig packet with retransmitted payload",
			"t resp packet with retransmitted payload (≥10 times)",
			"w resp zero window advertisement",
			"W orig zero window advertisement",
			"t resp packet with retransmitted payload (≥100 times)",
			"w resp zero window advertisement (≥10 times)",
			"T orig packet with retransmitted payload (≥10 times)",
			"t resp packet with retransmitted payload (≥1,000 times)",
		}},
		{"CCCCCCC", []string{
			"C orig packet with a bad checksum",
			"C orig packet with a bad checksum (≥10 times)",
			"C orig packet with a bad checksum (≥100 times)",
			"C orig packet with a bad checksum (≥1,000 times)",
			"C orig packet with a bad checksum (≥10,000 times)",
			"C orig packet with a bad checksum (≥100,000 times)",
			"C orig packet with a bad checksum (≥1,000,000 times)",
		}},
		{"ShADGgGg", []string{
			"S orig SYN without ACK",
			"h resp SYN+ACK (handshake)",
			"A orig pure ACK",
			"D orig packet with payload (data)",
			"G orig content gap (data missing from the capture)",
			"g resp content gap (data missing from the capture)",
			"G orig content gap (data missing from the capture) (≥10 times)",
			"g resp content gap (data missing from the capture) (≥10 times)",
		}},
		// S/H/F/R again with a new sequence number; A/D/I/Q once, so a second is a plain repeat.
		{"SSrRFfFX", []string{
			"S orig SYN without ACK",
			"S orig SYN without ACK, again (new sequence number)",
			"r resp packet with RST bit set",
			"R orig packet with RST bit set",
			"F orig packet with FIN bit set",
			"f resp packet with FIN bit set",
			"F orig packet with FIN bit set, again (new sequence number)",
			"X orig limits exceeded: tunnel changed more than 5 times, or nested too deep",
		}},
		{"AaAQq", []string{
			"A orig pure ACK",
			"a resp pure ACK",
			"A orig pure ACK, again",
			"Q orig multi-flag packet (SYN+FIN or SYN+RST bits set)",
			"q resp multi-flag packet (SYN+FIN or SYN+RST bits set)",
		}},
		// A flip moves the counts with the endpoints: the old originator's T was its
		// first retransmission, so its next letter, now t, is the 10th.
		{"T^tT", []string{
			"T orig packet with retransmitted payload",
			"^ - connection direction flipped (roles swapped)",
			"t resp packet with retransmitted payload (≥10 times)",
			"T orig packet with retransmitted payload",
		}},
		// UDP: data each way and bad checksums.
		{"Dcd", []string{
			"D orig packet with payload (data)",
			"c resp packet with a bad checksum",
			"d resp packet with payload (data)",
		}},
		{"S?h", []string{
			"S orig SYN without ACK",
			"? resp unknown",
			"h resp SYN+ACK (handshake)",
		}},
	}
	for _, tt := range tests {
		got := texts(tt.h)
		if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
			t.Errorf("History(%q):\n%s\nwant:\n%s", tt.h, strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
		}
	}
}

func TestHistoryManyRepeats(t *testing.T) {
	got := History(strings.Repeat("w", 25))
	if len(got) != 25 {
		t.Fatalf("len = %d, want 25", len(got))
	}
	for i, want := range map[int]string{
		18: "zero window advertisement (≥1,000,000,000,000,000,000 times)",
		19: "zero window advertisement (≥10^19 times)",
		24: "zero window advertisement (≥10^24 times)",
	} {
		if got[i].Text != want {
			t.Errorf("History(w×25)[%d] = %q, want %q", i, got[i].Text, want)
		}
	}
}

func TestPow10(t *testing.T) {
	for e, want := range []string{"1", "10", "100", "1,000", "10,000", "100,000", "1,000,000", "10,000,000"} {
		if got := pow10(e); got != want {
			t.Errorf("pow10(%d) = %q, want %q", e, got, want)
		}
	}
}

func TestReason(t *testing.T) {
	tests := []struct {
		r    tracker.RemoveReason
		want string
	}{
		{tracker.ReasonEndOfInput, "input ended or capture stopped"},
		{tracker.ReasonClose, "both sides closed"},
		{tracker.ReasonReset, "reset (RST)"},
		{tracker.ReasonInactivity, "inactivity timeout"},
		{tracker.ReasonAttempt, "unanswered SYN (attempt timeout)"},
		{tracker.ReasonReuse, "5-tuple reused by a new SYN"},
		{tracker.ReasonExpire, "expired (half-closed or never established)"},
		{tracker.ReasonEviction, "evicted (table full)"},
		{tracker.RemoveReason(200), ""},
	}
	for _, tt := range tests {
		if got := Reason(tt.r); got != tt.want {
			t.Errorf("Reason(%v) = %q, want %q", tt.r, got, tt.want)
		}
	}
	// Every reason the tracker names has a phrase.
	for r := tracker.RemoveReason(0); r.String() != "unknown"; r++ {
		if Reason(r) == "" {
			t.Errorf("Reason(%v) = \"\"", r)
		}
	}
}

func FuzzHistory(f *testing.F) {
	for _, s := range []string{"", "ShADadFf", "^hADdFaf", "ShADadtTtwWtwTt", "CCCCCCCCCCC", "SSrRFfFX", "T^tT", "x?\x00\xff", "ShAD^Gg"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		got := History(h)
		if len(got) != len(h) {
			t.Fatalf("History(%q): %d letters, want %d", h, len(got), len(h))
		}
		for i, l := range got {
			c := h[i]
			if l.Letter != c {
				t.Fatalf("History(%q)[%d].Letter = %q, want %q", h, i, l.Letter, c)
			}
			if l.Text == "" {
				t.Fatalf("History(%q)[%d] has no text", h, i)
			}
			switch {
			case c >= 'A' && c <= 'Z':
				if !l.Orig {
					t.Fatalf("History(%q)[%d] = %q: upper case but not Orig", h, i, c)
				}
			case c >= 'a' && c <= 'z':
				if l.Orig {
					t.Fatalf("History(%q)[%d] = %q: lower case but Orig", h, i, c)
				}
			default:
				if l.Orig {
					t.Fatalf("History(%q)[%d] = %q: not a letter but Orig", h, i, c)
				}
			}
		}
	})
}
