package analyzer

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"strings"
	"testing"
)

// The quic analyzer (service-detection.md §8 row quic), checked against the sample
// packets of RFC 9001 Appendix A (version 1) and RFC 9369 Appendix A (version 2),
// and against Initials built here around ClientHellos of Go's crypto/tls QUIC
// client.

// The protected sample packets; their ClientHello names example.com. The client's
// Destination Connection ID is 8394c8f03e515708.
var (
	quicV1Client = quicHex(`
c000000001088394c8f03e5157080000449e7b9aec34d1b1c98dd7689fb8ec11
d242b123dc9bd8bab936b47d92ec356c0bab7df5976d27cd449f63300099f399
1c260ec4c60d17b31f8429157bb35a1282a643a8d2262cad67500cadb8e7378c
8eb7539ec4d4905fed1bee1fc8aafba17c750e2c7ace01e6005f80fcb7df6212
30c83711b39343fa028cea7f7fb5ff89eac2308249a02252155e2347b63d58c5
457afd84d05dfffdb20392844ae812154682e9cf012f9021a6f0be17ddd0c208
4dce25ff9b06cde535d0f920a2db1bf362c23e596d11a4f5a6cf3948838a3aec
4e15daf8500a6ef69ec4e3feb6b1d98e610ac8b7ec3faf6ad760b7bad1db4ba3
485e8a94dc250ae3fdb41ed15fb6a8e5eba0fc3dd60bc8e30c5c4287e53805db
059ae0648db2f64264ed5e39be2e20d82df566da8dd5998ccabdae053060ae6c
7b4378e846d29f37ed7b4ea9ec5d82e7961b7f25a9323851f681d582363aa5f8
9937f5a67258bf63ad6f1a0b1d96dbd4faddfcefc5266ba6611722395c906556
be52afe3f565636ad1b17d508b73d8743eeb524be22b3dcbc2c7468d54119c74
68449a13d8e3b95811a198f3491de3e7fe942b330407abf82a4ed7c1b311663a
c69890f4157015853d91e923037c227a33cdd5ec281ca3f79c44546b9d90ca00
f064c99e3dd97911d39fe9c5d0b23a229a234cb36186c4819e8b9c5927726632
291d6a418211cc2962e20fe47feb3edf330f2c603a9d48c0fcb5699dbfe58964
25c5bac4aee82e57a85aaf4e2513e4f05796b07ba2ee47d80506f8d2c25e50fd
14de71e6c418559302f939b0e1abd576f279c4b2e0feb85c1f28ff18f58891ff
ef132eef2fa09346aee33c28eb130ff28f5b766953334113211996d20011a198
e3fc433f9f2541010ae17c1bf202580f6047472fb36857fe843b19f5984009dd
c324044e847a4f4a0ab34f719595de37252d6235365e9b84392b061085349d73
203a4a13e96f5432ec0fd4a1ee65accdd5e3904df54c1da510b0ff20dcc0c77f
cb2c0e0eb605cb0504db87632cf3d8b4dae6e705769d1de354270123cb11450e
fc60ac47683d7b8d0f811365565fd98c4c8eb936bcab8d069fc33bd801b03ade
a2e1fbc5aa463d08ca19896d2bf59a071b851e6c239052172f296bfb5e724047
90a2181014f3b94a4e97d117b438130368cc39dbb2d198065ae3986547926cd2
162f40a29f0c3c8745c0f50fba3852e566d44575c29d39a03f0cda721984b6f4
40591f355e12d439ff150aab7613499dbd49adabc8676eef023b15b65bfc5ca0
6948109f23f350db82123535eb8a7433bdabcb909271a6ecbcb58b936a88cd4e
8f2e6ff5800175f113253d8fa9ca8885c2f552e657dc603f252e1a8e308f76f0
be79e2fb8f5d5fbbe2e30ecadd220723c8c0aea8078cdfcb3868263ff8f09400
54da48781893a7e49ad5aff4af300cd804a6b6279ab3ff3afb64491c85194aab
760d58a606654f9f4400e8b38591356fbf6425aca26dc85244259ff2b19c41b9
f96f3ca9ec1dde434da7d2d392b905ddf3d1f9af93d1af5950bd493f5aa731b4
056df31bd267b6b90a079831aaf579be0a39013137aac6d404f518cfd4684064
7e78bfe706ca4cf5e9c5453e9f7cfd2b8b4c8d169a44e55c88d4a9a7f9474241
e221af44860018ab0856972e194cd934`)
	quicV1Server = quicHex(`
cf000000010008f067a5502a4262b5004075c0d95a482cd0991cd25b0aac406a
5816b6394100f37a1c69797554780bb38cc5a99f5ede4cf73c3ec2493a1839b3
dbcba3f6ea46c5b7684df3548e7ddeb9c3bf9c73cc3f3bded74b562bfb19fb84
022f8ef4cdd93795d77d06edbb7aaf2f58891850abbdca3d20398c276456cbc4
2158407dd074ee`)
	quicV2Client = quicHex(`
d76b3343cf088394c8f03e5157080000449ea0c95e82ffe67b6abcdb4298b485
dd04de806071bf03dceebfa162e75d6c96058bdbfb127cdfcbf903388e99ad04
9f9a3dd4425ae4d0992cfff18ecf0fdb5a842d09747052f17ac2053d21f57c5d
250f2c4f0e0202b70785b7946e992e58a59ac52dea6774d4f03b55545243cf1a
12834e3f249a78d395e0d18f4d766004f1a2674802a747eaa901c3f10cda5500
cb9122faa9f1df66c392079a1b40f0de1c6054196a11cbea40afb6ef5253cd68
18f6625efce3b6def6ba7e4b37a40f7732e093daa7d52190935b8da58976ff33
12ae50b187c1433c0f028edcc4c2838b6a9bfc226ca4b4530e7a4ccee1bfa2a3
d396ae5a3fb512384b2fdd851f784a65e03f2c4fbe11a53c7777c023462239dd
6f7521a3f6c7d5dd3ec9b3f233773d4b46d23cc375eb198c63301c21801f6520
bcfb7966fc49b393f0061d974a2706df8c4a9449f11d7f3d2dcbb90c6b877045
636e7c0c0fe4eb0f697545460c806910d2c355f1d253bc9d2452aaa549e27a1f
ac7cf4ed77f322e8fa894b6a83810a34b361901751a6f5eb65a0326e07de7c12
16ccce2d0193f958bb3850a833f7ae432b65bc5a53975c155aa4bcb4f7b2c4e5
4df16efaf6ddea94e2c50b4cd1dfe06017e0e9d02900cffe1935e0491d77ffb4
fdf85290fdd893d577b1131a610ef6a5c32b2ee0293617a37cbb08b847741c3b
8017c25ca9052ca1079d8b78aebd47876d330a30f6a8c6d61dd1ab5589329de7
14d19d61370f8149748c72f132f0fc99f34d766c6938597040d8f9e2bb522ff9
9c63a344d6a2ae8aa8e51b7b90a4a806105fcbca31506c446151adfeceb51b91
abfe43960977c87471cf9ad4074d30e10d6a7f03c63bd5d4317f68ff325ba3bd
80bf4dc8b52a0ba031758022eb025cdd770b44d6d6cf0670f4e990b22347a7db
848265e3e5eb72dfe8299ad7481a408322cac55786e52f633b2fb6b614eaed18
d703dd84045a274ae8bfa73379661388d6991fe39b0d93debb41700b41f90a15
c4d526250235ddcd6776fc77bc97e7a417ebcb31600d01e57f32162a8560cacc
7e27a096d37a1a86952ec71bd89a3e9a30a2a26162984d7740f81193e8238e61
f6b5b984d4d3dfa033c1bb7e4f0037febf406d91c0dccf32acf423cfa1e70710
10d3f270121b493ce85054ef58bada42310138fe081adb04e2bd901f2f13458b
3d6758158197107c14ebb193230cd1157380aa79cae1374a7c1e5bbcb80ee23e
06ebfde206bfb0fcbc0edc4ebec309661bdd908d532eb0c6adc38b7ca7331dce
8dfce39ab71e7c32d318d136b6100671a1ae6a6600e3899f31f0eed19e3417d1
34b90c9058f8632c798d4490da4987307cba922d61c39805d072b589bd52fdf1
e86215c2d54e6670e07383a27bbffb5addf47d66aa85a0c6f9f32e59d85a44dd
5d3b22dc2be80919b490437ae4f36a0ae55edf1d0b5cb4e9a3ecabee93dfc6e3
8d209d0fa6536d27a5d6fbb17641cde27525d61093f1b28072d111b2b4ae5f89
d5974ee12e5cf7d5da4d6a31123041f33e61407e76cffcdcfd7e19ba58cf4b53
6f4c4938ae79324dc402894b44faf8afbab35282ab659d13c93f70412e85cb19
9a37ddec600545473cfb5a05e08d0b209973b2172b4d21fb69745a262ccde96b
a18b2faa745b6fe189cf772a9f84cbfc`)
	quicV2Server = quicHex(`
dc6b3343cf0008f067a5502a4262b5004075d92faaf16f05d8a4398c47089698
baeea26b91eb761d9b89237bbf87263017915358230035f7fd3945d88965cf17
f9af6e16886c61bfc703106fbaf3cb4cfa52382dd16a393e42757507698075b2
c984c707f0a0812d8cd5a6881eaf21ceda98f4bd23f6fe1a3e2c43edd9ce7ca8
4bed8521e2e140`)
	// quicV1Retry is RFC 9001 A.4: the server's Retry, with a new connection id.
	quicV1Retry = quicHex(`ff000000010008f067a5502a4262b5746f6b656e04a265ba2eff4d829058fb3f0f2496ba`)
	quicRFCDCID = quicHex(`8394c8f03e515708`)
)

