package analyzer

import (
	"bytes"
	"math/bits"
	"slices"
)

// The DPD window (dpd_buffer_size, dpd_max_packets): chunk i is matched while the
// chunks before it total at most dpdBufferSize bytes and number at most
// dpdMaxChunks (service-detection.md §2.5).
const (
	dpdBufferSize = 1024
	dpdMaxChunks  = 100
)

// maxRules is how many DPD rules the PIA's bit sets hold.
const maxRules = 128

// ruleSet is a set of rules, by index.
type ruleSet [maxRules / 64]uint64

func (s *ruleSet) has(k int) bool { return s[k>>6]&(1<<(k&63)) != 0 }
func (s *ruleSet) set(k int)      { s[k>>6] |= 1 << (k & 63) }
func (s *ruleSet) unset(k int)    { s[k>>6] &^= 1 << (k & 63) }

// andNot returns s without the rules of t.
func (s ruleSet) andNot(t *ruleSet) ruleSet {
	for i := range s {
		s[i] &^= t[i]
	}
	return s
}

// and returns the rules of both s and t.
func (s ruleSet) and(t *ruleSet) ruleSet {
	for i := range s {
		s[i] &= t[i]
	}
	return s
}

// or returns the rules of s or t.
func (s ruleSet) or(t *ruleSet) ruleSet {
	for i := range s {
		s[i] |= t[i]
	}
	return s
}

// empty reports whether s has no rule.
func (s *ruleSet) empty() bool { return *s == ruleSet{} }

// next returns the lowest rule of s at or after k, or -1.
func (s *ruleSet) next(k int) int {
	for w := k >> 6; w < len(s); w++ {
		x := s[w]
		if w == k>>6 {
			x &= ^uint64(0) << (k & 63)
		}
		if x != 0 {
			return w<<6 + bits.TrailingZeros64(x)
		}
	}
	return -1
}

// chunk is a buffered delivery: data of one direction (at start:end of that
// direction's pia.data), or a gap.
type chunk struct {
	isOrig     bool
	start, end int
	gap        uint64 // a gap of this many bytes, when non-zero
}

// maxPending is how many line starts a line rule may be waiting on at once in one
// direction before it falls back to matching the whole stream.
const maxPending = 4

// lineState is a line rule's progress on a TCP connection: by direction, the line
// starts whose pattern may still match as data comes; full says there were too
// many, and Match runs instead.
type lineState struct {
	npend [2]uint8
	full  [2]bool
	pend  [2][maxPending]uint32
}

// ruleTables are an Inspector's rules as the PIA uses them: which apply to a
// transport and direction, and which a first byte rules out.
type ruleTables struct {
	init  [2][2]ruleSet // by transport (0 TCP, 1 UDP) and direction: the rules that apply
	first [256]ruleSet  // the rules whose pattern may start with the byte
	lines ruleSet       // the rules with AtLine
	needy ruleSet       // the rules that need another
	free  ruleSet       // the rules that need none
	// lineFirst is the bytes some line rule may start with at a line start.
	lineFirst class
}

// hotRule is what the PIA's matching loop reads of a rule, by index, packed
// together (a Rule spans several cache lines, and a busy capture keeps them cold).
type hotRule struct {
	match   func([]byte) Result
	resume  func([]byte, int) Result
	needs   int16 // -1 for none
	line    uint8 // for a line rule, its index among them
	atLine  bool
	minSize int32
	maxSize int32
}

// buildTables fills in.tables from in.rules.
func (in *Inspector) buildTables() {
	t := &in.tables
	if numLineRules > 32 {
		panic("analyzer: more than 32 line rules")
	}
	in.hot = make([]hotRule, len(in.rules))
	for k, r := range in.rules {
		if r == nil {
			continue
		}
		if k >= maxRules {
			panic("analyzer: more than 128 DPD rules")
		}
		for tp, proto := range []Transport{TCP, UDP} {
			if r.Transport != 0 && r.Transport != proto || proto == UDP && r.Dir != Any {
				continue
			}
			if r.Dir != Resp {
				t.init[tp][0].set(k)
			}
			if r.Dir != Orig {
				t.init[tp][1].set(k)
			}
		}
		for b := range 256 {
			if r.first.has(byte(b)) {
				t.first[b].set(k)
			}
		}
		if r.AtLine != nil {
			t.lines.set(k)
			t.lineFirst = union(t.lineFirst, r.lineFirst)
		}
		in.hot[k] = hotRule{match: r.Match, resume: r.Resume, needs: int16(r.needs), line: uint8(r.line),
			atLine: r.AtLine != nil, minSize: int32(r.MinSize), maxSize: int32(r.MaxSize)}
		if r.needs >= 0 {
			t.needy.set(k)
		} else {
			t.free.set(k)
		}
	}
}

