package analyzer

import (
	"strings"
	"testing"
)

// The irc analyzer (service-detection.md §8 row irc, §4 DCC SEND, §5.1).

// init adds samples for the irc signatures.
func init() {
	ruleSamples = append(ruleSamples,
		":ircd1.local 451 * JOIN :You must be fully connected\r\n", "x\r:a 001 ", ": 001 ", ":a\r001 ", "001x", "\n123 ",
		"PASS test\r\nNICK tim2\r\nUSER tim tim 10.0.0.22 :Tim\r\n", "USER a\r\nNICK b\r\n", "USER  ab\nNICK c\n", "USER a\nNICK \r",
		" user x y\r\n\r\n  nick z\r\n", "NICK a\rUSER b\r", "NICK a\r\nUSER b", "NICK \r\nUSER x\r\n", "USER \n\nNICK \n",
		"SERVER irc.a.net 1 :A server\r\n", "SERVER a\r\nb 1 :x\n", "server  a  12  :\r\n", "SERVER a 1 :\r\n", "SERVER a 1 :xy",
		"SERVER a b :x\r\n", "x\nSERVER a 1 :x\n",
		"USER a\r\nUSER b\r\nNICK c\r\n", "USER a\r\nUSER \rNICK c\r\n", "NICK a\nNICK b\nUSER c\n", "USER a\nUSER b\n",
	)
}

// ircLogin is a client registering with an InspIRCd server, IRCv3 tags and all.
var ircLogin = []step{
	o("CAP LS 302\r\n"),
	r(":ircd1.local NOTICE * :*** Looking up your hostname...\r\n"),
	o("CAP REQ :multi-prefix extended-join setname\r\n"),
	r("@time=2025-07-28T20:48:30.026Z :ircd1.local CAP * ACK :multi-prefix extended-join setname\r\n"),
	o("CAP END\r\n"),
	o("PASS test\r\nNICK tim2\r\nUSER tim tim 10.0.0.22 :Tim Wojtulewicz\r\n"),
	r("@time=2025-07-28T20:48:30.049Z :tim2!tim@10.0.0.7 SETNAME :Tim Wojtulewicz\r\n@time=2025-07-28T20:48:30.049Z PING :jNY28dDdI9\r\n"),
	o("PONG :jNY28dDdI9\r\n"),
	r("@time=2025-07-28T20:48:31.481Z :ircd1.local 001 tim2 :Welcome to the ircd1 IRC Network tim2!tim@10.0.0.7\r\n"),
}

// ircSteps returns ircLogin followed by more steps.
func ircSteps(more ...step) []step { return append(append([]step(nil), ircLogin...), more...) }

