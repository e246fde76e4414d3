package tracker_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowtop/flowtop/internal/oracle"
	"github.com/flowtop/flowtop/tracker"
)

// These tests drive the public tracker API through the scenarios of
// ../shared/oracle/features (see its README) and compare, line by line, with what
// Zeek printed: event kind, connection, value, direction and order.

// featureDir returns ../shared/oracle/features/name, or skips the test.
func featureDir(t *testing.T, name string) string {
	t.Helper()
	shared, err := oracle.SharedDir()
	if err != nil {
		t.Skipf("skipping: %v", err)
	}
	return filepath.Join(shared, "oracle", "features", name)
}

// zeekID formats a connection id as Zeek prints a conn_id.
func zeekID(id tracker.ConnID) string {
	p := id.Proto.Transport()
	return fmt.Sprintf("[orig_h=%s, orig_p=%d/%s, resp_h=%s, resp_p=%d/%s, proto=%d, ctx=[]]",
		id.OrigH, id.OrigP, p, id.RespH, id.RespP, p, id.Proto)
}

// zeekBool formats a bool as Zeek prints it.
func zeekBool(b bool) string {
	if b {
		return "T"
	}
	return "F"
}

// zeekInterval formats an interval as Zeek prints one below a second.
func zeekInterval(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%.1f msecs", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.1f secs", d.Seconds())
}

// runTrace runs the tracker over a capture and returns what the scenario printed.
func runTrace(t *testing.T, path string, cfg tracker.Config, h tracker.Handlers) {
	t.Helper()
	src, err := tracker.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	tr := tracker.New(cfg, h)
	if err := tr.Run(context.Background(), src); err != nil {
		t.Fatal(err)
	}
}