// init adds QUIC long headers to the signature samples.
func init() {
	ruleSamples = append(ruleSamples, string(quicV1Client[:16]), string(quicV2Client[:16]), "\xc0\x00\x00\x00\x02", "\xd0\x00\x00\x00\x01", "\xcf\x6b\x33\x43\xcf")
}

// quicHex decodes hex, ignoring white space.
func quicHex(s string) []byte {
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		panic(err)
	}
	return b
}

// quicAppendVarint appends v as a QUIC variable-length integer.
func quicAppendVarint(b []byte, v uint64) []byte {
	switch {
	case v < 1<<6:
		return append(b, byte(v))
	case v < 1<<14:
		return append(b, 0x40|byte(v>>8), byte(v))
	case v < 1<<30:
		return append(b, 0x80|byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
	return append(b, 0xc0|byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32), byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

// quicCryptoFrame is a CRYPTO frame carrying data at offset off.
func quicCryptoFrame(off uint64, data []byte) []byte {
	b := quicAppendVarint([]byte{0x06}, off)
	b = quicAppendVarint(b, uint64(len(data)))
	return append(b, data...)
}

// quicSeal builds an Initial packet of version vi from the client (or the server)
// with destination dcid, source scid and packet number pn, protecting payload
// with the Initial keys derived from keyDCID (RFC 9001 §5).
func quicSeal(t testing.TB, vi int, fromClient bool, keyDCID, dcid, scid []byte, pn uint32, payload []byte) []byte {
	t.Helper()
	k, ok := quicDeriveKeys(vi, keyDCID)
	if !ok {
		t.Fatal("key derivation failed")
	}
	side := &k.side[0]
	if !fromClient {
		side = &k.side[1]
	}
	v := quicVersions[vi].version
	hdr := []byte{0xc3 | quicVersions[vi].initialT<<4, byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v), byte(len(dcid))}
	hdr = append(hdr, dcid...)
	hdr = append(append(hdr, byte(len(scid))), scid...)
	hdr = append(hdr, 0x00) // no token
	l := 4 + len(payload) + 16
	hdr = append(hdr, 0x40|byte(l>>8), byte(l))
	pnOff := len(hdr)
	hdr = append(hdr, byte(pn>>24), byte(pn>>16), byte(pn>>8), byte(pn))
	nonce := side.iv
	for i := range 8 {
		nonce[4+i] ^= byte(uint64(pn) >> (56 - 8*i))
	}
	pkt := side.aead.Seal(hdr, nonce[:], payload, hdr)
	var mask [16]byte
	side.hp.Encrypt(mask[:], pkt[pnOff+4:pnOff+20])
	pkt[0] ^= mask[0] & 0x0f
	for i := range 4 {
		pkt[pnOff+i] ^= mask[1+i]
	}
	return pkt
}

// quicClientHello returns the ClientHello (a handshake message, no record) that
// Go's QUIC TLS client sends in its Initial CRYPTO stream.
func quicClientHello(t testing.TB, sni string) []byte {
	t.Helper()
	qc := tls.QUICClient(&tls.QUICConfig{TLSConfig: &tls.Config{ServerName: sni, NextProtos: []string{"h3"}, MinVersion: tls.VersionTLS13}})
	qc.SetTransportParameters([]byte{0x04, 0x04, 0x80, 0x10, 0x00, 0x00})
	if err := qc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer qc.Close()
	var hello []byte
	for {
		ev := qc.NextEvent()
		if ev.Kind == tls.QUICNoEvent {
			break
		}
		if ev.Kind == tls.QUICWriteData && ev.Level == tls.QUICEncryptionLevelInitial {
			hello = append(hello, ev.Data...)
		}
	}
	if len(hello) == 0 || hello[0] != tlsTypeClientHello {
		t.Fatalf("no ClientHello from crypto/tls: %x", hello)
	}
	return hello
}

// TestQUICDerivedKeys checks the Initial IVs against RFC 9001 A.1 and RFC 9369 A.1.
func TestQUICDerivedKeys(t *testing.T) {
	// RFC 9001 A.1 and RFC 9369 A.1: the client's IV and the server's IV.
	for vi, want := range [][2]string{{"fa044b2f42a3fd3b46fb255c", "0ac1493ca1905853b0bba03e"}, {"91f73e2351d8fa91660e909f", "dd13c276499c0249d3310652"}} {
		k, ok := quicDeriveKeys(vi, quicRFCDCID)
		if !ok {
			t.Fatal("derivation failed")
		}
		for side := range 2 {
			if got := hex.EncodeToString(k.side[side].iv[:]); got != want[side] {
				t.Errorf("version %d side %d: iv %s, want %s", vi, side, got, want[side])
			}
		}
	}
}

// TestQUIC: decrypted Initials confirm quic and feed the ClientHello to ssl
// (quic,ssl); decryption and parse failures are violations.
func TestQUIC(t *testing.T) {
	dcid := []byte("\x11\x22\x33\x44\x55\x66\x77\x88")
	scid := []byte("\xaa\xbb\xcc\xdd")
	hello := quicClientHello(t, "h3.example")
	half := len(hello) / 2
	// Two Initials that split the ClientHello, CRYPTO frames out of order in each.
	split1 := quicSeal(t, 0, true, dcid, dcid, scid, 0, append(append(quicCryptoFrame(100, hello[100:half]), 0x01), quicCryptoFrame(0, hello[:100])...))
	split2 := quicSeal(t, 0, true, dcid, dcid, scid, 1, append(quicCryptoFrame(uint64(half+10), hello[half+10:]), quicCryptoFrame(uint64(half), hello[half:half+10])...))
	// Three frames in reverse order in one packet, with ACK and padding.
	var rev []byte
	for _, cut := range [][2]int{{600, len(hello)}, {300, 600}, {0, 300}} {
		rev = append(rev, quicCryptoFrame(uint64(cut[0]), hello[cut[0]:cut[1]])...)
	}
	rev = append(append([]byte{0x02, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}, rev...), make([]byte, 50)...)
	reversed := quicSeal(t, 0, true, dcid, dcid, scid, 0, rev)
	whole := func(vi int) []byte { return quicSeal(t, vi, true, dcid, dcid, scid, 0, quicCryptoFrame(0, hello)) }
	ping := quicSeal(t, 0, true, dcid, dcid, scid, 0, append([]byte{0x01}, make([]byte, 30)...))
	// After the Retry of RFC 9001 A.4 the client uses the server's new id (and
	// keys from it).
	newID := quicHex("f067a5502a4262b5")
	afterRetry := quicSeal(t, 0, true, newID, newID, scid, 1, quicCryptoFrame(0, hello))
	corrupt := append([]byte(nil), quicV1Client...)
	corrupt[len(corrupt)-1] ^= 1
	stream := quicSeal(t, 0, true, dcid, dcid, scid, 1, append([]byte{0x08, 0x00, 0x01, 'x'}, make([]byte, 20)...))
	closeFrame := quicSeal(t, 0, false, dcid, nil, scid, 0, append([]byte{0x1c, 0x0a, 0x06, 0x03, 'b', 'y', 'e'}, make([]byte, 20)...))
	short := []byte("\x43\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16")
	handshake := []byte("\xe0\x00\x00\x00\x01\x00\x04\xaa\xbb\xcc\xdd\x10\x99\x99\x99\x99\x99\x99\x99\x99\x99\x99\x99\x99\x99\x99\x99\x99")
	cat := func(ds ...[]byte) []byte {
		var out []byte
		for _, d := range ds {
			out = append(out, d...)
		}
		return out
	}
	for _, tc := range []struct {
		name      string
		resp      string
		analyzers []string
		steps     []step
		want, sni string
	}{
		{"RFC 9001 client Initial", "10.0.0.2:443", nil, tlsU(true, quicV1Client), "quic,ssl", "example.com"},
		{"RFC 9001 client and server Initials", "10.0.0.2:443", nil, append(tlsU(true, quicV1Client), tlsU(false, quicV1Server)...), "quic,ssl", "example.com"},
		{"RFC 9369 (version 2) client and server Initials", "10.0.0.2:443", nil, append(tlsU(true, quicV2Client), tlsU(false, quicV2Server)...), "quic,ssl", "example.com"},
		{"RFC 9001 on another port, by signature", "10.0.0.2:4433", nil, tlsU(true, quicV1Client), "quic,ssl", "example.com"},
		{"RFC 9369 on another port, by signature", "10.0.0.2:4433", nil, tlsU(true, quicV2Client), "quic,ssl", "example.com"},
		{"DNS over QUIC port", "10.0.0.2:853", nil, tlsU(true, quicV1Client), "quic,ssl", "example.com"},
		{"ssl disabled", "10.0.0.2:443", []string{"quic"}, tlsU(true, quicV1Client), "quic", ""},
		{"server Initial alone", "10.0.0.2:443", nil, tlsU(false, quicV1Server), "", ""},
		{"corrupted client Initial", "10.0.0.2:443", nil, tlsU(true, corrupt), "", ""},
		{"corrupted Initial after a good one", "10.0.0.2:443", nil, tlsU(true, quicV1Client, corrupt), "ssl", "example.com"},
		{"hello split over two Initials, frames out of order", "10.0.0.2:443", nil, tlsU(true, split2, split1), "quic,ssl", "h3.example"},
		{"hello split over two Initials in one datagram", "10.0.0.2:443", nil, tlsU(true, cat(split1, split2)), "quic,ssl", "h3.example"},
		{"CRYPTO frames in reverse order", "10.0.0.2:443", nil, tlsU(true, reversed), "quic,ssl", "h3.example"},
		{"version 2 Initial of crypto/tls", "10.0.0.2:443", nil, tlsU(true, whole(1)), "quic,ssl", "h3.example"},
		{"Retry, then an Initial under the new id", "10.0.0.2:443", nil, append(append(tlsU(true, ping), tlsU(false, quicV1Retry)...), tlsU(true, afterRetry)...), "quic,ssl", "h3.example"},
		{"new id without a Retry", "10.0.0.2:443", nil, tlsU(true, ping, afterRetry), "", ""},
		{"STREAM frame in an Initial", "10.0.0.2:443", nil, tlsU(true, stream), "", ""},
		{"server CONNECTION_CLOSE", "10.0.0.2:443", nil, append(tlsU(true, whole(0)), tlsU(false, closeFrame)...), "quic,ssl", "h3.example"},
		{"coalesced Handshake packet and 1-RTT", "10.0.0.2:443", nil, append(tlsU(true, cat(whole(0), handshake)), tlsU(false, short)...), "quic,ssl", "h3.example"},
		// The signature attaches quic again at the Initial, but the PIA replays the
		// first datagram into it too.
		{"short header first", "10.0.0.2:443", nil, tlsU(true, short, quicV1Client), "", ""},
		{"short header first, on 4433", "10.0.0.2:4433", nil, tlsU(true, short, quicV1Client), "", ""},
		{"unknown version", "10.0.0.2:443", nil, tlsU(true, []byte("\xc0\x0a\x0a\x0a\x0a\x08\x83\x94\xc8\xf0\x3e\x51\x57\x08\x00\x00\x40\x10"), quicV1Client), "", ""},
		{"version negotiation is passed over", "10.0.0.2:443", nil, append(tlsU(false, []byte("\x80\x00\x00\x00\x00\x00\x08\x83\x94\xc8\xf0\x3e\x51\x57\x08\x00\x00\x00\x01")), tlsU(true, quicV1Client)...), "quic,ssl", "example.com"},
		{"truncated long header", "10.0.0.2:443", nil, tlsU(true, quicV1Client[:30]), "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := run(t, script{Proto: UDP, Analyzers: tc.analyzers, Resp: tc.resp, Steps: tc.steps})
			if got := h.service(); got != tc.want {
				t.Errorf("service %q, want %q", got, tc.want)
			}
			if got := h.names[NameSNI]; got != tc.sni {
				t.Errorf("sni %q, want %q", got, tc.sni)
			}
		})
	}
}

// FuzzQUIC feeds the quic analyzer arbitrary datagrams. A first byte of 0xff makes
// the rest the plaintext of an Initial that is encrypted first, so that the frame
// parser, the CRYPTO reassembly and the ssl child are fuzzed too.
func FuzzQUIC(f *testing.F) {
	f.Add(append([]byte{0x3f}, quicV1Client...))
	f.Add(append(append([]byte{0x3f}, quicV1Client...), append([]byte{0xbf}, quicV1Server...)...))
	hello := quicClientHello(f, "f.example")
	f.Add(append([]byte{0xff}, quicCryptoFrame(0, hello)...))
	f.Add(append(append([]byte{0xff}, quicCryptoFrame(200, hello[200:])...), quicCryptoFrame(0, hello[:200])...))
	dcid := []byte("\x01\x02\x03\x04\x05\x06\x07\x08")
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 0 && data[0] == 0xff {
			data = append([]byte{0x3f}, quicSeal(t, 0, true, dcid, dcid, nil, 0, data[1:])...)
		}
		tlsFuzzSession(t, UDP, 443, data, func(p Parser) {
			if q, ok := p.(*quicParser); ok {
				for _, cs := range q.crypto {
					if cap(cs.buf) > quicMaxCrypto || len(cs.have) > 32 {
						t.Fatalf("quic keeps %d bytes, %d ranges", cap(cs.buf), len(cs.have))
					}
				}
			}
		})
	})
}
