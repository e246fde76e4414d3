package analyzer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// The ssl analyzer (service-detection.md §8 row ssl), fed ClientHellos and whole
// handshakes that Go's crypto/tls produces, and hand-built SSLv2 and broken records.

// init adds TLS record prefixes to the signature samples, and registers a test
// analyzer that starts TLS as the STARTTLS parents do (§5.1).
func init() {
	register(&Analyzer{Name: "test-starttls", Transport: TCP, Ports: []uint16{2525}, New: func() Parser { return new(startTLSParser) }})
	ruleSamples = append(ruleSamples,
		"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
		"\x15\x03\x03\x00\x02\x02\x28\x16\x03\x03\x00\x5a\x02\x00\x00\x56\x03\x04",
		"\x16\x03\x03\x00\x5a\x02\x00\x00\x56\x7f\x1c", "\x16\x03\x03\x00\x5a\x02\x00\x00\x56\x7f\x51",
		"\x16\x03\x03\x00\x5a\x02\x00\x00\x56\x03\x05", "\x15\x03\x04", "\x16\x03\x01\x00\x05\x01\x00\x00\x01\x03\x04",
	)
}

// tlsRecorder is a net.Conn that records what each side writes, in order.
type tlsRecorder struct {
	net.Conn
	mu     *sync.Mutex
	log    *[]step
	isOrig bool
}

// Write records b as a step of c's side, then writes it.
func (c tlsRecorder) Write(b []byte) (int, error) {
	c.mu.Lock()
	*c.log = append(*c.log, step{Orig: c.isOrig, Data: string(b)})
	c.mu.Unlock()
	return c.Conn.Write(b)
}

// tlsCert returns a throwaway self-signed certificate.
func tlsCert(t testing.TB) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "example.com"},
		DNSNames: []string{"example.com"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// startTLSParser confirms on a client line "STARTTLS\r\n" and hands every later
// byte of both directions to an ssl child, from the chunk after the line on.
type startTLSParser struct{ ssl *Child }

// Data feeds the child once TLS started.
func (p *startTLSParser) Data(c *Ctx, isOrig bool, data []byte) {
	if p.ssl != nil {
		p.ssl.Data(isOrig, data)
		return
	}
	if isOrig && strings.HasPrefix(string(data), "STARTTLS\r\n") {
		c.Confirm()
		p.ssl = c.Child("ssl")
		p.ssl.Data(isOrig, data[len("STARTTLS\r\n"):])
	}
}

// Gap passes gaps on to the child.
func (p *startTLSParser) Gap(c *Ctx, isOrig bool, n uint64) { p.ssl.Gap(isOrig, n) }

// End needs nothing.
func (p *startTLSParser) End(c *Ctx, isOrig bool) {}

// TestSSLChild: ssl as a child after STARTTLS, fed from the switch point: the
// ClientHello confirms it after its parent; a bad record removes only ssl.
func TestSSLChild(t *testing.T) {
	hello := string(testClientHello(t, tls.VersionTLS13, "mail.example"))
	for _, tc := range []struct {
		name  string
		steps []step
		want  string
	}{
		{"hello in the STARTTLS chunk", []step{o("STARTTLS\r\n" + hello)}, "test-starttls,ssl"},
		{"hello byte by byte", append([]step{o("STARTTLS\r\n")}, bytewise([]step{o(hello)})...), "test-starttls,ssl"},
		{"server reply, then the hello", []step{o("STARTTLS\r\n"), r("\x15\x03\x03\x00\x02\x01\x00"), o(hello)}, "test-starttls,ssl"},
		{"plain text after STARTTLS", []step{o("STARTTLS\r\n"), o(hello), o("QUIT\r\n")}, "test-starttls"},
		{"gap after STARTTLS", []step{o("STARTTLS\r\n"), {Orig: true, Gap: 10}, o(hello)}, "test-starttls"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := run(t, script{Resp: "10.0.0.2:2525", Steps: tc.steps})
			if got := h.service(); got != tc.want {
				t.Errorf("service %q, want %q", got, tc.want)
			}
			if strings.HasSuffix(tc.want, "ssl") && h.names[NameSNI] != "mail.example" {
				t.Errorf("sni %q", h.names[NameSNI])
			}
		})
	}
}

