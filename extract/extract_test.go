package extract

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/flowtop/flowtop/internal/oracle"
	"github.com/flowtop/flowtop/tracker"
)

func TestFileNames(t *testing.T) {
	for _, tc := range []struct {
		id         tracker.ConnID
		orig, resp string
	}{
		{tracker.ConnID{OrigH: netip.MustParseAddr("10.0.0.1"), OrigP: 40000, RespH: netip.MustParseAddr("192.0.2.80"), RespP: 80, Proto: tracker.ProtoTCP},
			"contents_10.0.0.1:40000-192.0.2.80:80_orig.dat", "contents_10.0.0.1:40000-192.0.2.80:80_resp.dat"},
		{tracker.ConnID{OrigH: netip.MustParseAddr("2001:db8::1"), OrigP: 49185, RespH: netip.MustParseAddr("2001:db8::21"), RespP: 21},
			"contents_[2001:db8::1]:49185-[2001:db8::21]:21_orig.dat", "contents_[2001:db8::1]:49185-[2001:db8::21]:21_resp.dat"},
		{tracker.ConnID{OrigH: netip.MustParseAddr("::ffff:10.0.0.1"), OrigP: 1, RespH: netip.MustParseAddr("10.0.0.2"), RespP: 2},
			"contents_10.0.0.1:1-10.0.0.2:2_orig.dat", "contents_10.0.0.1:1-10.0.0.2:2_resp.dat"},
	} {
		o, r := FileNames(tc.id)
		if o != tc.orig || r != tc.resp {
			t.Errorf("FileNames(%v) = %q, %q; want %q, %q", tc.id, o, r, tc.orig, tc.resp)
		}
	}
}

// extractTrace runs the tracker over a trace with every connection extracted into
// cfg.Dir, and returns the alerts.
func extractTrace(t *testing.T, trace string, cfg Config) []Alert {
	t.Helper()
	var mu sync.Mutex
	var alerts []Alert
	x := New(cfg, func(a Alert) { mu.Lock(); alerts = append(alerts, a); mu.Unlock() })
	tr := tracker.New(tracker.Config{KeepPayload: true}, tracker.Handlers{
		Content: func(c tracker.Conn) tracker.ContentSink { return x.Sink(c) },
	})
	src, err := tracker.OpenFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if err := tr.Run(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	x.Close()
	if n := x.Stats().Extracting; n != 0 {
		t.Errorf("%d extractions still open after Close", n)
	}
	return alerts
}

func contentsFeature(t *testing.T) string {
	shared, err := oracle.SharedDir()
	if err != nil {
		t.Skipf("skipping: %v", err)
	}
	return filepath.Join(shared, "oracle", "features", "contents")
}

const ftpControl = "contents_[2001:470:1f11:81f:c999:d94:aa7c:2e3e]:49185-[2001:470:4867:99::21]:21"

// TestContentsOracle writes the FTP control connection's files byte-identical to
// Zeek's, under Zeek's names, mode 0600 in a new 0700 directory.
func TestContentsOracle(t *testing.T) {
	feature := contentsFeature(t)
	dir := filepath.Join(t.TempDir(), "out")
	if alerts := extractTrace(t, filepath.Join(feature, "trace.pcap"), Config{Dir: dir}); len(alerts) > 0 {
		t.Fatalf("alerts: %v", alerts)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("directory: %v, mode %v; want 0700", err, fi.Mode().Perm())
	}
	for _, d := range []string{"orig", "resp"} {
		path := filepath.Join(dir, ftpControl+"_"+d+".dat")
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := os.ReadFile(filepath.Join(feature, "expected_"+d+".dat"))
		if !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes differ from Zeek's %d", d, len(got), len(want))
		}
		if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", path, fi.Mode().Perm())
		}
	}
}

// TestNeverOverwriteOrFollow plants a symlink and a file at the two target names:
// neither is touched, the files get suffixes.
func TestNeverOverwriteOrFollow(t *testing.T) {
	feature := contentsFeature(t)
	dir := t.TempDir()
	victim := filepath.Join(t.TempDir(), "victim")
	os.WriteFile(victim, []byte("keep me"), 0o644)
	if err := os.Symlink(victim, filepath.Join(dir, ftpControl+"_orig.dat")); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, ftpControl+"_resp.dat"), []byte("old"), 0o644)
	extractTrace(t, filepath.Join(feature, "trace.pcap"), Config{Dir: dir})
	if b, _ := os.ReadFile(victim); string(b) != "keep me" {
		t.Errorf("the symlink was followed: victim holds %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, ftpControl+"_resp.dat")); string(b) != "old" {
		t.Errorf("an existing file was overwritten: %q", b)
	}
	for _, d := range []string{"orig", "resp"} {
		want, _ := os.ReadFile(filepath.Join(feature, "expected_"+d+".dat"))
		got, err := os.ReadFile(filepath.Join(dir, ftpControl+"_"+d+"-1.dat"))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: suffixed file: %v, %d bytes (want %d)", d, err, len(got), len(want))
		}
	}
}

