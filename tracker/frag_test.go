package tracker

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"
)

// Tests of the IP fragment reassembler against Zeek's rules (src/Frag.cc,
// src/Reassem.cc): first-received header, first bytes win, frag_size learned from the
// last fragment and raised by later ones, the completion test of BlockInserted, and
// the timer armed once from the first fragment.

// fragTestKey returns the key of datagram id, over IPv4 or IPv6.
func fragTestKey(id uint32, v6 bool) fragKey {
	k := fragKey{id: id, v6: v6}
	if v6 {
		k.src = [16]byte{0x20, 0x01, 0x0d, 0xb8, 15: 1}
		k.dst = [16]byte{0x20, 0x01, 0x0d, 0xb8, 15: 2}
	} else {
		k.src = [16]byte{10: 0xff, 11: 0xff, 12: 10, 15: 1}
		k.dst = [16]byte{10: 0xff, 11: 0xff, 12: 10, 15: 2}
	}
	return k
}

// fragHdr4 returns an IPv4 header of 20 bytes plus opts option bytes, with TTL ttl,
// the offset and MF of a fragment at off, and a recognisable checksum.
func fragHdr4(ttl uint8, off int, more bool, opts int) []byte {
	h := make([]byte, 20+opts)
	h[0] = 0x40 | byte((20+opts)/4)
	binary.BigEndian.PutUint16(h[2:], 0x1234) // stale total length
	binary.BigEndian.PutUint16(h[4:], 0x4242) // id
	fo := uint16(off/8) & 0x1fff
	if more {
		fo |= 0x2000
	}
	binary.BigEndian.PutUint16(h[6:], fo)
	h[8], h[9] = ttl, 17
	h[10], h[11] = 0xbe, 0xef // checksum: never recomputed
	copy(h[12:], []byte{10, 0, 0, 1, 10, 0, 0, 2})
	for i := 20; i < len(h); i++ {
		h[i] = 1 // NOP options
	}
	return h
}

// fragHdr6 returns the unfragmentable part of an IPv6 fragment with hop limit hlim,
// and the index of the byte naming the fragment header: the fixed header alone, or
// followed by an 8-byte hop-by-hop header when hbh is set.
func fragHdr6(hlim uint8, hbh bool) ([]byte, int) {
	n := 40
	if hbh {
		n = 48
	}
	h := make([]byte, n)
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], 0x1234) // stale payload length
	h[6], h[7] = 44, hlim
	h[8], h[39] = 0x20, 2
	if !hbh {
		return h, 6
	}
	h[6] = 0 // hop-by-hop, then the fragment header
	h[40], h[41], h[42], h[43] = 44, 0, 1, 4
	return h, 40
}

// fragPattern returns n bytes that differ from offset to offset.
func fragPattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8 + 3)
	}
	return b
}

// fragStep is one fragment: payload [off, end) of the datagram, or of fill bytes when
// fill is set, with MF unless last.
type fragStep struct {
	off, end int
	last     bool
	fill     byte
}

// fragFeed adds the steps of one datagram (payload data, header hdr) at times ts,
// ts+1, ... and returns the index of the step that completed it and the datagram (a
// copy), or -1 and nil. Every step after the completing one must not complete again.
func fragFeed(t *testing.T, f *fragments, key fragKey, ts int64, hdr []byte, nextAt int, next uint8, data []byte, steps []fragStep) (int, []byte) {
	t.Helper()
	done, got := -1, []byte(nil)
	for i, st := range steps {
		var p []byte
		if st.fill != 0 {
			p = bytes.Repeat([]byte{st.fill}, st.end-st.off)
		} else {
			p = data[st.off:st.end]
		}
		out, ok := f.add(key, ts+int64(i), hdr, nextAt, next, st.off, !st.last, p)
		if ok != (out != nil) {
			t.Fatalf("step %d: add returned %d bytes and %v", i, len(out), ok)
		}
		if ok {
			if done >= 0 {
				t.Fatalf("step %d: completed again after step %d", i, done)
			}
			done, got = i, bytes.Clone(out)
		}
		fragCheck(t, f)
	}
	return done, got
}

// fragWant4 returns the IPv4 datagram Zeek rebuilds from header hdr and payload.
func fragWant4(hdr, payload []byte) []byte {
	w := append(bytes.Clone(hdr), payload...)
	binary.BigEndian.PutUint16(w[2:], uint16(len(w)))
	return w
}

// fragWant6 returns the IPv6 datagram Zeek rebuilds from the unfragmentable part hdr
// and payload when nothing in the payload names a fragment header.
func fragWant6(hdr []byte, nextAt int, next uint8, payload []byte) []byte {
	w := append(bytes.Clone(hdr), payload...)
	binary.BigEndian.PutUint16(w[4:], uint16(len(w)-40))
	w[nextAt] = next
	return w
}

