package tracker

import (
	"encoding/binary"
	"math"
)

// IP fragment reassembly, after Zeek's FragReassembler (src/Frag.cc) and the parts of
// its Reassembler (src/Reassem.cc) that fragments use.
//
// A datagram is cut into fragments as RFC 791 §3.2 (IPv4) and RFC 8200 §4.5 (IPv6)
// describe. Every fragment carries the datagram's identification and the offset of its
// payload, in units of 8 bytes; all but the last set the More Fragments flag. Zeek's
// rebuild differs from the RFCs' receiver procedures in ways this file reproduces:
//
//   - Fragments are grouped by (source, destination, identification) only: unlike
//     RFC 791 §3.2 the protocol is not part of the key. RFC 8200 §4.5 uses the same
//     triple.
//   - The header kept for the rebuilt datagram is that of the first fragment to
//     arrive, whatever its offset (RFC 8200 §4.5 takes the offset-0 fragment's).
//     Only the IPv4 total length, or the IPv6 payload length and the next-header field
//     that named the fragment header, are rewritten. The IPv4 checksum, flags and
//     offset stay as they were in that header.
//   - Overlaps are not discarded (RFC 8200 §4.5 says to drop the whole datagram).
//     The bytes that arrived first win, and a later fragment only fills holes.
//   - The datagram's size is learned from the last fragment (MF=0) as offset plus
//     length. A later fragment that reaches further raises it (Zeek's
//     fragment_size_inconsistency). When everything from offset 0 up to at least
//     that size is present, the datagram is complete. Bytes held beyond a hole after
//     that point are ignored.
//   - A set is dropped frag_timeout after its first fragment arrived. Later fragments
//     do not extend that time. RFC 8200 §4.5 gives 60 s from the first fragment, and
//     Zeek's default is no timeout.
//
// Zeek keeps no limits. This reassembler bounds memory: the bytes it holds and the
// number of sets it keeps. When a limit would be passed it drops the sets whose first
// fragment is oldest.

// fragMaxPayload is the largest payload end a fragment can describe: the greatest
// offset (8191*8) plus the largest payload that follows it.
const fragMaxPayload = 65528 + 65535

// fragFreeMax is how many released sets, buffers included, are kept for reuse.
const fragFreeMax = 32

// fragKey identifies a datagram being reassembled (Zeek: src, dst, id; no protocol).
// IPv6 addresses are those of the header chain: the final destination of a routing
// header, as Zeek's IPv6_Hdr_Chain::DstAddr gives it.
type fragKey struct {
	src, dst [16]byte // IPv4 as IPv4-mapped IPv6
	id       uint32   // IPv4: 16-bit id; IPv6: 32-bit identification
	v6       bool
}

// fragSpan is a run of payload bytes [lo, hi) that a set holds. A set's spans are
// sorted and neither overlap nor touch: adjacent runs are merged.
type fragSpan struct{ lo, hi int32 }

// fragSet is one datagram being reassembled: Zeek's FragReassembler.
type fragSet struct {
	key    fragKey
	first  int64  // arrival time of the first fragment (ns); the timeout runs from it
	order  uint64 // creation order, ranking sets that arrived at the same time
	hdr    []byte // header of the first-received fragment (Zeek's proto_hdr)
	nextAt int    // IPv6: index in hdr of the next-header byte that named the fragment header
	next   uint8  // Zeek's next_proto: the offset-0 fragment's, once one has arrived
	size   int    // Zeek's frag_size: payload size of the datagram, 0 while unknown
	buf    []byte // payload bytes by offset; len is the highest end received
	spans  []fragSpan
	heapAt int // index in fragments.heap; -1 when the set is retained (see retain)
}

// bytes is what the set counts against the memory bound: its header and its payload
// buffer up to the highest byte received.
func (s *fragSet) bytes() int { return len(s.hdr) + len(s.buf) }

