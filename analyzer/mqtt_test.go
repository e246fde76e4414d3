package analyzer

import (
	"net/netip"
	"strings"
	"testing"
)

// Helpers shared by the tests of mqtt, modbus, dnp3, sip, snmp, syslog, finger and
// websocket (prefixed rp so as not to meet other files' helpers).

// rpFuzzInput encodes steps in rpFuzzSteps' format, for seeds.
func rpFuzzInput(steps ...step) []byte {
	var b []byte
	for _, s := range steps {
		ctl := byte(0)
		if !s.Orig {
			ctl |= 0x80
		}
		switch {
		case s.End:
			b = append(b, ctl|0x20, 0)
		case s.Gap > 0:
			b = append(b, ctl|0x40, byte(s.Gap))
		default:
			d := s.Data
			for len(d) > 0 {
				n := min(len(d), 256)
				b = append(b, ctl, byte(n-1))
				b = append(b, d[:n]...)
				d = d[n:]
			}
		}
	}
	return b
}

// rpFuzzSteps decodes the fuzz input of this group into steps: each is a control
// byte and a size byte (0x80: from the responder; 0x40: a gap of the size plus one,
// on TCP only; 0x20: the end of the direction; else data of the size plus one).
// rpFuzzInput writes this format.
func rpFuzzSteps(data []byte, proto Transport) []step {
	var steps []step
	for len(data) >= 2 {
		ctl, n := data[0], int(data[1])
		data = data[2:]
		isOrig := ctl&0x80 == 0
		switch {
		case ctl&0x20 != 0:
			steps = append(steps, step{Orig: isOrig, End: true})
		case ctl&0x40 != 0:
			if proto == TCP {
				steps = append(steps, step{Orig: isOrig, Gap: uint64(n + 1)})
			}
		default:
			n = min(n+1, len(data))
			steps = append(steps, step{Orig: isOrig, Data: string(data[:n])})
			data = data[n:]
		}
	}
	return steps
}

// rpFuzz feeds data (rpFuzzSteps' format) to a session with the named analyzers.
// With attach the first analyzer is attached at the root. Nothing may panic, and
// check sees every parser at the end, to hold its buffers to their bounds.
func rpFuzz(t *testing.T, names []string, proto Transport, port uint16, attach bool, data []byte, check func(t *testing.T, p Parser)) {
	h, _, sess := newSession(t, script{Analyzers: names, Proto: proto, Resp: netip.AddrPortFrom(netip.MustParseAddr("10.0.0.2"), port).String()})
	if attach {
		sess.root.attach(Lookup(names[0]))
	}
	play(h, sess, rpFuzzSteps(data, proto))
	var walk func(insts []*instance)
	walk = func(insts []*instance) {
		for _, i := range insts {
			check(t, i.p)
			walk(i.children)
			for _, n := range i.tunnels {
				walk(n.insts)
			}
		}
	}
	walk(sess.root.insts)
	sess.Done()
	sess.Release()
}

// rpCheckBounds holds the parsers of this group to their buffer bounds.
func rpCheckBounds(t *testing.T, p Parser) {
	switch p := p.(type) {
	case *mqttParser:
		for _, d := range p.d {
			if cap(d.body) > mqttKeep {
				t.Fatalf("mqtt keeps %d bytes", cap(d.body))
			}
		}
	case *wsParser:
		if cap(p.scratch) > wsScratch {
			t.Fatalf("websocket scratch of %d bytes", cap(p.scratch))
		}
	}
}

// MQTT 3.1.1 packets (OASIS MQTT Version 3.1.1, §3), as mosquitto sends them.
const (
	// CONNECT, protocol "MQTT" level 4, clean session, keep alive 60, client
	// "mosq-abc".
	mqttConnectMsg = "\x10\x14\x00\x04MQTT\x04\x02\x00\x3c\x00\x08mosq-abc"
	// CONNECT with will, user name and password.
	mqttConnectFull = "\x10\x2f\x00\x04MQTT\x04\xc6\x00\x3c\x00\x08mosq-abc" +
		"\x00\x04will\x00\x04gone\x00\x05alice\x00\x06secret"
	mqttConnackM   = "\x20\x02\x00\x00"
	mqttSubscribeM = "\x82\x08\x00\x01\x00\x03a/b\x00"
	mqttSubackM    = "\x90\x03\x00\x01\x00"
	mqttPublishQ0  = "\x30\x0a\x00\x03a/bhello"
	mqttPublishQ1  = "\x32\x0c\x00\x03a/b\x00\x07hello"
	mqttPubackM    = "\x40\x02\x00\x07"
	mqttPing       = "\xc0\x00"
	mqttPong       = "\xd0\x00"
	mqttDisconnect = "\xe0\x00"
)

// mqttBigPublish is a QoS 0 PUBLISH with n bytes of payload (a remaining length
// of several bytes).
func mqttBigPublish(n int) string {
	rem := 2 + 3 + n
	var l []byte
	for {
		b := byte(rem % 128)
		rem /= 128
		if rem > 0 {
			l = append(l, b|0x80)
			continue
		}
		l = append(l, b)
		break
	}
	return "\x30" + string(l) + "\x00\x03a/b" + strings.Repeat("p", n)
}

// init adds CONNECT openings to the samples the rule tests try.
func init() {
	ruleSamples = append(ruleSamples, mqttConnectMsg, mqttConnectFull, "\x10\x81\x01\x00\x04MQTT", "\x10\x0c\x00\x06MQIsdp",
		"\x10\x80\x80\x80\x01\x00MQ", "abcdeMQ", "abcdefgM")
}

