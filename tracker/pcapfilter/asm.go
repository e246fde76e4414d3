package pcapfilter

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"golang.org/x/net/bpf"
)

// maxInsns is the kernel's limit on the length of a classic BPF program.
const maxInsns = 4096

// insnKind classifies the instructions of a program under construction.
type insnKind uint8

const (
	kPlain insnKind = iota // straight-line instruction
	kCond                  // conditional jump to jt or jf
	kJump                  // unconditional jump to jt
	kRet                   // return
)

// insn is an instruction whose jump targets are instruction ids, so that
// instructions can be inserted and removed before offsets are computed.
type insn struct {
	kind   insnKind
	ins    bpf.Instruction // kPlain and kRet
	key    string          // kPlain: ins in text, to compare tests
	jop    bpf.JumpTest    // kCond
	k      uint32          // kCond
	x      bool            // kCond compares with X
	jt, jf int             // target ids
}

// program is a list of instructions; labels name instruction ids.
type program struct {
	code   []insn
	ids    []int // id of each instruction in code
	nextID int
	// labels maps a label to the id of the instruction it precedes, once
	// that instruction is emitted.
	labels  []int
	pending []int // labels waiting for the next instruction
}

func (p *program) newLabel() int {
	p.labels = append(p.labels, -1)
	return len(p.labels) - 1
}

func (p *program) place(l int) { p.pending = append(p.pending, l) }

func (p *program) emit(in insn) {
	id := p.nextID
	p.nextID++
	for _, l := range p.pending {
		p.labels[l] = id
	}
	p.pending = p.pending[:0]
	p.code = append(p.code, in)
	p.ids = append(p.ids, id)
}

// emitCond emits code that continues at label t when c holds and at f
// otherwise. Jump targets hold labels until resolve turns them into ids.
func (p *program) emitCond(c cond, t, f int) {
	switch c := c.(type) {
	case leaf:
		for _, in := range c.ins {
			p.emit(insn{kind: kPlain, ins: in, key: fmt.Sprintf("%#v;", in)})
		}
		p.emit(insn{kind: kCond, jop: c.jop, k: c.k, x: c.x, jt: t, jf: f})
	case notC:
		p.emitCond(c.a, f, t)
	case andC:
		m := p.newLabel()
		p.emitCond(c.a, m, f)
		p.place(m)
		p.emitCond(c.b, t, f)
	case orC:
		m := p.newLabel()
		p.emitCond(c.a, t, m)
		p.place(m)
		p.emitCond(c.b, t, f)
	case constC:
		if c {
			p.emit(insn{kind: kJump, jt: t})
		} else {
			p.emit(insn{kind: kJump, jt: f})
		}
	}
}

// assemble turns a condition into a program returning snaplen for accepted
// packets and 0 for rejected ones.
func assemble(c cond, snaplen uint32) ([]bpf.Instruction, error) {
	p := &program{}
	accept, reject := p.newLabel(), p.newLabel()
	if c != nil {
		p.emitCond(c, accept, reject)
	}
	p.place(accept)
	p.emit(insn{kind: kRet, ins: bpf.RetConstant{Val: snaplen}})
	p.place(reject)
	p.emit(insn{kind: kRet, ins: bpf.RetConstant{Val: 0}})
	// Jump targets are labels so far; make them instruction ids.
	for i := range p.code {
		in := &p.code[i]
		if in.kind == kCond || in.kind == kJump {
			in.jt = p.labels[in.jt]
		}
		if in.kind == kCond {
			in.jf = p.labels[in.jf]
		}
	}
	p.optimize()
	return p.layout()
}

// index maps instruction ids to positions in code.
func (p *program) index() []int {
	pos := make([]int, p.nextID)
	for i := range pos {
		pos[i] = -1
	}
	for i, id := range p.ids {
		pos[id] = i
	}
	return pos
}

// optimize shortens the program without changing which packets it accepts
// or on which packets it aborts: it threads jumps past tests whose outcome
// is known on that path, removes jumps to the next instruction, drops
// unreachable code and reloads of a value already in the accumulator.
func (p *program) optimize() {
	// Threading and merging tests rely on every test computing its value
	// from the packet alone, which holds until dropReloads removes loads.
	for changed := true; changed; {
		changed = p.threadTests()
		changed = p.mergeTwins() || changed
		changed = p.thread() || changed
		changed = p.prune() || changed
	}
	for changed := true; changed; {
		changed = p.thread()
		changed = p.prune() || changed
		changed = p.dropReloads() || changed
	}
}

// fact is the outcome of a test on one path. A test is the instructions
// before a conditional jump; they compute a value from the packet alone, so
// the same test gives the same outcome wherever it runs.
type fact struct {
	test int // interned instructions of the test
	jop  bpf.JumpTest
	x    bool
	k    uint32
	res  bool
}