// pia is Zeek's protocol identification analyzer: it buffers the first chunks of
// the connection, both directions in one buffer, matches the DPD signatures against
// each direction's data, and attaches the analyzer a firing rule enables, replaying
// the buffer into it.
//
// Rule progress is kept in bit sets: a rule is live in a direction while its
// pattern may still match data of that direction; it is dead there once it failed
// (TCP), matched there when its pattern matched but the rule it needs has not
// fired in the other direction yet. The window closes early once no rule can
// fire any more (exhausted).
type pia struct {
	tcp       bool
	live      [2]ruleSet
	dead      [2]ruleSet
	matched   [2]ruleSet
	fired     ruleSet
	firedOrig ruleSet // the rules that fired on the originator's data
	// waiting holds, by direction, the TCP rules that need another and are not
	// matched on the direction's data until that one fires in the other direction
	// (then on everything buffered, and on each chunk from then on): until then
	// their pattern's answer would change nothing.
	waiting [2]ruleSet
	chunks  []chunk
	data    [2][]byte   // each direction's buffered data: its stream so far (TCP), its datagrams (UDP)
	lines   []lineState // by Rule.line
	// lineBusy has, by direction, a bit per line rule (by Rule.line) that has line
	// starts waiting for data, or matches the whole stream (lineState.full).
	lineBusy [2]uint32
	starts   []uint32 // scratch: the line starts the current chunk adds
	// During the chunk that closes the window (last): its direction, its data,
	// and its direction's whole stream, which the buffer does not hold.
	last       bool
	lastDir    uint8
	lastData   []byte
	lastStream []byte
	embedded   bool // p is a Session's own (Session.rootPIA), not on the free list
}

// newPIA returns a PIA for a tunnel, from the Inspector's free list when it can
// (a connection's own PIA is part of its Session).
func (in *Inspector) newPIA(proto Transport) *pia {
	p := takeOr(&in.piaFree, func() *pia { return new(pia) })
	in.initPIA(p, proto)
	return p
}

// initPIA makes p, new or released, the PIA of a new connection of proto.
func (in *Inspector) initPIA(p *pia, proto Transport) {
	p.tcp = proto == TCP
	if p.tcp && p.lines == nil {
		p.lines = make([]lineState, numLineRules) // line rules run on TCP only
	}
	p.live = in.tables.init[p.transportIndex()]
	if p.tcp {
		p.waiting = [2]ruleSet{in.tables.needy, in.tables.needy}
	}
}

// releasePIA keeps p's buffers for the next connection.
func (in *Inspector) releasePIA(p *pia) {
	busy, embedded := p.lineBusy, p.embedded
	*p = pia{
		embedded: embedded,
		chunks:   p.chunks[:0],
		data:     [2][]byte{p.data[0][:0], p.data[1][:0]},
		lines:    p.lines,
		starts:   p.starts[:0],
	}
	for d := range p.data {
		if cap(p.data[d]) > 4*dpdBufferSize {
			p.data[d] = nil // a large chunk: do not keep it for every connection
		}
	}
	if busy != [2]uint32{} {
		// Only a line rule with positions waiting, or matching the whole stream,
		// leaves state that matters (lineBusy): the others need no clearing.
		clear(p.lines)
	}
	if !embedded {
		in.piaFree = append(in.piaFree, p)
	}
}

// died marks rule k dead in direction d: its pattern can no longer match there.
func (p *pia) died(k int, d uint8) {
	p.dead[d].set(k)
	p.live[d].unset(k)
}

