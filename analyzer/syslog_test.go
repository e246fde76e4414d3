package analyzer

import (
	"strconv"
	"strings"
	"testing"
)

// Syslog messages of RFC 3164 §5.4 and RFC 5424 §6.5.
const (
	syslogBSD    = "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8"
	syslog5424   = "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] An application event log entry..."
	syslogNoPrio = "Use the BFG!"
)

// syslogCount frames msg by octet counting (RFC 6587 §3.4.1).
func syslogCount(msg string) string { return strconv.Itoa(len(msg)) + " " + msg }

// TestSyslogUDP covers datagrams with and without a priority, and bad priorities.
func TestSyslogUDP(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    script
		want string
	}{
		{"a BSD message", script{Steps: []step{o(syslogBSD)}}, "syslog"},
		{"an RFC 5424 message", script{Steps: []step{o(syslog5424)}}, "syslog"},
		{"no priority", script{Steps: []step{o(syslogNoPrio)}}, "syslog"},
		{"a priority alone", script{Steps: []step{o("<13>")}}, "syslog"},
		{"from the responder", script{Steps: []step{r(syslogBSD)}}, "syslog"},
		{"no port elsewhere", script{Resp: "10.0.0.2:5514", Steps: []step{o(syslogBSD)}}, ""},
		{"a priority without digits", script{Steps: []step{o("<>hello")}}, ""},
		{"a priority not closed", script{Steps: []step{o("<13 hello")}}, ""},
		{"a bare <", script{Steps: []step{o("<")}}, ""},
		{"letters in the priority", script{Steps: []step{o("<1a>x")}}, ""},
		{"a bad datagram after a good one", script{Steps: []step{o(syslogBSD), o("<x")}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.s.Analyzers = []string{"syslog", "syslog_tcp"}
			tc.s.Proto = UDP
			if tc.s.Resp == "" {
				tc.s.Resp = "10.0.0.2:514"
			}
			if h, _ := run(t, tc.s); h.service() != tc.want {
				t.Errorf("service %q, want %q", h.service(), tc.want)
			}
		})
	}
}

// TestSyslogTCP covers both framings, chunking, FIN inside a frame and parse errors.
func TestSyslogTCP(t *testing.T) {
	lines := []step{o(syslogBSD + "\n"), o(syslog5424 + "\n")}
	counted := []step{o(syslogCount(syslog5424) + syslogCount(syslogBSD)), o(syslogCount(syslogBSD))}
	for _, tc := range []struct {
		name string
		s    script
		want string
	}{
		{"LF-terminated frames", script{Steps: lines}, "syslog_tcp"},
		{"LF-terminated, byte by byte", script{Steps: bytewise(lines)}, "syslog_tcp"},
		{"CR LF and NUL terminated", script{Steps: []step{o(syslogBSD + "\r\n" + syslogBSD + "\x00" + syslogBSD + "\n")}}, "syslog_tcp"},
		{"octet counting", script{Steps: counted}, "syslog_tcp"},
		{"octet counting, byte by byte", script{Steps: bytewise(counted)}, "syslog_tcp"},
		{"octet counting, a long message", script{Steps: []step{o(syslogCount(strings.Repeat("m", 100000)))}}, "syslog_tcp"},
		{"an incomplete frame", script{Steps: []step{o(syslogBSD)}}, ""},
		{"mid-stream from a frame boundary", script{Partial: true, Steps: lines}, "syslog_tcp"},
		{"FIN after complete frames", script{Steps: []step{o(syslogBSD + "\n"), {Orig: true, End: true}}}, "syslog_tcp"},
		{"FIN inside a frame", script{Steps: []step{o(syslogBSD + "\n" + syslogBSD), {Orig: true, End: true}}}, ""},
		{"FIN inside a counted frame", script{Steps: []step{o(syslogCount(syslogBSD) + "12 abc"), {Orig: true, End: true}}}, ""},
		{"no priority", script{Steps: []step{o(syslogNoPrio + "\n")}}, ""},
		{"text after a frame", script{Steps: []step{o(syslogBSD + "\n"), o("hello\n")}}, ""},
		{"a priority without digits", script{Steps: []step{o("<>x\n")}}, ""},
		{"a length without its space", script{Steps: []step{o("12<34>x")}}, ""},
		{"a length too long", script{Steps: []step{o("1234567890 x")}}, ""},
		{"a gap ends the direction", script{Steps: []step{{Orig: true, Gap: 5}, o(syslogBSD + "\n")}}, ""},
		{"the responder is not parsed", script{Steps: []step{r("garbage"), o(syslogBSD + "\n"), r("more garbage"), {End: true}}}, "syslog_tcp"},
		{"no port elsewhere", script{Resp: "10.0.0.2:6514", Steps: lines}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.s.Analyzers = []string{"syslog", "syslog_tcp"}
			if tc.s.Resp == "" {
				tc.s.Resp = "10.0.0.2:514"
			}
			if h, _ := run(t, tc.s); h.service() != tc.want {
				t.Errorf("service %q, want %q", h.service(), tc.want)
			}
		})
	}
}

// FuzzSyslog feeds both syslog parsers arbitrary input.
func FuzzSyslog(f *testing.F) {
	f.Add(false, rpFuzzInput(o(syslogBSD+"\n"), o(syslogCount(syslog5424)), step{Orig: true, End: true}))
	f.Add(true, rpFuzzInput(o(syslogBSD), o("<1"), o(syslogNoPrio)))
	f.Add(false, rpFuzzInput(bytewise([]step{o(syslogCount(syslogBSD))})...))
	f.Fuzz(func(t *testing.T, udp bool, data []byte) {
		if udp {
			rpFuzz(t, []string{"syslog"}, UDP, 514, false, data, rpCheckBounds)
		} else {
			rpFuzz(t, []string{"syslog_tcp"}, TCP, 514, false, data, rpCheckBounds)
		}
	})
}
