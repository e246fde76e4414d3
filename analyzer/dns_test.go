package analyzer

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// dnsName builds a name for dnsmessage, which wants the trailing dot.
func dnsName(s string) dnsmessage.Name { return dnsmessage.MustNewName(s + ".") }

// dnsPack packs m, failing the test on error.
func dnsPack(t testing.TB, m dnsmessage.Message) string {
	t.Helper()
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// dnsRes returns a resource record of name with body.
func dnsRes(name string, body dnsmessage.ResourceBody) dnsmessage.Resource {
	return dnsmessage.Resource{Header: dnsmessage.ResourceHeader{Name: dnsName(name), Class: dnsmessage.ClassINET, TTL: 60}, Body: body}
}

// dnsQuery returns a query for name of type typ.
func dnsQuery(t testing.TB, name string, typ dnsmessage.Type) string {
	return dnsPack(t, dnsmessage.Message{
		Header:    dnsmessage.Header{ID: 0x1234, RecursionDesired: true},
		Questions: []dnsmessage.Question{{Name: dnsName(name), Type: typ, Class: dnsmessage.ClassINET}},
	})
}

// dnsWikiQuestion is the question of the CNAME-chain response.
var dnsWikiQuestion = []dnsmessage.Question{{Name: dnsName("WWW.Wikipedia.ORG"), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}}

// dnsWiki is a response with a CNAME chain, www.wikipedia.org → dyna.wikimedia.org
// → text-lb.wikimedia.org, out of order, and an address of an unrelated owner.
func dnsWiki(t testing.TB) string {
	return dnsPack(t, dnsmessage.Message{
		Header:    dnsmessage.Header{ID: 0x1234, Response: true, RecursionDesired: true, RecursionAvailable: true},
		Questions: dnsWikiQuestion,
		Answers: []dnsmessage.Resource{
			dnsRes("www.wikipedia.org", &dnsmessage.CNAMEResource{CNAME: dnsName("dyna.wikimedia.org")}),
			dnsRes("text-lb.wikimedia.org", &dnsmessage.AResource{A: [4]byte{185, 15, 59, 224}}),
			dnsRes("Dyna.Wikimedia.org", &dnsmessage.CNAMEResource{CNAME: dnsName("text-lb.wikimedia.org")}),
			dnsRes("text-lb.wikimedia.org", &dnsmessage.AAAAResource{AAAA: [16]byte{0x20, 0x01, 0x0d, 0xf2, 0xe5, 0x00, 0xed, 0x1a, 15: 1}}),
			dnsRes("other.example", &dnsmessage.AResource{A: [4]byte{192, 0, 2, 7}}),
		},
	})
}

// dnsUDP runs datagrams to 10.0.0.2:53 with only the dns analyzer.
func dnsUDP(t testing.TB, resp string, steps ...step) *fakeHost {
	t.Helper()
	h, _ := run(t, script{Analyzers: []string{"dns"}, Proto: UDP, Resp: resp, Steps: steps})
	return h
}

// dnsRunAttached runs s with the named analyzer alone, attached directly (as
// the lead's TCP registration of dns will do) rather than by its port, and
// returns the host and the parser.
func dnsRunAttached(t testing.TB, name string, s script) (*fakeHost, Parser) {
	t.Helper()
	s.Analyzers, s.Expected = []string{name}, true
	return runAttached(t, s, name)
}

// dnsTCPMsg prefixes a DNS message with its TCP length.
func dnsTCPMsg(m string) string {
	return string(binary.BigEndian.AppendUint16(nil, uint16(len(m)))) + m
}

// dnsWikiAnswers are the passive-DNS answers of dnsWiki.
var dnsWikiAnswers = map[netip.Addr]string{
	netip.MustParseAddr("185.15.59.224"):         "www.wikipedia.org",
	netip.MustParseAddr("2001:df2:e500:ed1a::1"): "www.wikipedia.org",
	netip.MustParseAddr("192.0.2.7"):             "other.example",
}

// dnsSameAnswers compares a host's answers with want.
func dnsSameAnswers(t *testing.T, h *fakeHost, want map[netip.Addr]string) {
	t.Helper()
	if len(h.answers) != len(want) {
		t.Fatalf("answers %v, want %v", h.answers, want)
	}
	for a, n := range want {
		if h.answers[a] != n {
			t.Fatalf("answers %v, want %v", h.answers, want)
		}
	}
}

// hdr builds a 12-byte DNS header.
func dnsHdr(id uint16, flags uint16, qd, an, ns, ar uint16) string {
	b := make([]byte, 0, 12)
	for _, v := range []uint16{id, flags, qd, an, ns, ar} {
		b = binary.BigEndian.AppendUint16(b, v)
	}
	return string(b)
}

// TestDNSUDP checks confirmation, the violations, opcodes, names, answers and
// the flip on datagrams.
func TestDNSUDP(t *testing.T) {
	q := dnsQuery(t, "WWW.Wikipedia.ORG", dnsmessage.TypeA)
	resp := dnsWiki(t)
	many := dnsmessage.Message{Header: dnsmessage.Header{ID: 1}}
	for i := range 26 {
		many.Questions = append(many.Questions, dnsmessage.Question{Name: dnsName(strings.Repeat("a", i+1) + ".example"), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET})
	}
	q26 := dnsPack(t, many)
	many.Questions = many.Questions[:25]
	q25 := dnsPack(t, many)
	status := dnsHdr(7, 2<<11, 0, 0, 0, 0) // opcode STATUS
	naptr := func(data string) string {
		return dnsPack(t, dnsmessage.Message{
			Header:    dnsmessage.Header{ID: 9, Response: true},
			Questions: []dnsmessage.Question{{Name: dnsName("example.com"), Type: 35, Class: dnsmessage.ClassINET}},
			Answers:   []dnsmessage.Resource{dnsRes("example.com", &dnsmessage.UnknownResource{Type: 35, Data: []byte(data)})},
		})
	}
	goodNAPTR := "\x00\x64\x00\x0a\x01U\x07E2U+sip\x00\x04_sip\x04_udp\x07example\x03com\x00"
	tests := []struct {
		name    string
		resp    string
		steps   []step
		service string
		dnsName string
		flips   int
		answers map[netip.Addr]string
	}{
		{name: "lone query", steps: []step{o(q)}, service: "dns", dnsName: "www.wikipedia.org"},
		{name: "lone response", steps: []step{r(resp)}, service: "dns", dnsName: "www.wikipedia.org", answers: dnsWikiAnswers},
		{name: "query and response", steps: []step{o(q), r(resp)}, service: "dns", dnsName: "www.wikipedia.org", answers: dnsWikiAnswers},
		{name: "25 questions", steps: []step{o(q25)}, service: "dns", dnsName: "a.example"},
		{name: "26 questions", steps: []step{o(q26), o(q)}, service: ""},
		{name: "26 questions after confirm", steps: []step{o(q), o(q26)}, service: "", dnsName: "www.wikipedia.org"},
		{name: "short header", steps: []step{o(q[:11])}, service: ""},
		{name: "unknown opcode", steps: []step{o(status), o(q)}, service: "dns", dnsName: "www.wikipedia.org"},
		{name: "unknown opcode alone", steps: []step{o(status)}, service: ""},
		{name: "opcode on resp 137", resp: "10.0.0.2:137", steps: []step{o(status)}, service: "dns"},
		{name: "notify", steps: []step{o(dnsHdr(3, 4<<11, 0, 0, 0, 0))}, service: "dns"},
		{name: "short NAPTR", steps: []step{o(q), r(naptr("\x00\x01\x00"))}, service: "", dnsName: "www.wikipedia.org"},
		{name: "good NAPTR", steps: []step{r(naptr(goodNAPTR))}, service: "dns", dnsName: "example.com"},
		{name: "bad NAPTR string", steps: []step{r(naptr("\x00\x64\x00\x0a\x09U"))}, service: ""},
		{name: "response from orig flips", steps: []step{o(resp), o(q)}, service: "dns", dnsName: "www.wikipedia.org", flips: 1, answers: dnsWikiAnswers},
		{name: "query first no flip", steps: []step{o(q), o(resp)}, service: "dns", dnsName: "www.wikipedia.org", answers: dnsWikiAnswers},
		{name: "off its ports", resp: "10.0.0.2:5354", steps: []step{o(q), r(resp)}, service: ""},
		{name: "llmnr", resp: "224.0.0.252:5355", steps: []step{o(dnsQuery(t, "Desktop-1", dnsmessage.TypeA))}, service: "dns", dnsName: "desktop-1"},
		{name: "http on 53", steps: []step{o("GET / HTTP/1.1\r\nHost: x\r\n\r\n")}, service: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rp := tc.resp
			if rp == "" {
				rp = "10.0.0.2:53"
			}
			h := dnsUDP(t, rp, tc.steps...)
			if got := h.service(); got != tc.service {
				t.Errorf("service %q, want %q", got, tc.service)
			}
			if got := h.names[NameDNSQuery]; got != tc.dnsName {
				t.Errorf("dns name %q, want %q", got, tc.dnsName)
			}
			if h.flips != tc.flips {
				t.Errorf("flips %d, want %d", h.flips, tc.flips)
			}
			dnsSameAnswers(t, h, tc.answers)
		})
	}
}