// testClientHello returns the first record a crypto/tls client of at most version
// max writes: its ClientHello.
func testClientHello(t testing.TB, max uint16, sni string) []byte {
	t.Helper()
	cc, sc := net.Pipe()
	go func() {
		c := tls.Client(cc, &tls.Config{ServerName: sni, MaxVersion: max, InsecureSkipVerify: true})
		c.Handshake()
		cc.Close()
	}()
	hdr := make([]byte, 5)
	if _, err := io.ReadFull(sc, hdr); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, binary.BigEndian.Uint16(hdr[3:]))
	if _, err := io.ReadFull(sc, body); err != nil {
		t.Fatal(err)
	}
	sc.Close()
	return append(hdr, body...)
}

// tlsConversation runs a crypto/tls handshake of at most version max and one
// exchange of application data, and returns what each side wrote, in order.
func tlsConversation(t testing.TB, max uint16) []step {
	t.Helper()
	cc, sc := net.Pipe()
	var mu sync.Mutex
	var log []step
	cert := tlsCert(t)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s := tls.Server(tlsRecorder{sc, &mu, &log, false}, &tls.Config{Certificates: []tls.Certificate{cert}})
		buf := make([]byte, 5)
		if _, err := io.ReadFull(s, buf); err == nil {
			s.Write([]byte("world"))
		}
		sc.Close() // not s.Close: its close_notify would wait for a reader
	}()
	c := tls.Client(tlsRecorder{cc, &mu, &log, true}, &tls.Config{ServerName: "example.com", MaxVersion: max, InsecureSkipVerify: true})
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatal(err)
	}
	cc.Close()
	wg.Wait()
	return log
}

// tlsReframe cuts the handshake messages of a record into records of at most n
// bytes of body each: a message then spans records.
func tlsReframe(rec []byte, n int) string {
	var out []byte
	for body := rec[5:]; len(body) > 0; {
		k := min(n, len(body))
		out = append(out, rec[0], rec[1], rec[2], byte(k>>8), byte(k))
		out = append(out, body[:k]...)
		body = body[k:]
	}
	return string(out)
}

// tlsAppData returns application-data records with n bytes of payload in all.
func tlsAppData(n int) string {
	var sb strings.Builder
	for n > 0 {
		k := min(n, 16384)
		sb.WriteString(string([]byte{0x17, 0x03, 0x03, byte(k >> 8), byte(k)}))
		sb.WriteString(strings.Repeat("\xaa", k))
		n -= k
	}
	return sb.String()
}

// testV2Hello is an SSLv2-format ClientHello offering TLS 1.0 (as old clients sent
// to servers of unknown version): one cipher spec, a 16-byte challenge.
func testV2Hello(version uint16) string {
	body := []byte{0x01, byte(version >> 8), byte(version), 0x00, 0x03, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x2f}
	body = append(body, []byte(strings.Repeat("C", 16))...)
	return string(append([]byte{0x80 | byte(len(body)>>8), byte(len(body))}, body...))
}

// tlsRecord wraps a handshake message body of type typ in one handshake record.
func tlsRecord(typ byte, body []byte) string {
	msg := append([]byte{typ, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}, body...)
	return string(append([]byte{0x16, 0x03, 0x01, byte(len(msg) >> 8), byte(len(msg))}, msg...))
}

// tlsHelloBody is a minimal TLS 1.2 ClientHello body with the given extensions.
func tlsHelloBody(version uint16, exts []byte) []byte {
	b := []byte{byte(version >> 8), byte(version)}
	b = append(b, make([]byte, 32)...)
	b = append(b, 0x00, 0x00, 0x02, 0xc0, 0x2f, 0x01, 0x00)
	if exts != nil {
		b = append(b, byte(len(exts)>>8), byte(len(exts)))
		b = append(b, exts...)
	}
	return b
}

// tlsServerHelloBody is a ServerHello body (no session id, suite 0xc02f) with the
// given extensions.
func tlsServerHelloBody(version uint16, exts []byte) []byte {
	b := []byte{byte(version >> 8), byte(version)}
	b = append(b, make([]byte, 32)...)
	b = append(b, 0x00, 0xc0, 0x2f, 0x00)
	if exts != nil {
		b = append(b, byte(len(exts)>>8), byte(len(exts)))
		b = append(b, exts...)
	}
	return b
}