// TestIRC covers confirmation, violations, long lines and signatures.
func TestIRC(t *testing.T) {
	only := []string{"irc"}
	const srv = "10.0.0.22:6667"
	lnRunCases(t, []lnCase{
		{name: "login", s: script{Analyzers: only, Orig: "10.0.0.7:59069", Resp: srv, Steps: ircLogin}, service: "irc"},
		{name: "cap only", s: script{Analyzers: only, Resp: srv, Steps: ircLogin[:5]}, service: ""},
		{name: "lower case", s: script{Analyzers: only, Resp: srv, Steps: []step{o("join #a\r\n")}}, service: "irc"},
		{name: "server only", s: script{Analyzers: only, Resp: srv, Steps: []step{r(":srv NOTICE * :hi\r\nPING :x\r\n")}}, service: ""},
		{name: "short line", s: script{Analyzers: only, Resp: srv, Steps: ircSteps(r("ok\r\n"))}, service: ""},
		{name: "short after prefix", s: script{Analyzers: only, Resp: srv, Steps: ircSteps(r(":srv ab\r\n"))}, service: ""},
		{name: "prefix without space", s: script{Analyzers: only, Resp: srv, Steps: ircSteps(r(":srv\r\n"))}, service: "irc"},
		{name: "bad numeric", s: script{Analyzers: only, Resp: srv, Steps: ircSteps(r(":srv 12x tim2 :x\r\n"))}, service: ""},
		{name: "numeric without space", s: script{Analyzers: only, Resp: srv, Steps: ircSteps(r("001\r\n"))}, service: ""},
		{name: "twenty long commands", s: script{Analyzers: only, Resp: srv, Steps: ircSteps(
			o(strings.Repeat("ABCDEFGHIJKLMNOPQRSTU x\r\n", 20)))}, service: "irc"},
		{name: "twenty-one long commands", s: script{Analyzers: only, Resp: srv, Steps: ircSteps(
			r(strings.Repeat(":srv ABCDEFGHIJKLMNOPQRSTU x\r\n", 21)))}, service: ""},
		{name: "long line skipped", s: script{Analyzers: only, Resp: srv, Steps: ircSteps(r(strings.Repeat("1", 600) + "\r\n"))},
			service: "irc"},
		{name: "512 bytes parsed", s: script{Analyzers: only, Resp: srv, Steps: ircSteps(r(strings.Repeat("1", 512) + "\r\n"))},
			service: ""},
		{name: "gap resyncs", s: script{Analyzers: only, Resp: srv, Steps: ircSteps(r(":srv NOT"), step{Gap: 100}, r("x\r\n:srv 002 a :b\r\n"))},
			service: "irc", noSplit: true},
		{name: "bad line past 10 KiB", s: script{Analyzers: only, Resp: srv, Steps: ircSteps(
			r(strings.Repeat(":srv 372 tim2 :"+strings.Repeat("-", 80)+"\r\n", 120)), r("ok\r\n"))}, service: "irc"},
		{name: "partial", s: script{Analyzers: only, Resp: srv, Partial: true, Steps: []step{o("NICK a\r\n")}}, service: "irc"},
		{name: "signature off port", s: script{Analyzers: only, Resp: "10.0.0.22:7000", Steps: []step{
			o("NICK a\r\nUSER a 0 * :A\r\n"), r(":srv 001 a :Welcome\r\n")}}, service: "irc"},
		{name: "signature needs the server", s: script{Analyzers: only, Resp: "10.0.0.22:7000", Steps: []step{
			o("NICK a\r\nUSER a 0 * :A\r\n")}}, service: ""},
		{name: "many USER lines in one chunk", s: script{Analyzers: only, Resp: "10.0.0.22:7000", Steps: []step{
			r(":srv 001 a :Welcome\r\n"), o(strings.Repeat("USER x\r\n", 8192) + "NICK y\r\n")}}, service: "irc", noSplit: true},
		{name: "server to server", s: script{Analyzers: only, Resp: "10.0.0.22:7000", Steps: []step{
			o("PASS x\r\nSERVER irc.a.net 1 :A server\r\n"), r("PASS y\r\nSERVER irc.b.net 1 :B server\r\n")}}, service: "irc"},
	})
}