// TestDNSOrigPort137 checks that the NetBIOS exemption for opcodes looks at both ports.
func TestDNSOrigPort137(t *testing.T) {
	h, _ := run(t, script{Analyzers: []string{"dns"}, Proto: UDP, Orig: "10.0.0.1:137", Resp: "10.0.0.2:53",
		Steps: []step{o(dnsHdr(7, 8<<11|0x10, 0, 0, 0, 0)), o(dnsHdr(7, 9<<11, 0, 0, 0, 0))}})
	if h.service() != "dns" {
		t.Fatalf("service %q", h.service())
	}
	// An NBNS name query (opcode 0) with an NB answer, and NBSTAT (type 33).
	nb := dnsHdr(1, 0x8500, 1, 1, 0, 0) + "\x20" + strings.Repeat("CA", 16) + "\x00\x00\x21\x00\x01" +
		"\xc0\x0c\x00\x21\x00\x01\x00\x00\x00\x00\x00\x01\x00"
	h = dnsUDP(t, "10.0.0.2:137", r(nb))
	if h.service() != "dns" {
		t.Fatalf("NBSTAT: service %q", h.service())
	}
	if h = dnsUDP(t, "10.0.0.2:53", r(nb)); h.service() != "" {
		t.Fatalf("short SRV off NetBIOS: service %q", h.service())
	}
}

