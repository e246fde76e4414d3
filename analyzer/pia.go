package analyzer

import "bytes"

// The DPD window (dpd_buffer_size, dpd_max_packets): chunk i is matched while the
// chunks before it total at most dpdBufferSize bytes and number at most
// dpdMaxChunks (service-detection.md §2.5).
const (
	dpdBufferSize = 1024
	dpdMaxChunks  = 100
)

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

// ruleState is one rule's progress on a connection; small, as a connection holds
// one for every rule.
type ruleState struct {
	fired    bool
	firedDir uint8
	matched  [2]bool // the pattern matched in that direction, waiting for Needs
	dead     [2]bool // TCP: the pattern can no longer match in that direction
	out      bool    // the rule can no longer fire (counted out of pia.left)
}

// lineState is a line rule's progress on a TCP connection: by direction, the line
// starts whose pattern may still match as data comes; full says there were too
// many, and Match runs instead.
type lineState struct {
	npend [2]uint8
	full  [2]bool
	pend  [2][maxPending]uint32
}

// pia is Zeek's protocol identification analyzer: it buffers the first chunks of
// the connection, both directions in one buffer, matches the DPD signatures against
// each direction's data, and attaches the analyzer a firing rule enables, replaying
// the buffer into it.
type pia struct {
	tcp    bool
	live   [2][]uint8 // per direction, the rules that may still match there, in order
	chunks []chunk
	data   [2][]byte // each direction's buffered data: its stream so far (TCP), its datagrams (UDP)
	rules  []ruleState
	lines  []lineState // by Rule.line
	left   int         // rules that can still fire
	starts []uint32    // scratch: the line starts the current chunk adds
}

func (in *Inspector) newPIA(proto Transport) *pia {
	var p *pia
	if n := len(in.piaFree); n > 0 {
		p = in.piaFree[n-1]
		in.piaFree = in.piaFree[:n-1]
	} else {
		p = &pia{rules: make([]ruleState, len(in.rules)), lines: make([]lineState, numLineRules)}
	}
	p.tcp = proto == TCP
	p.left = 0
	for d := range p.live {
		p.live[d] = p.live[d][:0]
	}
	for k, r := range in.rules {
		if r != nil && (r.Transport == 0 || r.Transport == proto) && !(proto == UDP && r.Dir != Any) {
			p.left++
			if r.Dir != Resp {
				p.live[0] = append(p.live[0], uint8(k))
			}
			if r.Dir != Orig {
				p.live[1] = append(p.live[1], uint8(k))
			}
		}
	}
	return p
}

// releasePIA keeps p's buffers for the next connection.
func (in *Inspector) releasePIA(p *pia) {
	*p = pia{
		live:   p.live,
		chunks: p.chunks[:0],
		data:   [2][]byte{p.data[0][:0], p.data[1][:0]},
		rules:  p.rules,
		lines:  p.lines,
		starts: p.starts[:0],
	}
	clear(p.lines)
	for d := range p.data {
		if cap(p.data[d]) > 4*dpdBufferSize {
			p.data[d] = nil // a large chunk: do not keep it for every connection
		}
	}
	clear(p.rules)
	in.piaFree = append(in.piaFree, p)
}

// died marks rule k dead in direction d (its pattern can no longer match there),
// and counts out the rules that can no longer fire at all because of it.
func (p *pia) died(rules []*Rule, k int, d uint8) {
	st := &p.rules[k]
	if st.dead[d] {
		return
	}
	st.dead[d] = true
	p.check(rules, k)
}

// check counts rule k out when it can no longer fire, and then the rules that
// need it.
func (p *pia) check(rules []*Rule, k int) {
	st := &p.rules[k]
	if st.out || st.fired || p.canFire(rules, k) {
		return
	}
	st.out = true
	p.left--
	for _, q := range allRules[k].neededBy {
		if rules[q] != nil {
			p.check(rules, q)
		}
	}
}

// canFire reports whether rule k may still fire: in some direction its pattern
// matched or may still match, and the rule it needs has fired, or may still fire,
// in the other.
func (p *pia) canFire(rules []*Rule, k int) bool {
	r := rules[k]
	for d := uint8(0); d < 2; d++ {
		if r.Dir == Orig && d == 1 || r.Dir == Resp && d == 0 {
			continue
		}
		if p.mayFireIn(rules, k, d) {
			return true
		}
	}
	return false
}