// fragCheck verifies the reassembler's internal invariants: the map, heap and retained
// list agree, the heap is ordered, byte counts add up, spans are sorted, disjoint and
// within the buffer, and the bounds hold.
func fragCheck(t *testing.T, f *fragments) {
	t.Helper()
	if len(f.sets) != len(f.heap)+len(f.retained) {
		t.Fatalf("%d sets, %d in heap, %d retained", len(f.sets), len(f.heap), len(f.retained))
	}
	sum := 0
	for i, s := range f.heap {
		if s.heapAt != i || f.sets[s.key] != s {
			t.Fatalf("heap[%d]: heapAt %d, in map %v", i, s.heapAt, f.sets[s.key] == s)
		}
		if i > 0 && fragOlder(s, f.heap[(i-1)/2]) {
			t.Fatalf("heap[%d] older than its parent", i)
		}
	}
	for _, s := range f.retained {
		if s.heapAt != -1 || f.sets[s.key] != s {
			t.Fatalf("retained set: heapAt %d, in map %v", s.heapAt, f.sets[s.key] == s)
		}
	}
	for _, s := range f.sets {
		sum += s.bytes()
		if len(s.spans) == 0 && len(s.buf) != 0 || len(s.spans) > 0 && int(s.spans[len(s.spans)-1].hi) != len(s.buf) {
			t.Fatalf("buffer of %d bytes, spans %v", len(s.buf), s.spans)
		}
		for k, sp := range s.spans {
			if sp.lo >= sp.hi || k > 0 && s.spans[k-1].hi >= sp.lo {
				t.Fatalf("spans not sorted and apart: %v", s.spans)
			}
		}
	}
	if sum != f.bytes {
		t.Fatalf("bytes %d, sets hold %d", f.bytes, sum)
	}
	if f.maxBytes > 0 && (f.bytes > f.maxBytes || f.freeBytes > f.maxBytes) {
		t.Fatalf("%d bytes held, %d free, bound %d", f.bytes, f.freeBytes, f.maxBytes)
	}
	if f.maxSets > 0 && len(f.sets) > f.maxSets {
		t.Fatalf("%d sets, bound %d", len(f.sets), f.maxSets)
	}
	free := 0
	for _, s := range f.free {
		free += cap(s.hdr) + cap(s.buf)
	}
	if free != f.freeBytes || len(f.free) > fragFreeMax {
		t.Fatalf("free list: %d sets, %d bytes, counted %d", len(f.free), free, f.freeBytes)
	}
}

// TestFragmentsReassemble feeds datagrams in various orders, with duplicates and
// missing pieces, and checks when and what they complete to.
func TestFragmentsReassemble(t *testing.T) {
	const size = 4000
	inOrder := []fragStep{{0, 1480, false, 0}, {1480, 2960, false, 0}, {2960, size, true, 0}}
	reverse := []fragStep{inOrder[2], inOrder[1], inOrder[0]}
	for _, tc := range []struct {
		name  string
		steps []fragStep
		done  int // index of the completing step, -1: never
	}{
		{"in order", inOrder, 2},
		{"reverse", reverse, 2},
		{"shuffled", []fragStep{inOrder[1], inOrder[2], inOrder[0]}, 2},
		{"last first", []fragStep{inOrder[2], inOrder[0], inOrder[1]}, 2},
		{"duplicates", []fragStep{inOrder[0], inOrder[0], inOrder[2], inOrder[2], inOrder[1]}, 4},
		{"overlapping pieces", []fragStep{{0, 2000, false, 0}, {1000, 3000, false, 0}, {2504, size, true, 0}}, 2},
		{"missing middle", []fragStep{inOrder[0], inOrder[2], inOrder[0], inOrder[2]}, -1},
		{"missing first", []fragStep{inOrder[1], inOrder[2]}, -1},
		{"missing last", []fragStep{inOrder[0], inOrder[1]}, -1},
		{"atomic", []fragStep{{0, size, true, 0}}, 0},
		{"covering piece", []fragStep{inOrder[1], {0, size, true, 0}}, 1},
	} {
		for _, v6 := range []bool{false, true} {
			name := tc.name + "/v4"
			if v6 {
				name = tc.name + "/v6"
			}
			t.Run(name, func(t *testing.T) {
				f := newFragments(0, 0, 0)
				data := fragPattern(size)
				var hdr, want []byte
				nextAt := 0
				if v6 {
					hdr, nextAt = fragHdr6(64, false)
					want = fragWant6(hdr, nextAt, 17, data)
				} else {
					hdr = fragHdr4(64, 0, true, 0)
					want = fragWant4(hdr, data)
				}
				done, got := fragFeed(t, f, fragTestKey(7, v6), 1000, hdr, nextAt, 17, data, tc.steps)
				if done != tc.done {
					t.Fatalf("completed at step %d, want %d", done, tc.done)
				}
				sets, _ := f.pending()
				if done < 0 {
					if sets != 1 {
						t.Fatalf("%d sets pending, want 1", sets)
					}
					return
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("datagram differs:\n got %x\nwant %x", got[:64], want[:64])
				}
				if sets, n := f.pending(); sets != 0 || n != 0 {
					t.Fatalf("after completion: %d sets, %d bytes pending", sets, n)
				}
			})
		}
	}
}