// exhausted reports whether no rule can fire any more: no rule that needs none
// may still match, and no rule that needs one may still fire.
func (p *pia) exhausted(in *Inspector) bool {
	t := &in.tables
	if free := p.live[0].or(&p.live[1]).and(&t.free); !free.empty() {
		return false
	}
	tp := p.transportIndex()
	for d := uint8(0); d < 2; d++ {
		c := t.init[tp][d].and(&t.needy).andNot(&p.fired)
		for k := c.next(0); k >= 0; k = c.next(k + 1) {
			if p.mayFireIn(in, k, d) {
				return false
			}
		}
	}
	return true
}

// mayFireIn reports whether rule k may still fire on data of direction d: it has
// not fired, its pattern matched or may still match there, and the rule it needs
// fired, or may still fire, in the other.
func (p *pia) mayFireIn(in *Inspector, k int, d uint8) bool {
	if p.dead[d].has(k) && !p.matched[d].has(k) || p.fired.has(k) {
		return false
	}
	n := in.rules[k].needs
	if n < 0 {
		return true
	}
	if p.fired.has(n) {
		return p.firedOrig.has(n) != (d == 0)
	}
	return in.rules[n] != nil && in.tables.init[p.transportIndex()][d^1].has(n) && p.mayFireIn(in, n, d^1)
}

// transportIndex is p's transport as ruleTables.init indexes it: 0 TCP, 1 UDP.
func (p *pia) transportIndex() int {
	if p.tcp {
		return 0
	}
	return 1
}

func dirIndex(isOrig bool) uint8 {
	if isOrig {
		return 0
	}
	return 1
}

// chunk buffers and matches one delivery of n's connection (data, or a gap of
// gapLen bytes), then closes the window when it is full.
func (p *pia) chunk(n *node, isOrig bool, data []byte, gapLen uint64) {
	d := dirIndex(isOrig)
	start := len(p.data[d])
	p.chunks = append(p.chunks, chunk{isOrig: isOrig, start: start, end: start + len(data), gap: gapLen})
	closing := len(p.data[0])+len(p.data[1])+len(data) > dpdBufferSize || len(p.chunks) > dpdMaxChunks
	switch {
	case len(data) == 0:
	case !closing:
		// The window stays open: the chunk is buffered (at most dpdBufferSize
		// bytes in all), for the chunks to come and for replays.
		if need := start + len(data); need > cap(p.data[d]) {
			p.data[d] = slices.Grow(p.data[d], max(need, dpdBufferSize)-start)
		}
		p.data[d] = append(p.data[d], data...)
		in := p.data[d][start:]
		if p.tcp {
			in = p.data[d] // a TCP direction is one stream
		}
		p.match(n, isOrig, in, start)
	default:
		// The window closes after this chunk, so it is not kept: it is matched
		// where it lies, or, after earlier data of its TCP direction, on a
		// scratch copy of the stream.
		stream := data
		var buf []byte
		if p.tcp && start > 0 {
			buf = n.s.in.takeScratch()
			buf = append(append(buf, p.data[d]...), data...)
			stream = buf
		}
		p.last, p.lastDir, p.lastData, p.lastStream = true, d, data, stream
		p.match(n, isOrig, stream, start)
		if buf != nil {
			n.s.in.putScratch(buf)
		}
	}
	// n.pia is nil when the match closed the window already.
	if n.pia == p && (closing || p.exhausted(n.s.in)) {
		n.release()
	}
}

// stream returns the data of direction d so far: buffered, or, during the chunk
// that closes the window, where that chunk's match reads it.
func (p *pia) stream(d uint8) []byte {
	if p.last && p.lastDir == d {
		return p.lastStream
	}
	return p.data[d]
}

// takeScratch lends the Inspector's scratch buffer (empty); putScratch gives it
// back. A PIA inside a tunnel, fed while the outer one borrows it, gets a new one.
func (in *Inspector) takeScratch() []byte {
	b := in.scratch[:0]
	in.scratch = nil
	return b
}

func (in *Inspector) putScratch(b []byte) {
	if cap(b) <= maxScratch && cap(b) > cap(in.scratch) {
		in.scratch = b[:0]
	}
}

// maxScratch bounds the scratch buffer an Inspector keeps.
const maxScratch = 128 << 10

