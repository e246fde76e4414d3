package tracker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/google/gopacket/layers"
)

// runTestFrames returns the frames of n short TCP connections and UDP flows,
// interleaved, enough for several pipeline batches.
func runTestFrames(t *testing.T, n int) [][]byte {
	var frames [][]byte
	for i := range n {
		cli := testSeg{src: testCli4, dst: testSrv4, sport: uint16(10000 + i), dport: 80}
		hs := testHandshake(t, cli, uint32(i)*1000, 5000)
		fin := cli
		fin.seq, fin.ack, fin.flags = uint32(i)*1000+1, 5001, flagFIN|flagACK
		dns := testSeg{src: testCli6, dst: testSrv6, sport: uint16(20000 + i), dport: 53, udp: true,
			payload: []byte("query")}
		frames = append(frames, hs[0], dns.build(t), hs[1], hs[2], fin.build(t))
	}
	return frames
}

// recordsOf runs the frames through Packet and returns the records as text.
func recordsOf(frames [][]byte) []string {
	var out []string
	tr := New(Config{UIDSeed: 3}, Handlers{Remove: func(r *Record) { out = append(out, fmt.Sprintf("%+v", *r)) }})
	for i, f := range frames {
		tr.Packet(f, testCI(f, testEpoch.Add(time.Duration(i)*time.Millisecond)), layers.LinkTypeEthernet)
	}
	tr.Flush()
	return out
}

// TestRunMatchesPacket checks that Run over a capture file, pipelined when there are
// two CPUs and serial with one, gives the records that feeding the same packets to
// Packet gives, for a whole file and for one cut inside a record.
func TestRunMatchesPacket(t *testing.T) {
	frames := runTestFrames(t, 300)
	file := testPcap(t, layers.LinkTypeEthernet, frames...)
	cut := file[:len(file)-7] // ends inside the last record
	dir := t.TempDir()
	for _, procs := range []int{1, 2} {
		for _, tc := range []struct {
			name    string
			data    []byte
			frames  [][]byte
			wantErr error
		}{
			{"whole", file, frames, nil},
			{"truncated", cut, frames[:len(frames)-1], ErrTruncated},
		} {
			t.Run(fmt.Sprintf("%s-procs%d", tc.name, procs), func(t *testing.T) {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
				path := filepath.Join(dir, tc.name+".pcap")
				if err := os.WriteFile(path, tc.data, 0o644); err != nil {
					t.Fatal(err)
				}
				src, err := OpenFile(path)
				if err != nil {
					t.Fatal(err)
				}
				defer src.Close()
				var got []string
				tr := New(Config{UIDSeed: 3}, Handlers{Remove: func(r *Record) { got = append(got, fmt.Sprintf("%+v", *r)) }})
				if err := tr.Run(context.Background(), src); !errors.Is(err, tc.wantErr) {
					t.Fatalf("Run: %v, want %v", err, tc.wantErr)
				}
				want := recordsOf(tc.frames)
				if len(got) != len(want) {
					t.Fatalf("%d records, want %d", len(got), len(want))
				}
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("record %d:\n%s\nwant\n%s", i, got[i], want[i])
					}
				}
				if st := tr.Stats(); st.Packets != uint64(len(tc.frames)) || st.Active != 0 {
					t.Errorf("stats %+v, want %d packets and none active", st, len(tc.frames))
				}
			})
		}
	}
}

// TestRunCancelled checks that Run stops at a cancelled context, flushes and
// returns the context's error, pipelined or not.
func TestRunCancelled(t *testing.T) {
	frames := runTestFrames(t, 100)
	path := filepath.Join(t.TempDir(), "f.pcap")
	if err := os.WriteFile(path, testPcap(t, layers.LinkTypeEthernet, frames...), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, procs := range []int{1, 2} {
		func() {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			src, err := OpenFile(path)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			tr := New(Config{}, Handlers{})
			if err := tr.Run(ctx, src); !errors.Is(err, context.Canceled) {
				t.Errorf("procs %d: Run: %v, want context.Canceled", procs, err)
			}
			if st := tr.Stats(); st.Active != 0 {
				t.Errorf("procs %d: %d connections left after Run", procs, st.Active)
			}
		}()
	}
}
