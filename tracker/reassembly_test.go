package tracker

import (
	"encoding/binary"
	"slices"
	"testing"
	"time"

	"github.com/google/gopacket/layers"
)

// fragment4 splits the IPv4 datagram of Ethernet frame f into fragments of at most
// size payload bytes (a multiple of 8), as Ethernet frames with fixed checksums.
func fragment4(t testing.TB, f []byte, size int) [][]byte {
	t.Helper()
	ip := f[14 : 14+int(binary.BigEndian.Uint16(f[16:18]))]
	ihl := int(ip[0]&0x0f) * 4
	payload := ip[ihl:]
	var out [][]byte
	for off := 0; off < len(payload); off += size {
		end := min(off+size, len(payload))
		h := slices.Clone(ip[:ihl])
		binary.BigEndian.PutUint16(h[2:4], uint16(ihl+end-off))
		flags := uint16(off / 8)
		if end < len(payload) {
			flags |= 0x2000
		}
		binary.BigEndian.PutUint16(h[6:8], flags)
		h[10], h[11] = 0, 0
		binary.BigEndian.PutUint16(h[10:12], ^headerSum(h))
		out = append(out, slices.Concat(f[:14], h, payload[off:end]))
	}
	return out
}

// headerSum is the 16-bit one's complement sum of b.
func headerSum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return uint16(s)
}

// fragment6 splits the IPv6 datagram of Ethernet frame f (no extension headers)
// into fragments of at most size payload bytes, with identification id.
func fragment6(f []byte, size int, id uint32) [][]byte {
	ip := f[14 : 14+40+int(binary.BigEndian.Uint16(f[18:20]))]
	payload := ip[40:]
	var out [][]byte
	for off := 0; off < len(payload); off += size {
		end := min(off+size, len(payload))
		h := slices.Clone(ip[:40])
		h[6] = 44
		binary.BigEndian.PutUint16(h[4:6], uint16(8+end-off))
		fh := make([]byte, 8)
		fh[0] = ip[6]
		m := uint16(0)
		if end < len(payload) {
			m = 1
		}
		binary.BigEndian.PutUint16(fh[2:4], uint16(off)|m)
		binary.BigEndian.PutUint32(fh[4:8], id)
		out = append(out, slices.Concat(f[:14], h, fh, payload[off:end]))
	}
	return out
}

func TestReassembly(t *testing.T) {
	big := make([]byte, 3000)
	for i := range big {
		big[i] = byte(i)
	}
	u4 := testSeg{src: testCli4, dst: testSrv4, sport: 40000, dport: 9999, udp: true, payload: big}.build(t)
	u6 := testSeg{src: testCli6, dst: testSrv6, sport: 40000, dport: 9999, udp: true, payload: big}.build(t)
	f4, f6 := fragment4(t, u4, 1200), fragment6(u6, 1200, 7)
	run := func(frames [][]byte, caplen int) (*Record, Stats) {
		t.Helper()
		var got *Record
		tr := New(Config{UIDSeed: 1}, Handlers{Remove: func(r *Record) { c := *r; got = &c }})
		for i, f := range frames {
			ci := testCI(f, testEpoch.Add(time.Duration(i)*time.Second))
			if caplen > 0 && len(f) > caplen {
				f = f[:caplen]
				ci.CaptureLength = caplen
			}
			tr.Packet(f, ci, layers.LinkTypeEthernet)
		}
		tr.Flush()
		return got, tr.Stats()
	}
	for _, c := range []struct {
		name   string
		frames [][]byte
		ipLen  uint64
	}{
		{"ipv4 in order", f4, 20 + 8 + 3000},
		{"ipv4 reversed", [][]byte{f4[2], f4[1], f4[0]}, 20 + 8 + 3000},
		{"ipv4 with a duplicate", [][]byte{f4[1], f4[0], f4[1], f4[2]}, 20 + 8 + 3000},
		{"ipv6", f6, 40 + 8 + 3000},
		{"ipv6 shuffled", [][]byte{f6[1], f6[2], f6[0]}, 40 + 8 + 3000},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, st := run(c.frames, 0)
			if r == nil {
				t.Fatal("no connection")
			}
			// One datagram, at the time of the fragment that completed it.
			last := testEpoch.Add(time.Duration(len(c.frames)-1) * time.Second)
			if c.name == "ipv4 with a duplicate" {
				last = testEpoch.Add(3 * time.Second)
			}
			if r.OrigPkts != 1 || r.OrigIPBytes != c.ipLen || !r.TS.Equal(last) || r.History != "D" {
				t.Errorf("pkts %d ip bytes %d ts %v history %s; want 1 datagram of %d bytes at %v",
					r.OrigPkts, r.OrigIPBytes, r.TS, r.History, c.ipLen, last)
			}
			if st.Fragments != uint64(len(c.frames)) {
				t.Errorf("%d fragments counted", st.Fragments)
			}
		})
	}
	t.Run("missing fragment", func(t *testing.T) {
		if r, _ := run([][]byte{f4[0], f4[2]}, 0); r != nil {
			t.Errorf("a connection from an incomplete datagram: %+v", r)
		}
	})
	t.Run("first fragment not captured whole", func(t *testing.T) {
		// Zeek reads a first fragment cut short on its own, and drops the rest.
		r, _ := run(f4, 200)
		if r == nil || r.OrigPkts != 1 || r.OrigIPBytes != 20+1200 {
			t.Errorf("%+v; want the first fragment alone", r)
		}
	})
	t.Run("tunnelled fragments", func(t *testing.T) {
		var frames [][]byte
		for _, f := range f4 {
			frames = append(frames, outerIP(t, 4, f[14:]))
		}
		r, _ := run(frames, 0)
		if r == nil || r.OrigPkts != 1 || len(r.TunnelParents) != 1 {
			t.Errorf("%+v", r)
		}
	})
}
