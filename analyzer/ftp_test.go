package analyzer

import (
	"net/netip"
	"strings"
	"testing"
)

// The ftp analyzer (service-detection.md §8 row ftp, §4 data connections, §5.1
// AUTH TLS).

// init adds samples for the ftp signatures.
func init() {
	ruleSamples = append(ruleSamples,
		"220 ftp.NetBSD.org FTP server ready.\r\n331 Guest login ok\r\n", "\r\n 120 wait\n  230 ok", "220-\r\n230-x",
		"220 x\r\n2301", "221 x\r\n331 y", "2200", "x\r\n  user bob", "PASS x\nUSER a", "useR",
	)
}

// ftpSession is the start of a session on an FTP server (from ftp.NetBSD.org),
// with a multi-line 230 whose text holds lines that look like replies.
var ftpSession = []step{
	r("220 ftp.NetBSD.org FTP server (NetBSD-ftpd 20100320) ready.\r\n"),
	o("USER anonymous\r\n"),
	r("331 Guest login ok, type your name as password.\r\n"),
	o("PASS test\r\n"),
	r("230-\r\n    The NetBSD Project FTP Server located in Redwood City, CA, USA\r\n"),
	r("      +--- Currently Supported Platforms ----+\r\n99 bottles\r\nx\r\n230-\r\n    EXPORT NOTICE\r\n    \r\n230 Guest login ok, access restrictions apply.\r\n"),
	o("SYST\r\n"),
	r("215 UNIX Type: L8 Version: NetBSD-ftpd 20100320\r\n"),
}

// ftpSteps returns ftpSession followed by more steps.
func ftpSteps(more ...step) []step { return append(append([]step(nil), ftpSession...), more...) }

// TestFTP covers confirmation on client lines and violations on replies.
func TestFTP(t *testing.T) {
	only := []string{"ftp"}
	const srv = "10.0.0.2:21"
	lnRunCases(t, []lnCase{
		{name: "login", s: script{Analyzers: only, Resp: srv, Steps: ftpSteps()}, service: "ftp"},
		{name: "client only", s: script{Analyzers: only, Resp: srv, Steps: []step{o("USER anonymous\r\n")}}, service: "ftp"},
		{name: "any word confirms", s: script{Analyzers: only, Resp: srv, Steps: []step{o("  xyz\r\n")}}, service: "ftp"},
		{name: "short word", s: script{Analyzers: only, Resp: srv, Steps: []step{o("ab cd\r\n\r\n")}}, service: ""},
		{name: "unprintable word", s: script{Analyzers: only, Resp: srv, Steps: []step{o("\x01\x02\x03\x04\r\n")}}, service: ""},
		{name: "long word", s: script{Analyzers: only, Resp: srv, Steps: []step{o(strings.Repeat("A", 101) + "\r\n")}}, service: ""},
		{name: "100-byte word", s: script{Analyzers: only, Resp: srv, Steps: []step{o(strings.Repeat("A", 100) + " x\r\n")}}, service: "ftp"},
		{name: "unfinished line at end", s: script{Analyzers: only, Resp: srv, Steps: []step{o("QUIT"), {Orig: true, End: true}}}, service: "ftp"},
		// The py.fake server of Zeek's ftp/invalid-reply test.
		{name: "reply code 99", s: script{Analyzers: only, Resp: "127.0.0.1:21", Orig: "127.0.0.1:51354", Steps: []step{
			r("220 py.fake ready\r\n"), o("USER zeek\r\n"), r("230 USER OK\r\n"), o("PASS zeek\r\n"), r("230 PASS OK\r\n"),
			o("PASV\r\n"), r("99 PASV invalid\r\n"), o("QUIT\r\n"), r("221 Bye\r\n")}}, service: ""},
		{name: "reply code 099", s: script{Analyzers: only, Resp: srv, Steps: ftpSteps(o("PASV\r\n"), r("099 no\r\n"))}, service: ""},
		{name: "bad 4th byte", s: script{Analyzers: only, Resp: srv, Steps: ftpSteps(o("NOOP\r\n"), r("200_ok\r\n"))}, service: ""},
		{name: "text reply", s: script{Analyzers: only, Resp: srv, Steps: ftpSteps(o("NOOP\r\n"), r("hello\r\n"))}, service: ""},
		{name: "bare code", s: script{Analyzers: only, Resp: srv, Steps: ftpSteps(o("NOOP\r\n"), r("200\r\n"))}, service: "ftp"},
		{name: "empty reply line", s: script{Analyzers: only, Resp: srv, Steps: ftpSteps(o("NOOP\r\n"), r("\r\n"))}, service: ""},
		{name: "bad reply past 10 KiB", s: script{Analyzers: only, Resp: srv, Steps: ftpSteps(
			o("NOOP\r\n"), r("211-"+strings.Repeat("x", 11000)+"\r\n211 end\r\n"), r("hello\r\n"))}, service: "ftp"},
		{name: "server only", s: script{Analyzers: only, Resp: srv, Steps: []step{r("220 hi\r\n331 pw\r\n")}}, service: ""},
		{name: "gap resyncs", s: script{Analyzers: only, Resp: srv, Steps: ftpSteps(
			o("RETR x\r\n"), r("150 Openi"), step{Gap: 20}, r("ng\r\n226 Transfer complete\r\n"))}, service: "ftp", noSplit: true},
		{name: "partial", s: script{Analyzers: only, Resp: srv, Partial: true, Steps: []step{o("CWD /pub\r\n")}}, service: "ftp"},
		{name: "signature off port", s: script{Analyzers: only, Resp: "10.0.0.2:2121", Steps: ftpSteps()}, service: "ftp"},
		{name: "signature needs 230 or 331", s: script{Analyzers: only, Resp: "10.0.0.2:2121", Steps: []step{
			r("220 hi\r\n"), o("USER a\r\n"), r("530 no\r\n")}}, service: ""},
	})
}