// TestMQTT covers confirmation, chunking, signatures and each violation.
func TestMQTT(t *testing.T) {
	mqtt := []string{"mqtt"}
	session := []step{o(mqttConnectMsg), r(mqttConnackM), o(mqttSubscribeM), r(mqttSubackM),
		o(mqttPublishQ1), r(mqttPubackM), o(mqttPing), r(mqttPong), o(mqttDisconnect)}
	for _, tc := range []struct {
		name string
		s    script
		want string
	}{
		{"connect on 1883", script{Resp: "10.0.0.2:1883", Steps: session}, "mqtt"},
		{"connect one byte at a time", script{Resp: "10.0.0.2:1883", Steps: bytewise(session)}, "mqtt"},
		{"all packets in one chunk", script{Resp: "10.0.0.2:1883", Steps: []step{o(mqttConnectMsg + mqttSubscribeM + mqttPublishQ0), r(mqttConnackM + mqttSubackM)}}, "mqtt"},
		{"connect with will, user and password", script{Resp: "10.0.0.2:1883", Steps: []step{o(mqttConnectFull), r(mqttConnackM)}}, "mqtt"},
		{"client alone", script{Resp: "10.0.0.2:1883", Steps: []step{o(mqttConnectMsg)}}, "mqtt"},
		{"publish alone, mid-stream", script{Resp: "10.0.0.2:1883", Partial: true, Steps: []step{o(mqttPublishQ0)}}, "mqtt"},
		{"server alone confirms nothing", script{Resp: "10.0.0.2:1883", Steps: []step{r(mqttConnackM), r(mqttSubackM), r(mqttPong)}}, ""},
		{"a publish larger than what is kept", script{Resp: "10.0.0.2:1883", Steps: []step{
			o(mqttBigPublish(20000)[:3000]), o(mqttBigPublish(20000)[3000:])}}, "mqtt"},
		{"an incomplete publish of 2 MB", script{Resp: "10.0.0.2:1883", Steps: bytewise([]step{o(mqttBigPublish(2 << 20)[:40])})}, ""},
		{"signature on another port", script{Resp: "10.0.0.2:8083", Steps: session}, "mqtt"},
		{"signature needs the protocol name", script{Resp: "10.0.0.2:8083", Steps: []step{o(mqttPublishQ0)}}, ""},
		{"the signature does not enable it on udp", script{Proto: UDP, Resp: "10.0.0.2:1883", Steps: []step{o(mqttConnectMsg)}}, ""},
		{"five length bytes", script{Resp: "10.0.0.2:1883", Steps: []step{o(mqttConnectMsg), o("\x30\xff\xff\xff\xff\x01")}}, ""},
		{"connect fields past the packet", script{Resp: "10.0.0.2:1883", Steps: []step{o("\x10\x0a\x00\x04MQTT\x04\x02\x00\x3c")}}, ""},
		{"connect without its password", script{Resp: "10.0.0.2:1883", Steps: []step{o("\x10\x27" + mqttConnectFull[2:len(mqttConnectFull)-8])}}, ""},
		{"empty publish", script{Resp: "10.0.0.2:1883", Steps: []step{o("\x30\x00")}}, ""},
		{"short connack after the connect", script{Resp: "10.0.0.2:1883", Steps: []step{o(mqttConnectMsg), r("\x20\x01\x00")}}, ""},
		{"a gap loses the direction", script{Resp: "10.0.0.2:1883", Steps: []step{{Orig: true, Gap: 10}, o(mqttConnectMsg)}}, ""},
		{"a gap in the other direction", script{Resp: "10.0.0.2:1883", Steps: []step{{Gap: 10}, o(mqttConnectMsg)}}, "mqtt"},
		{"http on 1883", script{Resp: "10.0.0.2:1883", Steps: []step{o("GET / HTTP/1.1\r\nHost: x\r\n\r\n")}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.s.Analyzers = mqtt
			if h, _ := run(t, tc.s); h.service() != tc.want {
				t.Errorf("service %q, want %q", h.service(), tc.want)
			}
		})
	}
}

// TestMQTTMatcher checks the More/Match/Fail answers of the mqtt signature.
func TestMQTTMatcher(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Result
	}{
		{"", More}, {"\x10\x14\x00\x04M", More}, {"\x10\x14\x00\x04MQ", Match}, {"\x10\x14\x00\x04MX", More},
		{"1234567M", More}, {"1234567MQ", Match}, {"12345678Q", Fail}, {"1234xyzMX", Fail},
	} {
		if got := matchMQTT([]byte(tc.in)); got != tc.want {
			t.Errorf("matchMQTT(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// FuzzMQTT feeds the MQTT parser arbitrary chunked streams.
func FuzzMQTT(f *testing.F) {
	f.Add(rpFuzzInput(o(mqttConnectMsg), r(mqttConnackM), o(mqttSubscribeM), r(mqttSubackM), o(mqttPublishQ1)))
	f.Add(rpFuzzInput(o(mqttConnectFull), o(mqttBigPublish(5000)), step{Orig: true, Gap: 3}, o(mqttPing)))
	f.Add(rpFuzzInput(bytewise([]step{o(mqttConnectMsg)})...))
	f.Fuzz(func(t *testing.T, data []byte) {
		rpFuzz(t, []string{"mqtt"}, TCP, 1883, false, data, rpCheckBounds)
	})
}