// TestDNSMulticast checks that an mDNS announcement (a response from the orig to
// 224.0.0.251) does not flip, and gives its answers under their owner names.
func TestDNSMulticast(t *testing.T) {
	ann := dnsPack(t, dnsmessage.Message{
		Header: dnsmessage.Header{Response: true, Authoritative: true},
		Answers: []dnsmessage.Resource{
			{Header: dnsmessage.ResourceHeader{Name: dnsName("Printer.local"), Class: 0x8001, TTL: 120}, Body: &dnsmessage.AResource{A: [4]byte{192, 168, 1, 20}}},
			dnsRes("printer.local", &dnsmessage.AAAAResource{AAAA: [16]byte{0xfe, 0x80, 15: 0x20}}),
			{Header: dnsmessage.ResourceHeader{Name: dnsName("x.local"), Class: dnsmessage.ClassCHAOS}, Body: &dnsmessage.AResource{A: [4]byte{1, 1, 1, 1}}},
		},
	})
	h, _ := run(t, script{Analyzers: []string{"dns"}, Proto: UDP, Orig: "192.168.1.20:5353", Resp: "224.0.0.251:5353", Steps: []step{o(ann)}})
	if h.service() != "dns" || h.flips != 0 {
		t.Fatalf("service %q flips %d", h.service(), h.flips)
	}
	dnsSameAnswers(t, h, map[netip.Addr]string{
		netip.MustParseAddr("192.168.1.20"): "printer.local",
		netip.MustParseAddr("fe80::20"):     "printer.local",
	})
	if _, ok := h.names[NameDNSQuery]; ok {
		t.Fatalf("name %q from a message without questions", h.names[NameDNSQuery])
	}
	// The same from a unicast responder flips.
	h = dnsUDP(t, "10.0.0.2:5353", o(ann))
	if h.flips != 1 {
		t.Fatalf("unicast: flips %d", h.flips)
	}
}