// TestFragmentsOverlap checks that bytes already held are never replaced: a later
// fragment only fills holes (Zeek's DataBlockList::Insert).
func TestFragmentsOverlap(t *testing.T) {
	rep := func(parts ...any) []byte {
		var b []byte
		for i := 0; i < len(parts); i += 2 {
			b = append(b, bytes.Repeat([]byte{parts[i].(byte)}, parts[i+1].(int))...)
		}
		return b
	}
	for _, tc := range []struct {
		name  string
		steps []fragStep
		want  []byte
	}{
		{"later overlaps tail", []fragStep{{0, 16, false, 'a'}, {8, 24, true, 'b'}}, rep(byte('a'), 16, byte('b'), 8)},
		{"later overlaps head", []fragStep{{8, 24, true, 'b'}, {0, 16, false, 'a'}}, rep(byte('a'), 8, byte('b'), 16)},
		{"fills holes only", []fragStep{{0, 8, false, 'a'}, {16, 24, false, 'b'}, {32, 40, true, 'c'}, {0, 40, false, 'x'}},
			rep(byte('a'), 8, byte('x'), 8, byte('b'), 8, byte('x'), 8, byte('c'), 8)},
		{"inside an existing block", []fragStep{{0, 40, false, 'a'}, {8, 16, false, 'x'}, {40, 48, true, 'b'}},
			rep(byte('a'), 40, byte('b'), 8)},
		{"covers two blocks and a gap", []fragStep{{8, 16, false, 'a'}, {24, 32, true, 'b'}, {0, 32, false, 'x'}},
			rep(byte('x'), 8, byte('a'), 8, byte('x'), 8, byte('b'), 8)},
		{"duplicate with other bytes", []fragStep{{0, 8, false, 'a'}, {0, 8, false, 'x'}, {8, 16, true, 'b'}},
			rep(byte('a'), 8, byte('b'), 8)},
		{"touching blocks merge", []fragStep{{16, 24, true, 'c'}, {0, 8, false, 'a'}, {8, 16, false, 'b'}},
			rep(byte('a'), 8, byte('b'), 8, byte('c'), 8)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFragments(0, 0, 0)
			hdr := fragHdr4(64, 0, true, 0)
			done, got := fragFeed(t, f, fragTestKey(1, false), 0, hdr, 0, 17, nil, tc.steps)
			if done != len(tc.steps)-1 {
				t.Fatalf("completed at step %d, want %d", done, len(tc.steps)-1)
			}
			if want := fragWant4(hdr, tc.want); !bytes.Equal(got, want) {
				t.Fatalf("got payload %q, want %q", got[20:], tc.want)
			}
		})
	}
}

// TestFragmentsIPv4Header checks the rebuilt IPv4 header: the first-received
// fragment's header (TTL, flags, offset, checksum and options) with only the total
// length rewritten.
func TestFragmentsIPv4Header(t *testing.T) {
	data := fragPattern(3000)
	for _, opts := range []int{0, 4, 40} {
		f := newFragments(0, 0, 0)
		key := fragTestKey(9, false)
		first := fragHdr4(9, 1480, true, opts) // the middle fragment arrives first
		steps := []struct {
			hdr      []byte
			off, end int
			more     bool
		}{
			{first, 1480, 2960, true},
			{fragHdr4(64, 2960, false, opts), 2960, 3000, false},
			{fragHdr4(64, 0, true, opts), 0, 1480, true},
		}
		var got []byte
		for i, st := range steps {
			out, ok := f.add(key, int64(i), st.hdr, 0, 17, st.off, st.more, data[st.off:st.end])
			if ok != (i == 2) {
				t.Fatalf("options %d, step %d: complete %v", opts, i, ok)
			}
			got = out
		}
		want := fragWant4(first, data)
		if !bytes.Equal(got, want) {
			t.Fatalf("options %d: header %x, want %x", opts, got[:20+opts], want[:20+opts])
		}
		if tl := binary.BigEndian.Uint16(got[2:]); int(tl) != 20+opts+3000 || got[8] != 9 ||
			binary.BigEndian.Uint16(got[6:]) != 0x2000|185 || got[10] != 0xbe || got[11] != 0xef {
			t.Fatalf("options %d: total length %d, ttl %d, flags/offset %#x, checksum %x", opts, tl, got[8], got[6:8], got[10:12])
		}
	}
}

// TestFragmentsIPv6Header checks the rebuilt IPv6 datagram: payload length rewritten,
// the byte that named the fragment header set to the offset-0 fragment's next header,
// and the first-received fragment's unfragmentable part kept.
func TestFragmentsIPv6Header(t *testing.T) {
	data := fragPattern(3000)
	for _, hbh := range []bool{false, true} {
		f := newFragments(0, 0, 0)
		key := fragTestKey(0x01020304, true)
		first, nextAt := fragHdr6(9, hbh)
		other, _ := fragHdr6(64, hbh)
		// The first-received fragment names protocol 6, the offset-0 one 17: 17 wins.
		if _, ok := f.add(key, 1, first, nextAt, 6, 1448, true, data[1448:2896]); ok {
			t.Fatal("completed early")
		}
		if _, ok := f.add(key, 2, other, nextAt, 6, 2896, false, data[2896:]); ok {
			t.Fatal("completed early")
		}
		got, ok := f.add(key, 3, other, nextAt, 17, 0, true, data[:1448])
		if !ok {
			t.Fatal("not completed")
		}
		want := fragWant6(first, nextAt, 17, data)
		if !bytes.Equal(got, want) {
			t.Fatalf("hbh %v: header %x, want %x", hbh, got[:len(first)], want[:len(first)])
		}
		if plen := binary.BigEndian.Uint16(got[4:]); int(plen) != len(first)-40+3000 || got[7] != 9 || got[nextAt] != 17 {
			t.Fatalf("hbh %v: plen %d, hop limit %d, next %d", hbh, plen, got[7], got[nextAt])
		}
		if hbh && got[6] != 0 {
			t.Fatalf("fixed header next %d, want hop-by-hop (0)", got[6])
		}
	}
}

// TestFragmentsIPv6ChainPatch checks Zeek's IPv6_Hdr_Chain::Init(set_next) walk on the
// rebuilt datagram: an extension header in the payload that names a fragment header
// is patched like the unfragmentable part.
func TestFragmentsIPv6ChainPatch(t *testing.T) {
	f := newFragments(0, 0, 0)
	hdr, nextAt := fragHdr6(64, false)
	// Payload: a destination options header naming a fragment header, then UDP-ish bytes.
	payload := append([]byte{44, 0, 1, 4, 0, 0, 0, 0}, bytes.Repeat([]byte{17}, 16)...)
	got, ok := f.add(fragTestKey(5, true), 0, hdr, nextAt, 60, 0, false, payload)
	if !ok {
		t.Fatal("atomic fragment did not complete")
	}
	want := fragWant6(hdr, nextAt, 60, payload)
	want[40] = 60 // Zeek's walk patches the inner header too
	if !bytes.Equal(got, want) {
		t.Fatalf("got  %x\nwant %x", got, want)
	}
}