// TestFTPDataConnections covers the expected data connections (§4).
func TestFTPDataConnections(t *testing.T) {
	only := []string{"ftp"}
	lnRunCases(t, []lnCase{
		{name: "passive", s: script{Analyzers: only, Orig: "141.142.220.235:50003", Resp: "199.233.217.249:21", Steps: ftpSteps(
			o("PASV\r\n"), r("227 Entering Passive Mode (199,233,217,249,221,90)\r\n"), o("LIST\r\n"),
			r("150 Opening ASCII mode data connection for '/bin/ls'.\r\n226 Transfer complete.\r\n"))},
			service: "ftp", expect: []lnExpect{{"141.142.220.235", "199.233.217.249:56666", "ftp-data"}}},
		{name: "active", s: script{Analyzers: only, Orig: "141.142.220.235:50003", Resp: "199.233.217.249:21", Steps: ftpSteps(
			o("PORT 141,142,220,235,131,46\r\n"), r("200 PORT command successful.\r\n"))},
			service: "ftp", expect: []lnExpect{{"199.233.217.249", "141.142.220.235:33582", "ftp-data"}}},
		{name: "pipelined pasv", s: script{Analyzers: only, Resp: "10.0.0.2:21", Steps: ftpSteps(
			o("TYPE I\r\nPASV\r\n"), r("200 Type set to I\r\n"), r("227 Entering Passive Mode (10,0,0,2,1,2).\r\n"))},
			service: "ftp", expect: []lnExpect{{"10.0.0.1", "10.0.0.2:258", "ftp-data"}}},
		{name: "227 without pasv", s: script{Analyzers: only, Resp: "10.0.0.2:21", Steps: ftpSteps(
			o("NOOP\r\n"), r("227 Entering Passive Mode (10,0,0,2,1,2).\r\n"))},
			service: "ftp", none: []string{"10.0.0.2:258"}},
		{name: "227 numbers after PORT", s: script{Analyzers: only, Resp: "10.0.0.2:21", Steps: ftpSteps(
			o("PASV\r\n"), r("227 PORT 10,0,0,3,4,1\r\n"))},
			service: "ftp", expect: []lnExpect{{"10.0.0.1", "10.0.0.3:1025", "ftp-data"}}},
		{name: "227 bare numbers", s: script{Analyzers: only, Resp: "10.0.0.2:21", Steps: ftpSteps(
			o("PASV\r\n"), r("227 =10,0,0,4,0,21\r\n"))},
			service: "ftp", expect: []lnExpect{{"10.0.0.1", "10.0.0.4:21", "ftp-data"}}},
		{name: "227 number out of range", s: script{Analyzers: only, Resp: "10.0.0.2:21", Steps: ftpSteps(
			o("PASV\r\n"), r("227 Entering Passive Mode (10,0,0,256,1,2)\r\n"))},
			service: "ftp", none: []string{"10.0.1.0:258", "10.0.0.0:258"}},
		{name: "epsv", s: script{Analyzers: only, Orig: "[2001:470:1f11:81f:c999:d94:aa7c:2e3e]:49185", Resp: "[2001:470:4867:99::21]:21", Steps: ftpSteps(
			o("EPSV\r\n"), r("229 Entering Extended Passive Mode (|||57086|)\r\n"))},
			service: "ftp", expect: []lnExpect{{"2001:470:1f11:81f:c999:d94:aa7c:2e3e", "[2001:470:4867:99::21]:57086", "ftp-data"}}},
		{name: "epsv with address", s: script{Analyzers: only, Resp: "10.0.0.2:21", Steps: ftpSteps(
			o("EPSV\r\n"), r("229 ok (!1!10.0.0.9!6000!)\r\n"))},
			service: "ftp", expect: []lnExpect{{"10.0.0.1", "10.0.0.9:6000", "ftp-data"}}},
		{name: "eprt", s: script{Analyzers: only, Orig: "[2001:470:1f11:81f:c999:d94:aa7c:2e3e]:49185", Resp: "[2001:470:4867:99::21]:21", Steps: ftpSteps(
			o("EPRT |2|2001:470:1f11:81f:c999:d94:aa7c:2e3e|49189|\r\n"), r("200 EPRT command successful.\r\n"))},
			service: "ftp", expect: []lnExpect{{"2001:470:4867:99::21", "[2001:470:1f11:81f:c999:d94:aa7c:2e3e]:49189", "ftp-data"}}},
		{name: "eprt ipv4", s: script{Analyzers: only, Resp: "10.0.0.2:21", Steps: ftpSteps(o("eprt |1|10.0.0.1|6446|\r\n"))},
			service: "ftp", expect: []lnExpect{{"10.0.0.2", "10.0.0.1:6446", "ftp-data"}}},
		{name: "eprt bad", s: script{Analyzers: only, Resp: "10.0.0.2:21", Steps: ftpSteps(o("EPRT |1|10.0.0.1|70000|\r\nEPRT |1|10.0.0.1|6446\r\n"))},
			service: "ftp", none: []string{"10.0.0.1:6446", "10.0.0.1:4464"}},
	})
}

