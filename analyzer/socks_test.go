package analyzer

import (
	"strings"
	"testing"
)

// SOCKS sessions captured on loopback: curl 7.88 through Dante 1.4 to a local
// HTTP server (reply bodies left out).
var (
	// socks4Session is --proxy socks4://: CONNECT 127.0.0.1:58080, granted.
	socks4Session = []step{
		o("\x04\x01\xe2\xe0\x7f\x00\x00\x01\x00"),
		r("\x00Z\xa1\xbf\x7f\x00\x00\x01"),
		o("GET / HTTP/1.1\r\nHost: 127.0.0.1:58080\r\nUser-Agen" +
			"t: curl/7.88.1\r\nAccept: */*\r\n\r\n"),
		r("HTTP/1.0 200 OK\r\nServer: SimpleHTTP/0.6 Python/3" +
			".11.7\r\nDate: Wed, 02 Dec 2026 15:55:37 GMT\r\nCont" +
			"ent-type: text/html; charset=utf-8\r\nContent-Leng" +
			"th: 406\r\n\r\n"),
	}
	// socks4aRejected is --proxy socks4a:// with a host name, rejected (91).
	socks4aRejected = []step{
		o("\x04\x01\xe2\xe0\x00\x00\x00\x01\x00127.0.0.1\x00"),
		r("\x00[\xc5\xc1\x7f\x00\x00\x01"),
	}
	// socks5Session is --proxy socks5h://: no authentication, CONNECT to the
	// domain name localhost, succeeded.
	socks5Session = []step{
		o("\x05\x02\x00\x01"),
		r("\x05\x00"),
		o("\x05\x01\x00\x03\x09localhost\xe2\xe0"),
		r("\x05\x00\x00\x01\x7f\x00\x00\x01\xb8_"),
		o("GET / HTTP/1.1\r\nHost: localhost:58080\r\nUser-Agen" +
			"t: curl/7.88.1\r\nAccept: */*\r\n\r\n"),
		r("HTTP/1.0 200 OK\r\nServer: SimpleHTTP/0.6 Python/3" +
			".11.7\r\nDate: Wed, 02 Dec 2026 15:55:38 GMT\r\nCont" +
			"ent-type: text/html; charset=utf-8\r\nContent-Leng" +
			"th: 406\r\n\r\n"),
	}
	// socks5Refused is a CONNECT to a closed port: reply 5, connection refused.
	socks5Refused = []step{
		o("\x05\x02\x00\x01"),
		r("\x05\x00"),
		o("\x05\x01\x00\x01\x7f\x00\x00\x01\x00\x09"),
		r("\x05\x05\x00\x01\x7f\x00\x00\x01\x9f\xe7"),
	}
)

// Hand-built SOCKS exchanges (RFC 1928, RFC 1929).
const (
	socksGET  = "GET / HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n"
	socksHTTP = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"
	socks5Req = "\x05\x01\x00\x03\x0bexample.com\x00\x50"
	socks5Rep = "\x05\x00\x00\x01\x0a\x00\x00\x01\x1f\x90"
	socks4Req = "\x04\x01\x00\x50\x5d\xb8\xd8\x22bob\x00"
	socks4Rep = "\x00\x5a\x00\x50\x5d\xb8\xd8\x22"
)

// socks5AuthSession is a user/password exchange, up to the request's reply.
var socks5AuthSession = []step{
	o("\x05\x01\x02"), r("\x05\x02"), o("\x01\x03bob\x06secret"), r("\x01\x00"), o(socks5Req), r(socks5Rep),
}