// TestFragmentsSize checks how frag_size is learned and raised (Zeek's
// fragment_size_inconsistency cases), and zero-length fragments.
func TestFragmentsSize(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []fragStep
		done  int // completing step, -1: none
		size  int // payload size of the datagram
	}{
		{"later fragment raises size", []fragStep{{16, 24, true, 0}, {0, 32, false, 0}}, 1, 32},
		{"second last fragment raises size", []fragStep{{0, 8, false, 0}, {16, 24, true, 0}, {24, 32, true, 0}, {8, 16, false, 0}}, 3, 32},
		{"second last fragment shorter", []fragStep{{0, 8, false, 0}, {16, 32, true, 0}, {16, 24, true, 0}, {8, 16, false, 0}}, 3, 32},
		{"run beyond last fragment", []fragStep{{0, 24, false, 0}, {0, 8, true, 0}}, 1, 24},
		{"hole beyond size", []fragStep{{0, 16, false, 0}, {40, 48, false, 0}, {8, 16, true, 0}}, 2, 16},
		{"hole, run short of size", []fragStep{{0, 8, false, 0}, {40, 48, false, 0}, {16, 24, true, 0}}, -1, 0},
		{"hole, run reaches size", []fragStep{{0, 16, false, 0}, {40, 48, false, 0}, {16, 24, true, 0}}, 2, 24},
		{"no last fragment", []fragStep{{0, 16, false, 0}, {16, 24, false, 0}}, -1, 0},
		{"zero-length last sets size", []fragStep{{0, 8, false, 0}, {16, 16, true, 0}, {8, 16, false, 0}}, 2, 16},
		{"zero-length last does not complete", []fragStep{{0, 8, false, 0}, {8, 16, false, 0}, {16, 16, true, 0}}, -1, 0},
		{"zero-length atomic", []fragStep{{0, 0, true, 0}}, -1, 0},
		{"zero-length at 0 leaves size unknown", []fragStep{{0, 0, true, 0}, {0, 8, false, 0}, {8, 16, true, 0}}, 2, 16},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFragments(0, 0, 0)
			data := fragPattern(64)
			hdr := fragHdr4(64, 0, true, 0)
			done, got := fragFeed(t, f, fragTestKey(3, false), 0, hdr, 0, 17, data, tc.steps)
			if done != tc.done {
				t.Fatalf("completed at step %d, want %d", done, tc.done)
			}
			if done >= 0 {
				if want := fragWant4(hdr, data[:tc.size]); !bytes.Equal(got, want) {
					t.Fatalf("got %d bytes, want %d", len(got), len(want))
				}
			} else if sets, _ := f.pending(); sets != 1 {
				t.Fatalf("%d sets pending, want 1", sets)
			}
		})
	}
}

// TestFragmentsTimeout checks expiry at first + timeout (inclusive), never extended by
// later fragments, with timestamps out of order, and no expiry with timeout 0.
func TestFragmentsTimeout(t *testing.T) {
	data := fragPattern(16)
	hdr := fragHdr4(64, 0, true, 0)
	key := func(id uint32) fragKey { return fragTestKey(id, false) }

	f := newFragments(10, 0, 0)
	f.add(key(1), 100, hdr, 0, 17, 0, true, data[:8])
	f.expire(105)
	f.add(key(1), 105, hdr, 0, 17, 0, true, data[:8]) // does not extend the timer
	f.expire(109)
	if sets, _ := f.pending(); sets != 1 {
		t.Fatalf("at 109: %d sets, want 1", sets)
	}
	f.expire(110) // the integrator expires before handling the packet at 110
	if sets, n := f.pending(); sets != 0 || n != 0 {
		t.Fatalf("at 110: %d sets, %d bytes, want none", sets, n)
	}
	if _, ok := f.add(key(1), 110, hdr, 0, 17, 8, false, data[8:]); ok {
		t.Fatal("the rest of an expired datagram completed it")
	}
	if sets, _ := f.pending(); sets != 1 {
		t.Fatalf("late fragment: %d sets, want a new one", sets)
	}
	fragCheck(t, f)

	// Out-of-order first times: each set expires by its own.
	f = newFragments(10, 0, 0)
	for _, c := range []struct {
		id uint32
		ts int64
	}{{2, 200}, {3, 150}, {4, 300}, {5, 150}} {
		f.add(key(c.id), c.ts, hdr, 0, 17, 0, true, data[:8])
	}
	f.expire(159)
	if sets, _ := f.pending(); sets != 4 {
		t.Fatalf("at 159: %d sets, want 4", sets)
	}
	f.expire(160)
	if _, ok := f.sets[key(3)]; ok || len(f.sets) != 2 {
		t.Fatalf("at 160: %d sets left, set 3 present %v", len(f.sets), ok)
	}
	f.expire(100) // time going back expires nothing
	f.expire(210)
	if _, ok := f.sets[key(4)]; !ok || len(f.sets) != 1 {
		t.Fatalf("at 210: %d sets left, set 4 present %v", len(f.sets), ok)
	}
	fragCheck(t, f)

	// Timeout 0: never.
	f = newFragments(0, 0, 0)
	f.add(key(1), math.MinInt64, hdr, 0, 17, 0, true, data[:8])
	f.expire(math.MaxInt64)
	if sets, _ := f.pending(); sets != 1 {
		t.Fatalf("timeout 0: %d sets, want 1", sets)
	}
	// Extreme times do not overflow.
	f = newFragments(10, 0, 0)
	f.add(key(1), math.MaxInt64, hdr, 0, 17, 0, true, data[:8])
	f.expire(math.MinInt64)
	f.expire(math.MaxInt64 - 1)
	if sets, _ := f.pending(); sets != 1 {
		t.Fatalf("extreme times: %d sets, want 1", sets)
	}
}

