package analyzer

import (
	"strings"
	"testing"
)

// The pop3 analyzer (service-detection.md §8 row pop3, §5.1 STLS). POP3 has no
// port: every case here is attached by the pop3-c and pop3-s signatures.

// init adds samples for the pop3 signatures.
func init() {
	ruleSamples = append(ruleSamples,
		"+OK POP server ready H mimap4\r\n", "+ok", "+O", "CAPA\r\n", "\r\n  user\tbob", "apop x", "APOPx", "x\nAuTh",
		"stl", "\r\n\r\n  \tSTLS", "USERS",
	)
}

// pop3Greeting is a server greeting (from mail.gmx.net).
const pop3Greeting = "+OK POP server ready H mimap4 0MHoUr-1VDxRD3Ui5-003eq2\r\n"

// pop3Capa is a CAPA answer.
const pop3Capa = "+OK Capability list follows\r\nTOP\r\nUSER\r\nUIDL\r\nSTLS\r\nSASL PLAIN\r\nIMPLEMENTATION trinity\r\n.\r\n"

// TestPOP3 covers confirmation, multi-line replies and violations.
func TestPOP3(t *testing.T) {
	only := []string{"pop3"}
	const srv = "212.227.15.166:110"
	lnRunCases(t, []lnCase{
		{name: "capa pipelined", s: script{Analyzers: only, Resp: srv, Steps: []step{
			r(pop3Greeting), o("CAPA\r\n"), o("QUIT\r\n"), r(pop3Capa), r("+OK POP server signing off\r\n")}},
			service: "pop3"},
		{name: "auth exchange", s: script{Analyzers: only, Resp: srv, Steps: []step{
			r(pop3Greeting), o("AUTH\r\n"), r("-ERR 1 argument required\r\n"), o("CAPA\r\n"), r(pop3Capa), o("AUTH PLAIN\r\n"),
			r("+ \r\n"), o("AGRpZ2l0YWxpbnZlc3RpZ2F0b3JAbmV0d29ya3NpbXMuY29tAG5hcGllcg==\r\n"), r("-ERR authentication failed\r\n")}},
			service: "pop3"},
		{name: "auth without capa", s: script{Analyzers: only, Resp: srv, Steps: []step{
			r(pop3Greeting), o("AUTH PLAIN\r\n"), r("+ \r\n"), o("dGVzdAB0ZXN0AHRlc3Q=\r\n"), r("+OK logged in\r\n")}},
			service: ""},
		{name: "auth list", s: script{Analyzers: only, Resp: srv, Steps: []step{
			r(pop3Greeting), o("AUTH\r\n"), r("+OK\r\nPLAIN\r\nLOGIN\r\n.\r\n"), o("USER a\r\n"), r("+OK\r\n")}},
			service: "pop3"},
		{name: "user", s: script{Analyzers: only, Resp: srv, Steps: []step{
			r(pop3Greeting), o("USER bob\r\n"), r("+OK\r\n"), o("PASS secret\r\n"), r("+OK maildrop has 2 messages\r\n")}},
			service: "pop3"},
		{name: "user refused", s: script{Analyzers: only, Resp: srv, Steps: []step{
			r(pop3Greeting), o("USER bob\r\n"), r("-ERR no\r\n")}},
			service: ""},
		{name: "apop does not confirm", s: script{Analyzers: only, Resp: srv, Steps: []step{
			r("+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n"), o("APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n"),
			r("+OK maildrop has 1 message (369 octets)\r\n")}},
			service: ""},
		{name: "retrieval", s: script{Analyzers: only, Resp: srv, Steps: []step{
			r(pop3Greeting), o("USER bob\r\n"), r("+OK\r\n"), o("PASS x\r\n"), r("+OK\r\n"), o("LIST\r\n"),
			r("+OK 2 messages\r\n1 120\r\n2 200\r\n.\r\n"), o("RETR 1\r\n"),
			r("+OK 120 octets\r\nSubject: hi\r\n\r\n-not an error\r\n..dot\r\n.\r\n"), o("TOP 2 0\r\n"), r("+OK\r\nSubject: x\r\n.\r\n"),
			o("UIDL 1\r\n"), r("+OK 1 abc\r\n"), o("QUIT\r\n"), r("+OK bye\r\n")}},
			service: "pop3"},
		{name: "bad server line", s: script{Analyzers: only, Resp: srv, Steps: []step{
			r(pop3Greeting), o("CAPA\r\n"), r(pop3Capa), o("NOOP\r\n"), r("hello\r\n")}},
			service: ""},
		{name: "list with argument is one line", s: script{Analyzers: only, Resp: srv, Steps: []step{
			r(pop3Greeting), o("CAPA\r\n"), r(pop3Capa), o("LIST 1\r\n"), r("+OK 1 120\r\n1 120\r\n")}},
			service: ""},
		{name: "bad greeting", s: script{Analyzers: only, Resp: srv, Steps: []step{
			r("+OK hi\r\n* OK imap\r\n"), o("CAPA\r\n"), r(pop3Capa)}},
			service: ""},
		{name: "ten unknown commands", s: script{Analyzers: only, Resp: srv, Steps: []step{
			r(pop3Greeting), o("CAPA\r\n"), r(pop3Capa), o(strings.Repeat("XTND\r\n", 10))}},
			service: "pop3"},
		{name: "eleven unknown commands", s: script{Analyzers: only, Resp: srv, Steps: []step{
			r(pop3Greeting), o("CAPA\r\n"), r(pop3Capa), o(strings.Repeat("XTND\r\n", 11))}},
			service: ""},
		{name: "client only", s: script{Analyzers: only, Resp: srv, Steps: []step{o("CAPA\r\nUSER a\r\n")}}, service: ""},
		{name: "server only", s: script{Analyzers: only, Resp: srv, Steps: []step{r(pop3Greeting + pop3Capa)}}, service: ""},
		{name: "partial", s: script{Analyzers: only, Resp: srv, Partial: true, Steps: []step{
			r(pop3Greeting), o("CAPA\r\n"), r(pop3Capa)}}, service: ""},
		{name: "unfinished reply at end", s: script{Analyzers: only, Resp: srv, Steps: []step{
			r(pop3Greeting), o("USER a\r\n"), r("+OK"), {End: true}}}, service: "pop3"},
	})
}

// TestPOP3STLS covers STLS (§5.1).
func TestPOP3STLS(t *testing.T) {
	hello := lnClientHello(t)
	only := []string{"pop3", "ssl"}
	const srv = "10.0.0.2:110"
	lnRunCases(t, []lnCase{
		{name: "stls", s: script{Analyzers: only, Resp: srv, Steps: []step{
			r(pop3Greeting), o("STLS\r\n"), r("+OK Begin TLS negotiation\r\n"), o(hello), r(lnServerRecord)}},
			service: "pop3,ssl"},
		{name: "stls refused", s: script{Analyzers: only, Resp: srv, Steps: []step{
			r(pop3Greeting), o("STLS\r\n"), r("-ERR not now\r\n"), o(hello)}},
			service: ""},
	})
}
