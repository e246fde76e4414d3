package extract

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowtop/flowtop/tracker"
	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// dropSource passes a live source through, dropping the server's data segments that
// drop selects (by connection client port and data segment index), and remembering
// their sequence ranges relative to the server's ISN.
type dropSource struct {
	tracker.Source
	server uint16
	drop   func(clientPort uint16, i int) bool

	mu      sync.Mutex
	isn     map[uint16]uint32
	count   map[uint16]int
	dropped map[uint16][][2]int // [lo, hi) stream offsets
}

func (s *dropSource) ReadPacket() ([]byte, gopacket.CaptureInfo, layers.LinkType, error) {
	for {
		data, ci, link, err := s.Source.ReadPacket()
		if err != nil {
			return data, ci, link, err
		}
		p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.NoCopy)
		tcp, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if !ok || uint16(tcp.SrcPort) != s.server {
			return data, ci, link, nil
		}
		cli := uint16(tcp.DstPort)
		s.mu.Lock()
		if tcp.SYN {
			s.isn[cli] = tcp.Seq
		}
		drop := false
		if n := len(tcp.Payload); n > 0 {
			i := s.count[cli]
			s.count[cli]++
			if s.drop(cli, i) {
				lo := int(tcp.Seq - s.isn[cli] - 1)
				s.dropped[cli] = append(s.dropped[cli], [2]int{lo, lo + n})
				drop = true
			}
		}
		s.mu.Unlock()
		if !drop {
			return data, ci, link, nil
		}
	}
}

// rawGet sends a plain HTTP/1.1 request and returns every byte of the response.
func rawGet(t *testing.T, addr string) ([]byte, uint16) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /download HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
	resp, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	return resp, uint16(c.LocalAddr().(*net.TCPAddr).Port)
}

// TestLiveHTTPDownload captures two downloads on loopback live, extracting the
// server's responses: the first file equals the response the client received byte
// for byte; in the second, server segments are dropped from the capture, and the file
// holds the response with a gap marker of the right size for each.
func TestLiveHTTPDownload(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping live capture test: needs root")
	}
	live, err := tracker.OpenLive("lo", tracker.LiveOptions{})
	if err != nil {
		t.Skipf("skipping live capture test: %v", err)
	}
	body := bytes.Repeat([]byte("flowtop extracts this body. "), 20000) // 560 kB
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		for b := body; len(b) > 0; b = b[min(len(b), 50000):] {
			w.Write(b[:min(len(b), 50000)])
			w.(http.Flusher).Flush()
		}
	})}
	go srv.Serve(ln)
	defer srv.Close()
	port := uint16(ln.Addr().(*net.TCPAddr).Port)

	var first atomic.Uint32 // the first download's client port: nothing dropped there
	first.Store(1 << 17)
	src := &dropSource{Source: live, server: port, isn: map[uint16]uint32{}, count: map[uint16]int{}, dropped: map[uint16][][2]int{},
		drop: func(cli uint16, i int) bool {
			return uint32(cli) != first.Load() && first.Load() < 1<<16 && (i == 2 || i == 3 || i == 6)
		}}
	dir := t.TempDir()
	var alerts []Alert
	x := New(Config{Dir: dir}, func(a Alert) { alerts = append(alerts, a) })
	tr := tracker.New(tracker.Config{IgnoreChecksums: true, KeepPayload: true}, tracker.Handlers{
		Content: func(c tracker.Conn) tracker.ContentSink {
			if c.ID().RespP != port {
				return nil
			}
			return x.Sink(c)
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx, src) }()
	time.Sleep(100 * time.Millisecond) // let the capture start

	resp1, p1 := rawGet(t, ln.Addr().String())
	first.Store(uint32(p1))
	resp2, p2 := rawGet(t, ln.Addr().String())
	time.Sleep(300 * time.Millisecond) // let the capture catch up
	cancel()
	live.Close()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	x.Close()
	if len(alerts) > 0 {
		t.Fatal(alerts)
	}
	if !bytes.HasSuffix(resp1, body) || !bytes.HasSuffix(resp2, body) {
		t.Fatal("the client did not receive the body")
	}

	file := func(cli uint16) []byte {
		b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("contents_127.0.0.1:%d-127.0.0.1:%d_resp.dat", cli, port)))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if got := file(p1); !bytes.Equal(got, resp1) {
		t.Errorf("first download: file %d bytes, response %d bytes, differ", len(got), len(resp1))
	}

	src.mu.Lock()
	drops := src.dropped[p2]
	src.mu.Unlock()
	if len(drops) < 2 {
		t.Fatalf("only %d segments dropped; the server sent too few", len(drops))
	}
	var want []byte
	pos := 0
	for i := 0; i < len(drops); {
		lo, hi := drops[i][0], drops[i][1]
		for i++; i < len(drops) && drops[i][0] == hi; i++ {
			hi = drops[i][1]
		}
		want = append(want, resp2[pos:lo]...)
		want = fmt.Appendf(want, "\n<<gap %d>>\n", hi-lo)
		pos = hi
	}
	want = append(want, resp2[pos:]...)
	if got := file(p2); !bytes.Equal(got, want) {
		t.Errorf("second download with %d segments dropped: file %d bytes, want %d", len(drops), len(got), len(want))
	}
}
