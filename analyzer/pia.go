package analyzer

// The DPD window (dpd_buffer_size, dpd_max_packets): chunk i is matched while the
// chunks before it total at most dpdBufferSize bytes and number at most
// dpdMaxChunks (service-detection.md §2.5).
const (
	dpdBufferSize = 1024
	dpdMaxChunks  = 100
)

// chunk is a buffered delivery: data of one direction, or a gap.
type chunk struct {
	isOrig     bool
	start, end int    // data, in pia.buf
	gap        uint64 // a gap of this many bytes, when non-zero
}

// ruleState is one rule's progress on a connection.
type ruleState struct {
	fired    bool
	firedDir uint8
	matched  [2]bool // the pattern matched in that direction, waiting for Needs
	dead     [2]bool // TCP: the pattern can no longer match in that direction
}

// pia is Zeek's protocol identification analyzer: it buffers the first chunks of
// the connection, both directions in one buffer, matches the DPD signatures against
// each direction's data, and attaches the analyzer a firing rule enables, replaying
// the buffer into it.
type pia struct {
	tcp    bool
	buf    []byte
	chunks []chunk
	stream [2][]byte // TCP: each direction's data so far, for matching
	rules  []ruleState
	left   int // rules that have not fired
}

func (in *Inspector) newPIA(proto Transport) *pia {
	var p *pia
	if n := len(in.piaFree); n > 0 {
		p = in.piaFree[n-1]
		in.piaFree = in.piaFree[:n-1]
	} else {
		p = &pia{rules: make([]ruleState, len(in.rules))}
	}
	p.tcp = proto == TCP
	p.left = 0
	for _, r := range in.rules {
		if r != nil && (r.Transport == 0 || r.Transport == proto) && !(proto == UDP && r.Dir != Any) {
			p.left++
		}
	}
	return p
}

// releasePIA keeps p's buffers for the next connection.
func (in *Inspector) releasePIA(p *pia) {
	*p = pia{
		buf:    p.buf[:0],
		chunks: p.chunks[:0],
		stream: [2][]byte{p.stream[0][:0], p.stream[1][:0]},
		rules:  p.rules,
	}
	clear(p.rules)
	if cap(p.buf) > 4*dpdBufferSize {
		p.buf = nil
	}
	in.piaFree = append(in.piaFree, p)
}

// died marks rule k dead in direction d, and counts it out when it can no longer
// fire in any direction.
func (p *pia) died(r *Rule, k int, d uint8) {
	st := &p.rules[k]
	st.dead[d] = true
	switch r.Dir {
	case Orig:
		if d == 0 {
			p.left--
		}
	case Resp:
		if d == 1 {
			p.left--
		}
	default:
		if st.dead[d^1] && !st.matched[d^1] {
			p.left--
		}
	}
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
	start := len(p.buf)
	p.buf = append(p.buf, data...)
	p.chunks = append(p.chunks, chunk{isOrig: isOrig, start: start, end: len(p.buf), gap: gapLen})
	if len(data) > 0 {
		d := dirIndex(isOrig)
		in := data
		if p.tcp {
			p.stream[d] = append(p.stream[d], data...)
			in = p.stream[d]
		}
		p.match(n, isOrig, in, len(data))
	}
	// n.pia is nil when the match closed the window already (left == 0).
	if n.pia == p && (len(p.buf) > dpdBufferSize || len(p.chunks) > dpdMaxChunks || p.left == 0) {
		n.release()
	}
}

// match runs the rules not yet fired on a direction's data.
func (p *pia) match(n *node, isOrig bool, data []byte, size int) {
	rules := n.s.in.rules
	d := dirIndex(isOrig)
	for k, r := range rules {
		if r == nil {
			continue
		}
		st := &p.rules[k]
		if st.fired || st.matched[d] || st.dead[d] {
			continue
		}
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
		if !p.tcp && (r.MinSize > 0 && size < r.MinSize || r.MaxSize > 0 && size > r.MaxSize) {
			continue
		}
		switch r.Match(data) {
		case Fail:
			if p.tcp {
				p.died(r, k, d)
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
				return
			}
		}
	}
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
	for q, r := range rules {
		if r != nil && r.needs == k && p.rules[q].matched[d^1] && !p.rules[q].fired {
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
			i.data(c.isOrig, p.buf[c.start:c.end])
		}
	}
}
