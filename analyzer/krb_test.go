package analyzer

import (
	"strings"
	"testing"
)

// Hand-built Kerberos messages (RFC 4120 §5), shells with the real structure and
// dummy encrypted parts.

// krbPrincipal is a PrincipalName of the name type and components.
func krbPrincipal(typ byte, names ...string) string {
	var comps []string
	for _, n := range names {
		comps = append(comps, tlv(0x1b, n))
	}
	return tlv(0x30, tlv(0xa0, berInt1(typ)), tlv(0xa1, tlv(0x30, comps...)))
}

// krbEncData is an EncryptedData of the etype with n bytes of cipher text.
func krbEncData(etype byte, n int) string {
	return tlv(0x30, tlv(0xa0, berInt1(etype)), tlv(0xa2, octets(strings.Repeat("\xaa", n))))
}

// krbTicket is a Ticket for ldap/dc1.example.com.
func krbTicket() string {
	return tlv(0x61, tlv(0x30,
		tlv(0xa0, berInt1(5)),
		tlv(0xa1, tlv(0x1b, "EXAMPLE.COM")),
		tlv(0xa2, krbPrincipal(2, "ldap", "dc1.example.com")),
		tlv(0xa3, krbEncData(18, 64))))
}

// krbASReq is an AS-REQ from alice with a PA-PAC-REQUEST.
func krbASReq() string {
	return tlv(0x6a, tlv(0x30,
		tlv(0xa1, berInt1(5)), tlv(0xa2, berInt1(10)),
		tlv(0xa3, tlv(0x30, tlv(0x30, tlv(0xa1, tlv(0x02, "\x00\x80")), tlv(0xa2, octets(tlv(0x30, tlv(0xa0, tlv(0x01, "\xff")))))))),
		tlv(0xa4, tlv(0x30,
			tlv(0xa0, tlv(0x03, "\x00\x40\x81\x00\x10")),
			tlv(0xa1, krbPrincipal(1, "alice")),
			tlv(0xa2, tlv(0x1b, "EXAMPLE.COM")),
			tlv(0xa3, krbPrincipal(2, "krbtgt", "EXAMPLE.COM")),
			tlv(0xa5, tlv(0x18, "20370913024805Z")),
			tlv(0xa7, tlv(0x02, "\x12\x34\x56\x78")),
			tlv(0xa8, tlv(0x30, berInt1(18), berInt1(17)))))))
}

// krbASRep is the AS-REP to it.
func krbASRep() string {
	return tlv(0x6b, tlv(0x30,
		tlv(0xa0, berInt1(5)), tlv(0xa1, berInt1(11)),
		tlv(0xa3, tlv(0x1b, "EXAMPLE.COM")),
		tlv(0xa4, krbPrincipal(1, "alice")),
		tlv(0xa5, krbTicket()),
		tlv(0xa6, krbEncData(18, 200))))
}

// krbError is a KRB-ERROR: KDC_ERR_PREAUTH_REQUIRED.
func krbError() string {
	return tlv(0x7e, tlv(0x30,
		tlv(0xa0, berInt1(5)), tlv(0xa1, berInt1(30)),
		tlv(0xa4, tlv(0x18, "20370913024805Z")), tlv(0xa5, tlv(0x02, "\x01\x02\x03")),
		tlv(0xa6, berInt1(25)),
		tlv(0xa9, tlv(0x1b, "EXAMPLE.COM")),
		tlv(0xaa, krbPrincipal(2, "krbtgt", "EXAMPLE.COM"))))
}

// krbAPReq is an AP-REQ for the ticket.
func krbAPReq() string {
	return tlv(0x6e, tlv(0x30,
		tlv(0xa0, berInt1(5)), tlv(0xa1, berInt1(14)),
		tlv(0xa2, tlv(0x03, "\x00\x20\x00\x00\x00")),
		tlv(0xa3, krbTicket()),
		tlv(0xa4, krbEncData(18, 100))))
}

// krbAPRep is an AP-REP.
func krbAPRep() string {
	return tlv(0x6f, tlv(0x30, tlv(0xa0, berInt1(5)), tlv(0xa1, berInt1(15)), tlv(0xa2, krbEncData(18, 40))))
}

// The Kerberos messages, bare and length-prefixed, are rule samples too.
func init() {
	ruleSamples = append(ruleSamples, krbASReq(), krbASRep(), krbError(), krbAPReq(),
		be32(len(krbASReq()))+krbASReq(), be32(len(krbASRep()))+krbASRep(), be32(len(krbError()))+krbError(),
		"\x6a\x01\x02\x30\x01\x02\x03\xa1\x03\x02\x01\x05\xa2\x03\x02\x01", "\x6c\x84\x00\x00\x01\x00\x30\x84")
}

// krbTCP frames a message for Kerberos over TCP.
func krbTCP(m string) string { return be32(len(m)) + m }