// match runs the rules still live in a direction on its data; old is how much of
// it the earlier chunks held (TCP).
func (p *pia) match(n *node, isOrig bool, data []byte, old int) {
	in := n.s.in
	rules := in.rules
	d := dirIndex(isOrig)
	first := &in.tables.first[data[0]]
	if p.tcp && old == 0 {
		// A direction's first byte settles every anchored rule that cannot
		// start with it (line rules are tried at each line start instead).
		kill := p.live[d].andNot(first).andNot(&in.tables.lines)
		p.dead[d] = p.dead[d].or(&kill)
		p.live[d] = p.live[d].andNot(&kill)
	}
	cand := p.live[d]
	if p.tcp {
		cand = cand.andNot(&p.waiting[d]) // matched once what they need fires
	} else {
		cand = cand.and(first) // a datagram's first byte rules out the rest for it
	}
	p.starts = p.starts[:0]
	startsDone := false
	for k := cand.next(0); k >= 0; k = cand.next(k + 1) {
		if !p.live[d].has(k) {
			continue // settled by an earlier rule's firing
		}
		h := &in.hot[k]
		if h.needs >= 0 {
			if !p.tcp {
				if !(p.fired.has(int(h.needs)) && p.firedOrig.has(int(h.needs)) != isOrig) {
					continue // a UDP match is forgotten with its datagram
				}
			} else if !p.mayFireIn(in, k, d) {
				p.died(k, d) // what it needs will never fire in the other direction
				continue
			}
		}
		if !p.tcp && (h.minSize > 0 && len(data) < int(h.minSize) || h.maxSize > 0 && len(data) > int(h.maxSize)) {
			continue
		}
		var res Result
		switch bit := uint32(1) << h.line; {
		case h.atLine && p.tcp && (p.lineBusy[d]&bit == 0 || !p.lines[h.line].full[d]):
			if !startsDone {
				p.starts = lineStarts(p.starts, data, old)
				p.starts = filterStarts(p.starts, data, &in.tables.lineFirst)
				startsDone = true
			}
			if len(p.starts) == 0 && p.lineBusy[d]&bit == 0 {
				res = More // no line start to try, none waiting
				break
			}
			st := &p.lines[h.line]
			res = p.matchLines(st, d, rules[k], data)
			if st.npend[d] > 0 || st.full[d] {
				p.lineBusy[d] |= bit
			} else {
				p.lineBusy[d] &^= bit
			}
		case first.has(k):
			if h.resume != nil && p.tcp && old > 0 {
				res = h.resume(data, old) // r said More on data[:old]
			} else {
				res = h.match(data)
			}
		default:
			res = Fail
		}
		switch res {
		case Fail:
			if p.tcp {
				p.died(k, d)
			}
		case Match:
			if h.needs >= 0 && !(p.fired.has(int(h.needs)) && p.firedOrig.has(int(h.needs)) != isOrig) {
				if p.tcp {
					p.matched[d].set(k)
					p.live[d].unset(k)
				}
				continue
			}
			p.fire(n, k, d)
			if n.pia != p {
				return // the window closed: p is released
			}
		}
	}
}

// lineStarts appends to starts the line starts of data that its last chunk, after
// old bytes, added: the stream's start, and the offset after each CR or LF.
func lineStarts(starts []uint32, data []byte, old int) []uint32 {
	if old == 0 {
		starts = append(starts, 0)
	}
	// The next LF and CR are each searched for again only once passed, so the
	// scan is linear even when one of them never comes.
	next := func(c byte, from int) int {
		if i := bytes.IndexByte(data[from:], c); i >= 0 {
			return from + i
		}
		return len(data)
	}
	lf, cr := next('\n', old), next('\r', old)
	for {
		i := min(lf, cr)
		if i == len(data) {
			return starts
		}
		starts = append(starts, uint32(i+1))
		if i == lf {
			lf = next('\n', i+1)
		} else {
			cr = next('\r', i+1)
		}
	}
}

// filterStarts drops the line starts whose byte no line rule can start with (a
// start at the end of data stays: the next chunk brings its byte).
func filterStarts(starts []uint32, data []byte, c *class) []uint32 {
	kept := starts[:0]
	for _, pos := range starts {
		if int(pos) == len(data) || c.has(data[pos]) {
			kept = append(kept, pos)
		}
	}
	return kept
}

