package analyzer

import "testing"

// The xmpp analyzer (service-detection.md §8 row xmpp, §5.1 STARTTLS).

// init adds samples for the xmpp signature.
func init() {
	ruleSamples = append(ruleSamples,
		"<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client' to='jabber.ccc.de'>",
		"<?xml version='1.0'?>\n<stream:stream xmlns='jabber:server'>", "<?xml?><stream:stream xmlns='jabber:", "<?xml a?b?>",
		"<?xml a>", "<?xm", "<", " \r\n<stream:stream >xmlns='jabber:", "<stream:streamx", "<?xml ?>  <stream:stream a='>'",
		"<stream:stream xmlns='jabbe", "<?xml ?", "<?xml ??>",
	)
}

// xmppClientStream and xmppServerStream open a client-to-server stream (from
// jabber.ccc.de).
const (
	xmppClientStream = "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client' to='jabber.ccc.de' version='1.0'>"
	xmppServerStream = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' " +
		"id='3449578488' from='jabber.ccc.de' version='1.0' xml:lang='en'>"
	xmppFeatures = "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>" +
		"<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='http://www.process-one.net/en/ejabberd/' " +
		"ver='lJcAislCNcWTsplOjGAT7qSHQys='/><register xmlns='http://jabber.org/features/iq-register'/></stream:features>"
)

// TestXMPP covers confirmation, parse errors, skipping and the signature.
func TestXMPP(t *testing.T) {
	only := []string{"xmpp"}
	const srv = "146.255.57.229:5222"
	lnRunCases(t, []lnCase{
		{name: "client stream", s: script{Analyzers: only, Resp: srv, Steps: []step{o(xmppClientStream)}}, service: "xmpp"},
		{name: "with declaration", s: script{Analyzers: only, Resp: srv, Steps: []step{
			o("<?xml version='1.0'?>\n<stream:stream to='example.com' xmlns='jabber:client'>"), r(xmppServerStream)}},
			service: "xmpp"},
		{name: "server only", s: script{Analyzers: only, Resp: srv, Steps: []step{r(xmppServerStream + xmppFeatures)}}, service: ""},
		{name: "other element", s: script{Analyzers: only, Resp: srv, Steps: []step{o("<stream xmlns='jabber:client'>")}}, service: ""},
		{name: "prefixed stream", s: script{Analyzers: only, Resp: srv, Steps: []step{o("<x:stream:stream>")}}, service: ""},
		{name: "text before the stream", s: script{Analyzers: only, Resp: srv, Steps: []step{o("hello " + xmppClientStream)}}, service: ""},
		{name: "comment", s: script{Analyzers: only, Resp: srv, Steps: []step{o("<!-- hi -->" + xmppClientStream)}}, service: ""},
		{name: "violation after confirmation", s: script{Analyzers: only, Resp: srv, Steps: []step{
			o(xmppClientStream), r(xmppServerStream + "<a <b>")}}, service: ""},
		{name: "gt in text", s: script{Analyzers: only, Resp: srv, Steps: []step{o(xmppClientStream + "a > b")}}, service: ""},
		{name: "empty closing name", s: script{Analyzers: only, Resp: srv, Steps: []step{o(xmppClientStream + "</>")}}, service: ""},
		{name: "presence stops", s: script{Analyzers: only, Resp: srv, Steps: []step{
			o(xmppClientStream + "<presence/>"), r("not xml > at all")}}, service: "xmpp"},
		{name: "gap stops", s: script{Analyzers: only, Resp: srv, Steps: []step{
			o(xmppClientStream), {Gap: 10}, o("> garbage")}}, service: "xmpp", noSplit: true},
		{name: "partial", s: script{Analyzers: only, Resp: srv, Partial: true, Steps: []step{o(xmppClientStream)}}, service: ""},
		{name: "signature off port", s: script{Analyzers: only, Resp: "10.0.0.2:15222", Steps: []step{
			o("<?xml version='1.0'?><stream:stream to='a' xmlns='jabber:client'>")}}, service: "xmpp"},
		{name: "signature needs jabber", s: script{Analyzers: only, Resp: "10.0.0.2:15222", Steps: []step{
			o("<stream:stream to='a' xmlns='urn:other'>")}}, service: ""},
	})
}

// TestXMPPStartTLS covers <starttls> answered by <proceed> (§5.1).
func TestXMPPStartTLS(t *testing.T) {
	hello := lnClientHello(t)
	only := []string{"xmpp", "ssl"}
	const srv = "146.255.57.229:5222"
	lnRunCases(t, []lnCase{
		{name: "starttls", s: script{Analyzers: only, Orig: "198.128.203.95:56048", Resp: srv, Steps: []step{
			o(xmppClientStream), r(xmppServerStream), r(xmppFeatures), o("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
			r("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"), o(hello), r(lnServerRecord)}},
			service: "xmpp,ssl"},
		{name: "prefixed", s: script{Analyzers: only, Resp: srv, Steps: []step{
			o(xmppClientStream), r(xmppServerStream), o("<tls:starttls xmlns:tls='urn:ietf:params:xml:ns:xmpp-tls'/>"),
			r("<tls:proceed xmlns:tls='urn:ietf:params:xml:ns:xmpp-tls'/>" + lnServerRecord), o(hello)}},
			service: "xmpp,ssl"},
		{name: "proceed without starttls", s: script{Analyzers: only, Resp: srv, Steps: []step{
			o(xmppClientStream), r(xmppServerStream + "<proceed/>")}},
			service: "xmpp"},
		{name: "failure", s: script{Analyzers: only, Resp: srv, Steps: []step{
			o(xmppClientStream), r(xmppServerStream), o("<starttls/>"), r("<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")}},
			service: "xmpp"},
	})
}
