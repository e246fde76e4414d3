package tracker

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// FuzzExtensions interleaves packets of a few TCP connections with calls to the
// extension API (thresholds, removal hooks, polling) and checks what the tracker
// promises: a crossing is for a threshold that was set and not deleted, fires once per
// setting, and only once the counter has reached it (a duration once it is exceeded);
// hooks run once per connection that holds them at removal, with its record; poll
// callbacks count 0, 1, 2… and never see a removed connection.
func FuzzExtensions(f *testing.F) {
	f.Add([]byte{0, 0, 0x02, 0, 1, 1, 0, 10, 0, 1, 0x12, 0, 0, 0, 0, 0x10, 40, 3, 0, 0, 0x18, 200, 5, 7, 1, 5, 2, 0, 0, 0x11, 0, 9})
	f.Add([]byte{0, 0, 0x02, 0, 0, 6, 1, 0, 0, 0, 7, 0, 3, 2, 0, 0, 1, 0x12, 0, 4, 6, 1, 0, 0, 0, 0, 0, 0x10, 100, 200})
	f.Add([]byte{0, 0, 0x02, 0, 0, 5, 0, 1, 0, 0, 0, 0, 0x10, 0, 255, 3, 1, 2, 0, 4, 1, 2, 0, 0, 1, 0x10, 0, 255})
	f.Fuzz(runExtensionProgram)
}

// extModel is what the fuzz program did to one connection (by uid).
type extModel struct {
	want      map[string]bool // "metric value dir" set, neither deleted nor fired since
	hooks     int             // hooks registered now
	hookRuns  int
	pollCalls map[int]int // watch id -> next expected n
}