func (a fact) less(b fact) bool {
	switch {
	case a.test != b.test:
		return a.test < b.test
	case a.jop != b.jop:
		return a.jop < b.jop
	case a.x != b.x:
		return !a.x
	case a.k != b.k:
		return a.k < b.k
	}
	return !a.res && b.res
}

// facts is a sorted set of facts.
type facts []fact

// with returns fs plus f.
func (fs facts) with(f fact) facts {
	i := sort.Search(len(fs), func(i int) bool { return !fs[i].less(f) })
	if i < len(fs) && fs[i] == f {
		return fs
	}
	out := make(facts, 0, len(fs)+1)
	out = append(append(append(out, fs[:i]...), f), fs[i:]...)
	return out
}

// common returns the facts in both fs and gs.
func (fs facts) common(gs facts) facts {
	var out facts
	for i, j := 0, 0; i < len(fs) && j < len(gs); {
		switch {
		case fs[i] == gs[j]:
			out = append(out, fs[i])
			i, j = i+1, j+1
		case fs[i].less(gs[j]):
			i++
		default:
			j++
		}
	}
	return out
}

// outcome returns the result of a test if the facts decide it.
func (fs facts) outcome(t fact) (res, ok bool) {
	i := sort.Search(len(fs), func(i int) bool { return fs[i].test >= t.test })
	for ; i < len(fs) && fs[i].test == t.test; i++ {
		f := fs[i]
		if !f.x && !t.x && f.jop == bpf.JumpEqual && f.res {
			// The value is known.
			switch v := f.k; t.jop {
			case bpf.JumpEqual:
				return v == t.k, true
			case bpf.JumpGreaterThan:
				return v > t.k, true
			case bpf.JumpGreaterOrEqual:
				return v >= t.k, true
			case bpf.JumpBitsSet:
				return v&t.k != 0, true
			}
		}
		if f.jop == t.jop && f.x == t.x && f.k == t.k {
			return f.res, true
		}
	}
	return false, false
}

// tests finds the test starting at each instruction: the instructions
// from a jump target (or the instruction after a jump) to the next
// conditional jump. test[i] interns those instructions and cond[i]-1 is the
// index of the conditional jump; cond[i] is 0 where no test starts.
func (p *program) tests() (test, cond []int) {
	n := len(p.code)
	pos := p.index()
	leader := make([]bool, n)
	for _, in := range p.code {
		if in.kind == kCond || in.kind == kJump {
			leader[pos[in.jt]] = true
		}
		if in.kind == kCond {
			leader[pos[in.jf]] = true
		}
	}
	test, cond = make([]int, n), make([]int, n)
	ids := map[string]int{}
	start := 0
	var b strings.Builder
	for i, in := range p.code {
		if leader[i] {
			start = i
		}
		switch in.kind {
		case kCond:
			b.Reset()
			for _, plain := range p.code[start:i] {
				b.WriteString(plain.key)
			}
			id, ok := ids[b.String()]
			if !ok {
				id = len(ids)
				ids[b.String()] = id
			}
			test[start], cond[start] = id, i+1
			start = i + 1
		case kJump, kRet:
			start = i + 1
		}
	}
	return test, cond
}

// threadTests retargets each jump that leads to a test whose outcome is
// known on that path to where the test would go. Skipping a test is safe:
// the same instructions already ran on the path, so they cannot fail now.
func (p *program) threadTests() bool {
	pos := p.index()
	test, cond := p.tests()
	// start[j] is where the test of the conditional jump at j begins.
	start := make([]int, len(p.code))
	for i, c := range cond {
		if c > 0 {
			start[c-1] = i
		}
	}
	factOf := func(i int) fact {
		c := p.code[cond[i]-1]
		return fact{test: test[i], jop: c.jop, x: c.x, k: c.k}
	}
	// in[i] holds the facts true on every path to instruction i.
	in := make([]facts, len(p.code))
	seen := make([]bool, len(p.code))
	seen[0] = true
	merge := func(t int, fs facts) {
		if !seen[t] {
			seen[t], in[t] = true, fs
			return
		}
		in[t] = in[t].common(fs)
	}
	// follow skips the jumps and the tests decided by fs, from id on.
	follow := func(id int, fs facts) int {
		for {
			i := pos[id]
			switch {
			case p.code[i].kind == kJump:
				id = p.code[i].jt
			case cond[i] > 0:
				res, ok := fs.outcome(factOf(i))
				if !ok {
					return id
				}
				if c := p.code[cond[i]-1]; res {
					id = c.jt
				} else {
					id = c.jf
				}
			default:
				return id
			}
		}
	}
	changed := false
	for i := range p.code {
		if !seen[i] {
			continue
		}
		fs := in[i]
		switch c := &p.code[i]; c.kind {
		case kPlain:
			merge(i+1, fs)
		case kJump:
			if t := follow(c.jt, fs); t != c.jt {
				c.jt, changed = t, true
			}
			merge(pos[c.jt], fs)
		case kCond:
			f := factOf(start[i])
			for _, res := range []bool{true, false} {
				f.res = res
				out := fs.with(f)
				target := &c.jf
				if res {
					target = &c.jt
				}
				if t := follow(*target, out); t != *target {
					*target, changed = t, true
				}
				merge(pos[*target], out)
			}
		}
	}
	return changed
}

