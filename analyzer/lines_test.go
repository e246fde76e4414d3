package analyzer

import (
	"bytes"
	"crypto/tls"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// Shared test helpers of the line-based analyzers (ssh, ftp, smtp, pop3, imap,
// irc, xmpp), the line splitter's own tests, and their fuzz target.

// TestLineReader checks line ends (CR, LF, CRLF; LF only for FTP), lines that
// span chunks, cut long lines and the partial line flushed at the end.
func TestLineReader(t *testing.T) {
	cases := []struct {
		name   string
		lfOK   bool
		max    int
		chunks []string
		want   []string // lines; a trailing "+" marks a cut (long) line
		flush  string   // what flush returns at the end ("" for nothing)
	}{
		{name: "crlf", chunks: []string{"a\r\nbb\r\n"}, want: []string{"a", "bb"}},
		{name: "lf and cr", chunks: []string{"a\nb\rc\r\n\r\nd"}, want: []string{"a", "b", "c", ""}, flush: "d"},
		{name: "crlf split", chunks: []string{"a\r", "\nb\r", "", "\n"}, want: []string{"a", "b"}},
		{name: "span", chunks: []string{"ab", "cd", "e\n"}, want: []string{"abcde"}},
		{name: "nvt lf only", lfOK: true, chunks: []string{"a\rb\r\nc\n\r\n"}, want: []string{"a\rb", "c", ""}},
		{name: "nvt split crlf", lfOK: true, chunks: []string{"ab\r", "\n"}, want: []string{"ab"}},
		{name: "long in one chunk", max: 4, chunks: []string{"abcdefg\nhi\n"}, want: []string{"abcd+", "hi"}},
		{name: "long spanning", max: 4, chunks: []string{"abc", "defg", "h\nij\n"}, want: []string{"abcd+", "ij"}},
		{name: "exactly max", max: 4, chunks: []string{"ab", "cd\n"}, want: []string{"abcd"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := lineReader{lfOK: tc.lfOK, max: tc.max}
			var got []string
			for _, ch := range tc.chunks {
				d := []byte(ch)
				for {
					line, long, ok := l.next(&d)
					if !ok {
						break
					}
					s := string(line)
					if long {
						s += "+"
					}
					got = append(got, s)
				}
				if len(d) != 0 {
					t.Fatalf("data left: %q", d)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("lines %q, want %q", got, tc.want)
			}
			f, _, _ := l.flush()
			if string(f) != tc.flush {
				t.Fatalf("flush %q, want %q", f, tc.flush)
			}
			if cap(l.buf) > l.limit() {
				t.Fatalf("buffer grew to %d", cap(l.buf))
			}
		})
	}
}

// TestLineReaderResync checks that after a gap the rest of the cut line is dropped.
func TestLineReaderResync(t *testing.T) {
	l := lineReader{}
	d := []byte("par")
	if _, _, ok := l.next(&d); ok {
		t.Fatal("line without end")
	}
	l.resync()
	d = []byte("tial\r\nnext\r\n")
	line, _, ok := l.next(&d)
	if !ok || string(line) != "next" {
		t.Fatalf("after resync: %q %v", line, ok)
	}
}

// TestBase64Decode checks the lenient decoder of ADAT tokens.
func TestBase64Decode(t *testing.T) {
	for in, want := range map[string]string{
		"aGVsbG8=": "hello", "aGVsbG8": "hello", "aGVs bG8h": "hell" + "o!", "": "", "YQ==": "a", "YWI=": "ab",
		"Y!W*I": "ab",
	} {
		if got := string(base64Decode(nil, []byte(in))); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

// lnExpect is an expected connection a test wants scheduled: from orig ("" for
// any originator) to resp, labelled label.
type lnExpect struct{ orig, resp, label string }

// lnCase is one scripted connection and what it must give.
type lnCase struct {
	name    string
	s       script
	service string
	names   map[NameKind]string
	expect  []lnExpect
	none    []string // responders ("addr:port") that must not be expected
	noSplit bool     // do not also run the steps one byte at a time
}

// lnRunCases runs each case as scripted and, unless noSplit, with every byte in
// a step of its own, and checks the service, names and expected connections.
func lnRunCases(t *testing.T, cases []lnCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			variants := [][]step{tc.s.Steps}
			if !tc.noSplit {
				variants = append(variants, bytewise(tc.s.Steps))
			}
			for k, steps := range variants {
				s := tc.s
				s.Steps = steps
				h, in := runIn(t, s)
				how := [...]string{"whole", "bytewise"}[k]
				if got := h.service(); got != tc.service {
					t.Errorf("%s: service %q, want %q", how, got, tc.service)
				}
				for kind, want := range tc.names {
					if got := h.names[kind]; got != want {
						t.Errorf("%s: name %s = %q, want %q", how, kind, got, want)
					}
				}
				for _, e := range tc.expect {
					orig := e.orig
					if orig == "" {
						orig = "192.0.2.99"
					}
					id := ConnID{Orig: netip.AddrPortFrom(netip.MustParseAddr(orig), 5555), Resp: netip.MustParseAddrPort(e.resp), Transport: TCP}
					labels, ok := in.Expected(id, h.now)
					var names []string
					for _, l := range labels {
						names = append(names, Name(l))
					}
					if !ok || !slices.Contains(names, e.label) {
						t.Errorf("%s: %s -> %s not expected as %s (got %v)", how, orig, e.resp, e.label, names)
					}
				}
				for _, resp := range tc.none {
					if n := lnExpectedAt(in, resp); n > 0 {
						t.Errorf("%s: %s expected %d times", how, resp, n)
					}
				}
			}
		})
	}
}

// lnExpectedAt returns how many expected connections there are to resp.
func lnExpectedAt(in *Inspector, resp string) int {
	ap := netip.MustParseAddrPort(resp)
	return len(in.expect.m[expectKey{ap, TCP}])
}

// lnPipeConn is a net.Conn whose writes are recorded and whose reads fail: a TLS
// client on it writes its ClientHello and gives up.
type lnPipeConn struct {
	net.Conn
	out *[]byte
}

// Write records b.
func (c lnPipeConn) Write(b []byte) (int, error) { *c.out = append(*c.out, b...); return len(b), nil }

// Read fails: no server answers.
func (c lnPipeConn) Read([]byte) (int, error) { return 0, io.EOF }

// Close does nothing.
func (c lnPipeConn) Close() error { return nil }

// lnClientHello returns a real TLS ClientHello record, as crypto/tls writes it.
func lnClientHello(t testing.TB) string {
	t.Helper()
	var out []byte
	c := tls.Client(lnPipeConn{out: &out}, &tls.Config{ServerName: "mail.example.org", InsecureSkipVerify: true})
	c.Handshake()
	if len(out) < 50 || out[0] != 0x16 {
		t.Fatalf("no ClientHello: %x", out)
	}
	return string(out)
}

// lnServerRecord is a server record after a STARTTLS switch (a
// ChangeCipherSpec, which the SSL analyzer accepts): it shows that the server's
// bytes reach the child too; the child confirms on the ClientHello.
const lnServerRecord = "\x14\x03\x03\x00\x01\x01"

// lnParsers are the analyzers of these files, for the fuzz target.
var lnParsers = []string{"ssh", "ftp", "smtp", "pop3", "imap", "irc", "xmpp"}

// FuzzLineProtocols feeds each analyzer of these files (chosen by the first byte),
// attached by its port and also directly, arbitrary chunked streams with gaps and
// ends in both directions: no input may panic, and no parser may keep more than
// its bounds.
func FuzzLineProtocols(f *testing.F) {
	seeds := [][]step{
		{o("SSH-2.0-a\r\n"), r("SSH-2.0-b\r\n"), o("\x00\x00\x00\x0c\x0a\x15" + strings.Repeat("\x00", 10))},
		{r("220 hi\r\n"), o("USER a\r\nPASV\r\n"), r("331 x\r\n227 (1,2,3,4,5,6)\r\n"), o("AUTH TLS\r\n"), r("234 ok\r\n"), o("\x16\x03\x01")},
		{r("220 mx\r\n"), o("EHLO a\r\nSTARTTLS\r\n"), r("250 ok\r\n220 go\r\n"), o("\x16\x03\x01")},
		{r("+OK\r\n"), o("CAPA\r\n"), r("+OK\r\nSTLS\r\n.\r\n"), o("STLS\r\n"), r("+OK\r\n")},
		{r("* OK hi\r\n"), o("a STARTTLS\r\n"), r("a OK go\r\n"), o("\x16\x03\x01")},
		{o("NICK a\r\nUSER a b c :d\r\nPRIVMSG x :\x01DCC SEND f 167772167 5000 10\x01\r\n"), r(":s 670 a :go\r\n")},
		{o("<?xml version='1.0'?><stream:stream xmlns='jabber:client'><starttls/>"), r("<proceed/>")},
	}
	for i, s := range seeds {
		f.Add(append([]byte{byte(i)}, fuzzInput(s...)...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 1 {
			return
		}
		name := lnParsers[int(data[0])%len(lnParsers)]
		port := uint16(110)
		if a := Lookup(name); len(a.Ports) > 0 {
			port = a.Ports[0]
		}
		h, s := attachedSession(t, name, port, name, "ssl")
		for _, st := range fuzzSteps(data[1:]) {
			deliver(h, s, st)
			for _, i := range s.root.insts {
				lnCheckBounds(t, i.p)
			}
		}
		s.Done()
		s.Release()
	})
}

// lnCheckBounds fails when a parser of these files keeps more than its bounds.
func lnCheckBounds(t *testing.T, p Parser) {
	t.Helper()
	lines := func(ls ...*lineReader) {
		for _, l := range ls {
			if cap(l.buf) > l.limit() {
				t.Fatalf("%T keeps a %d-byte line", p, cap(l.buf))
			}
		}
	}
	switch p := p.(type) {
	case *sshParser:
		for d := range p.side {
			lines(&p.side[d].lines)
			if len(p.side[d].pending) > sshMaxPending {
				t.Fatalf("ssh keeps %d pending bytes", len(p.side[d].pending))
			}
		}
	case *ftpParser:
		lines(&p.lines[0], &p.lines[1])
		if cap(p.dec) > 2*lineMax {
			t.Fatalf("ftp keeps %d decoded bytes", cap(p.dec))
		}
	case *smtpParser:
		lines(&p.lines[0], &p.lines[1])
	case *pop3Parser:
		lines(&p.lines[0], &p.lines[1])
	case *imapParser:
		lines(&p.lines[0], &p.lines[1])
		if cap(p.stls) > 2*lineMax {
			t.Fatalf("imap keeps a %d-byte tag", cap(p.stls))
		}
	case *ircParser:
		lines(&p.lines[0], &p.lines[1])
	}
}

// TestLineProtocolsAllocs checks that once a connection is set up, parsing more
// of it allocates nothing: lines are read in place.
func TestLineProtocolsAllocs(t *testing.T) {
	cases := []struct {
		name, resp string
		setup      []step
		orig, res  string // one request and one reply, fed again and again
	}{
		{"ftp", "10.0.0.2:21", ftpSession, "NOOP\r\n", "200 NOOP ok\r\n"},
		{"smtp", "10.0.0.2:25", smtpMail[:3], "NOOP\r\n", "250 2.0.0 Ok\r\n"},
		{"pop3", "10.0.0.2:110", []step{r(pop3Greeting), o("CAPA\r\n"), r(pop3Capa)}, "NOOP\r\n", "+OK\r\n"},
		{"imap", "10.0.0.2:143", []step{r(imapGreeting)}, "a1 NOOP\r\n", "a1 OK NOOP completed\r\n"},
		{"irc", "10.0.0.2:6667", ircLogin, "PING :x\r\n", ":srv PONG srv :x\r\n"},
		{"xmpp", "10.0.0.2:5222", []step{o(xmppClientStream), r(xmppServerStream)}, "<iq type='get' id='1'><ping/></iq>", "<iq type='result' id='1'/>"},
		{"ssh", "10.0.0.2:22", []step{o(sshClientLine), r(sshServerLine)}, sshKexInit, sshKexInit},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, s := newSession(t, script{Analyzers: []string{tc.name}, Orig: "10.0.0.1:1024", Resp: tc.resp})
			if tc.name == "pop3" {
				s.root.attach(Lookup("pop3"))
			}
			for _, st := range tc.setup {
				s.Data(st.Orig, []byte(st.Data))
			}
			// Close the DPD window, so that only the parser runs.
			for range 2 * dpdMaxChunks {
				s.Data(true, []byte(tc.orig))
				s.Data(false, []byte(tc.res))
			}
			if len(s.root.insts) == 0 || s.root.insts[0].stopped {
				t.Fatal("parser stopped")
			}
			req, res := []byte(tc.orig), []byte(tc.res)
			if n := testing.AllocsPerRun(100, func() {
				s.Data(true, req)
				s.Data(false, res)
			}); n > 0 {
				t.Fatalf("%v allocations per exchange", n)
			}
			if s.root.insts[0].stopped {
				t.Fatal("parser stopped")
			}
		})
	}
}

// TestByteHelpers holds indexCRLF, indexSpaceTab and the trims to the bytes
// functions they stand for.
func TestByteHelpers(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	alphabet := []byte(" \t\r\nab")
	for range 20000 {
		b := make([]byte, rng.IntN(12))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		if got, want := indexCRLF(b), bytes.IndexAny(b, "\r\n"); got != want {
			t.Fatalf("indexCRLF(%q) = %d, want %d", b, got, want)
		}
		if got, want := indexSpaceTab(b), bytes.IndexAny(b, " \t"); got != want {
			t.Fatalf("indexSpaceTab(%q) = %d, want %d", b, got, want)
		}
		if got, want := trimSpaceTab(b), bytes.Trim(b, " \t"); !bytes.Equal(got, want) {
			t.Fatalf("trimSpaceTab(%q) = %q, want %q", b, got, want)
		}
		if got, want := trimLeftSpaceTab(b), bytes.TrimLeft(b, " \t"); !bytes.Equal(got, want) {
			t.Fatalf("trimLeftSpaceTab(%q) = %q, want %q", b, got, want)
		}
	}
}