func runExtensionProgram(t *testing.T, prog []byte) {
	models := map[string]*extModel{}
	model := func(uid string) *extModel {
		m := models[uid]
		if m == nil {
			m = &extModel{want: map[string]bool{}, pollCalls: map[int]int{}}
			models[uid] = m
		}
		return m
	}
	key := func(m Metric, v uint64, isOrig bool) string {
		if m == MetricDuration {
			isOrig = true
		}
		return fmt.Sprint(m, " ", v, " ", isOrig)
	}
	hookA := NewRemovalHook(func(r *Record) { model(r.UID).hookRuns++ })
	hookB := NewRemovalHook(func(r *Record) { model(r.UID).hookRuns++ })
	var cur Conn
	tr := New(Config{UIDSeed: 1}, Handlers{
		NewConn: func(c Conn) { cur = c },
		Threshold: func(x *Crossing) {
			m := model(x.UID)
			k := key(x.Metric, x.Threshold, x.IsOrig)
			if !m.want[k] {
				t.Fatalf("%s: crossing %s was not set (or was deleted)", x.UID, k)
			}
			m.want[k] = false // fires once; only setting it again re-arms it
			c := x.Conn.Counters()
			switch x.Metric {
			case MetricBytes:
				if n := pick(x.IsOrig, c.OrigIPBytes, c.RespIPBytes); n < x.Threshold {
					t.Fatalf("%s: bytes crossing %d with only %d bytes", x.UID, x.Threshold, n)
				}
			case MetricPackets:
				if n := pick(x.IsOrig, c.OrigPkts, c.RespPkts); n < x.Threshold {
					t.Fatalf("%s: packets crossing %d with only %d packets", x.UID, x.Threshold, n)
				}
			case MetricDuration:
				if d := x.Time.Sub(c.Start); d <= x.Duration() {
					t.Fatalf("%s: duration crossing %v after %v", x.UID, x.Duration(), d)
				}
			}
		},
		Remove: func(r *Record) {
			m := model(r.UID)
			if m.hooks > 0 && m.hookRuns != m.hooks || m.hooks == 0 && m.hookRuns != 0 {
				t.Fatalf("%s: %d hooks registered, %d ran", r.UID, m.hooks, m.hookRuns)
			}
		},
	})
	hosts := [2][4]byte{{192, 168, 1, 1}, {10, 1, 1, 1}}
	seq := [2]uint32{1000, 5000}
	ts := time.Unix(1.5e9, 0)
	var frame []byte
	watches := 0
	for steps := 0; len(prog) >= 4 && steps < 300; steps++ {
		op, a, b, c := prog[0]%8, prog[1], prog[2], prog[3]
		prog = prog[4:]
		isOrig := a&1 == 0
		v := uint64(b)<<4 | uint64(c&0xf)
		switch op {
		case 0, 1: // a packet: direction and port in a, flags in b, payload and time step in c
			dir := int(a & 1)
			ports := [2]uint16{40000 + uint16(a>>1&1), 22}
			plen := int(c % 64)
			frame = appendTCPFrame(frame[:0], hosts[dir], hosts[dir^1], ports[dir], ports[dir^1],
				seq[dir], seq[dir^1], b&0x1f, 512, plen)
			seq[dir] += uint32(plen)
			ts = ts.Add(time.Duration(c) * 50 * time.Millisecond)
			tr.Packet(frame, gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(frame), Length: len(frame)}, layers.LinkTypeEthernet)
			continue
		}
		if !cur.Alive() {
			continue
		}
		m := model(cur.UID())
		switch op {
		case 2, 3: // set or delete a byte or packet threshold
			metric := Metric(a >> 1 & 1)
			k := key(metric, v, isOrig)
			if op == 2 {
				set := cur.SetBytesThreshold
				if metric == MetricPackets {
					set = cur.SetPacketsThreshold
				}
				if v != 0 {
					m.want[k] = true
				}
				if set(v, isOrig) != (v != 0) {
					t.Fatalf("set %s returned the wrong result", k)
				}
			} else {
				del := cur.DeleteBytesThreshold
				if metric == MetricPackets {
					del = cur.DeletePacketsThreshold
				}
				had := m.want[k]
				m.want[k] = false
				if got := del(v, isOrig); got != had {
					t.Fatalf("delete %s returned %v, want %v", k, got, had)
				}
			}
		case 4: // set or delete a duration threshold
			d := time.Duration(v) * 10 * time.Millisecond
			k := key(MetricDuration, uint64(d), true)
			if isOrig {
				if d != 0 {
					m.want[k] = true
				}
				cur.SetDurationThreshold(d)
			} else {
				had := m.want[k]
				m.want[k] = false
				if got := cur.DeleteDurationThreshold(d); got != had {
					t.Fatalf("delete %s returned %v, want %v", k, got, had)
				}
			}
		case 5: // register or unregister a hook
			hk := hookA
			if a&2 != 0 {
				hk = hookB
			}
			if isOrig {
				if cur.RegisterRemovalHook(hk) {
					m.hooks++
				}
			} else if cur.UnregisterRemovalHook(hk) {
				m.hooks--
			}
		case 6, 7: // poll: delay b×10 ms, interval c×10 ms, stop after a calls
			watches++
			id, stopAt, uid := watches, int(a%8), cur.UID()
			cur.Poll(time.Duration(b)*10*time.Millisecond, func(pc Conn, n int) time.Duration {
				if !pc.Alive() || pc.UID() != uid {
					t.Fatalf("poll %d called for a removed connection", id)
				}
				pm := model(uid)
				if want := pm.pollCalls[id]; n != want {
					t.Fatalf("poll %d: call %d, want %d", id, n, want)
				}
				pm.pollCalls[id] = n + 1
				if n >= stopAt {
					return -1
				}
				return time.Duration(c) * 10 * time.Millisecond
			})
		}
	}
	tr.Flush()
	if tr.Stats().Active != 0 {
		t.Fatalf("%d connections left after Flush", tr.Stats().Active)
	}
}

func pick(isOrig bool, orig, resp uint64) uint64 {
	if isOrig {
		return orig
	}
	return resp
}
