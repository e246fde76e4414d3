package analyzer

import (
	"encoding/hex"
	"testing"
)

// The dtls analyzer (service-detection.md §8 row dtls), fed hand-built DTLS 1.2
// handshakes (RFC 6347 §4.1 and §4.2.2 framing).

// init adds DTLS hellos to the signature samples.
func init() {
	ruleSamples = append(ruleSamples, string(dtlsHelloDatagram(0, "s.example")), "\x16\xfe\xfd\x00\x00\x00\x00\x00\x00\x00\x01")
}

// dtlsHelloBody is a DTLS 1.2 ClientHello body with a cookie and a server name.
func dtlsHelloBody(cookie []byte, host string) []byte {
	b := []byte{0xfe, 0xfd}
	b = append(b, make([]byte, 32)...)
	b = append(b, 0x00, byte(len(cookie)))
	b = append(b, cookie...)
	b = append(b, 0x00, 0x02, 0xc0, 0x2b, 0x01, 0x00)
	ext := tlsSNIExt(host)
	b = append(b, byte(len(ext)>>8), byte(len(ext)))
	return append(b, ext...)
}

// dtlsFragment is one handshake fragment: the bytes [off, off+n) of the message
// body msg of type typ.
func dtlsFragment(typ byte, msgSeq uint16, msg []byte, off, n int) []byte {
	l := len(msg)
	h := []byte{typ, byte(l >> 16), byte(l >> 8), byte(l), byte(msgSeq >> 8), byte(msgSeq),
		byte(off >> 16), byte(off >> 8), byte(off), byte(n >> 16), byte(n >> 8), byte(n)}
	return append(h, msg[off:off+n]...)
}

// dtlsRec is one record of the given type, epoch and sequence number.
func dtlsRec(typ byte, epoch uint16, seq uint64, body []byte) []byte {
	r := []byte{typ, 0xfe, 0xfd, byte(epoch >> 8), byte(epoch),
		byte(seq >> 40), byte(seq >> 32), byte(seq >> 24), byte(seq >> 16), byte(seq >> 8), byte(seq),
		byte(len(body) >> 8), byte(len(body))}
	return append(r, body...)
}

// dtlsHelloDatagram is a ClientHello in one record of record version DTLS 1.0.
func dtlsHelloDatagram(seq uint64, host string) []byte {
	body := dtlsHelloBody(nil, host)
	d := dtlsRec(tlsHandshake, 0, seq, dtlsFragment(tlsTypeClientHello, 0, body, 0, len(body)))
	d[2] = 0xff
	return d
}

// tlsU turns datagrams into steps of the originator (or the responder).
func tlsU(isOrig bool, ds ...[]byte) []step {
	var st []step
	for _, d := range ds {
		st = append(st, step{Orig: isOrig, Data: string(d)})
	}
	return st
}