// TestSOCKS: SOCKS4, 4a and 5 exchanges with the tunnelled protocol after them
// (§5.2), each violation, one-sided and partial connections, and the rules off the
// port (§8 row socks).
func TestSOCKS(t *testing.T) {
	sk := []string{"socks", "http", "ssl"}
	port := "10.0.0.2:1080"
	then := func(a []step, b ...step) []step { return append(append([]step{}, a...), b...) }
	s := func(steps ...step) script { return script{Analyzers: sk, Resp: port, Steps: steps} }
	hello := dbrClientHello("www.example.com")
	runCases(t, []serviceCase{
		{"SOCKS4 (curl), HTTP inside", script{Analyzers: sk, Resp: port, Steps: socks4Session}, "socks,http", true},
		{"SOCKS4a rejected", script{Analyzers: sk, Resp: port, Steps: socks4aRejected}, "socks", true},
		{"SOCKS5 with a domain name (curl), HTTP inside", script{Analyzers: sk, Resp: port, Steps: socks5Session}, "socks,http", true},
		{"SOCKS5 connection refused", script{Analyzers: sk, Resp: port, Steps: socks5Refused}, "socks", true},
		{"SOCKS5 with user and password", s(then(socks5AuthSession, o(socksGET), r(socksHTTP))...), "socks,http", true},
		{"SOCKS5 with IPv6", s(o("\x05\x01\x00"), r("\x05\x00"), o("\x05\x01\x00\x04"+strings.Repeat("\x20", 16)+"\x01\xbb"),
			r("\x05\x00\x00\x04"+strings.Repeat("\x20", 16)+"\x9c\x40"), o(hello)), "socks,ssl", true},
		{"TLS inside", s(o("\x05\x01\x00"), r("\x05\x00"), o(socks5Req), r(socks5Rep), o(hello)), "socks,ssl", false},
		{"SOCKS5 UDP ASSOCIATE", s(o("\x05\x01\x00"), r("\x05\x00"), o("\x05\x03\x00\x01\x00\x00\x00\x00\x00\x00"), r(socks5Rep)), "socks", false},
		{"everything in one chunk per side", s(o("\x05\x01\x00"+socks5Req+socksGET), r("\x05\x00"+socks5Rep+socksHTTP)), "socks,http", true},
		{"payload before the reply", s(o(socks4Req), o(socksGET), r(socks4Rep), r(socksHTTP)), "socks,http", true},
		{"too much payload before the reply", s(o(socks4Req), o(socksGET), o(strings.Repeat("x", socksMaxEarly)), r(socks4Rep)), "socks,http", false},
		{"SOCKS4 BIND: two replies", s(o("\x04\x02\x00\x50\x5d\xb8\xd8\x22\x00"), r(socks4Rep), r(socks4Rep), o(socksGET)), "socks,http", true},
		{"SOCKS5 BIND: two replies", s(o("\x05\x01\x00"), r("\x05\x00"), o("\x05\x02\x00\x01\x0a\x00\x00\x01\x00\x00"),
			r(socks5Rep), r(socks5Rep), o(socksGET)), "socks,http", false},
		{"gap inside the tunnel", s(then(socks5AuthSession, o(socksGET), step{Gap: 10}, r(socksHTTP))...), "socks,http", false},
		{"FIN inside the tunnel", s(then(socks5AuthSession, o(socksGET), step{Orig: true, End: true}, r(socksHTTP))...), "socks,http", false},
		{"authentication failed", s(o("\x05\x01\x02"), r("\x05\x02"), o("\x01\x03bob\x03bad"), r("\x01\x01")), "", false},
		{"no acceptable method", s(o("\x05\x01\x02"), r("\x05\xff")), "", false},
		{"bad version", s(o("\x06\x01\x00"), r("\x05\x00")), "", false},
		{"SOCKS4: bad command", s(o("\x04\x03\x00\x50\x5d\xb8\xd8\x22\x00"), r(socks4Rep)), "", true},
		{"SOCKS4: bad reply version", s(o(socks4Req), r("\x05\x5a\x00\x50\x5d\xb8\xd8\x22")), "", true},
		{"SOCKS5: bad request version", s(o("\x05\x01\x00"), r("\x05\x00"), o("\x04"+socks5Req[1:]), r(socks5Rep)), "", false},
		{"SOCKS5: bad command", s(o("\x05\x01\x00"), r("\x05\x00"), o("\x05\x04"+socks5Req[2:]), r(socks5Rep)), "", true},
		{"SOCKS5: reserved field", s(o("\x05\x01\x00"), r("\x05\x00"), o("\x05\x01\x01"+socks5Req[3:]), r(socks5Rep)), "", true},
		{"SOCKS5: bad address type", s(o("\x05\x01\x00"), r("\x05\x00"), o("\x05\x01\x00\x02\x01\x02"), r(socks5Rep)), "", true},
		{"SOCKS5: bad method answer version", s(o("\x05\x01\x00"), r("\x04\x00")), "", false},
		{"SOCKS5: bad reply version", s(o("\x05\x01\x00"), r("\x05\x00"), o(socks5Req), r("\x04"+socks5Rep[1:])), "", false},
		{"SOCKS5: reply reserved field", s(o("\x05\x01\x00"), r("\x05\x00"), o(socks5Req), r("\x05\x00\x07"+socks5Rep[3:])), "", false},
		{"SOCKS5: bad reply address type", s(o("\x05\x01\x00"), r("\x05\x00"), o(socks5Req), r("\x05\x00\x00\x07"+socks5Rep[4:])), "", false},
		{"SOCKS5: bad auth version", s(o("\x05\x01\x02"), r("\x05\x02"), o("\x02\x03bob\x03pwd")), "", false},
		{"bad second BIND reply removes the service", s(o("\x04\x02\x00\x50\x5d\xb8\xd8\x22\x00"), r(socks4Rep), r("\x07\x5a")), "", false},
		{"user id without its NUL", s(o("\x04\x01\x00\x50\x5d\xb8\xd8\x22"+strings.Repeat("u", socksMaxMsg+1)), r(socks4Rep)), "", false},
		{"client side only", s(o(socks4Req), o(socksGET)), "", false},
		{"server speaks first", s(r(socks4Rep), o(socks4Req)), "", false},
		{"partial connection", script{Analyzers: sk, Resp: port, Partial: true, Steps: socks5Session}, "", false},
		{"gap before the reply", s(o(socks4Req), step{Gap: 8}, r(socksHTTP)), "", false},
		{"DPD: SOCKS4 on another port", script{Analyzers: sk, Resp: "10.0.0.2:9050", Steps: socks4Session}, "socks,http", true},
		{"DPD: SOCKS5 on another port", script{Analyzers: sk, Resp: "10.0.0.2:9050", Steps: socks5Session}, "socks,http", true},
		// The tunnel keeps the connection's roles: a ClientHello from the
		// responder matches no tcp-state originator rule.
		{"DPD: reversed SOCKS4", script{Analyzers: sk, Resp: "10.0.0.2:9050", Steps: []step{
			r(socks4Req), o(socks4Rep), r(hello)}}, "socks", true},
		{"DPD needs the reply", script{Analyzers: sk, Resp: "10.0.0.2:9050", Steps: []step{o(socks4Req), o(socksGET)}}, "", false},
	})
}