// mergeTwins sends the jumps to a test or return to the last identical
// copy of it (same instructions, same targets), so the others become
// unreachable. Jumping to a later copy keeps every jump forward. Working
// from the end, targets are merged before the tests that jump to them.
func (p *program) mergeTwins() bool {
	test, cond := p.tests()
	type sig struct {
		test   int
		jop    bpf.JumpTest
		x      bool
		k      uint32
		jt, jf int
		ret    bpf.Instruction
	}
	canon := map[int]int{} // id -> id of the copy to use
	to := func(id int) int {
		if c, ok := canon[id]; ok {
			return c
		}
		return id
	}
	last := map[sig]int{}
	for i := len(p.code) - 1; i >= 0; i-- {
		in := p.code[i]
		var s sig
		switch {
		case cond[i] > 0:
			c := p.code[cond[i]-1]
			s = sig{test: test[i], jop: c.jop, x: c.x, k: c.k, jt: to(c.jt), jf: to(c.jf)}
		case in.kind == kRet:
			s = sig{test: -1, ret: in.ins}
		case in.kind == kJump:
			canon[p.ids[i]] = to(in.jt)
			continue
		default:
			continue
		}
		if id, ok := last[s]; ok {
			canon[p.ids[i]] = id
		} else {
			last[s] = p.ids[i]
		}
	}
	changed := false
	for i := range p.code {
		in := &p.code[i]
		if in.kind == kCond || in.kind == kJump {
			if t := to(in.jt); t != in.jt {
				in.jt, changed = t, true
			}
		}
		if in.kind == kCond {
			if t := to(in.jf); t != in.jf {
				in.jf, changed = t, true
			}
		}
	}
	return changed
}

// thread retargets jumps whose target is an unconditional jump, and turns
// a conditional jump with equal targets into an unconditional one.
func (p *program) thread() bool {
	pos := p.index()
	final := func(id int) int {
		for {
			in := p.code[pos[id]]
			if in.kind != kJump {
				return id
			}
			id = in.jt
		}
	}
	changed := false
	for i := range p.code {
		in := &p.code[i]
		switch in.kind {
		case kCond:
			jt, jf := final(in.jt), final(in.jf)
			if jt != in.jt || jf != in.jf {
				in.jt, in.jf, changed = jt, jf, true
			}
			if in.jt == in.jf {
				*in = insn{kind: kJump, jt: in.jt}
				changed = true
			}
		case kJump:
			if t := final(in.jt); t != in.jt {
				in.jt, changed = t, true
			}
			// A jump to a return is the return.
			if t := p.code[pos[in.jt]]; t.kind == kRet {
				*in = t
				changed = true
			}
		}
	}
	return changed
}

// prune removes unreachable instructions and jumps to the next instruction.
func (p *program) prune() bool {
	pos := p.index()
	reach := make([]bool, len(p.code))
	reach[0] = true
	for i, in := range p.code {
		if !reach[i] {
			continue
		}
		switch in.kind {
		case kPlain:
			reach[i+1] = true
		case kCond:
			reach[pos[in.jt]], reach[pos[in.jf]] = true, true
		case kJump:
			reach[pos[in.jt]] = true
		}
	}
	// A removed jump hands its id to its target, the next instruction.
	alias := map[int]int{}
	var code []insn
	var ids []int
	for i, in := range p.code {
		switch {
		case !reach[i]:
		case in.kind == kJump && pos[in.jt] == i+1:
			alias[p.ids[i]] = in.jt
		default:
			code, ids = append(code, in), append(ids, p.ids[i])
		}
	}
	changed := len(code) != len(p.code)
	p.code, p.ids = code, ids
	if len(alias) > 0 {
		resolve := func(id int) int {
			for {
				to, ok := alias[id]
				if !ok {
					return id
				}
				id = to
			}
		}
		for i := range p.code {
			in := &p.code[i]
			if in.kind == kCond || in.kind == kJump {
				in.jt = resolve(in.jt)
			}
			if in.kind == kCond {
				in.jf = resolve(in.jf)
			}
		}
	}
	return changed
}