// TestDTLS: hellos whole and fragmented confirm and name the connection; each
// violation detaches dtls, so a good hello after it no longer confirms.
func TestDTLS(t *testing.T) {
	hello := dtlsHelloDatagram(0, "dtls.example")
	body := dtlsHelloBody([]byte("cookie!!"), "dtls.example")
	n := len(body)
	frag := func(seq uint64, off, k int) []byte {
		return dtlsRec(tlsHandshake, 0, seq, dtlsFragment(tlsTypeClientHello, 1, body, off, k))
	}
	hvr := dtlsRec(tlsHandshake, 0, 0, dtlsFragment(3, 0, []byte{0xfe, 0xff, 0x08, 1, 2, 3, 4, 5, 6, 7, 8}, 0, 11))
	serverHello := dtlsRec(tlsHandshake, 0, 1, dtlsFragment(tlsTypeServerHello, 1, tlsServerHelloBody(0xfefd, nil), 0, 38))
	cat := func(ds ...[]byte) []byte {
		var out []byte
		for _, d := range ds {
			out = append(out, d...)
		}
		return out
	}
	garbage := []byte("\x01\x02\x03 not a record at all")
	for _, tc := range []struct {
		name  string
		resp  string
		steps []step
		want  string
	}{
		{"hello on 443 (quic violates)", "10.0.0.2:443", tlsU(true, hello), "dtls"},
		{"hello on another port, by signature", "10.0.0.2:5684", tlsU(true, hello), "dtls"},
		{"hello fragmented over three datagrams", "10.0.0.2:443", tlsU(true, frag(1, 0, 40), frag(2, 40, 30), frag(3, 70, n-70)), "dtls"},
		{"fragments overlapping, two records in a datagram", "10.0.0.2:443", tlsU(true, cat(frag(1, 0, 50), frag(2, 20, 40)), frag(3, 60, n-60)), "dtls"},
		{"fragments out of order", "10.0.0.2:443", tlsU(true, frag(2, 40, n-40), frag(3, 30, 20), frag(1, 0, 30)), "dtls"},
		{"hello verify request, second hello", "10.0.0.2:443", append(append(tlsU(true, hello), tlsU(false, hvr)...), tlsU(true, frag(1, 0, n))...), "dtls"},
		{"whole handshake flight", "10.0.0.2:443", append(tlsU(true, hello), tlsU(false, cat(serverHello,
			dtlsRec(tlsChangeCipherSpec, 0, 2, []byte{1}), dtlsRec(tlsHandshake, 1, 0, []byte("\x99encrypted finished"))))...), "dtls"},
		{"DTLS 1.3 ciphertext after the hello", "10.0.0.2:443", append(tlsU(true, hello), tlsU(false, []byte("\x2f\x01\x02\x03\x04\x05"))...), "dtls"},
		{"server hello alone", "10.0.0.2:443", tlsU(false, serverHello), ""},
		{"TLS record version, then a hello", "10.0.0.2:443", tlsU(true, []byte("\x16\x03\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"), hello), ""},
		{"record past the datagram, then a hello", "10.0.0.2:443", tlsU(true, hello[:len(hello)-1], hello), ""},
		{"short record header, then a hello", "10.0.0.2:443", tlsU(true, cat(hello, hello[:12]), hello), ""},
		{"fragment past its message, then a hello", "10.0.0.2:443", tlsU(true, dtlsRec(tlsHandshake, 0, 0, append([]byte{1, 0, 0, 20, 0, 0, 0, 0, 10, 0, 0, 20}, body[:20]...)), hello), ""},
		{"fragment past its record, then a hello", "10.0.0.2:443", tlsU(true, dtlsRec(tlsHandshake, 0, 0, dtlsFragment(tlsTypeClientHello, 0, body, 0, 20)[:25]), hello), ""},
		{"unknown handshake type, then a hello", "10.0.0.2:443", tlsU(true, dtlsRec(tlsHandshake, 0, 0, dtlsFragment(0x77, 0, []byte{1}, 0, 1)), hello), ""},
		{"hello, then garbage within 10 KiB", "10.0.0.2:443", tlsU(true, hello, garbage), ""},
		{"hello, then garbage after 10 KiB", "10.0.0.2:443", tlsU(true, hello, dtlsRec(23, 1, 1, make([]byte, ViolationLimit)), garbage), "dtls"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := run(t, script{Proto: UDP, Resp: tc.resp, Steps: tc.steps})
			if got := h.service(); got != tc.want {
				t.Errorf("service %q, want %q", got, tc.want)
			}
			if tc.want != "" && h.names[NameSNI] != "dtls.example" {
				t.Errorf("sni %q", h.names[NameSNI])
			}
		})
	}
}