// TestIRCDCC covers the DCC SEND expected connections (§4).
func TestIRCDCC(t *testing.T) {
	only := []string{"irc"}
	const srv = "10.0.0.22:6667"
	lnRunCases(t, []lnCase{
		{name: "send", s: script{Analyzers: only, Orig: "10.0.0.7:59069", Resp: srv, Steps: ircSteps(
			o("PRIVMSG tim1 :\x01DCC SEND ssh.trace 167772167 59130 1320211\x01\r\n"))},
			service: "irc", expect: []lnExpect{{"", "10.0.0.7:59130", "irc-dcc-data"}, {"10.9.9.9", "10.0.0.7:59130", "irc-dcc-data"}}},
		{name: "send from the server", s: script{Analyzers: only, Resp: srv, Steps: ircSteps(
			r("@time=2025-07-28T20:50:05.978Z :tim2!tim@10.0.0.7 PRIVMSG tim1 :\x01DCC SEND f 167772167 59131\x01\r\n"))},
			service: "irc", expect: []lnExpect{{"", "10.0.0.7:59131", "irc-dcc-data"}}},
		{name: "reverse send", s: script{Analyzers: only, Resp: srv, Steps: ircSteps(
			o("PRIVMSG tim1 :\x01DCC SEND f 167772167 5000 100 12T\x01\r\n"))},
			service: "irc", expect: []lnExpect{{"", "10.0.0.7:5000", "irc-dcc-data"}}},
		{name: "seven words without T", s: script{Analyzers: only, Resp: srv, Steps: ircSteps(
			o("PRIVMSG tim1 :\x01DCC SEND f 167772167 5001 100 12\x01\r\n"))},
			service: "irc", none: []string{"10.0.0.7:5001"}},
		{name: "chat", s: script{Analyzers: only, Resp: srv, Steps: ircSteps(
			o("PRIVMSG tim1 :\x01DCC CHAT CHAT 167772167 59214\x01\r\n"))},
			service: "irc", none: []string{"10.0.0.7:59214"}},
		{name: "notice", s: script{Analyzers: only, Resp: srv, Steps: ircSteps(
			o("NOTICE tim1 :\x01DCC SEND f 167772167 5002\x01\r\n"))},
			service: "irc", none: []string{"10.0.0.7:5002"}},
		{name: "late send", s: script{Analyzers: only, Resp: srv, Steps: ircSteps(
			r(strings.Repeat(":srv 372 tim2 :"+strings.Repeat("-", 80)+"\r\n", 200)),
			o("PRIVMSG tim1 :\x01DCC SEND f 167772168 6000 1\x01\r\n"))},
			service: "irc", expect: []lnExpect{{"", "10.0.0.8:6000", "irc-dcc-data"}}},
	})
}

// TestIRCStartTLS covers numeric 670 (§5.1).
func TestIRCStartTLS(t *testing.T) {
	hello := lnClientHello(t)
	lnRunCases(t, []lnCase{
		{name: "670", s: script{Analyzers: []string{"irc", "ssl"}, Resp: "10.0.0.22:6667", Steps: []step{
			o("STARTTLS\r\n"), r(":srv 670 * :STARTTLS successful, proceed with TLS handshake\r\n"), o(hello), r(lnServerRecord)}},
			service: "irc,ssl"},
		{name: "691", s: script{Analyzers: []string{"irc", "ssl"}, Resp: "10.0.0.22:6667", Steps: []step{
			o("STARTTLS\r\n"), r(":srv 691 * :STARTTLS failed\r\n")}},
			service: "irc"},
	})
}

// TestIRCTwoLinesYield: at a line start, irc-c1 and irc-c2 stop at the next line
// with the same first word, which the PIA tries itself, instead of reading on to
// the end of the data from every line start (quadratic in a chunk of USER lines).
func TestIRCTwoLinesYield(t *testing.T) {
	for _, tc := range []struct {
		data      string
		at, whole Result
	}{
		{"USER a\r\nUSER b\r\nNICK c\r\n", More, Match}, // the second line matches
		{"USER b\r\nNICK c\r\n", Match, Match},
		{"USER a\r\nUSER \rNICK c\r\n", Match, Match},   // the CR after "USER " is still the first line's
		{"USER a\r\nUSERx\r\nNICK c\r\n", Match, Match}, // not the first word: read past
		{strings.Repeat("USER x\r\n", 1000), More, More},
	} {
		if got := ircTwoLinesAt([]byte(tc.data), "user", "nick", 1); got != tc.at {
			t.Errorf("at the start of %q: %v, want %v", tc.data, got, tc.at)
		}
		if got := matchIRCTwoLines([]byte(tc.data), "user", "nick", 1); got != tc.whole {
			t.Errorf("over %q: %v, want %v", tc.data, got, tc.whole)
		}
	}
}