// TestFragmentsMemoryBound checks that the oldest sets (by first-fragment time) are
// dropped when a byte or set bound would be passed, that a datagram larger than the
// byte bound is dropped, and the byte count pending reports.
func TestFragmentsMemoryBound(t *testing.T) {
	data := fragPattern(2000)
	hdr := fragHdr4(64, 0, true, 0)
	key := func(id uint32) fragKey { return fragTestKey(id, false) }
	has := func(f *fragments, ids ...uint32) []bool {
		var r []bool
		for _, id := range ids {
			_, ok := f.sets[key(id)]
			r = append(r, ok)
		}
		return r
	}

	// Bytes: 3 sets of 20+104 bytes; a fourth needs room; the oldest goes.
	f := newFragments(0, 400, 0)
	for i, ts := range []int64{3, 1, 2} { // set 2 is the oldest, then 3, then 1
		f.add(key(uint32(i+1)), ts, hdr, 0, 17, 0, true, data[:104])
	}
	if sets, n := f.pending(); sets != 3 || n != 3*124 {
		t.Fatalf("%d sets, %d bytes; want 3, %d", sets, n, 3*124)
	}
	f.add(key(4), 4, hdr, 0, 17, 0, true, data[:104])
	if got := has(f, 1, 2, 3, 4); got[1] || !got[0] || !got[2] || !got[3] {
		t.Fatalf("sets 1-4 present: %v; want set 2 dropped", got)
	}
	fragCheck(t, f)
	// Growing an existing set drops the oldest other set (3), never the set itself
	// even if it is the oldest.
	f.add(key(1), 5, hdr, 0, 17, 104, true, data[104:160])
	if got := has(f, 1, 3, 4); !got[0] || got[1] || !got[2] {
		t.Fatalf("sets 1, 3, 4 present: %v; want set 3 dropped", got)
	}
	if _, n := f.pending(); n != 124+20+160 {
		t.Fatalf("%d bytes, want %d", n, 124+20+160)
	}
	fragCheck(t, f)

	// A datagram larger than the bound is dropped; the others stay.
	f.add(key(9), 6, hdr, 0, 17, 376, true, data[376:384]) // 20 + 384 > 400
	if got := has(f, 1, 4, 9); !got[0] || !got[1] || got[2] {
		t.Fatalf("sets 1, 4, 9 present: %v; want set 9 dropped", got)
	}
	f.add(key(1), 7, hdr, 0, 17, 160, true, data[160:400]) // set 1 reaches 420
	if got := has(f, 1, 4); got[0] || !got[1] {
		t.Fatalf("sets 1, 4 present: %v; want set 1 dropped", got)
	}
	if _, ok := f.add(key(8), 8, hdr, 0, 17, 0, false, data[:1000]); ok {
		t.Fatal("an atomic datagram over the bound completed")
	}
	if sets, n := f.pending(); sets != 1 || n != 124 {
		t.Fatalf("%d sets, %d bytes; want set 4 alone", sets, n)
	}
	fragCheck(t, f)

	// Sets: the bound drops the set with the oldest first time, not the first created.
	f = newFragments(0, 0, 2)
	f.add(key(1), 50, hdr, 0, 17, 0, true, data[:8])
	f.add(key(2), 40, hdr, 0, 17, 0, true, data[:8])
	f.add(key(3), 60, hdr, 0, 17, 0, true, data[:8])
	if got := has(f, 1, 2, 3); !got[0] || got[1] || !got[2] {
		t.Fatalf("sets 1-3 present: %v; want set 2 dropped", got)
	}
	fragCheck(t, f)
}

// TestFragmentsAfterCompletion checks that a completed set is deleted: a late
// duplicate starts a new set, and one that completes on its own is delivered again.
func TestFragmentsAfterCompletion(t *testing.T) {
	data := fragPattern(3000)
	hdr := fragHdr4(64, 0, true, 0)
	key := fragTestKey(11, false)
	f := newFragments(0, 0, 0)
	steps := []fragStep{{0, 1480, false, 0}, {1480, 2960, false, 0}, {2960, 3000, true, 0}}
	if done, _ := fragFeed(t, f, key, 0, hdr, 0, 17, data, steps); done != 2 {
		t.Fatalf("completed at %d", done)
	}
	if _, ok := f.add(key, 10, hdr, 0, 17, 1480, true, data[1480:2960]); ok {
		t.Fatal("late duplicate completed")
	}
	if sets, n := f.pending(); sets != 1 || n != 20+2960 {
		t.Fatalf("late duplicate: %d sets, %d bytes; want a new set", sets, n)
	}
	// A full duplicate set is reassembled and delivered again.
	if done, got := fragFeed(t, f, key, 20, hdr, 0, 17, data, steps); done != 2 || !bytes.Equal(got, fragWant4(hdr, data)) {
		t.Fatalf("duplicate set completed at %d", done)
	}
	// An atomic fragment completes at once, every time.
	for i := range 2 {
		if out, ok := f.add(fragTestKey(12, false), int64(30+i), hdr, 0, 17, 0, false, data[:100]); !ok || !bytes.Equal(out, fragWant4(hdr, data[:100])) {
			t.Fatalf("atomic fragment %d: complete %v", i, ok)
		}
	}
	if sets, n := f.pending(); sets != 0 || n != 0 {
		t.Fatalf("%d sets, %d bytes pending", sets, n)
	}
}