// dtlsOpenSSL is a DTLS 1.2 handshake between OpenSSL 3.0 s_client (with server
// name dtls.example) and s_server on loopback, datagram by datagram: ClientHello,
// HelloVerifyRequest, ClientHello with the cookie, the server's flight (its
// certificate in two fragments), the client's, alerts. "o" marks the client's.
var dtlsOpenSSL = []string{
	"o " +
		"16feff000000000000000000d5010000c900000000000000c9fefd91de62bb6336df094ba2d8fdfd8559fedb5b7cd247" +
		"fae4bf491fc1235e2d129000000038c02cc030009fcca9cca8ccaac02bc02f009ec024c028006bc023c0270067c00ac0" +
		"140039c009c0130033009d009c003d003c0035002f00ff0100006700000011000f00000c64746c732e6578616d706c65" +
		"000b000403000102000a000c000a001d0017001e00190018002300000016000000170000000d002a0028040305030603" +
		"080708080809080a080b080408050806040105010601030303010302040205020602",
	"r " +
		"16feff00000000000000000023030000170000000000000017feff1425922f12a8cfba73aea0cc10918f65230413bd08",
	"o " +
		"16feff000000000000000100e9010000dd00010000000000ddfefd91de62bb6336df094ba2d8fdfd8559fedb5b7cd247" +
		"fae4bf491fc1235e2d1290001425922f12a8cfba73aea0cc10918f65230413bd080038c02cc030009fcca9cca8ccaac0" +
		"2bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d003c0035002f00ff0100006700" +
		"000011000f00000c64746c732e6578616d706c65000b000403000102000a000c000a001d0017001e0019001800230000" +
		"0016000000170000000d002a0028040305030603080708080809080a080b080408050806040105010601030303010302" +
		"040205020602",
	"r " +
		"16fefd000000000000000100490200003d000100000000003dfefd444694c98c8a060bb36e812b61f579efc249596a12" +
		"c6b0dbcc9c870f0345a38500c02c000015ff01000100000b000403000102002300000017000016fefd00000000000000" +
		"0200810b00018d000200000000007500018a0001873082018330820129a00302010202147003dc1380a2b81874776b7f" +
		"ec07230a41144475300a06082a8648ce3d04030230173115301306035504030c0c64746c732e6578616d706c65301e17" +
		"0d3236313230323136313634345a170d3236313230343136313634345a30173115301306",
	"r " +
		"16fefd000000000000000300d70b00018d00020000750000cb035504030c0c64746c732e6578616d706c653059301306" +
		"072a8648ce3d020106082a8648ce3d030107034200041611ddb7ce3be7e882bdccd8217e326a5db4d2c2db5255f2dec5" +
		"278d11e0b6e1894049b9737bfee0b547f6ec824ab48e68402cba89dbbe0c4d3a0f85b088ec85a3533051301d0603551d" +
		"0e04160414e051ee0e3144f1469bf0256173e613650c6b9286301f0603551d23041830168014e051ee0e3144f1469bf0" +
		"256173e613650c6b9286300f0603551d130101ff040530030101ff300a06082a8648ce3d",
	"r " +
		"16fefd000000000000000400590b00018d000200014000004d0403020348003045022100aa4280cd7b2967357b32f067" +
		"47f1e309f633c29445e54558c0d0618a51924f380220693062feff486872428dd02ded9c2440fe4791f4e5a6a3d8acd4" +
		"6a726b8c30a516fefd000000000000000500710c00006f000300000000006503001d201edb0a982dbbc4487a14d6434a" +
		"e0010f2341c783fd06d1a863fa3e1ba8e4357c040300473045022100a3a713ad4cc4e0e09cc6e4b74d97bbb2e6e3852e" +
		"14213d91aae8343b086688df02206c110611530616fa6e3e44e438dd8c55f3dff15c5a03",
	"r " +
		"16fefd000000000000000600160c00006f000300006500000af5eaab6b3c0e511763e316fefd0000000000000007000c" +
		"0e0000000004000000000000",
	"o " +
		"16fefd0000000000000002002d10000021000200000000002120d3ede7b54421338c220a6336cefb6636f82b49bf3f45" +
		"528b1e83c1a7be6d6a3814fefd000000000000000300010116fefd0001000000000000003022d41beccc10175f6d687c" +
		"4c09e706c70abd3b0a3afa0d61ca7768d98106a16fe6196b06c7b491464350a55c8ac1d4fa",
	"r " +
		"16fefd000000000000000800c2040000b600050000000000b600001c2000b01a4fcd3d5af972768705c4fee623a76b90" +
		"928a8ec867b2645b7508a2ad3e9792910bfd43cb7f12697e929cd4fa97c43528dadadfc28acf0c67706fa47f6f9c509e" +
		"e6a672dd3d4d1466a6101af74eef61656eee533b2ef3e12a0fd4cf4e8dd37dba0b3de23c50ea8feea622162521e7035c" +
		"afe895af686afcb8486006fe642110e8e1e03e556c4cbd63f04be00f31d95aa9e20328739925dd17ee9cd032c8cc948a" +
		"5a6e3f6466e7dbd4f81887abd0ed3a",
	"r " +
		"14fefd000000000000000900010116fefd00010000000000000030203ece3d6fd12ee88f5c0e376a0bf9a40e03f9dd23" +
		"6da0be73e64fd794a6bd0d538645b0b41ef257c962d20f3726cbc2",
	"r " +
		"15fefd0001000000000001001a203ece3d6fd12ee95dd735b6294cc96fe12cadba6b2d47c4eb2d",
	"o " +
		"15fefd0001000000000001001a22d41beccc101760ac42072e51cc7f9d7f55b61c7127c6a9f1f9",
}

