package analyzer

import (
	"strings"
	"testing"
)

// The smtp analyzer (service-detection.md §8 row smtp, §5.1 STARTTLS).

// init adds samples for the smtp signatures.
func init() {
	ruleSamples = append(ruleSamples,
		"220 mx.example.org ESMTP Postfix\r\n", " \r\n220-x", "220x", "2200", "\t220\t", "ehlo x", "\r\n \n\tHELO", "xHELO",
		"MAIL\nEhLo", "\n\n\n", "  \r  h",
	)
}

// smtpMail is a submission from greeting to QUIT.
var smtpMail = []step{
	r("220 mx.example.org ESMTP Postfix\r\n"),
	o("EHLO client.example.org\r\n"),
	r("250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n250 8BITMIME\r\n"),
	o("MAIL FROM:<a@example.org>\r\n"),
	r("250 2.1.0 Ok\r\n"),
	o("RCPT TO:<b@example.org>\r\n"),
	r("250 2.1.5 Ok\r\n"),
	o("DATA\r\n"),
	r("354 End data with <CR><LF>.<CR><LF>\r\n"),
	o("Subject: hi\r\n\r\n999 this line is text\r\n..leading dot\r\n.\r\n"),
	r("250 2.0.0 Ok: queued as 1234\r\n"),
	o("QUIT\r\n"),
	r("221 2.0.0 Bye\r\n"),
}

// TestSMTP covers confirmation, violations, gaps and signatures.
func TestSMTP(t *testing.T) {
	only := []string{"smtp"}
	const srv = "10.0.0.2:25"
	lnRunCases(t, []lnCase{
		{name: "mail", s: script{Analyzers: only, Resp: srv, Steps: smtpMail}, service: "smtp"},
		{name: "client only", s: script{Analyzers: only, Resp: srv, Steps: []step{o("HELO x\r\n")}}, service: "smtp"},
		{name: "lower case verb", s: script{Analyzers: only, Resp: srv, Steps: []step{o("  noop\r\n")}}, service: "smtp"},
		{name: "unknown verb", s: script{Analyzers: only, Resp: srv, Steps: []step{r("220 hi\r\n"), o("HELLO x\r\nXFOO\r\n")}}, service: ""},
		{name: "server only", s: script{Analyzers: only, Resp: srv, Steps: []step{r("220 hi\r\n")}}, service: ""},
		{name: "dot ends data", s: script{Analyzers: only, Resp: srv, Steps: []step{
			r("220 hi\r\n"), o("DATA\r\n"), r("354 go\r\n"), o("HELO is text\r\n.\r\n")}}, service: "smtp"},
		{name: "auth continuation", s: script{Analyzers: only, Resp: srv, Steps: []step{
			r("220 hi\r\n"), o("AUTH LOGIN\r\n"), r("334 VXNlcm5hbWU6\r\n"), o("dXNlcg==\r\n"), r("334 UGFzc3dvcmQ6\r\n"),
			o("cGFzcw==\r\n"), r("235 2.7.0 Authentication successful\r\n")}}, service: "smtp"},
		{name: "bad code", s: script{Analyzers: only, Resp: srv, Steps: append(append([]step(nil), smtpMail[:3]...),
			o("NOOP\r\n"), r("600 what\r\n"))}, service: ""},
		{name: "code 099", s: script{Analyzers: only, Resp: srv, Steps: []step{o("EHLO x\r\n"), r("099 no\r\n")}}, service: ""},
		{name: "text reply", s: script{Analyzers: only, Resp: srv, Steps: []step{o("EHLO x\r\n"), r("+OK POP3\r\n")}}, service: ""},
		{name: "bad code past 10 KiB", s: script{Analyzers: only, Resp: srv, Steps: []step{
			o("EHLO x\r\n"), r("250 " + strings.Repeat("x", 11000) + "\r\n"), r("oops\r\n")}}, service: "smtp"},
		{name: "gap recovery", s: script{Analyzers: only, Resp: srv, Steps: []step{
			r("220 hi\r\n"), o("EHLO x\r\n"), r("250-mx\r\n250-SI"), step{Gap: 30}, r("ZE\r\n250 OK\r\n"), o("QUIT\r\n"), r("221 bye\r\n")}},
			service: "smtp", noSplit: true},
		{name: "gap before confirmation", s: script{Analyzers: only, Resp: srv, Steps: []step{
			r("220 hi\r\n"), step{Orig: true, Gap: 10}, o("LO x\r\nMAIL FROM:<>\r\n")}},
			service: "smtp", noSplit: true},
		{name: "partial", s: script{Analyzers: only, Resp: srv, Partial: true, Steps: []step{o("EHLO x\r\n")}}, service: ""},
		{name: "signature off port", s: script{Analyzers: only, Resp: "10.0.0.2:2525", Steps: smtpMail}, service: "smtp"},
		{name: "signature needs the greeting", s: script{Analyzers: only, Resp: "10.0.0.2:2525", Steps: []step{o("EHLO x\r\n")}}, service: ""},
	})
}

// TestSMTPStartTLS covers STARTTLS and X-ANONYMOUSTLS (§5.1).
func TestSMTPStartTLS(t *testing.T) {
	hello := lnClientHello(t)
	only := []string{"smtp", "ssl"}
	const srv = "10.0.0.2:587"
	lnRunCases(t, []lnCase{
		{name: "starttls", s: script{Analyzers: only, Resp: srv, Steps: []step{
			r("220 mx ESMTP\r\n"), o("EHLO x\r\n"), r("250-mx\r\n250 STARTTLS\r\n"), o("STARTTLS\r\n"),
			r("220 2.0.0 Ready to start TLS\r\n"), o(hello), r(lnServerRecord)}},
			service: "smtp,ssl"},
		{name: "x-anonymoustls", s: script{Analyzers: only, Resp: srv, Steps: []step{
			r("220 mx ESMTP\r\n"), o("EHLO x\r\nX-ANONYMOUSTLS\r\n"), r("250 mx\r\n"), r("220 go\r\n" + lnServerRecord), o(hello)}},
			service: "smtp,ssl"},
		{name: "starttls refused", s: script{Analyzers: only, Resp: srv, Steps: []step{
			r("220 mx ESMTP\r\n"), o("EHLO x\r\nSTARTTLS\r\n"), r("250 mx\r\n454 TLS not available\r\n"), o(hello)}},
			service: "smtp"},
		{name: "ssl disabled", s: script{Analyzers: []string{"smtp"}, Resp: srv, Steps: []step{
			r("220 mx ESMTP\r\n"), o("STARTTLS\r\n"), r("220 go\r\n"), o(hello), r(lnServerRecord)}},
			service: "smtp"},
	})
}