// fragments reassembles IP datagrams from fragments (RFC 791 §3.2, RFC 8200 §4.5),
// as Zeek's FragmentManager and FragReassembler do (src/Frag.cc). The zero value
// cannot be used: call newFragments.
//
// Sets are looked up by key in a map. A min-heap orders them by first-fragment time,
// which serves both expiry and eviction. Released sets keep their buffers on a free
// list, so steady-state reassembly does not allocate.
type fragments struct {
	timeout  int64 // ns; 0: sets never expire (Zeek's default frag_timeout)
	maxBytes int   // bound on bytes held by all sets; <= 0: none
	maxSets  int   // bound on the number of sets; <= 0: none

	sets     map[fragKey]*fragSet
	heap     []*fragSet // min-heap by (first, order) of the sets with a timeout
	retained []*fragSet // completed sets Zeek leaves in place (see retain)
	bytes    int        // sum of bytes() over all sets
	order    uint64     // next creation number

	free      []*fragSet // released sets, for reuse
	freeBytes int        // capacity of the buffers on the free list
	out       []byte     // the last rebuilt datagram
}

// newFragments returns a reassembler. Sets expire timeout ns after their first fragment
// (0: never, as with Zeek's default frag_timeout of 0). maxBytes bounds the bytes held
// by all sets: for each set, its header plus its payload up to the highest byte
// received. maxSets bounds the number of sets. A bound <= 0 means none. Released
// buffers kept for reuse take at most maxBytes more.
func newFragments(timeout int64 /*ns; 0 = never*/, maxBytes int /*bound on buffered payload bytes*/, maxSets int) *fragments {
	if timeout < 0 {
		timeout = 0
	}
	return &fragments{
		timeout:  timeout,
		maxBytes: maxBytes,
		maxSets:  maxSets,
		sets:     make(map[fragKey]*fragSet),
	}
}

// add takes one fragment captured in full at ts (ns). This is Zeek's
// FragmentManager::NextFragment with FragReassembler::AddFragment and BlockInserted
// (src/Frag.cc).
//
//   - hdr: the fragment's IP header, as Zeek keeps it for the rebuild. IPv4: the whole
//     header with options (ihl*4 bytes, at least 20). IPv6: the unfragmentable part
//     (RFC 8200 §4.5), meaning the 40-byte header plus the extension headers before
//     the fragment header, without the fragment header itself.
//   - nextAt (IPv6 only): the index in hdr of the byte that names the fragment header
//     (44). It is 6 when the fragment header follows the fixed header directly.
//   - next: the protocol that follows. IPv4: hdr[9]. IPv6: the fragment header's next
//     header.
//   - offset: the payload offset in bytes.
//   - more: the MF or M flag.
//   - payload: the fragment's payload. IPv4: total length - ihl*4 bytes. IPv6: the
//     bytes after the fragment header, up to the payload length.
//
// Only the first fragment of a set supplies the header (and nextAt). A zero-length
// payload is otherwise ignored, as in Zeek's Reassembler::NewBlock. It still creates
// the set, and it still counts towards the datagram's size and its next header. Bytes
// already held are never replaced.
//
// When the fragment completes a datagram, add returns the whole rebuilt datagram and
// true. The datagram is the kept header followed by the payload.
//   - IPv4: the total length is rewritten to header length + size, truncated to 16 bits
//     as Zeek's htons does. The checksum, flags and offset are left as they were.
//   - IPv6: the payload length is rewritten, also truncated to 16 bits. The byte at
//     nextAt becomes the offset-0 fragment's next header. As Zeek's
//     IPv6_Hdr_Chain::Init(set_next) does, any further extension header in the rebuilt
//     chain that names a fragment header is patched the same way.
//
// The set is then deleted, so a late duplicate starts a new set. There is one
// exception, which Zeek also makes. If the rebuilt datagram's header is longer than its
// 16-bit total length, IP.cc drops the datagram before the reassembler is removed. The
// set then stays without a timeout (see retain), and every further fragment with a
// payload for the key rebuilds it again.
//
// The returned slice belongs to f and is valid only until the next call to add.
// Otherwise add returns nil, false.
//
// Memory bounds apply before the fragment is stored. A new set first makes room under
// maxSets, dropping the oldest sets. A set that would hold more than maxBytes is
// dropped together with the fragment. Otherwise the oldest other sets are dropped
// until the fragment fits.
func (f *fragments) add(key fragKey, ts int64, hdr []byte, nextAt int, next uint8, offset int, more bool, payload []byte) ([]byte, bool) {
	minHdr := 20
	if key.v6 {
		minHdr = 40
	}
	if len(hdr) < minHdr || offset < 0 {
		return nil, false // not an IP header: the caller's checks let nothing like this through
	}
	s := f.sets[key]
	if s == nil {
		if f.maxBytes > 0 && len(hdr) > f.maxBytes {
			return nil, false
		}
		for f.maxSets > 0 && len(f.sets) >= f.maxSets {
			if !f.dropOldest(nil) {
				break
			}
		}
		for f.maxBytes > 0 && f.bytes+len(hdr) > f.maxBytes {
			if !f.dropOldest(nil) {
				break
			}
		}
		s = f.newSet(key, ts, hdr, nextAt, next)
	}

	// FragReassembler::AddFragment.
	upper := offset + len(payload)
	if offset == 0 {
		s.next = next // the offset-0 fragment's next header wins
	}
	if !more && s.size == 0 {
		s.size = upper // the last fragment gives the size (0 stays "unknown")
	}
	if s.size != 0 && upper > s.size {
		s.size = upper // fragment_size_inconsistency: a fragment reaches beyond it
	}
	if len(payload) == 0 {
		return nil, false // Reassembler::NewBlock ignores it: no BlockInserted
	}

	// Memory: the payload buffer grows to the highest byte received.
	ext := max(len(s.buf), upper)
	if f.maxBytes > 0 {
		if len(s.hdr)+ext > f.maxBytes {
			f.drop(s) // this datagram alone is more than the bound
			return nil, false
		}
		for f.bytes+ext-len(s.buf) > f.maxBytes {
			if !f.dropOldest(s) {
				break
			}
		}
	}
	if ext > len(s.buf) {
		f.bytes += ext - len(s.buf)
		if ext > cap(s.buf) {
			nb := make([]byte, ext, max(ext, min(2*cap(s.buf), fragMaxPayload)))
			copy(nb, s.buf)
			s.buf = nb
		} else {
			s.buf = s.buf[:ext]
		}
	}
	s.insert(offset, payload)

	// FragReassembler::BlockInserted. Without a hole the datagram is complete once its
	// end reaches frag_size, which becomes that end. With a hole after the run from 0,
	// the run alone is analysed if it reaches frag_size. Both cases come to the same
	// test: the run from 0 must reach frag_size, and it becomes the size.
	if s.spans[0].lo > 0 || s.size == 0 {
		return nil, false
	}
	end := int(s.spans[0].hi)
	if end < s.size {
		return nil, false
	}
	s.size = end
	return f.rebuild(s), true
}