// readExpected returns the lines of an expected output file.
func readExpected(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.TrimRight(string(b), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// compareLines fails the test at the first line that differs from Zeek's.
func compareLines(t *testing.T, got, want []string) {
	t.Helper()
	for i := 0; i < max(len(got), len(want)); i++ {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Fatalf("line %d:\n got: %q\nwant: %q\n(%d lines, Zeek printed %d)", i+1, g, w, len(got), len(want))
		}
	}
}

// printCrossing prints a crossing as the Zeek test script does.
func printCrossing(out *[]string) func(*tracker.Crossing) {
	return func(x *tracker.Crossing) {
		v := fmt.Sprint(x.Threshold)
		if x.Metric == tracker.MetricDuration {
			v = zeekInterval(x.Duration())
		}
		*out = append(*out, fmt.Sprintf("triggered %s, %s, %s, %s", x.Metric, zeekID(x.ID), v, zeekBool(x.IsOrig)))
	}
}

func TestFeatureThresholds(t *testing.T) {
	dir := featureDir(t, "thresholds")
	var out []string
	runTrace(t, filepath.Join(dir, "trace.pcapng"), tracker.Config{}, tracker.Handlers{
		Established: func(c tracker.Conn) {
			out = append(out, "Threshold set for "+zeekID(c.ID()))
			c.SetBytesThreshold(1, true)
			c.SetBytesThreshold(2500, true)
			c.SetBytesThreshold(2700, true)
			c.SetBytesThreshold(3000, true)
			c.DeleteBytesThreshold(3000, true)
			c.SetBytesThreshold(2000, false)
			c.SetDurationThreshold(100 * time.Millisecond)
			c.SetDurationThreshold(200 * time.Millisecond)
			c.DeleteDurationThreshold(100 * time.Millisecond)
			c.SetPacketsThreshold(50, false)
			c.SetPacketsThreshold(51, false)
			c.SetPacketsThreshold(52, false)
			c.DeletePacketsThreshold(51, false)
			c.SetPacketsThreshold(63, true)
			c.DeletePacketsThreshold(63, true)
		},
		Threshold: printCrossing(&out),
	})
	compareLines(t, out, readExpected(t, filepath.Join(dir, "expected.txt")))
}

// TestFeatureDefaultThresholds reaches the same crossings through Config.Thresholds
// (what [thresholds] in the config file sets) instead of per-connection calls.
func TestFeatureDefaultThresholds(t *testing.T) {
	dir := featureDir(t, "thresholds")
	var out []string
	cfg := tracker.Config{Thresholds: tracker.Thresholds{
		OrigBytes:   []uint64{1, 2500, 2700},
		RespBytes:   []uint64{2000},
		RespPackets: []uint64{50, 52},
		Duration:    []time.Duration{200 * time.Millisecond},
	}}
	runTrace(t, filepath.Join(dir, "trace.pcapng"), cfg, tracker.Handlers{
		Established: func(c tracker.Conn) { out = append(out, "Threshold set for "+zeekID(c.ID())) },
		Threshold:   printCrossing(&out),
	})
	compareLines(t, out, readExpected(t, filepath.Join(dir, "expected.txt")))
}

// TestSetDefaultThresholds sets the same defaults at run time, as the TUI's T key
// does, before the first connection is established.
func TestSetDefaultThresholds(t *testing.T) {
	dir := featureDir(t, "thresholds")
	src, err := tracker.OpenFile(filepath.Join(dir, "trace.pcapng"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	want := tracker.Thresholds{
		OrigBytes:   []uint64{1, 2500, 2700},
		RespBytes:   []uint64{2000},
		RespPackets: []uint64{50, 52},
		Duration:    []time.Duration{200 * time.Millisecond},
	}
	var out []string
	var tr *tracker.Tracker
	tr = tracker.New(tracker.Config{}, tracker.Handlers{
		NewConn: func(tracker.Conn) {
			if len(tr.DefaultThresholds().OrigBytes) == 0 {
				tr.SetDefaultThresholds(want)
			}
		},
		Established: func(c tracker.Conn) { out = append(out, "Threshold set for "+zeekID(c.ID())) },
		Threshold:   printCrossing(&out),
	})
	if err := tr.Run(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	compareLines(t, out, readExpected(t, filepath.Join(dir, "expected.txt")))
}

// TestSetDefaultThresholdsAlone sets the defaults at run time on a tracker whose
// only handler is Threshold, as the TUI's is: the same crossings come.
func TestSetDefaultThresholdsAlone(t *testing.T) {
	dir := featureDir(t, "thresholds")
	src, err := tracker.OpenFile(filepath.Join(dir, "trace.pcapng"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var out []string
	tr := tracker.New(tracker.Config{}, tracker.Handlers{Threshold: printCrossing(&out)})
	tr.SetDefaultThresholds(tracker.Thresholds{
		OrigBytes:   []uint64{1, 2500, 2700},
		RespBytes:   []uint64{2000},
		RespPackets: []uint64{50, 52},
		Duration:    []time.Duration{200 * time.Millisecond},
	})
	if err := tr.Run(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, l := range readExpected(t, filepath.Join(dir, "expected.txt")) {
		if !strings.HasPrefix(l, "Threshold set for ") {
			want = append(want, l)
		}
	}
	if len(want) == 0 {
		t.Fatal("expected.txt has no crossings")
	}
	compareLines(t, out, want)
}

func TestFeatureThresholdDelete(t *testing.T) {
	dir := featureDir(t, "threshold-delete")
	var out []string
	established := 0
	runTrace(t, filepath.Join(dir, "trace.pcapng"), tracker.Config{}, tracker.Handlers{
		Established: func(c tracker.Conn) {
			established++
			for _, ok := range []bool{
				c.SetBytesThreshold(1, true), c.DeleteBytesThreshold(1, true),
				c.SetDurationThreshold(100 * time.Millisecond), c.DeleteDurationThreshold(100 * time.Millisecond),
				c.SetPacketsThreshold(63, true), c.DeletePacketsThreshold(63, true),
			} {
				if !ok {
					t.Errorf("%s: a set or delete returned false", zeekID(c.ID()))
				}
			}
			if l := c.Thresholds(); len(l.OrigBytes)+len(l.OrigPackets)+len(l.Duration) != 0 {
				t.Errorf("thresholds left after deleting: %+v", l)
			}
		},
		Threshold: printCrossing(&out),
	})
	if established == 0 {
		t.Fatal("no connection was established: the scenario tested nothing")
	}
	compareLines(t, out, readExpected(t, filepath.Join(dir, "expected.txt")))
}

func TestFeaturePolling(t *testing.T) {
	dir := featureDir(t, "polling")
	for _, tc := range []struct {
		file   string
		stopAt int
	}{
		{"expected-until-end.txt", 10},
		{"expected-stop-at-2.txt", 2},
	} {
		t.Run(tc.file, func(t *testing.T) {
			var out []string
			runTrace(t, filepath.Join(dir, "trace.pcap"), tracker.Config{}, tracker.Handlers{
				NewConn: func(c tracker.Conn) {
					out = append(out, "new_connection, "+zeekID(c.ID()))
					c.Poll(0, func(c tracker.Conn, n int) time.Duration {
						out = append(out, fmt.Sprintf("callback, %s, %d", zeekID(c.ID()), n))
						if n >= tc.stopAt {
							return -1
						}
						return 200 * time.Millisecond
					})
				},
			})
			compareLines(t, out, readExpected(t, filepath.Join(dir, tc.file)))
		})
	}
}

func TestFeatureRemovalHooks(t *testing.T) {
	dir := featureDir(t, "removal-hooks")
	var out []string
	for _, unregister := range []bool{false, true} {
		hook := tracker.NewRemovalHook(func(r *tracker.Record) {
			out = append(out, "my_removal_hook, "+zeekID(r.ConnID))
		})
		runTrace(t, filepath.Join(dir, "trace.pcap"), tracker.Config{}, tracker.Handlers{
			NewConn: func(c tracker.Conn) {
				out = append(out, "new_connection, "+zeekID(c.ID()))
				for range 3 {
					out = append(out, zeekBool(c.RegisterRemovalHook(hook)))
				}
				if unregister {
					for range 3 {
						out = append(out, zeekBool(c.UnregisterRemovalHook(hook)))
					}
				}
			},
		})
	}
	compareLines(t, out, readExpected(t, filepath.Join(dir, "expected.txt")))
}

// memSink collects content as Zeek's contents files hold it: data, and each gap as
// "\n<<gap N>>\n".
type memSink struct{ dir [2]bytes.Buffer }

func (m *memSink) buf(isOrig bool) *bytes.Buffer {
	if isOrig {
		return &m.dir[0]
	}
	return &m.dir[1]
}

func (m *memSink) Data(isOrig bool, data []byte) { m.buf(isOrig).Write(data) }

func (m *memSink) Gap(isOrig bool, n uint64) { fmt.Fprintf(m.buf(isOrig), "\n<<gap %d>>\n", n) }

// TestFeatureContents extracts every connection from its establishment, as
// Conn::default_extract=T does, and compares the FTP control connection's streams
// with the files Zeek wrote.
func TestFeatureContents(t *testing.T) {
	dir := featureDir(t, "contents")
	sinks := map[string]*memSink{}
	for _, keep := range []bool{true, false} { // from the start, or from the first sink on
		t.Run(fmt.Sprint("keep-payload-", keep), func(t *testing.T) {
			runTrace(t, filepath.Join(dir, "trace.pcap"), tracker.Config{KeepPayload: keep}, tracker.Handlers{
				Established: func(c tracker.Conn) {
					m := new(memSink)
					sinks[zeekID(c.ID())] = m
					c.SetContentSink(m)
				},
			})
			id := "[orig_h=2001:470:1f11:81f:c999:d94:aa7c:2e3e, orig_p=49185/tcp, resp_h=2001:470:4867:99::21, resp_p=21/tcp, proto=6, ctx=[]]"
			m := sinks[id]
			if m == nil {
				t.Fatalf("the control connection was not extracted; got %d others", len(sinks))
			}
			for i, name := range []string{"expected_orig.dat", "expected_resp.dat"} {
				want, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				got := m.dir[i].Bytes()
				if !keep {
					// With a pipelined Run the sink is set after the reader decoded
					// packets ahead without their payload: the extraction starts
					// later, but with no gap. (A serial Run gets it all.)
					if !bytes.HasSuffix(want, got) {
						t.Errorf("%s: %d bytes, want a suffix of Zeek's %d\n got: %q", name, len(got), len(want), got)
					}
					continue
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s: %d bytes differ from Zeek's %d\n got: %q\nwant: %q", name, len(got), len(want), got, want)
				}
			}
		})
	}
}