// tlsSNIExt is a server_name extension naming host.
func tlsSNIExt(host string) []byte {
	n := len(host)
	return append([]byte{0x00, 0x00, byte((n + 5) >> 8), byte(n + 5), byte((n + 3) >> 8), byte(n + 3), 0x00, byte(n >> 8), byte(n)}, host...)
}

// TestSSLClientHello: ClientHellos of TLS 1.2 and 1.3 confirm and name the
// connection however they are cut into chunks and records.
func TestSSLClientHello(t *testing.T) {
	h12 := testClientHello(t, tls.VersionTLS12, "www.example.com")
	h13 := testClientHello(t, tls.VersionTLS13, "www.example.com")
	if len(h13) < 1000 {
		t.Logf("TLS 1.3 ClientHello is %d bytes", len(h13))
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"TLS 1.2 in one chunk", []step{o(string(h12))}},
		{"TLS 1.3 in one chunk", []step{o(string(h13))}},
		{"TLS 1.2 byte by byte", bytewise([]step{o(string(h12))})},
		{"TLS 1.3 byte by byte", bytewise([]step{o(string(h13))})},
		{"TLS 1.3 over records of 100 bytes", []step{o(tlsReframe(h13, 100))}},
		{"TLS 1.2 over records of 7 bytes, byte by byte", bytewise([]step{o(tlsReframe(h12, 7))})},
		{"TLS 1.3 over records of 1 byte", []step{o(tlsReframe(h13, 1))}},
		{"hand-built hello", []step{o(tlsRecord(1, tlsHelloBody(0x0303, tlsSNIExt("www.example.com"))))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := run(t, script{Resp: "10.0.0.2:443", Steps: tc.steps})
			if got := h.service(); got != "ssl" {
				t.Errorf("service %q, want ssl", got)
			}
			if got := h.names[NameSNI]; got != "www.example.com" {
				t.Errorf("sni %q", got)
			}
		})
	}
}

// TestSSLConversation: whole handshakes with application data confirm without a
// violation, on the port and by signature; the server side alone never confirms.
func TestSSLConversation(t *testing.T) {
	for _, max := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		steps := tlsConversation(t, max)
		for _, tc := range []struct {
			name   string
			resp   string
			steps  []step
			expect string
		}{
			{"on 443", "10.0.0.2:443", steps, "ssl"},
			{"on 8443 by signature", "10.0.0.2:8443", steps, "ssl"},
			{"server side only", "10.0.0.2:443", tlsServerOnly(steps), ""},
			{"server side only on 8443 (tls-s attaches ssl)", "10.0.0.2:8443", tlsServerOnly(steps), ""},
		} {
			t.Run(tls.VersionName(max)+" "+tc.name, func(t *testing.T) {
				h, _ := run(t, script{Resp: tc.resp, Steps: tc.steps})
				if got := h.service(); got != tc.expect {
					t.Errorf("service %q, want %q", got, tc.expect)
				}
				if tc.expect != "" && h.names[NameSNI] != "example.com" {
					t.Errorf("sni %q", h.names[NameSNI])
				}
			})
		}
	}
}

// tlsServerOnly keeps the responder's steps.
func tlsServerOnly(steps []step) []step {
	var out []step
	for _, s := range steps {
		if !s.Orig {
			out = append(out, s)
		}
	}
	return out
}

// TestSSLv2Hello: SSLv2-format hellos confirm on the port only, and their header
// checks.
func TestSSLv2Hello(t *testing.T) {
	for _, tc := range []struct {
		name  string
		s     script
		want  string
		steps []step
	}{
		{"SSLv2 hello offering TLS 1.0", script{Resp: "10.0.0.2:443", Steps: []step{o(testV2Hello(0x0301))}}, "ssl", nil},
		{"SSLv2 hello offering SSLv2", script{Resp: "10.0.0.2:443", Steps: []step{o(testV2Hello(0x0002))}}, "ssl", nil},
		{"SSLv2 hello byte by byte", script{Resp: "10.0.0.2:443", Steps: bytewise([]step{o(testV2Hello(0x0300))})}, "ssl", nil},
		{"SSLv2 hello, TLS reply", script{Resp: "10.0.0.2:443", Steps: []step{o(testV2Hello(0x0301)),
			r(tlsRecord(2, tlsServerHelloBody(0x0301, nil)))}}, "ssl", nil},
		{"SSLv2 hello of a bad version", script{Resp: "10.0.0.2:443", Steps: []step{o(testV2Hello(0x0304))}}, "", nil},
		{"SSLv2 hello with lengths past the record", script{Resp: "10.0.0.2:443", Steps: []step{
			o(testV2Hello(0x0301)[:len(testV2Hello(0x0301))-1])}}, "", nil},
		{"SSLv2 hello matches no signature", script{Resp: "10.0.0.2:8443", Steps: []step{o(testV2Hello(0x0301))}}, "", nil},
		{"SSLv2 hello from the responder", script{Resp: "10.0.0.2:443", Steps: []step{r(testV2Hello(0x0301)),
			o(tlsRecord(1, tlsHelloBody(0x0303, nil)))}}, "", nil},
		{"SSLv2 server hello, then SSLv2 records", script{Resp: "10.0.0.2:443", Steps: []step{
			o(testV2Hello(0x0002)), r("\x80\x05\x04\x00\x01\x00\x02"), o("\x80\x04\x02\x01\x02\x03"), o("\x80\x03\x07\x00\x00")}}, "ssl", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := run(t, tc.s)
			if got := h.service(); got != tc.want {
				t.Errorf("service %q, want %q", got, tc.want)
			}
		})
	}
}