// rebuild builds the completed datagram of s into f.out, as the end of Zeek's
// FragReassembler::BlockInserted does, and then removes or retains the set.
func (f *fragments) rebuild(s *fragSet) []byte {
	n := len(s.hdr) + s.size
	if cap(f.out) < n {
		f.out = make([]byte, n)
	}
	out := f.out[:n]
	copy(out, s.hdr)
	copy(out[len(s.hdr):], s.buf[:s.size])
	var bad bool
	if !s.key.v6 {
		total := uint16(n) // reassem4->ip_len = htons(frag_size + proto_hdr_len)
		binary.BigEndian.PutUint16(out[2:4], total)
		bad = len(s.hdr) > int(total)
	} else {
		plen := uint16(n - 40) // reassem6->ip6_plen = htons(frag_size + proto_hdr_len - 40)
		binary.BigEndian.PutUint16(out[4:6], plen)
		if s.nextAt >= 0 && s.nextAt < len(s.hdr) {
			out[s.nextAt] = s.next
		}
		bad = int(fragIPv6Chain(out, s.next)) > int(plen)+40
	}
	if bad {
		f.retain(s)
	} else {
		f.drop(s)
	}
	return out
}

// fragIPv6Chain walks the header chain of a rebuilt IPv6 datagram as Zeek's
// IPv6_Hdr_Chain::Init(ip6, len, set_next=true, next) does (src/IP.cc). Every
// next-header field that names a fragment header (44) is set to next, in place, and
// the chain's length (Zeek's HdrLen, a uint16) is returned. The walk starts at the fixed
// header. It follows hop-by-hop, routing, destination options, fragment, AH, ESP and
// mobility headers, and stops after a fragment, ESP or mobility header. It also stops
// at a header that does not fit in b; that header's length is not counted.
func fragIPv6Chain(b []byte, next uint8) uint16 {
	var length uint16
	pos, rest := 0, len(b)
	nextType := uint8(41) // IPPROTO_IPV6
	for {
		if rest < 2 {
			return length
		}
		cur := nextType
		at, hl := -1, 0 // index of the header's next-header byte, and its length
		switch cur {
		case 41:
			at, hl = pos+6, 40
		case 0, 43, 60, 135: // hop-by-hop, routing, destination options, mobility
			at, hl = pos, 8+8*int(b[pos+1])
		case 44:
			at, hl = pos, 8
		case 51: // AH
			at, hl = pos, 8+4*int(b[pos+1])
		case 50: // ESP: 8 bytes, next header unknown (IPPROTO_NONE)
			hl = 8
		}
		nextType = 59
		if at >= 0 && at < len(b) {
			nextType = b[at]
		}
		if hl > rest {
			return length // truncated: not part of the chain
		}
		if nextType == 44 && at >= 0 {
			b[at] = next
			nextType = next
		}
		pos += hl
		rest -= hl
		length += uint16(hl)
		if cur == 44 || cur == 50 || cur == 135 || !fragIsIPv6Ext(nextType) {
			return length
		}
	}
}