// mayFireIn reports whether rule k may still fire on data of direction d.
func (p *pia) mayFireIn(rules []*Rule, k int, d uint8) bool {
	st := &p.rules[k]
	if st.dead[d] && !st.matched[d] {
		return false
	}
	n := rules[k].needs
	if n < 0 {
		return true
	}
	need := &p.rules[n]
	if need.fired {
		return need.firedDir != d
	}
	return !need.out && p.mayFireIn(rules, n, d^1)
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
	p.data[d] = append(p.data[d], data...)
	p.chunks = append(p.chunks, chunk{isOrig: isOrig, start: start, end: len(p.data[d]), gap: gapLen})
	if len(data) > 0 {
		in := p.data[d][start:]
		if p.tcp {
			in = p.data[d] // a TCP direction is one stream
		}
		p.match(n, isOrig, in, start)
	}
	// n.pia is nil when the match closed the window already.
	if n.pia == p && (len(p.data[0])+len(p.data[1]) > dpdBufferSize || len(p.chunks) > dpdMaxChunks || p.left == 0) {
		n.release()
	}
}

// match runs the rules not yet fired on a direction's data; old is how much of it
// the earlier chunks held (TCP).
func (p *pia) match(n *node, isOrig bool, data []byte, old int) {
	rules := n.s.in.rules
	d := dirIndex(isOrig)
	p.starts = p.starts[:0]
	startsDone := false
	live := p.live[d]
	kept := live[:0] // the list is compacted as it is walked: done rules leave it
	for _, kk := range live {
		k := int(kk)
		r := rules[k]
		st := &p.rules[k]
		if st.fired || st.matched[d] || st.dead[d] || st.out {
			continue
		}
		if r.needs >= 0 && p.tcp && !p.mayFireIn(rules, k, d) {
			continue // what it needs will never fire in the other direction
		}
		kept = append(kept, kk)
		if r.Transport != 0 && (r.Transport == TCP) != p.tcp {
			continue
		}
		switch r.Dir {
		case Orig:
			if !p.tcp || !isOrig {
				continue
			}
		case Resp:
			if !p.tcp || isOrig {
				continue
			}
		}
		if !p.tcp && (r.MinSize > 0 && len(data) < r.MinSize || r.MaxSize > 0 && len(data) > r.MaxSize) {
			continue
		}
		var res Result
		if r.AtLine != nil && p.tcp && !p.lines[r.line].full[d] {
			if !startsDone {
				p.starts = lineStarts(p.starts, data, old)
				startsDone = true
			}
			res = p.matchLines(&p.lines[r.line], d, r, data)
		} else if r.first.has(data[0]) {
			res = r.Match(data)
		} else {
			res = Fail
		}
		switch res {
		case Fail:
			if p.tcp {
				p.died(rules, k, d)
			}
		case Match:
			if r.needs >= 0 {
				if need := &p.rules[r.needs]; !need.fired || need.firedDir == d {
					if p.tcp {
						st.matched[d] = true
					}
					continue
				}
			}
			p.fire(n, k, d)
			if n.pia != p {
				return // the window closed: p is released
			}
		}
	}
	p.live[d] = kept
}

// lineStarts appends to starts the line starts of data that its last chunk, after
// old bytes, added: the stream's start, and the offset after each CR or LF.
func lineStarts(starts []uint32, data []byte, old int) []uint32 {
	if old == 0 {
		starts = append(starts, 0)
	}
	rest := data[old:]
	base := old
	for len(rest) > 0 {
		i := bytes.IndexByte(rest, '\n')
		j := bytes.IndexByte(rest, '\r')
		if i < 0 || j >= 0 && j < i {
			i = j
		}
		if i < 0 {
			break
		}
		starts = append(starts, uint32(base+i+1))
		rest = rest[i+1:]
		base += i + 1
	}
	return starts
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

// fire fires rule k, matched in direction d, and then every rule that was waiting
// for it in the other direction.
func (p *pia) fire(n *node, k int, d uint8) {
	st := &p.rules[k]
	if st.fired {
		return
	}
	st.fired, st.firedDir = true, d
	p.left--
	rules := n.s.in.rules
	if a := rules[k].enables; a != nil {
		p.enable(n, a, rules[k])
	}
	for _, q := range allRules[k].neededBy {
		if rules[q] != nil && p.rules[q].matched[d^1] && !p.rules[q].fired {
			p.fire(n, q, d^1)
		}
	}
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
	for _, c := range p.chunks {
		if c.gap > 0 {
			i.gap(c.isOrig, c.gap)
		} else if c.end > c.start {
			i.data(c.isOrig, p.data[dirIndex(c.isOrig)][c.start:c.end])
		}
	}
}