// TestDNSNames checks compression pointers: backward ones decode, forward and
// looping ones fail without hanging.
func TestDNSNames(t *testing.T) {
	q := dnsHdr(1, 0x0100, 1, 0, 0, 0)
	tests := []struct {
		name, msg, service, dnsName string
	}{
		{"plain", q + "\x03Foo\x03BAR\x00\x00\x01\x00\x01", "dns", "foo.bar"},
		{"root", q + "\x00\x00\x01\x00\x01", "dns", ""},
		{"forward pointer", q + "\xc0\x20\x00\x01\x00\x01" + strings.Repeat("\x00", 20) + "\x01a\x00", "", ""},
		{"self pointer", q + "\xc0\x0c\x00\x01\x00\x01", "", ""},
		{"loop", q + "\x01a\xc0\x0c\x00\x01\x00\x01", "", ""},
		{"pointer into header", q + "\x01x\xc0\x05\x00\x01\x00\x01", "dns", "x.\x00"},
		{"truncated label", q + "\x05ab", "", ""},
		{"truncated pointer", q + "\xc0", "", ""},
		{"no type", q + "\x01a\x00\x00\x01\x00", "", ""},
		{"long label type", q + "\x41" + strings.Repeat("x", 0x41) + "\x00\x00\x01\x00\x01", "dns", strings.Repeat("x", 0x41)},
		{"too long", q + strings.Repeat("\x3f"+strings.Repeat("y", 63), 9) + "\x00\x00\x01\x00\x01", "", ""},
		{"not too long", q + strings.Repeat("\x3f"+strings.Repeat("y", 63), 8) + "\x00\x00\x01\x00\x01", "dns", strings.TrimSuffix(strings.Repeat(strings.Repeat("y", 63)+".", 8), ".")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := dnsUDP(t, "10.0.0.2:53", o(tc.msg))
			if h.service() != tc.service || h.names[NameDNSQuery] != tc.dnsName {
				t.Fatalf("service %q name %q, want %q %q", h.service(), h.names[NameDNSQuery], tc.service, tc.dnsName)
			}
		})
	}
	// A compressed response (dnsmessage compresses) decodes the pointers.
	resp := dnsWiki(t)
	if !strings.Contains(resp, "\xc0") {
		t.Fatal("dnsmessage did not compress")
	}
}