// fragIsIPv6Ext reports whether Zeek's isIPv6ExtHeader (src/IP.cc) treats protocol p as
// an extension header: hop-by-hop, routing, destination options, fragment, AH, ESP or
// mobility.
func fragIsIPv6Ext(p uint8) bool {
	switch p {
	case 0, 43, 60, 44, 51, 50, 135:
		return true
	}
	return false
}

// insert stores data at payload offset lo, keeping bytes already held. This is
// Zeek's DataBlockList::Insert (src/Reassem.cc): only the parts of the new block that
// fall into holes are copied. The buffer must already reach lo+len(data).
func (s *fragSet) insert(lo int, data []byte) {
	hi := lo + len(data)
	sp := s.spans
	// i: the first span that ends at or after lo, so it touches or follows the block.
	i, j := 0, len(sp)
	for i < j {
		m := int(uint(i+j) >> 1)
		if int(sp[m].hi) < lo {
			i = m + 1
		} else {
			j = m
		}
	}
	// Spans i..j-1 touch or overlap [lo, hi). Fill the holes between them.
	pos := lo
	for j = i; j < len(sp) && int(sp[j].lo) <= hi; j++ {
		if l := int(sp[j].lo); l > pos {
			copy(s.buf[pos:l], data[pos-lo:])
		}
		if h := int(sp[j].hi); h > pos {
			pos = h
		}
	}
	if pos < hi {
		copy(s.buf[pos:hi], data[pos-lo:])
	}
	// Replace spans i..j-1 with their union with [lo, hi).
	nlo, nhi := lo, hi
	if i < j {
		nlo, nhi = min(lo, int(sp[i].lo)), max(hi, int(sp[j-1].hi))
	}
	if i == j {
		sp = append(sp, fragSpan{})
		copy(sp[i+1:], sp[i:])
	} else {
		sp = append(sp[:i+1], sp[j:]...)
	}
	sp[i] = fragSpan{int32(nlo), int32(nhi)}
	s.spans = sp
}

// newSet starts a set with the first-received fragment's header, as Zeek's
// FragReassembler constructor does (src/Frag.cc), reusing a released set if there is
// one. Its timeout runs from ts.
func (f *fragments) newSet(key fragKey, ts int64, hdr []byte, nextAt int, next uint8) *fragSet {
	var s *fragSet
	if n := len(f.free); n > 0 {
		s = f.free[n-1]
		f.free[n-1] = nil
		f.free = f.free[:n-1]
		f.freeBytes -= cap(s.hdr) + cap(s.buf)
	} else {
		s = new(fragSet)
	}
	s.key, s.first, s.order = key, ts, f.order
	f.order++
	s.hdr = append(s.hdr[:0], hdr...)
	s.nextAt, s.next, s.size = nextAt, next, 0
	s.buf, s.spans = s.buf[:0], s.spans[:0]
	f.sets[key] = s
	f.bytes += len(s.hdr)
	f.heapPush(s)
	return s
}

// retain keeps a completed set without a timeout. Zeek does this when IP.cc rejects
// the rebuilt datagram as invalid_IP_header_size (the header is longer than the
// 16-bit total length). It returns before creating the FragReassemblerTracker that
// would remove the reassembler, and BlockInserted has already deleted its timer. The
// set stays in the map until memory bounds drop it.
func (f *fragments) retain(s *fragSet) {
	if s.heapAt < 0 {
		return
	}
	f.heapRemove(s.heapAt)
	f.retained = append(f.retained, s)
}