// TestDTLSOpenSSL replays the OpenSSL handshake: dtls confirms on the first
// ClientHello, and nothing after it (fragmented certificate, encrypted Finished,
// alerts) is a violation; on another port the signature finds it.
func TestDTLSOpenSSL(t *testing.T) {
	var steps []step
	for _, d := range dtlsOpenSSL {
		b, err := hex.DecodeString(d[2:])
		if err != nil {
			t.Fatal(err)
		}
		steps = append(steps, step{Orig: d[0] == 'o', Data: string(b)})
	}
	for _, resp := range []string{"10.0.0.2:443", "10.0.0.2:4433"} {
		h, _ := run(t, script{Proto: UDP, Resp: resp, Steps: steps})
		if got := h.service(); got != "dtls" {
			t.Errorf("%s: service %q, want dtls", resp, got)
		}
		if got := h.names[NameSNI]; got != "dtls.example" {
			t.Errorf("%s: sni %q", resp, got)
		}
	}
	// Without the first ClientHello, the one with the cookie confirms.
	h, _ := run(t, script{Proto: UDP, Resp: "10.0.0.2:443", Steps: steps[1:]})
	if got := h.service(); got != "dtls" {
		t.Errorf("from the second hello: service %q, want dtls", got)
	}
}

// FuzzDTLS feeds the dtls (and quic) analyzers arbitrary datagrams in both
// directions and checks that the reassembly stays bounded.
func FuzzDTLS(f *testing.F) {
	f.Add(append([]byte{0x3f}, dtlsHelloDatagram(0, "f.example")...))
	if b, err := hex.DecodeString(dtlsOpenSSL[0][2:]); err == nil {
		f.Add(append([]byte{0x3f}, b...))
	}
	body := dtlsHelloBody(nil, "f.example")
	d1 := dtlsRec(tlsHandshake, 0, 1, dtlsFragment(tlsTypeClientHello, 1, body, 0, 30))
	d2 := dtlsRec(tlsHandshake, 0, 2, dtlsFragment(tlsTypeClientHello, 1, body, 30, len(body)-30))
	f.Add(append(append([]byte{byte(len(d1) - 1)}, d1...), append([]byte{0x3f}, d2...)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		tlsFuzzSession(t, UDP, 443, data, func(p Parser) {
			if d, ok := p.(*dtlsParser); ok {
				for _, a := range d.asm {
					if cap(a.buf) > tlsMaxHello {
						t.Fatalf("dtls keeps %d bytes", cap(a.buf))
					}
				}
			}
		})
	})
}