// TestDNSTruncated cuts messages at every length: only a complete question and
// answer section confirms, and the additional section does not matter.
func TestDNSTruncated(t *testing.T) {
	resp := dnsWiki(t)
	for n := range len(resp) {
		if h := dnsUDP(t, "10.0.0.2:53", r(resp[:n])); h.service() != "" || len(h.answers) != 0 {
			t.Fatalf("cut at %d: service %q answers %v", n, h.service(), h.answers)
		}
	}
	m := dnsmessage.Message{
		Header:      dnsmessage.Header{ID: 2, Response: true},
		Questions:   dnsWikiQuestion,
		Answers:     []dnsmessage.Resource{dnsRes("www.wikipedia.org", &dnsmessage.AResource{A: [4]byte{1, 2, 3, 4}})},
		Authorities: []dnsmessage.Resource{dnsRes("wikipedia.org", &dnsmessage.NSResource{NS: dnsName("ns0.wikimedia.org")})},
		Additionals: []dnsmessage.Resource{dnsRes("ns0.wikimedia.org", &dnsmessage.AResource{A: [4]byte{5, 6, 7, 8}})},
	}
	full := dnsPack(t, m)
	m.Authorities, m.Additionals = nil, nil
	end := len(dnsPack(t, m))
	for n := end; n <= len(full); n++ {
		h := dnsUDP(t, "10.0.0.2:53", r(full[:n]))
		if h.service() != "dns" {
			t.Fatalf("cut at %d of %d (answers end at %d): service %q", n, len(full), end, h.service())
		}
		dnsSameAnswers(t, h, map[netip.Addr]string{netip.MustParseAddr("1.2.3.4"): "www.wikipedia.org"})
	}
	// A bad A record length fails the message.
	bad := dnsHdr(1, 0x8180, 0, 1, 0, 0) + "\x01a\x00\x00\x01\x00\x01\x00\x00\x00\x01\x00\x03\x01\x02\x03"
	if h := dnsUDP(t, "10.0.0.2:53", r(bad)); h.service() != "" {
		t.Fatalf("bad A: %q", h.service())
	}
}

// TestDNSUpdate checks that an UPDATE needs its zone, prerequisite and update sections.
func TestDNSUpdate(t *testing.T) {
	m := dnsmessage.Message{
		Header:    dnsmessage.Header{ID: 5, OpCode: 5},
		Questions: []dnsmessage.Question{{Name: dnsName("example.com"), Type: dnsmessage.TypeSOA, Class: dnsmessage.ClassINET}},
		Answers: []dnsmessage.Resource{{Header: dnsmessage.ResourceHeader{Name: dnsName("host.example.com"), Class: dnsmessage.ClassANY},
			Body: &dnsmessage.UnknownResource{Type: dnsmessage.TypeALL}}},
		Authorities: []dnsmessage.Resource{dnsRes("host.example.com", &dnsmessage.AResource{A: [4]byte{10, 1, 1, 1}})},
	}
	full := dnsPack(t, m)
	if h := dnsUDP(t, "10.0.0.2:53", o(full)); h.service() != "dns" || h.names[NameDNSQuery] != "example.com" || len(h.answers) != 0 {
		t.Fatalf("update: service %q name %q answers %v", h.service(), h.names[NameDNSQuery], h.answers)
	}
	if h := dnsUDP(t, "10.0.0.2:53", o(full[:len(full)-1])); h.service() != "" {
		t.Fatalf("cut update: service %q", h.service())
	}
}

// dnsTCPSteps returns a query and a response framed for TCP, from the orig and
// the resp, and the expected answers.
func dnsTCPSteps(t *testing.T) (string, string) {
	q := dnsQuery(t, "www.wikipedia.org", dnsmessage.TypeA)
	return dnsTCPMsg(q) + dnsTCPMsg(q), dnsTCPMsg(dnsWiki(t)) + dnsTCPMsg(dnsHdr(9, 0x8180, 0, 0, 0, 0))
}

// TestDNSTCP checks the TCP framing whole, split at every byte, and bytewise
// interleaved with the other direction.
func TestDNSTCP(t *testing.T) {
	os, rs := dnsTCPSteps(t)
	check := func(t *testing.T, h *fakeHost, what string) {
		t.Helper()
		if h.service() != "dns" || h.names[NameDNSQuery] != "www.wikipedia.org" || h.flips != 0 {
			t.Fatalf("%s: service %q name %q flips %d", what, h.service(), h.names[NameDNSQuery], h.flips)
		}
		dnsSameAnswers(t, h, dnsWikiAnswers)
	}
	h, _ := dnsRunAttached(t, "dns", script{Proto: TCP, Resp: "10.0.0.2:53", Steps: []step{o(os), r(rs)}})
	check(t, h, "whole")
	for i := 1; i < len(rs); i++ {
		h, _ := dnsRunAttached(t, "dns", script{Proto: TCP, Resp: "10.0.0.2:53", Steps: []step{r(rs[:i]), r(rs[i:])}})
		check(t, h, "split")
	}
	var steps []step
	for i := range len(rs) {
		steps = append(steps, r(rs[i:i+1]))
		if i < len(os) {
			steps = append(steps, o(os[i:i+1]))
		}
	}
	h, _ = dnsRunAttached(t, "dns", script{Proto: TCP, Resp: "10.0.0.2:53", Steps: steps})
	check(t, h, "bytewise")
}