// drop removes set s (completed, expired or evicted) and releases it for reuse.
func (f *fragments) drop(s *fragSet) {
	delete(f.sets, s.key)
	if s.heapAt >= 0 {
		f.heapRemove(s.heapAt)
	} else {
		for i, r := range f.retained {
			if r == s {
				n := len(f.retained) - 1
				f.retained[i] = f.retained[n]
				f.retained[n] = nil
				f.retained = f.retained[:n]
				break
			}
		}
	}
	f.bytes -= s.bytes()
	if len(f.free) >= fragFreeMax {
		return
	}
	c := cap(s.hdr) + cap(s.buf)
	if f.maxBytes > 0 && f.freeBytes+c > f.maxBytes {
		return
	}
	s.hdr, s.buf, s.spans = s.hdr[:0], s.buf[:0], s.spans[:0]
	f.free = append(f.free, s)
	f.freeBytes += c
}

// dropOldest drops the set whose first fragment arrived earliest, other than keep.
// It reports whether there was one.
func (f *fragments) dropOldest(keep *fragSet) bool {
	var v *fragSet
	if len(f.heap) > 0 {
		if f.heap[0] != keep {
			v = f.heap[0]
		} else {
			// keep is the root; the next oldest is one of its children.
			for _, i := range [2]int{1, 2} {
				if i < len(f.heap) && (v == nil || fragOlder(f.heap[i], v)) {
					v = f.heap[i]
				}
			}
		}
	}
	for _, r := range f.retained {
		if r != keep && (v == nil || fragOlder(r, v)) {
			v = r
		}
	}
	if v == nil {
		return false
	}
	f.drop(v)
	return true
}

// due reports whether expire has sets to drop at now.
func (f *fragments) due(now int64) bool {
	return len(f.heap) > 0 && f.timeout != 0 && f.heap[0].first <= now-f.timeout
}

// expire drops sets whose first fragment arrived at or before now - timeout (Zeek's
// FragTimer fires when timer time <= network time, before the packet is processed).
// This is FragReassembler::Expire (src/Frag.cc): no event and no weird. Sets that
// arrived out of time order expire by their own time. Only the sets that are due are
// touched, so a call with nothing due is O(1).
func (f *fragments) expire(now int64) {
	if f.timeout == 0 || now < math.MinInt64+f.timeout {
		return
	}
	limit := now - f.timeout
	for len(f.heap) > 0 && f.heap[0].first <= limit {
		f.drop(f.heap[0])
	}
}

// pending returns the number of datagrams being reassembled and their buffered payload
// bytes. The byte count includes each set's header copy, the same measure that
// maxBytes bounds.
func (f *fragments) pending() (sets, bytes int) {
	return len(f.sets), f.bytes
}

// fragOlder orders sets by first-fragment time, then creation order.
func fragOlder(a, b *fragSet) bool {
	return a.first < b.first || a.first == b.first && a.order < b.order
}

// heapPush adds s to the expiry heap.
func (f *fragments) heapPush(s *fragSet) {
	s.heapAt = len(f.heap)
	f.heap = append(f.heap, s)
	f.heapUp(s.heapAt)
}

// heapRemove removes the set at index i of the expiry heap and marks it as not in it.
func (f *fragments) heapRemove(i int) {
	h := f.heap
	n := len(h) - 1
	s := h[i]
	if i != n {
		h[i] = h[n]
		h[i].heapAt = i
	}
	h[n] = nil
	f.heap = h[:n]
	if i < n {
		f.heapDown(i)
		f.heapUp(i)
	}
	s.heapAt = -1
}

// heapUp moves the set at index i towards the root until its parent is older.
func (f *fragments) heapUp(i int) {
	h := f.heap
	for i > 0 {
		p := (i - 1) / 2
		if !fragOlder(h[i], h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		h[i].heapAt, h[p].heapAt = i, p
		i = p
	}
}

// heapDown moves the set at index i towards the leaves until its children are younger.
func (f *fragments) heapDown(i int) {
	h := f.heap
	n := len(h)
	for {
		m := 2*i + 1
		if m >= n {
			return
		}
		if r := m + 1; r < n && fragOlder(h[r], h[m]) {
			m = r
		}
		if !fragOlder(h[m], h[i]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		h[i].heapAt, h[m].heapAt = i, m
		i = m
	}
}