// TestFTPParsers checks the PORT and EPRT argument parsers on their own.
func TestFTPParsers(t *testing.T) {
	for in, want := range map[string]string{
		"1,2,3,4,5,6": "1.2.3.4:1286", " 1, 2,3,4,0,21 trailing": "1.2.3.4:21", "+1,2,3,4,0,1": "1.2.3.4:1",
		"1,2,3,4,5": "", "1,2,3,4,5,-6": "", "1 ,2,3,4,5,6": "", "a,2,3,4,5,6": "",
	} {
		a, port, ok := ftpParsePort([]byte(in))
		got := ""
		if ok {
			got = netip.AddrPortFrom(netip.AddrFrom4(a), port).String()
		}
		if got != want {
			t.Errorf("PORT %q: %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"|1|10.0.0.1|21|": "10.0.0.1:21", "|||6000|": "invalid AddrPort", "!2!::1!1!": "[::1]:1",
		"|1|10.0.0.1|21": "", "|x|10.0.0.1|21|": "", "|1|10.0.0.1|65536|": "", "|1|010.0.0.1|21|": "",
		"|2|fe80::1%eth0|21|": "", "": "", "|1|10.0.0.1|2x|": "",
	} {
		a, port, ok := ftpParseExt([]byte(in))
		got := ""
		if ok {
			got = netip.AddrPortFrom(a, port).String()
		}
		if got != want {
			t.Errorf("EPRT %q: %q, want %q", in, got, want)
		}
	}
}

// TestFTPAuthTLS covers AUTH TLS and AUTH GSSAPI (§5.1).
func TestFTPAuthTLS(t *testing.T) {
	hello := lnClientHello(t)
	only := []string{"ftp", "ssl"}
	lnRunCases(t, []lnCase{
		{name: "auth tls", s: script{Analyzers: only, Resp: "10.0.0.2:21", Steps: []step{
			r("220 hi\r\n"), o("AUTH TLS\r\n"), r("234 AUTH TLS successful\r\n"), o(hello), r(lnServerRecord)}},
			service: "ftp,ssl"},
		{name: "auth tls refused", s: script{Analyzers: only, Resp: "10.0.0.2:21", Steps: []step{
			r("220 hi\r\n"), o("AUTH TLS\r\n"), r("504 no\r\n"), o(hello)}},
			service: "ftp"},
		{name: "auth ssl is not tls", s: script{Analyzers: only, Resp: "10.0.0.2:21", Steps: []step{
			r("220 hi\r\n"), o("AUTH SSL\r\n"), r("234 go\r\n"), o(hello)}},
			service: "ftp"},
		{name: "ssl disabled", s: script{Analyzers: []string{"ftp"}, Resp: "10.0.0.2:21", Steps: []step{
			r("220 hi\r\n"), o("AUTH TLS\r\n"), r("234 go\r\n"), o(hello), r("garbage\r\n")}},
			service: "ftp"},
		{name: "gssapi adat", s: script{Analyzers: only, Resp: "10.0.0.2:2811", Steps: []step{
			r("220 GridFTP ready\r\n"), o("AUTH GSSAPI\r\n"), r("334 Using authentication type GSSAPI; ADAT must follow\r\n"),
			o("ADAT " + lnBase64(hello) + "\r\n"), r("335 ADAT=" + lnBase64(lnServerRecord) + "\r\n")}},
			service: "ftp,ssl"},
	})
}

// lnBase64 encodes s in standard base64, for ADAT tokens.
func lnBase64(s string) string {
	const digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	var b strings.Builder
	for i := 0; i < len(s); i += 3 {
		var v uint32
		n := min(3, len(s)-i)
		for k := range 3 {
			v <<= 8
			if k < n {
				v |= uint32(s[i+k])
			}
		}
		for k := range 4 {
			if k <= n {
				b.WriteByte(digits[v>>(18-6*k)&63])
			} else {
				b.WriteByte('=')
			}
		}
	}
	return b.String()
}
