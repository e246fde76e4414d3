package analyzer

import (
	"net/netip"
	"strings"
	"testing"
)

// The framework's rules (service-detection.md §2–§4), exercised with the HTTP
// analyzer and a few test analyzers registered below.

func init() {
	register(&Analyzer{Name: "test-echo", Transport: TCP, New: func() Parser { return new(echoParser) }},
		&Rule{Name: "test-echo-s", Transport: TCP, Dir: Resp, Pattern: `ECHO`,
			Match: func(b []byte) Result { return lit(b, "ECHO") }},
		&Rule{Name: "test-echo-c", Transport: TCP, Dir: Orig, Pattern: `ping`, Needs: "test-echo-s", Enables: "test-echo",
			Match: func(b []byte) Result { return lit(b, "ping") }},
	)
}

// echoParser confirms on "ping" from the originator and violates on "bad"; it
// records what it was given.
type echoParser struct{ seen []string }

func (p *echoParser) Data(c *Ctx, isOrig bool, data []byte) {
	p.seen = append(p.seen, string(data))
	switch {
	case strings.Contains(string(data), "bad"):
		c.Violation()
	case isOrig && strings.HasPrefix(string(data), "ping"):
		c.Confirm()
	}
}
func (p *echoParser) Gap(c *Ctx, isOrig bool, n uint64) {}
func (p *echoParser) End(c *Ctx, isOrig bool)           {}

func TestSessionRules(t *testing.T) {
	get := "GET /index.html HTTP/1.1\r\nHost: www.example.com:8080\r\n\r\n"
	ok := "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
	big := strings.Repeat("x", ViolationLimit)
	for _, tc := range []struct {
		name string
		s    script
		want string
		done bool
	}{
		{"port analyzer confirms", script{Resp: "10.0.0.2:80", Steps: []step{o(get), r(ok)}}, "http", false},
		{"signature on another port", script{Resp: "10.0.0.2:9999", Steps: []step{o(get), r(ok)}}, "http", false},
		{"server signature alone confirms nothing", script{Resp: "10.0.0.2:9999", Steps: []step{r(ok)}}, "", false},
		{"violation within 10 KiB removes", script{Resp: "10.0.0.2:80", Steps: []step{o(get), r("SSH-2.0-x\r\n")}}, "", false},
		{"violation after 10 KiB is ignored", script{Resp: "10.0.0.2:80", Steps: []step{
			o("POST / HTTP/1.1\r\nContent-Length: 10240\r\n\r\n"), o(big), r("SSH-2.0-x\r\n")}}, "http", true},
		{"disabled analyzer", script{Analyzers: []string{"test-echo"}, Resp: "10.0.0.2:80", Steps: []step{o(get)}}, "", false},
		{"partial connection: HTTP reads nothing", script{Resp: "10.0.0.2:80", Partial: true, Steps: []step{o(get), r(ok)}}, "", false},
		{"reverse signature after its precondition", script{Resp: "10.0.0.2:7", Steps: []step{r("ECHO"), o("ping")}}, "test-echo", false},
		{"reverse signature before its precondition", script{Resp: "10.0.0.2:7", Steps: []step{o("ping"), r("ECHO")}}, "test-echo", false},
		{"reverse signature never satisfied", script{Resp: "10.0.0.2:7", Steps: []step{o("ping"), o("ping")}}, "", false},
		{"window closed before the identifying bytes", script{Resp: "10.0.0.2:9999", Steps: []step{
			r(strings.Repeat("z", 1025)), o(get)}}, "", true},
		{"the chunk that crosses the window still counts", script{Resp: "10.0.0.2:9999", Steps: []step{
			r(strings.Repeat("z", 1024)), o(get)}}, "http", false},
		{"random bytes are decided at once", script{Resp: "10.0.0.2:9999", Steps: []step{
			o("\x8f\x01\x99\xfe"), r("\x00\x13\x37")}}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, done := run(t, tc.s)
			if got := h.service(); got != tc.want {
				t.Errorf("service %q, want %q", got, tc.want)
			}
			if tc.done && !done {
				t.Errorf("session not done")
			}
		})
	}
}

// TestReplay: an analyzer a signature attaches sees every buffered chunk from byte
// 0, in arrival order, the current one included, exactly once.
func TestReplay(t *testing.T) {
	h := &fakeHost{id: ConnID{Orig: netip.MustParseAddrPort("10.0.0.1:1"), Resp: netip.MustParseAddrPort("10.0.0.2:7"), Transport: TCP}}
	in, err := New(Config{}, h)
	if err != nil {
		t.Fatal(err)
	}
	s := in.NewSession(1, TCP, 7, false)
	s.Data(false, []byte("EC"))
	s.Data(false, []byte("HO"))
	s.Data(true, []byte("pi"))
	s.Data(true, []byte("ng"))
	s.Data(true, []byte("more"))
	var p *echoParser
	for _, i := range s.analyzers() {
		if e, ok := i.p.(*echoParser); ok {
			p = e
		}
	}
	if p == nil {
		t.Fatal("test-echo not attached")
	}
	if got, want := strings.Join(p.seen, "|"), "EC|HO|pi|ng|more"; got != want {
		t.Errorf("parser saw %q, want %q", got, want)
	}
	s.Release()
}