// TestSSLViolations: each violation detaches ssl, so a good hello after it no
// longer confirms; after a confirmation it removes the service within 10 KiB only.
func TestSSLViolations(t *testing.T) {
	good := o(tlsRecord(1, tlsHelloBody(0x0303, tlsSNIExt("a.example"))))
	hello := testClientHello(t, tls.VersionTLS13, "x.example")
	badExt := []byte(tlsRecord(1, tlsHelloBody(0x0303, append(tlsSNIExt("a.example"), 0x00, 0x10, 0x00, 0x09, 0x00))))
	badSNI := tlsSNIExt("a.example")
	badSNI[8]++ // the host name runs past the list
	for _, tc := range []struct {
		name  string
		steps []step
		want  string
	}{
		{"record of version 3.4, then a good hello", []step{o("\x16\x03\x04\x00\x01\x00"), good}, ""},
		{"record of type 19, then a good hello", []step{r("\x13\x03\x03\x00\x01\x00"), good}, ""},
		{"record of type 31", []step{o("\x1f\x03\x03\x00\x01\x00"), good}, ""},
		{"a server's record of SSLv2 type 1", []step{r("\x80\x05\x01\x03\x01\x00\x00"), good}, ""},
		{"unknown handshake type", []step{o(tlsRecord(0x63, nil)), good}, ""},
		{"extension running past the message", []step{o(string(badExt)), good}, ""},
		{"server name running past the extension", []step{o(tlsRecord(1, tlsHelloBody(0x0303, badSNI))), good}, ""},
		{"odd cipher suite length", []step{o(tlsRecord(1, append(tlsHelloBody(0x0303, nil)[:35], 0x00, 0x03, 0xc0, 0x2f, 0x00, 0x01, 0x00))), good}, ""},
		{"client version 2.0", []step{o(tlsRecord(1, tlsHelloBody(0x0200, nil))), good}, ""},
		{"truncated hello", []step{o(tlsRecord(1, tlsHelloBody(0x0303, nil)[:30])), good}, ""},
		{"server hello of version 3.5", []step{r(tlsRecord(2, tlsServerHelloBody(0x0305, nil))), good}, ""},
		{"hello, then a record of a later version", []step{o(string(hello)), o("\x17\x03\x05\x00\x00")}, ""},
		{"hello, then HTTP", []step{o(string(hello)), o("GET / HTTP/1.1\r\n\r\n")}, ""},
		{"hello, then garbage from the server", []step{o(string(hello)), r("\x00\x01\x02\x03\x04\x05\x06")}, ""},
		{"hello, garbage after 10 KiB", []step{o(string(hello)), o(tlsAppData(ViolationLimit)), o("GET / HTTP/1.1\r\n\r\n")}, "ssl"},
		{"hello, garbage within 10 KiB", []step{o(string(hello)), o(tlsAppData(ViolationLimit - len(hello) - 100)), o("GET / HTTP/1.1\r\n\r\n")}, ""},
		{"server hello with an empty server name", []step{r(tlsRecord(2, tlsServerHelloBody(0x0303, []byte{0, 0, 0, 0}))), good}, "ssl"},
		{"hello that spans records, all well formed", []step{o(tlsReframe(hello, 50)), o(tlsAppData(100))}, "ssl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := run(t, script{Resp: "10.0.0.2:443", Steps: tc.steps})
			if got := h.service(); got != tc.want {
				t.Errorf("service %q, want %q", got, tc.want)
			}
		})
	}
}