// matchLines runs a line rule (`(|.*[\r\n])P`) incrementally: P at the line starts
// that may still match, then at the new ones. Positions where P failed are never
// tried again, so each byte is looked at about once however the stream is cut.
func (p *pia) matchLines(st *lineState, d uint8, r *Rule, data []byte) Result {
	kept := 0
	try := func(pos uint32) bool {
		if int(pos) < len(data) && !r.lineFirst.has(data[pos]) {
			return false // settled by its first byte
		}
		switch r.AtLine(data[pos:]) {
		case Match:
			return true
		case More:
			if kept < maxPending {
				st.pend[d][kept] = pos
			}
			kept++
		}
		return false
	}
	for _, pos := range st.pend[d][:st.npend[d]] {
		if try(pos) {
			return Match
		}
	}
	for _, pos := range p.starts {
		if try(pos) {
			return Match
		}
	}
	if kept > maxPending {
		// Too many places to wait on: match the whole stream from now on.
		st.full[d] = true
		return r.Match(data)
	}
	st.npend[d] = uint8(kept)
	return More // a later line may still match
}

// fireHook, when set (by tests), is told of every rule that fires: where (the
// connection's node or a tunnel's), by index, and the direction whose data fired it.
var fireHook func(n *node, rule int, isOrig bool)

// fire fires rule k, matched in direction d, and then every rule that was waiting
// for it in the other direction.
func (p *pia) fire(n *node, k int, d uint8) {
	if p.fired.has(k) {
		return
	}
	p.fired.set(k)
	if d == 0 {
		p.firedOrig.set(k)
	}
	if fireHook != nil {
		fireHook(n, k, d == 0)
	}
	for e := range p.live {
		p.live[e].unset(k)
		p.matched[e].unset(k)
	}
	rules := n.s.in.rules
	if a := rules[k].enables; a != nil {
		p.enable(n, a, rules[k])
		if n.pia != p {
			return
		}
	}
	for _, q := range allRules[k].neededBy {
		if rules[q] == nil || p.fired.has(q) {
			continue
		}
		if p.waiting[d^1].has(q) {
			p.waiting[d^1].unset(q)
			if !p.catchUp(n, q, d^1) {
				continue
			}
		}
		if p.matched[d^1].has(q) {
			p.fire(n, q, d^1)
			if n.pia != p {
				return
			}
		}
	}
}

// catchUp matches rule q, which was waiting, on the data direction d buffered so
// far, now that what it needs fired in the other direction; it reports whether q
// matched.
func (p *pia) catchUp(n *node, q int, d uint8) bool {
	data := p.stream(d)
	if !p.live[d].has(q) || len(data) == 0 {
		return false // settled already, or nothing to match yet
	}
	r := n.s.in.rules[q]
	switch r.Match(data) {
	case Match:
		p.matched[d].set(q)
		p.live[d].unset(q)
		return true
	case Fail:
		p.died(q, d)
	default:
		if r.AtLine != nil {
			p.lines[r.line].full[d] = true // its line starts so far were not kept
			p.lineBusy[d] |= 1 << r.line
		}
	}
	return false
}

// enable attaches a to n unless a live instance is there, and replays the buffered
// chunks into it.
func (p *pia) enable(n *node, a *Analyzer, rule *Rule) {
	in := n.s.in
	if !in.enabled[a.id] || a.New == nil || n.live(a) {
		return
	}
	want := UDP
	if p.tcp {
		want = TCP
	}
	if !a.parses(want) {
		return
	}
	how := Outcome{Via: ViaSignature, Rule: rule.Name}
	if n.owner != nil {
		how.Parent = n.owner.a.id
	}
	i := n.attachVia(a, how)
	for k, c := range p.chunks {
		switch {
		case c.gap > 0:
			i.gap(c.isOrig, c.gap)
		case p.last && k == len(p.chunks)-1:
			i.data(c.isOrig, p.lastData) // the chunk closing the window, not kept
		case c.end > c.start:
			i.data(c.isOrig, p.data[dirIndex(c.isOrig)][c.start:c.end])
		}
	}
}