// TestDNSTCPFlip sends two responses from the orig, the first split so that the
// flip happens mid-stream: the rest of that endpoint's stream arrives as the
// resp's, and must continue its framing.
func TestDNSTCPFlip(t *testing.T) {
	resp := dnsTCPMsg(dnsWiki(t))
	second := dnsTCPMsg(dnsPack(t, dnsmessage.Message{
		Header:    dnsmessage.Header{ID: 3, Response: true},
		Questions: []dnsmessage.Question{{Name: dnsName("b.example"), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}},
		Answers:   []dnsmessage.Resource{dnsRes("b.example", &dnsmessage.AResource{A: [4]byte{9, 9, 9, 9}})},
	}))
	q := dnsTCPMsg(dnsQuery(t, "c.example", dnsmessage.TypeA))
	stream := resp + second
	for cut := 1; cut < len(stream); cut++ {
		steps := []step{o(stream[:cut])}
		if cut < len(resp) {
			// Nothing parsed yet, no flip yet: the rest is still the orig's.
			steps = append(steps, o(stream[cut:]))
		} else {
			steps = append(steps, r(stream[cut:]))
		}
		steps = append(steps, o(q[:3]), o(q[3:])) // the former resp's query
		h, _ := dnsRunAttached(t, "dns", script{Proto: TCP, Resp: "10.0.0.2:53", Steps: steps})
		want := map[netip.Addr]string{netip.MustParseAddr("9.9.9.9"): "b.example"}
		for a, n := range dnsWikiAnswers {
			want[a] = n
		}
		if h.flips != 1 || h.service() != "dns" {
			t.Fatalf("cut %d: flips %d service %q", cut, h.flips, h.service())
		}
		dnsSameAnswers(t, h, want)
	}
}