// TestFragmentsWrappedLength checks the 16-bit length fields. Zeek's htons truncates
// them, and a datagram whose header is then longer than its total length is dropped
// by IP.cc before the reassembler is removed. That set stays, without a timeout, and
// rebuilds again on the next fragment.
func TestFragmentsWrappedLength(t *testing.T) {
	big := fragPattern(65536)
	for _, tc := range []struct {
		name   string
		v6     bool
		hbh    bool
		size   int
		total  int // total length field of the result (IPv6: payload length)
		retain bool
	}{
		{"v4 max", false, false, 65515, 65535, false},
		{"v4 wrap short", false, false, 65520, 4, true},
		{"v4 wrap long enough", false, false, 65536, 20, false},
		{"v6 max", true, false, 65535, 65535, false},
		{"v6 wrap", true, false, 65536, 0, false},
		{"v6 wrap with hop-by-hop", true, true, 65528, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFragments(10, 0, 0)
			key := fragTestKey(1, tc.v6)
			var hdr []byte
			nextAt := 0
			if tc.v6 {
				hdr, nextAt = fragHdr6(64, tc.hbh)
			} else {
				hdr = fragHdr4(64, 0, true, 0)
			}
			data := big[:tc.size]
			f.add(key, 0, hdr, nextAt, 17, 0, true, data[:60000])
			out, ok := f.add(key, 1, hdr, nextAt, 17, 60000, false, data[60000:])
			if !ok || len(out) != len(hdr)+tc.size || !bytes.Equal(out[len(hdr):], data) {
				t.Fatalf("complete %v, %d bytes", ok, len(out))
			}
			field := out[2:4]
			if tc.v6 {
				field = out[4:6]
			}
			if got := binary.BigEndian.Uint16(field); int(got) != tc.total {
				t.Fatalf("length field %d, want %d", got, tc.total)
			}
			f.expire(1000)
			if sets, _ := f.pending(); sets != map[bool]int{false: 0, true: 1}[tc.retain] {
				t.Fatalf("%d sets after completion and expiry", sets)
			}
			fragCheck(t, f)
			if !tc.retain {
				return
			}
			if out, ok := f.add(key, 2000, hdr, nextAt, 17, 8, true, big[100:108]); !ok || len(out) != len(hdr)+tc.size {
				t.Fatalf("retained set: complete %v on the next fragment", ok)
			}
		})
	}
}

// TestFragmentsNoAllocs checks that steady-state reassembly does not allocate.
func TestFragmentsNoAllocs(t *testing.T) {
	f := newFragments(int64(60e9), 1<<20, 1024)
	data := fragPattern(4096)
	hdr4 := fragHdr4(64, 0, true, 0)
	hdr6, nextAt := fragHdr6(64, true)
	ts := int64(0)
	run := func() {
		for _, v6 := range []bool{false, true} {
			key, hdr := fragTestKey(uint32(ts), v6), hdr4
			if v6 {
				hdr = hdr6
			}
			ts++
			f.expire(ts)
			f.add(key, ts, hdr, nextAt, 17, 1480, true, data[1480:2960])
			f.add(key, ts, hdr, nextAt, 17, 2960, false, data[2960:])
			if _, ok := f.add(key, ts, hdr, nextAt, 17, 0, true, data[:1480]); !ok {
				t.Fatal("not completed")
			}
		}
	}
	for range 10 {
		run()
	}
	if n := testing.AllocsPerRun(allocRuns, run); n != 0 {
		t.Fatalf("%v allocations per reassembly", n)
	}
}

// fragModel is a naive reassembler that follows Zeek's code literally, one byte at a
// time, with no bounds: the reference for FuzzFragments.
type fragModel struct {
	timeout int64
	sets    map[fragKey]*fragModelSet
	size    int // payload size of the last datagram completed
}

// fragModelSet is one datagram of fragModel.
type fragModelSet struct {
	first    int64
	hdr      []byte
	nextAt   int
	next     uint8
	size     int
	data     []byte
	have     []byte // 1 where a byte is held
	retained bool
}

// expire drops the sets whose timer is due, as Zeek's FragTimer does.
func (m *fragModel) expire(now int64) {
	for k, s := range m.sets {
		if m.timeout != 0 && !s.retained && s.first+m.timeout <= now {
			delete(m.sets, k)
		}
	}
}