// TestDone: a decided connection ends its session; until then it stays.
func TestDone(t *testing.T) {
	in, _ := New(Config{}, &fakeHost{})
	_ = in
	get := "GET / HTTP/1.1\r\n\r\n"
	// Confirmed but within the violation window: not done.
	if _, done := run(t, script{Resp: "10.0.0.2:80", Steps: []step{o(get)}}); done {
		t.Error("done while violations still count")
	}
	// Past the window: done.
	if _, done := run(t, script{Resp: "10.0.0.2:80", Steps: []step{o("POST / HTTP/1.1\r\nContent-Length: 20000\r\n\r\n"), o(strings.Repeat("a", 20000))}}); !done {
		t.Error("not done after 10 KiB of a confirmed connection")
	}
}

func TestExpectations(t *testing.T) {
	var e expectations
	if _, ok := e.lookup(ConnID{}, 0); ok {
		t.Fatal("empty table matched")
	}
	srv := netip.MustParseAddr("10.0.0.2")
	cli := netip.MustParseAddr("10.0.0.1")
	e.add(Expectation{Orig: srv, Resp: netip.MustParseAddrPort("10.0.0.1:5001"), Transport: TCP, Label: "ftp-data"}, 0)
	e.add(Expectation{Resp: netip.MustParseAddrPort("10.0.0.9:6000"), Transport: TCP, Label: "irc-dcc-data"}, 0)
	id := func(o, r string) ConnID {
		return ConnID{Orig: netip.MustParseAddrPort(o), Resp: netip.MustParseAddrPort(r), Transport: TCP}
	}
	for _, tc := range []struct {
		id   ConnID
		now  int64
		want string
	}{
		{id("10.0.0.2:20", "10.0.0.1:5001"), 1, "ftp-data"},
		{id("10.0.0.3:20", "10.0.0.1:5001"), 1, ""},                           // another originator
		{id("10.0.0.2:20", "10.0.0.1:5002"), 1, ""},                           // another port
		{id("10.0.0.2:20", "10.0.0.1:5001"), ExpectTimeout.Nanoseconds(), ""}, // expired
		{id("192.0.2.7:1", "10.0.0.9:6000"), 1, "irc-dcc-data"},               // any originator
	} {
		labels, ok := e.lookup(tc.id, tc.now)
		got := ""
		if ok {
			for _, l := range labels {
				got += Name(l)
			}
		}
		if got != tc.want {
			t.Errorf("%v at %d: %q, want %q", tc.id, tc.now, got, tc.want)
		}
	}
	_ = cli
	e.expire(ExpectTimeout.Nanoseconds(), false)
	if e.n != 0 || len(e.m) != 0 {
		t.Errorf("expired entries kept: %d", e.n)
	}
}

func TestConfig(t *testing.T) {
	if err := (Config{Analyzers: []string{"nosuch"}}).Validate(); err == nil {
		t.Error("unknown analyzer accepted")
	}
	if err := (Config{Ports: map[string][]Port{"http": {{Port: 53, Transport: UDP}}}}).Validate(); err == nil {
		t.Error("UDP port for HTTP accepted")
	}
	h, _ := run(t, script{Ports: map[string][]Port{"http": {{Port: 9000, Transport: TCP}}}, Resp: "10.0.0.2:9000",
		Steps: []step{o("{bad} / HTTP/1.1\r\n")}})
	// A registered port attaches HTTP even where no signature fires; its request
	// line is bad, so it violates.
	if h.service() != "" {
		t.Errorf("service %q", h.service())
	}
	h, _ = run(t, script{Ports: map[string][]Port{"http": {{Port: 9000, Transport: TCP}}}, Resp: "10.0.0.2:9000",
		Steps: []step{o("FETCH / HTTP/1.1\r\n")}})
	if h.service() != "http" {
		t.Errorf("registered port: service %q, want http", h.service())
	}
}

func TestOutcomes(t *testing.T) {
	h := &fakeHost{id: ConnID{Orig: netip.MustParseAddrPort("10.0.0.1:1"), Resp: netip.MustParseAddrPort("10.0.0.2:80"), Transport: TCP}}
	in, err := New(Config{}, h)
	if err != nil {
		t.Fatal(err)
	}
	s := in.NewSession(1, TCP, 80, false)
	req := "GET / HTTP/1.1\r\n\r\n"
	s.Data(true, []byte(req))
	first := s.Outcomes()
	if len(first) != 1 || first[0].Verdict != VerdictConfirmed || first[0].Via != ViaPort || !first[0].Orig || first[0].At != 0 {
		t.Fatalf("after the request: %+v", first)
	}
	s.Data(false, []byte("SSH-2.0-x\r\n"))
	got := s.Outcomes()
	// The SSH banner is a violation: it overrides the confirmation.
	want := "http: ruled out: protocol violation (attached by port), on the responder's data at byte 0"
	if got[0].String() != want {
		t.Errorf("outcome %q, want %q", got[0].String(), want)
	}
	if first[0].Verdict != VerdictConfirmed {
		t.Error("the first slice was changed")
	}
	s.Release()

	s = in.NewSession(1, TCP, 9999, false)
	s.Data(true, []byte(req))
	got = s.Outcomes()
	if len(got) != 1 || got[0].Via != ViaSignature || got[0].Rule != "http-c" {
		t.Errorf("by signature: %+v", got)
	}
	s.Release()

	s = in.NewSession(1, TCP, 80, false)
	s.Data(true, []byte("\x01\x02\r\n"))
	if got := s.Outcomes(); len(got) != 1 || got[0].Verdict != VerdictViolation ||
		got[0].String() != "http: ruled out: protocol violation (attached by port), on the originator's data at byte 0" {
		t.Errorf("violation: %+v %s", got, got[0])
	}
	s.Release()
}