// TestDNSTCPLarge checks a message longer than what is kept, a gap inside a
// message, a gap across a length, and the flush at FIN.
func TestDNSTCPLarge(t *testing.T) {
	m := dnsmessage.Message{Header: dnsmessage.Header{ID: 4, Response: true}, Questions: dnsWikiQuestion}
	for i := range 1000 {
		m.Answers = append(m.Answers, dnsRes("www.wikipedia.org", &dnsmessage.AResource{A: [4]byte{10, 0, byte(i >> 8), byte(i)}}))
	}
	big := dnsTCPMsg(dnsPack(t, m))
	if len(big) <= dnsKeep+100 {
		t.Fatalf("message of %d bytes is not large", len(big))
	}
	var steps []step
	for i := 0; i < len(big); i += 1000 {
		steps = append(steps, r(big[i:min(i+1000, len(big))]))
	}
	h, p := dnsRunAttached(t, "dns", script{Proto: TCP, Resp: "10.0.0.2:53", Steps: steps})
	if h.service() != "dns" || len(h.answers) < 400 || len(h.answers) >= 1000 {
		t.Fatalf("large: service %q, %d answers", h.service(), len(h.answers))
	}
	for _, s := range p.(*dnsParser).tcp {
		if cap(s.buf) > dnsKeep {
			t.Fatalf("kept %d bytes", cap(s.buf))
		}
	}

	q := dnsTCPMsg(dnsQuery(t, "a.example", dnsmessage.TypeA))
	q2 := dnsTCPMsg(dnsQuery(t, "b.example", dnsmessage.TypeA))
	// A gap inside the first message drops it; the second is parsed.
	h, _ = dnsRunAttached(t, "dns", script{Proto: TCP, Resp: "10.0.0.2:53", Steps: []step{o(q[:5]), {Orig: true, Gap: 3}, o(q[8:] + q2)}})
	if h.service() != "dns" || h.names[NameDNSQuery] != "b.example" {
		t.Fatalf("gap in message: service %q name %q", h.service(), h.names[NameDNSQuery])
	}
	// A gap over the length prefix ends the direction.
	h, _ = dnsRunAttached(t, "dns", script{Proto: TCP, Resp: "10.0.0.2:53", Steps: []step{o(q[:5]), {Orig: true, Gap: uint64(len(q) - 5 + 1)}, o(q2[1:] + q2)}})
	if h.service() != "" {
		t.Fatalf("gap over length: service %q", h.service())
	}
	// A message the FIN cuts after its answers still confirms; one cut in its
	// questions does not.
	full := dnsPack(t, dnsmessage.Message{
		Header:      dnsmessage.Header{ID: 2, Response: true},
		Questions:   dnsWikiQuestion,
		Answers:     []dnsmessage.Resource{dnsRes("www.wikipedia.org", &dnsmessage.AResource{A: [4]byte{1, 2, 3, 4}})},
		Additionals: []dnsmessage.Resource{dnsRes("ns0.wikimedia.org", &dnsmessage.AResource{A: [4]byte{5, 6, 7, 8}})},
	})
	framed := dnsTCPMsg(full)
	h, _ = dnsRunAttached(t, "dns", script{Proto: TCP, Resp: "10.0.0.2:53", Steps: []step{r(framed[:len(framed)-3]), {End: true}}})
	if h.service() != "dns" {
		t.Fatalf("flush: service %q", h.service())
	}
	h, _ = dnsRunAttached(t, "dns", script{Proto: TCP, Resp: "10.0.0.2:53", Steps: []step{r(framed[:20]), {End: true}}})
	if h.service() != "" {
		t.Fatalf("flush in questions: service %q", h.service())
	}
}

// FuzzDNS feeds arbitrary datagrams and TCP streams, split at arbitrary points,
// in both directions, and checks that the parser neither panics nor keeps more
// than dnsKeep bytes per direction.
func FuzzDNS(f *testing.F) {
	q := dnsQuery(f, "www.example.com", dnsmessage.TypeAAAA)
	f.Add([]byte(q), uint64(0))
	f.Add([]byte(dnsWiki(f)), uint64(0x1234))
	f.Add([]byte(dnsTCPMsg(q)+dnsTCPMsg(dnsWiki(f))), uint64(7))
	f.Add([]byte(dnsHdr(1, 0x0100, 1, 0, 0, 0)+"\x01a\xc0\x0c\x00\x01\x00\x01"), uint64(99))
	f.Fuzz(func(t *testing.T, data []byte, split uint64) {
		var steps []step
		for rest := data; len(rest) > 0; split = split*6364136223846793005 + 1442695040888963407 {
			n := min(len(rest), int(split>>59)+1)
			st := step{Orig: split>>58&1 == 0, Data: string(rest[:n])}
			switch split >> 54 & 15 {
			case 0:
				st = step{Orig: st.Orig, Gap: uint64(n)}
			case 1:
				steps = append(steps, step{Orig: st.Orig, End: true})
			}
			steps = append(steps, st)
			rest = rest[n:]
		}
		for _, port := range []string{"10.0.0.2:53", "224.0.0.251:137"} {
			var udp []step
			for _, st := range steps {
				if st.Data != "" {
					udp = append(udp, st)
				}
			}
			run(t, script{Analyzers: []string{"dns"}, Proto: UDP, Resp: port, Steps: udp})
			_, p := dnsRunAttached(t, "dns", script{Proto: TCP, Resp: port, Steps: steps})
			for _, s := range p.(*dnsParser).tcp {
				if cap(s.buf) > dnsKeep {
					t.Fatalf("kept %d bytes", cap(s.buf))
				}
			}
		}
	})
}