func TestCaps(t *testing.T) {
	feature := contentsFeature(t)
	for _, tc := range []struct {
		name string
		cfg  Config
		err  error
	}{
		{"per connection", Config{MaxBytesPerConn: 100}, ErrConnCap},
		{"total", Config{MaxBytesTotal: 1000}, ErrTotalCap},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Dir = t.TempDir()
			alerts := extractTrace(t, filepath.Join(feature, "trace.pcap"), tc.cfg)
			if len(alerts) == 0 || !errors.Is(alerts[0].Err, tc.err) {
				t.Fatalf("alerts %v, want %v", alerts, tc.err)
			}
			var total int64
			entries, _ := os.ReadDir(tc.cfg.Dir)
			for _, e := range entries {
				fi, _ := e.Info()
				total += fi.Size()
				if tc.cfg.MaxBytesPerConn > 0 && uint64(fi.Size()) > tc.cfg.MaxBytesPerConn {
					t.Errorf("%s: %d bytes over the cap", e.Name(), fi.Size())
				}
			}
			if tc.cfg.MaxBytesTotal > 0 && uint64(total) != tc.cfg.MaxBytesTotal {
				t.Errorf("%d bytes in all, want the cap %d", total, tc.cfg.MaxBytesTotal)
			}
		})
	}
}

// TestUnwritableDir: the directory cannot be created (its parent is a file); every
// extraction stops with an alert naming the file, and the capture completes.
func TestUnwritableDir(t *testing.T) {
	feature := contentsFeature(t)
	parent := filepath.Join(t.TempDir(), "file")
	os.WriteFile(parent, nil, 0o644)
	alerts := extractTrace(t, filepath.Join(feature, "trace.pcap"), Config{Dir: filepath.Join(parent, "out")})
	if len(alerts) == 0 {
		t.Fatal("no alert")
	}
	for _, a := range alerts {
		if !strings.Contains(a.Error(), "contents_") || !strings.Contains(a.Error(), "not a directory") {
			t.Errorf("alert %q does not name the file and the error", a.Error())
		}
	}
}

// TestQueueOverflow fills the queue before the writer runs: what did not fit is
// written as one gap marker of its size, in its place.
func TestQueueOverflow(t *testing.T) {
	dir := t.TempDir()
	x := &Extractor{cfg: Config{Dir: dir}, ops: make(chan op, 3), wake: make(chan struct{}, 1)}
	s := &Sink{x: x, uid: "Ctest", names: [2]string{"o.dat", "r.dat"}}
	x.stats.extracting.Add(1)
	s.Data(true, []byte("aaa"))
	s.Data(true, []byte("bbb"))
	s.Data(true, []byte("ccc")) // queue full from here
	s.Data(true, []byte("dddd"))
	s.Gap(true, 5)
	s.Close()
	x.wg.Add(1)
	go x.writer()
	x.Close()
	got, _ := os.ReadFile(filepath.Join(dir, "o.dat"))
	if want := "aaabbbccc\n<<gap 9>>\n"; string(got) != want {
		t.Errorf("file %q, want %q", got, want)
	}
	if x.Stats().LostBytes != 4 {
		t.Errorf("lost %d bytes, want 4", x.Stats().LostBytes)
	}
}

// TestDetach unmarks the FTP control connection after its first packets: its files
// hold only what came before, and are closed before the connection ends.
func TestDetach(t *testing.T) {
	feature := contentsFeature(t)
	dir := t.TempDir()
	x := New(Config{Dir: dir}, nil)
	var sink *Sink
	var conn tracker.Conn
	packets := 0
	tr := tracker.New(tracker.Config{KeepPayload: true}, tracker.Handlers{
		Content: func(c tracker.Conn) tracker.ContentSink {
			if c.ID().RespP != 21 {
				return nil
			}
			sink, conn = x.Sink(c), c
			return sink
		},
	})
	src, err := tracker.OpenFile(filepath.Join(feature, "trace.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for {
		data, ci, link, err := src.ReadPacket()
		if err != nil {
			break
		}
		tr.Packet(data, ci, link)
		if packets++; packets == 12 && sink != nil {
			sink.Detach(conn)
		}
	}
	tr.Flush()
	x.Close()
	got, _ := os.ReadFile(filepath.Join(dir, ftpControl+"_resp.dat"))
	want, _ := os.ReadFile(filepath.Join(feature, "expected_resp.dat"))
	if len(got) == 0 || len(got) >= len(want) || !bytes.HasPrefix(want, got) {
		t.Errorf("after Detach: %d bytes, want a proper prefix of the %d-byte stream", len(got), len(want))
	}
	if x.Stats().Extracting != 0 {
		t.Errorf("%d extractions open", x.Stats().Extracting)
	}
	p := sink.Progress()
	if !p.Done || p.Files[1] != filepath.Join(dir, ftpControl+"_resp.dat") || p.Written[1] != uint64(len(got)) {
		t.Errorf("progress %+v; want done, the resp file and %d bytes", p, len(got))
	}
}