// TestKRB runs Kerberos over UDP and TCP: confirmation on each message type,
// violations, partial connections, gaps, the signatures, and every cut.
func TestKRB(t *testing.T) {
	cases := []serviceCase{
		{"udp as-req", script{Proto: UDP, Resp: "10.0.0.2:88", Steps: []step{o(krbASReq())}}, "krb", false},
		{"udp as-rep only", script{Proto: UDP, Resp: "10.0.0.2:88", Steps: []step{r(krbASRep())}}, "krb", false},
		{"udp error", script{Proto: UDP, Resp: "10.0.0.2:88", Steps: []step{o(krbASReq()), r(krbError())}}, "krb", false},
		{"udp ap-req", script{Proto: UDP, Resp: "10.0.0.2:88", Steps: []step{o(krbAPReq()), r(krbAPRep())}}, "krb", false},
		{"udp garbage", script{Proto: UDP, Resp: "10.0.0.2:88", Steps: []step{o("hello, world"), o(krbASReq())}}, "", false},
		{"udp not a message", script{Proto: UDP, Resp: "10.0.0.2:88", Steps: []step{o(tlv(0x30, berInt1(5)))}}, "", false},
		{"udp missing field", script{Proto: UDP, Resp: "10.0.0.2:88", Steps: []step{o(tlv(0x6f, tlv(0x30, tlv(0xa0, berInt1(5)), tlv(0xa1, berInt1(15)))))}}, "", false},
		{"udp unordered fields", script{Proto: UDP, Resp: "10.0.0.2:88", Steps: []step{o(tlv(0x6f, tlv(0x30, tlv(0xa1, berInt1(15)), tlv(0xa0, berInt1(5)), tlv(0xa2, krbEncData(1, 1)))))}}, "", false},
		{"udp cut", script{Proto: UDP, Resp: "10.0.0.2:88", Steps: []step{o(krbASReq()[:50])}}, "", false},
		{"udp signature req", script{Proto: UDP, Resp: "10.0.0.2:7000", Steps: []step{o(krbASReq())}}, "krb", false},
		{"udp signature rep", script{Proto: UDP, Resp: "10.0.0.2:7000", Steps: []step{r(krbASRep())}}, "krb", false},
		{"udp no signature for ap-req", script{Proto: UDP, Resp: "10.0.0.2:7000", Steps: []step{o(krbAPReq())}}, "", false},
		{"tcp", script{Resp: "10.0.0.2:88", Steps: []step{o(krbTCP(krbASReq())), r(krbTCP(krbASRep()))}}, "krb_tcp", true},
		{"tcp two in one", script{Resp: "10.0.0.2:88", Steps: []step{o(krbTCP(krbASReq()) + krbTCP(krbAPReq()))}}, "krb_tcp", true},
		{"tcp reply only", script{Resp: "10.0.0.2:88", Steps: []step{r(krbTCP(krbError()))}}, "krb_tcp", true},
		{"tcp unframed", script{Resp: "10.0.0.2:88", Steps: []step{o(krbASReq())}}, "", true},
		{"tcp garbage after", script{Resp: "10.0.0.2:88", Steps: []step{o(krbTCP(krbASReq())), r(krbTCP("\x30\x00"))}}, "", true},
		{"tcp reserved bit", script{Resp: "10.0.0.2:88", Steps: []step{o("\x80\x00\x00\x10")}}, "", false},
		{"tcp partial", script{Resp: "10.0.0.2:88", Partial: true, Steps: []step{o(krbTCP(krbASReq()))}}, "", false},
		{"tcp gap first", script{Resp: "10.0.0.2:88", Steps: []step{{Orig: true, Gap: 10}, o(krbTCP(krbASReq()))}}, "", false},
		{"tcp signature", script{Resp: "10.0.0.2:7000", Steps: []step{o(krbTCP(krbASReq()))}}, "krb_tcp", true},
		{"tcp signature rep", script{Resp: "10.0.0.2:7000", Steps: []step{r(krbTCP(krbASRep()))}}, "krb_tcp", true},
		{"tcp big", script{Resp: "10.0.0.2:88", Steps: []step{r(krbTCP(tlv(0x6b, tlv(0x30, tlv(0xa0, berInt1(5)), strings.Repeat("x", 20000)))))}}, "krb_tcp", false},
		{"tcp big garbage head", script{Resp: "10.0.0.2:88", Steps: []step{r(be32(20000) + strings.Repeat("x", 20000))}}, "", false},
	}
	runCasesCut(t, cases)
}

// FuzzKRB feeds the Kerberos analyzers arbitrary messages and streams.
func FuzzKRB(f *testing.F) {
	f.Add(byte(0), []byte(krbASReq()))
	f.Add(byte(1), fuzzInput(o(krbTCP(krbASReq())), r(krbTCP(krbASRep()))))
	f.Add(byte(0), []byte(krbError()))
	f.Fuzz(func(t *testing.T, which byte, data []byte) {
		if which&1 == 0 {
			krbValid(data)
			h, _ := run(t, script{Proto: UDP, Resp: "10.0.0.2:88", Steps: []step{o(string(data))}})
			_ = h
			return
		}
		s := fuzzSession(t, "krb_tcp", 88, data)
		streamsBounded(t, s, krbMaxMsg)
		s.Release()
	})
}