// TestSSLNoConfirm: traffic that leaves ssl unconfirmed (§9, §10).
func TestSSLNoConfirm(t *testing.T) {
	hello := string(testClientHello(t, tls.VersionTLS12, "example.com"))
	for _, tc := range []struct {
		name string
		s    script
	}{
		{"server hello alone", script{Resp: "10.0.0.2:443", Steps: []step{r(tlsRecord(2, tlsServerHelloBody(0x0303, nil)))}}},
		{"partial connection", script{Resp: "10.0.0.2:443", Partial: true, Steps: []step{o(hello)}}},
		{"partial connection on 8443", script{Resp: "10.0.0.2:8443", Partial: true, Steps: []step{o(hello)}}},
		{"gap before the hello", script{Resp: "10.0.0.2:443", Steps: []step{{Orig: true, Gap: 100}, o(hello)}}},
		{"application data only (hello lost)", script{Resp: "10.0.0.2:443", Steps: []step{o(tlsAppData(300)), r(tlsAppData(300))}}},
		{"hello cut by the end", script{Resp: "10.0.0.2:443", Steps: []step{o(hello[:100]), {Orig: true, End: true}}}},
		{"ssl disabled", script{Analyzers: []string{"http"}, Resp: "10.0.0.2:443", Steps: []step{o(hello)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := run(t, tc.s)
			if got := h.service(); got != "" {
				t.Errorf("service %q, want none", got)
			}
		})
	}
}

// TestSSLSignature: tls-c attaches ssl on a port it is not registered on.
func TestSSLSignature(t *testing.T) {
	hello := string(testClientHello(t, tls.VersionTLS12, "sig.example"))
	for _, steps := range [][]step{{o(hello)}, bytewise([]step{o(hello)})} {
		h, _ := run(t, script{Resp: "10.0.0.2:8443", Steps: steps})
		if got := h.service(); got != "ssl" {
			t.Errorf("service %q, want ssl", got)
		}
		if got := h.names[NameSNI]; got != "sig.example" {
			t.Errorf("sni %q", got)
		}
	}
}

// FuzzSSL feeds the ssl analyzer arbitrary streams in both directions, cut into
// arbitrary chunks, and checks that its buffers stay bounded. Each control byte
// says who sends how many of the following bytes (or a gap, or an end).
func FuzzSSL(f *testing.F) {
	f.Add(append([]byte{0x3f}, testClientHello(f, tls.VersionTLS13, "f.example")...))
	f.Add(append([]byte{0x05}, testV2Hello(0x0301)...))
	f.Add([]byte("\x3f" + tlsReframe(testClientHello(f, tls.VersionTLS12, "f.example"), 3)))
	f.Add([]byte("\x3f" + tlsRecord(1, tlsHelloBody(0x0303, tlsSNIExt("a")))))
	f.Fuzz(func(t *testing.T, data []byte) {
		tlsFuzzSession(t, TCP, 443, data, func(p Parser) {
			s, ok := p.(*sslParser)
			if !ok {
				return
			}
			for _, d := range s.dirs {
				if cap(d.hs.buf) > tlsMaxHello || cap(d.v2) > tlsMaxHello {
					t.Fatalf("ssl keeps %d+%d bytes", cap(d.hs.buf), cap(d.v2))
				}
			}
		})
	})
}

// tlsFuzzSession runs data (fuzzSteps' format) through a session with every
// analyzer, calling check on each top-level parser and its children after each
// step. On UDP each chunk is one datagram: a gap is dropped, and a chunk of the
// largest size is the rest of the input.
func tlsFuzzSession(t *testing.T, proto Transport, port uint16, data []byte, check func(Parser)) {
	h, _, s := newSession(t, fuzzScript(proto, port))
	steps := fuzzSteps(data)
	if proto == UDP {
		steps = fuzzDatagrams(data, udpWhole)
	}
	for _, st := range steps {
		deliver(h, s, st)
		for _, i := range s.analyzers() {
			check(i.p)
			for _, ch := range i.children {
				check(ch.p)
			}
		}
	}
	s.Done()
	s.Release()
}
