package analyzer

import "testing"

// A SIP INVITE and its answers (RFC 3665 §3.1, "Successful Session Establishment").
const (
	sipInvite = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP client.atlanta.example.com:5060;branch=z9hG4bK74bf9\r\n" +
		"Max-Forwards: 70\r\n" +
		"From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n" +
		"To: Bob <sip:bob@biloxi.example.com>\r\n" +
		"Call-ID: 3848276298220188511@atlanta.example.com\r\n" +
		"CSeq: 1 INVITE\r\n" +
		"Contact: <sip:alice@client.atlanta.example.com;transport=udp>\r\n" +
		"Content-Type: application/sdp\r\n" +
		"Content-Length: 151\r\n" +
		"\r\n" +
		"v=0\r\no=alice 2890844526 2890844526 IN IP4 client.atlanta.example.com\r\ns=-\r\n" +
		"c=IN IP4 192.0.2.101\r\nt=0 0\r\nm=audio 49172 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
	sipRinging = "SIP/2.0 180 Ringing\r\n" +
		"Via: SIP/2.0/UDP client.atlanta.example.com:5060;branch=z9hG4bK74bf9\r\n" +
		" ;received=192.0.2.101\r\n" +
		"From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n" +
		"To: Bob <sip:bob@biloxi.example.com>;tag=8321234356\r\n" +
		"Call-ID: 3848276298220188511@atlanta.example.com\r\n" +
		"CSeq: 1 INVITE\r\n" +
		"Contact: <sip:bob@client.biloxi.example.com;transport=udp>\r\n" +
		"Content-Length: 0\r\n" +
		"\r\n"
	sipOK  = "SIP/2.0 200 OK\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
	sipACK = "ACK sip:bob@client.biloxi.example.com SIP/2.0\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n"
	sipBye = "BYE sip:alice@client.atlanta.example.com SIP/2.0\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n"
)

// init adds SIP start lines to the samples the rule tests try.
func init() {
	ruleSamples = append(ruleSamples, sipInvite, sipRinging, " SIP/2.0 100 ", " SIP/2.0\r\n", "SIP/2.0\r\n", "x SIP/2.0\rx SIP/1.0\r\n",
		"SIP/2.a", "SIP/2.0 20x ")
}

// TestSIP covers responses confirming, requests not, and parse errors either side.
func TestSIP(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    script
		want string
	}{
		{"invite answered", script{Steps: []step{o(sipInvite), r(sipRinging), r(sipOK), o(sipACK)}}, "sip"},
		{"requests alone never confirm", script{Steps: []step{o(sipInvite), o(sipACK)}}, ""},
		{"the server side alone", script{Steps: []step{r(sipRinging)}}, "sip"},
		{"a response with LF line ends", script{Steps: []step{r("SIP/2.0 200 OK\nCSeq: 1 OPTIONS\n\n")}}, "sip"},
		{"a response without headers or blank line", script{Steps: []step{r("SIP/2.0 200 OK\r\n")}}, "sip"},
		{"signature on another port", script{Resp: "10.0.0.2:5070", Steps: []step{o(sipInvite), r(sipOK)}}, "sip"},
		{"response signature on another port", script{Resp: "10.0.0.2:5070", Steps: []step{r(sipOK)}}, "sip"},
		{"a CRLF keep-alive is a violation", script{Steps: []step{o(sipInvite), r(sipOK), o("\r\n\r\n")}}, ""},
		{"a request from the responder is a violation", script{Steps: []step{o(sipInvite), r(sipOK), r(sipBye)}}, ""},
		{"a status line without a code", script{Steps: []step{r("SIP/2.0 OK\r\n\r\n")}}, ""},
		{"a status line without its line end", script{Steps: []step{r("SIP/2.0 200 OK")}}, ""},
		{"a header without a colon", script{Steps: []step{r("SIP/2.0 200 OK\r\nCSeq 1 INVITE\r\n\r\n")}}, ""},
		{"a request line without a version", script{Steps: []step{o("INVITE sip:bob@biloxi.example.com\r\n\r\n"), r(sipOK)}}, ""},
		{"http on 5060", script{Steps: []step{r("HTTP/1.1 200 OK\r\n\r\n")}}, ""},
		{"tcp is not analyzed", script{Proto: TCP, Steps: []step{o(sipInvite), r(sipOK)}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.s.Analyzers = []string{"sip"}
			if tc.s.Proto == 0 {
				tc.s.Proto = UDP
			}
			if tc.s.Resp == "" {
				tc.s.Resp = "10.0.0.2:5060"
			}
			if h, _ := run(t, tc.s); h.service() != tc.want {
				t.Errorf("service %q, want %q", h.service(), tc.want)
			}
		})
	}
}

// FuzzSIP feeds the SIP parser arbitrary datagrams.
func FuzzSIP(f *testing.F) {
	f.Add(rpFuzzInput(o(sipInvite), r(sipRinging), r(sipOK), o(sipACK)))
	f.Add(rpFuzzInput(r("SIP/2.0 200 OK\nA:\n\n"), o("\r\n")))
	f.Fuzz(func(t *testing.T, data []byte) {
		rpFuzz(t, []string{"sip"}, UDP, 5060, false, data, rpCheckBounds)
	})
}