// FuzzSOCKS feeds the socks analyzer (and what its tunnel attaches) arbitrary
// streams, on its port and through the signatures.
func FuzzSOCKS(f *testing.F) {
	f.Add(fuzzInput(socks4Session...))
	f.Add(fuzzInput(socks5Session...))
	f.Add(fuzzInput(append(append([]step{}, socks5AuthSession...), o(socksGET), r(socksHTTP))...))
	f.Add(fuzzInput(o("\x04\x02\x00\x50\x5d\xb8\xd8\x22\x00"), r(socks4Rep), r(socks4Rep), o(socksGET)))
	f.Fuzz(func(t *testing.T, data []byte) {
		dbrFuzz(t, []string{"socks", "http", "ssl"}, TCP, 1080, false, data)
		dbrFuzz(t, []string{"socks", "http", "ssl"}, TCP, 9050, false, data)
	})
}

// init adds samples for the socks rules to the rule tests.
func init() {
	ruleSamples = append(ruleSamples, socks4Req, socks4Rep, "\x04\x01"+strings.Repeat("x", 33)+"\x00", "\x04\x01"+strings.Repeat("x", 32)+"\x00",
		"\x04\x02\x00", "\x04\x03", "\x00\x5e", "\x05\x02\x00\x01", "\x05\x01\x04", "\x05\x01\x0a", "\x05\xff", "\x05\x04", "\x05\x0a")
}