// redirect points every jump to instruction id from at id to, and
// reports whether there was any.
func (p *program) redirect(from, to int) bool {
	found := false
	for i := range p.code {
		in := &p.code[i]
		if (in.kind == kCond || in.kind == kJump) && in.jt == from {
			in.jt, found = to, true
		}
		if in.kind == kCond && in.jf == from {
			in.jf, found = to, true
		}
	}
	return found
}

// dropReloads removes absolute loads of the value the accumulator already
// holds on every path to them. Such a load cannot fail, as the same load
// already succeeded.
func (p *program) dropReloads() bool {
	pos := p.index()
	// known[i] is the absolute load whose value A holds when instruction i
	// starts, if every path to i agrees.
	type val struct {
		ok bool
		ld bpf.LoadAbsolute
	}
	known := make([]val, len(p.code))
	seen := make([]bool, len(p.code))
	merge := func(i int, v val) {
		switch {
		case !seen[i]:
			known[i], seen[i] = v, true
		case known[i] != v:
			known[i] = val{}
		}
	}
	seen[0] = true
	drop := -1
	for i, in := range p.code {
		v := known[i]
		switch in.kind {
		case kPlain:
			if ld, ok := in.ins.(bpf.LoadAbsolute); ok {
				if v.ok && v.ld == ld && drop < 0 {
					drop = i
				}
				v = val{ok: true, ld: ld}
			} else if changesA(in.ins) {
				v = val{}
			}
			merge(i+1, v)
		case kCond:
			merge(pos[in.jt], v)
			merge(pos[in.jf], v)
		case kJump:
			merge(pos[in.jt], v)
		}
	}
	if drop < 0 {
		return false
	}
	// The instruction after the dropped load takes over its id.
	p.redirect(p.ids[drop], p.ids[drop+1])
	p.code = append(p.code[:drop], p.code[drop+1:]...)
	p.ids = append(p.ids[:drop], p.ids[drop+1:]...)
	return true
}

// changesA reports whether a straight-line instruction may change A.
func changesA(in bpf.Instruction) bool {
	switch in := in.(type) {
	case bpf.StoreScratch, bpf.TAX, bpf.LoadMemShift:
		return false
	case bpf.LoadConstant:
		return in.Dst == bpf.RegA
	case bpf.LoadScratch:
		return in.Dst == bpf.RegA
	}
	return true
}

var errTooLong = errors.New("program longer than 4096 instructions")

// layout computes jump offsets, inserting unconditional jumps where a
// conditional jump would go farther than 255 instructions.
func (p *program) layout() ([]bpf.Instruction, error) {
	for {
		if len(p.code) > maxInsns {
			return nil, errTooLong
		}
		pos := p.index()
		far := -1
		for i, in := range p.code {
			if in.kind == kCond && (pos[in.jt]-i-1 > 255 || pos[in.jf]-i-1 > 255) {
				far = i
				break
			}
		}
		if far < 0 {
			break
		}
		// Insert trampolines right after the jump.
		in := &p.code[far]
		var tramp []insn
		var trampIDs []int
		if pos[in.jt]-far-1 > 255 {
			tramp = append(tramp, insn{kind: kJump, jt: in.jt})
			trampIDs = append(trampIDs, p.nextID)
			in.jt = p.nextID
			p.nextID++
		}
		if pos[in.jf]-far-1 > 255 {
			tramp = append(tramp, insn{kind: kJump, jt: in.jf})
			trampIDs = append(trampIDs, p.nextID)
			in.jf = p.nextID
			p.nextID++
		}
		p.code = append(p.code[:far+1], append(tramp, p.code[far+1:]...)...)
		p.ids = append(p.ids[:far+1], append(trampIDs, p.ids[far+1:]...)...)
	}
	pos := p.index()
	out := make([]bpf.Instruction, len(p.code))
	for i, in := range p.code {
		switch in.kind {
		case kPlain, kRet:
			out[i] = in.ins
		case kJump:
			out[i] = bpf.Jump{Skip: uint32(pos[in.jt] - i - 1)}
		case kCond:
			jt, jf := uint8(pos[in.jt]-i-1), uint8(pos[in.jf]-i-1)
			if in.x {
				out[i] = bpf.JumpIfX{Cond: in.jop, SkipTrue: jt, SkipFalse: jf}
			} else {
				out[i] = bpf.JumpIf{Cond: in.jop, Val: in.k, SkipTrue: jt, SkipFalse: jf}
			}
		}
	}
	return out, nil
}
