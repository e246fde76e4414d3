package analyzer

import "testing"

// The imap analyzer (service-detection.md §8 row imap, §5.1 STARTTLS).

// imapGreeting is a server greeting (from imap.gmx.net).
const imapGreeting = "* OK [CAPABILITY IMAP4rev1 CHILDREN ENABLE ID IDLE LIST-EXTENDED LIST-STATUS LITERAL+ MOVE NAMESPACE SASL-IR SORT " +
	"SPECIAL-USE THREAD=ORDEREDSUBJECT UIDPLUS UNSELECT WITHIN STARTTLS AUTH=LOGIN AUTH=PLAIN] IMAP server ready H migmx013 " +
	"104568 IMAP-0M0Unb-1YwIOs2b5K-00uE1x\r\n"

// TestIMAP covers confirmation, the commands that stop parsing, and parse errors.
func TestIMAP(t *testing.T) {
	only := []string{"imap"}
	const srv = "212.227.17.186:143"
	lnRunCases(t, []lnCase{
		{name: "greeting", s: script{Analyzers: only, Resp: srv, Steps: []step{r(imapGreeting)}}, service: "imap"},
		{name: "lower-case ok", s: script{Analyzers: only, Resp: srv, Steps: []step{r("* ok hi\r\n")}}, service: "imap"},
		{name: "client capability", s: script{Analyzers: only, Resp: srv, Steps: []step{o("a1 capability\r\n")}}, service: "imap"},
		{name: "client CAPABILITY", s: script{Analyzers: only, Resp: srv, Steps: []step{o("a1 CAPABILITY\r\n")}}, service: ""},
		{name: "client starttls", s: script{Analyzers: only, Resp: srv, Steps: []step{o("a1 StartTLS\r\n")}}, service: "imap"},
		{name: "client * OK", s: script{Analyzers: only, Resp: srv, Steps: []step{o("* OK\r\n")}}, service: ""},
		{name: "login stops parsing", s: script{Analyzers: only, Resp: srv, Steps: []step{
			r("* PREAUTH hi\r\n"), o("a login bob secret\r\n"), r("not imap at all\r\n")}}, service: "imap"},
		{name: "LOGIN is only lower case", s: script{Analyzers: only, Resp: srv, Steps: []step{
			r("* PREAUTH hi\r\n"), o("a LOGIN bob secret\r\n"), r("a OK\r\n")}}, service: ""},
		{name: "server list stops too", s: script{Analyzers: only, Resp: srv, Steps: []step{
			r("* list (\\Noselect) \"/\" \"\"\r\n"), r("garbage\r\n"), r(imapGreeting)}}, service: "imap"},
		{name: "bad line after greeting", s: script{Analyzers: only, Resp: srv, Steps: []step{
			r(imapGreeting), o("a1 NOOP\r\n"), r("garbage\r\n")}}, service: ""},
		{name: "tag without command", s: script{Analyzers: only, Resp: srv, Steps: []step{r(imapGreeting), o("a1\r\n")}}, service: ""},
		{name: "tab is not a space", s: script{Analyzers: only, Resp: srv, Steps: []step{r(imapGreeting), o("a1\tNOOP\r\n")}}, service: ""},
		{name: "empty lines after a line", s: script{Analyzers: only, Resp: srv, Steps: []step{r(imapGreeting + "\r\n\n\r\n")}}, service: "imap"},
		{name: "empty line first", s: script{Analyzers: only, Resp: srv, Steps: []step{r("\r\n" + imapGreeting)}}, service: ""},
		{name: "blank line", s: script{Analyzers: only, Resp: srv, Steps: []step{r(imapGreeting + " \r\n")}}, service: ""},
		{name: "gap stops", s: script{Analyzers: only, Resp: srv, Steps: []step{r(imapGreeting), {Gap: 10}, r("garbage\r\n")}},
			service: "imap", noSplit: true},
		{name: "partial", s: script{Analyzers: only, Resp: srv, Partial: true, Steps: []step{r(imapGreeting)}}, service: ""},
	})
}

// TestIMAPStartTLS covers STARTTLS answered with its tag (§5.1).
func TestIMAPStartTLS(t *testing.T) {
	hello := lnClientHello(t)
	only := []string{"imap", "ssl"}
	const srv = "212.227.17.186:143"
	lnRunCases(t, []lnCase{
		{name: "starttls", s: script{Analyzers: only, Orig: "192.168.17.53:49640", Resp: srv, Steps: []step{
			r(imapGreeting), o(". CAPABILITY\r\n"),
			r("* CAPABILITY IMAP4rev1 CHILDREN ENABLE ID IDLE STARTTLS AUTH=LOGIN AUTH=PLAIN\r\n. OK CAPABILITY completed\r\n"),
			o(". STARTTLS\r\n"), r(". OK Begin TLS negotiation now\r\n"), o(hello), r(lnServerRecord)}},
			service: "imap,ssl"},
		{name: "refused", s: script{Analyzers: only, Resp: srv, Steps: []step{
			r(imapGreeting), o("a STARTTLS\r\n"), r("a NO not now\r\n")}},
			service: "imap"},
		{name: "other tag", s: script{Analyzers: only, Resp: srv, Steps: []step{
			r(imapGreeting), o("a STARTTLS\r\n"), r("b OK\r\n"), o(hello)}},
			service: ""},
		{name: "ssl disabled", s: script{Analyzers: []string{"imap"}, Resp: srv, Steps: []step{
			r(imapGreeting), o("a STARTTLS\r\n"), r("a OK go\r\n"), o(hello)}},
			service: "imap"},
	})
}