// add is FragmentManager::NextFragment, AddFragment, NewBlock and BlockInserted.
func (m *fragModel) add(key fragKey, ts int64, hdr []byte, nextAt int, next uint8, offset int, more bool, payload []byte) ([]byte, bool) {
	s := m.sets[key]
	if s == nil {
		s = &fragModelSet{first: ts, hdr: bytes.Clone(hdr), nextAt: nextAt, next: next}
		m.sets[key] = s
	}
	upper := offset + len(payload)
	if offset == 0 {
		s.next = next
	}
	if !more {
		if s.size == 0 {
			s.size = upper
		} else if upper != s.size && upper > s.size {
			s.size = upper
		}
	}
	if s.size != 0 && upper > s.size {
		s.size = upper
	}
	if len(payload) == 0 {
		return nil, false
	}
	if grow := upper - len(s.have); grow > 0 {
		s.have = append(s.have, make([]byte, grow)...)
		s.data = append(s.data, make([]byte, grow)...)
	}
	// First bytes win: copy the payload into each run of bytes not yet held.
	for pos := offset; pos < upper; {
		h := bytes.IndexByte(s.have[pos:upper], 0)
		if h < 0 {
			break
		}
		pos += h
		end := upper
		if e := bytes.IndexByte(s.have[pos:upper], 1); e >= 0 {
			end = pos + e
		}
		copy(s.data[pos:end], payload[pos-offset:])
		for k := pos; k < end; k++ {
			s.have[k] = 1
		}
		pos = end
	}
	if s.have[0] == 0 || s.size == 0 {
		return nil, false
	}
	run := bytes.IndexByte(s.have, 0) // end of the run from 0
	if run < 0 {
		run = len(s.have)
	}
	hole := bytes.IndexByte(s.have[run:], 1) >= 0 // something held beyond it
	last := len(s.have)                           // end of the highest block
	switch {
	case hole && run >= s.size:
		s.size = run
	case hole:
		return nil, false
	case last > s.size:
		s.size = last
	case last < s.size:
		return nil, false
	}
	out := append(bytes.Clone(s.hdr), s.data[:s.size]...)
	var bad bool
	if !key.v6 {
		binary.BigEndian.PutUint16(out[2:], uint16(len(out)))
		bad = len(s.hdr) > int(uint16(len(out)))
	} else {
		plen := uint16(len(out) - 40)
		binary.BigEndian.PutUint16(out[4:], plen)
		out[s.nextAt] = s.next
		bad = int(fragModelChain(out, s.next)) > int(plen)+40
	}
	if bad {
		s.retained = true
	} else {
		delete(m.sets, key)
	}
	m.size = s.size
	return out, true
}

// pending counts sets and bytes as fragments.pending does.
func (m *fragModel) pending() (sets, n int) {
	for _, s := range m.sets {
		n += len(s.hdr) + len(s.have)
	}
	return len(m.sets), n
}

// fragModelChain transliterates Zeek's IPv6_Hdr_Chain::Init(ip6, total_len,
// set_next=true, next) and IPv6_Hdr's NextHdr, Length and ChangeNext.
func fragModelChain(b []byte, next uint8) uint16 {
	const ipv6, hop, routing, dstopts, frag, ah, esp, mobility, none = 41, 0, 43, 60, 44, 51, 50, 135, 59
	nextHdr := func(typ uint8, d []byte) uint8 {
		switch typ {
		case ipv6:
			return d[6]
		case hop, dstopts, routing, frag, ah, mobility:
			return d[0]
		}
		return none
	}
	length := func(typ uint8, d []byte) int {
		switch typ {
		case ipv6:
			return 40
		case hop, dstopts, routing, mobility:
			return 8 + 8*int(d[1])
		case frag, esp:
			return 8
		case ah:
			return 8 + 4*int(d[1])
		}
		return 0
	}
	isExt := func(typ uint8) bool {
		switch typ {
		case hop, routing, dstopts, frag, ah, esp, mobility:
			return true
		}
		return false
	}
	var total uint16
	hdrs, totalLen := b, len(b)
	nextType := uint8(ipv6)
	for {
		if totalLen < 2 {
			return total
		}
		cur := nextType
		nextType = nextHdr(cur, hdrs)
		curLen := length(cur, hdrs)
		if curLen > totalLen {
			return total
		}
		if nextType == frag {
			switch cur {
			case ipv6:
				hdrs[6] = next
			case hop, dstopts, routing, frag, ah, mobility:
				hdrs[0] = next
			}
			nextType = next
		}
		hdrs = hdrs[curLen:]
		total += uint16(curLen)
		totalLen -= curLen
		if cur == frag || cur == esp || cur == mobility || !isExt(nextType) {
			return total
		}
	}
}

// fragFuzzOps caps the fragments one fuzz input describes, so that inputs stay cheap
// to run and to minimise.
const fragFuzzOps = 40

// fragFuzzBytes is where FuzzFragments takes payloads from: bytes that repeat only
// after 251.
var fragFuzzBytes = func() []byte {
	b := make([]byte, 128*fragFuzzOps+128*64)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}()

// FuzzFragments feeds fragment sequences decoded from the input to an unbounded
// reassembler and the naive model, which must agree on every result, datagram and
// count. A bounded reassembler gets the same sequence and must keep its bounds and
// invariants. Each fragment takes 6 bytes:
//
//	0: bits 0-1 id, bit 2 IPv6, bit 3 longer header (IPv4 options / hop-by-hop), bits 4-7 time step
//	1: offset: 0-127 -> b*8; 128-191 -> (b&0x3f)*1016; 192-255 -> (8191-(b&0x3f))*8
//	2: length: b&0x7f, times 64 when bit 7 is set
//	3: bit 0 MF; bits 1-7 seed of the payload bytes
//	4: next protocol (index into a table of transports and extension headers)
//	5: TTL / hop limit of the header (tells headers apart)
func FuzzFragments(f *testing.F) {
	op := func(ctl, off, n, flags, next, ttl byte) []byte { return []byte{ctl, off, n, flags, next, ttl} }
	cat := func(ops ...[]byte) []byte { return bytes.Join(ops, nil) }
	f.Add(cat(op(0x10, 0, 0x82, 1, 0, 1), op(0x10, 16, 0x82, 1, 0, 2), op(0x10, 32, 0x10, 0, 0, 3)))
	f.Add(cat(op(0x14, 32, 0x10, 0, 1, 1), op(0x14, 16, 0x82, 1, 1, 2), op(0x14, 0, 0x82, 1, 2, 3)))
	f.Add(cat(op(0x0c, 0, 0x20, 9, 4, 1), op(0x0c, 2, 0x20, 0x11, 4, 2), op(0x1c, 4, 0x08, 0x20, 4, 3)))
	f.Add(cat(op(0x04, 0, 0x10, 0x58, 5, 1), op(0x14, 0x80, 0x10, 0x58, 5, 1)))
	f.Add(cat(op(0x00, 0xc0, 0x90, 0, 0, 1), op(0x00, 0, 0xff, 1, 0, 1), op(0x00, 0x7f, 0xff, 1, 0, 1)))
	f.Add(cat(op(0xf1, 0, 0x10, 1, 0, 1), op(0xf1, 2, 0x10, 0, 0, 1), op(0xf1, 2, 0x10, 0, 0, 1)))
	// Datagrams of 65532 bytes, whose 16-bit length wraps below the header length:
	// 8 fragments of 8128 bytes, then [65024, 65472) and a last one to 65532.
	for _, ctl := range []byte{0x00, 0x08, 0x0c} { // IPv4, IPv4 with options, IPv6 with hop-by-hop
		var ops [][]byte
		for k := range 8 {
			ops = append(ops, op(ctl, byte(128+8*k), 0xff, 1, 1, 1))
		}
		ops = append(ops, op(ctl, 0xff, 0x87, 1, 1, 2), op(ctl, 0xc7, 60, 0, 1, 3), op(ctl, 0, 8, 1, 1, 4))
		f.Add(cat(ops...))
	}
	nexts := []uint8{6, 17, 0, 43, 44, 60, 51, 50, 135, 59, 1, 58}
	f.Fuzz(func(t *testing.T, in []byte) {
		const timeout = 40
		r := newFragments(timeout, 0, 0)
		b := newFragments(timeout, 3000, 3)
		m := &fragModel{timeout: timeout, sets: map[fragKey]*fragModelSet{}}
		ts := int64(0)
		for i := 0; len(in) >= 6 && i < fragFuzzOps; i, in = i+1, in[6:] {
			c := in[:6]
			v6 := c[0]&4 != 0
			key := fragTestKey(uint32(c[0]&3), v6)
			ts += int64(c[0] >> 4)
			var off int
			switch {
			case c[1] < 128:
				off = int(c[1]) * 8
			case c[1] < 192:
				off = int(c[1]&0x3f) * 1016
			default:
				off = (8191 - int(c[1]&0x3f)) * 8
			}
			n := int(c[2] & 0x7f)
			if c[2]&0x80 != 0 {
				n *= 64
			}
			more := c[3]&1 != 0
			pat := int(c[3]>>1) + 128*i // fragments differ from each other
			payload := fragFuzzBytes[pat : pat+n]
			next := nexts[int(c[4])%len(nexts)]
			var hdr []byte
			nextAt := 0
			if v6 {
				hdr, nextAt = fragHdr6(c[5], c[0]&8 != 0)
			} else {
				opts := 0
				if c[0]&8 != 0 {
					opts = 4
				}
				hdr = fragHdr4(c[5], off, more, opts)
				hdr[9] = next
			}

			r.expire(ts)
			m.expire(ts)
			mh := hdr // the header the datagram must carry: the first-received one
			if s := m.sets[key]; s != nil {
				mh = s.hdr
			}
			got, ok := r.add(key, ts, hdr, nextAt, next, off, more, payload)
			want, wok := m.add(key, ts, hdr, nextAt, next, off, more, payload)
			if ok != wok || !bytes.Equal(got, want) {
				t.Fatalf("fragment %d (off %d, len %d, more %v, v6 %v): got %v %d bytes, model %v %d bytes",
					i, off, n, more, v6, ok, len(got), wok, len(want))
			}
			if ok && len(got) != len(mh)+m.size {
				t.Fatalf("fragment %d: %d-byte datagram, header %d + size %d", i, len(got), len(mh), m.size)
			}
			rs, rn := r.pending()
			ms, mn := m.pending()
			if rs != ms || rn != mn {
				t.Fatalf("fragment %d: pending %d sets %d bytes, model %d sets %d bytes", i, rs, rn, ms, mn)
			}
			fragCheck(t, r)

			b.expire(ts)
			if out, ok := b.add(key, ts, hdr, nextAt, next, off, more, payload); ok {
				if least := 20 + 20*int(c[0]>>2&1); len(out) < least {
					t.Fatalf("bounded: %d-byte datagram", len(out))
				}
				field, want := out[2:4], uint16(len(out))
				if v6 {
					field, want = out[4:6], uint16(len(out)-40)
				}
				if binary.BigEndian.Uint16(field) != want {
					t.Fatalf("bounded: length field %x for %d bytes", field, len(out))
				}
			}
			fragCheck(t, b)
		}
	})
}

// BenchmarkFragments reassembles a 4 KB IPv4 datagram from 3 fragments, the last one
// first.
func BenchmarkFragments(b *testing.B) {
	f := newFragments(int64(60e9), 1<<20, 1024)
	data := fragPattern(4096)
	hdr := fragHdr4(64, 0, true, 0)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	ts := int64(0)
	for b.Loop() {
		ts++
		key := fragTestKey(uint32(ts), false)
		f.expire(ts)
		f.add(key, ts, hdr, 0, 17, 2960, false, data[2960:])
		f.add(key, ts, hdr, 0, 17, 1480, true, data[1480:2960])
		if _, ok := f.add(key, ts, hdr, 0, 17, 0, true, data[:1480]); !ok {
			b.Fatal("not completed")
		}
	}
}
