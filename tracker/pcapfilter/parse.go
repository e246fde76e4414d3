package pcapfilter

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// The parser is a recursive-descent rendering of libpcap's yacc grammar. The
// places where that grammar is ambiguous (a bare number may be a host or an
// arithmetic operand; "(" may open a boolean group, a list of identifiers
// sharing qualifiers, or an arithmetic group) are resolved with the same
// one-token lookahead, so the same expressions are accepted and rejected.

// elemKind tells what an element of a boolean sequence turned out to be.
type elemKind uint8

const (
	eID    elemKind = iota // identifier using inherited qualifiers
	eTerm                  // boolean term
	eArith                 // arithmetic value not (yet) part of a relation
)

type elem struct {
	kind elemKind
	n    node
	q    qual // qualifiers inherited by a following bare identifier
	a    *arith
}

// ctx says what may appear at a position.
type ctx struct {
	id    bool // an identifier using the inherited qualifiers
	term  bool // a boolean term
	arith bool // a bare arithmetic value
	first bool // first element inside "(": an identifier list may not nest here
}

type parser struct {
	toks  []token
	i     int
	depth int // nesting of parentheses and negations
}

// maxDepth bounds nesting, as yacc's stack bounds libpcap's.
const maxDepth = 1000

// errSyntax marks errors that are plain syntax errors.
var errSyntax = errors.New("syntax error")

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) peekAt(n int) token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) errAt(t token) error {
	if t.kind == tEOF {
		return fmt.Errorf("%w: unexpected end of expression", errSyntax)
	}
	return fmt.Errorf("%w at %s", errSyntax, t)
}

func (p *parser) expect(k tokKind, what string) error {
	if t := p.peek(); t.kind != k {
		if t.kind == tEOF {
			return fmt.Errorf("%w: missing %s", errSyntax, what)
		}
		return fmt.Errorf("%w at %s, expected %s", errSyntax, t, what)
	}
	p.next()
	return nil
}

// parse parses a filter expression. An empty expression yields a nil node,
// which accepts every packet.
func parse(expr string) (node, error) {
	toks, err := lex(expr)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	if p.peek().kind == tEOF {
		return nil, nil
	}
	e, err := p.elem(qerr, ctx{term: true})
	if err != nil {
		return nil, err
	}
	n, _, err := p.exprRest(e.n, e.q)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, p.errAt(t)
	}
	return n, nil
}

// exprRest continues a boolean sequence: "and" and "or" have equal
// precedence and associate to the left; each may be followed by a term or by
// an identifier that reuses the qualifiers in force.
func (p *parser) exprRest(n node, q qual) (node, qual, error) {
	for {
		op := p.peek().kind
		if op != tAnd && op != tOr {
			return n, q, nil
		}
		p.next()
		e, err := p.elem(q, ctx{id: true, term: true})
		if err != nil {
			return nil, q, err
		}
		n, q = combine(op, n, e.n), e.q
	}
}

func combine(op tokKind, a, b node) node {
	if op == tAnd {
		return andNode{a, b}
	}
	return orNode{a, b}
}

// elem parses one element: a term, an identifier or an arithmetic value,
// as allowed by c.
func (p *parser) elem(q qual, c ctx) (elem, error) {
	if p.depth++; p.depth > maxDepth {
		return elem{}, errors.New("expression nested too deeply")
	}
	defer func() { p.depth-- }()
	t := p.peek()
	switch t.kind {
	case tNot:
		p.next()
		if p.peek().kind == tEOF {
			return elem{}, fmt.Errorf("%w: missing operand after %s", errSyntax, t)
		}
		e, err := p.elem(q, ctx{id: c.id, term: c.term})
		if err != nil {
			return elem{}, err
		}
		return elem{kind: e.kind, n: notNode{e.n}, q: e.q}, nil
	case tID, tHID, tHID6, tEID, tAID:
		if !c.id {
			if q == qerr || !c.term {
				return elem{}, fmt.Errorf("%w at %s: no qualifier (such as host or port) to apply", errSyntax, t)
			}
			return elem{}, p.errAt(t)
		}
		n, err := p.nid(q)
		return elem{kind: eID, n: n, q: q}, err
	case tLParen:
		r, err := p.paren(q, c)
		if err != nil || r.kind != eArith {
			return r, err
		}
		return p.arithTail(q, c, r.a)
	case tNUM:
		p.next()
		return p.arithTail(q, c, &arith{op: aNum, k: t.num, pnum: true, lead: t.num, hasLead: true})
	case tMinus:
		return p.arithTail(q, c, nil)
	case tKw:
		if t.kw == kwLen {
			return p.arithTail(q, c, nil)
		}
	case tPname:
		if p.peekAt(1).kind == tLBrack {
			return p.arithTail(q, c, nil)
		}
	}
	if !c.term {
		return elem{}, p.errAt(t)
	}
	return p.term()
}

// arithTail finishes an element that starts with an arithmetic value (first,
// or parsed here when nil): a bare number where an identifier may appear is
// an identifier; otherwise the value continues with operators and, where a
// term may appear, a relation.
func (p *parser) arithTail(q qual, c ctx, first *arith) (elem, error) {
	if first != nil && first.pnum && c.id {
		switch p.peek().kind {
		case tAnd, tOr, tEOF:
			n, err := p.numID(first.k, q)
			return elem{kind: eID, n: n, q: q}, err
		case tRParen:
			// "(80)" stays a number until the parenthesis closes.
			if !c.first {
				n, err := p.numID(first.k, q)
				return elem{kind: eID, n: n, q: q}, err
			}
		}
	}
	a, err := p.arithOps(first)
	if err != nil {
		return elem{}, err
	}
	if t := p.peek(); isRelop(t.kind) {
		if !c.term {
			return elem{}, p.errAt(t)
		}
		p.next()
		b, err := p.arithOps(nil)
		if err != nil {
			return elem{}, err
		}
		return elem{kind: eTerm, n: relNode{op: t.kind, a: a, b: b}, q: qerr}, nil
	}
	if c.arith {
		return elem{kind: eArith, a: a}, nil
	}
	if t := p.peek(); t.kind == tEOF && c.term {
		return elem{}, fmt.Errorf("%w: arithmetic expression without a comparison", errSyntax)
	}
	return elem{}, p.errAt(p.peek())
}

func isRelop(k tokKind) bool {
	switch k {
	case tGT, tGE, tEq, tLE, tLT, tNE:
		return true
	}
	return false
}

// paren parses a parenthesized group: a list of identifiers sharing the
// inherited qualifiers, a boolean expression, or an arithmetic value.
func (p *parser) paren(q qual, c ctx) (elem, error) {
	open := p.next()
	e, err := p.elem(q, ctx{id: c.id && !c.first, term: c.term, arith: true, first: true})
	if err != nil {
		return elem{}, err
	}
	closing := func() error {
		if p.peek().kind == tEOF {
			return fmt.Errorf("%w: missing \")\" for \"(\" at offset %d", errSyntax, open.pos)
		}
		return p.expect(tRParen, `")"`)
	}
	switch e.kind {
	case eID:
		n := e.n
		for op := p.peek().kind; op == tAnd || op == tOr; op = p.peek().kind {
			p.next()
			e2, err := p.elem(q, ctx{id: true})
			if err != nil {
				return elem{}, err
			}
			n = combine(op, n, e2.n)
		}
		return elem{kind: eID, n: n, q: q}, closing()
	case eTerm:
		n, _, err := p.exprRest(e.n, e.q)
		if err != nil {
			return elem{}, err
		}
		// A bare identifier after the group uses the qualifiers in force
		// before it.
		return elem{kind: eTerm, n: n, q: q}, closing()
	default:
		return e, closing()
	}
}

// term parses a term that starts with a keyword.
func (p *parser) term() (elem, error) {
	if t := p.peek(); t.kind == tKw && headKeyword(t.kw) {
		return p.head(qDefault)
	}
	t := p.next()
	switch t.kind {
	case tPname:
		nx := p.peek()
		if nx.kind == tKw {
			switch {
			case headKeyword(nx.kw):
				return p.head(t.q)
			case nx.kw == kwBroadcast || nx.kw == kwMulticast:
				p.next()
				n, err := castPrim(t.q, nx.kw == kwMulticast)
				return elem{kind: eTerm, n: n, q: qerr}, err
			case nx.kw == kwWlanType:
				return elem{}, unsupported(nx.text + " (802.11)")
			}
		}
		if t.q == qLink && nx.kind != tEOF && nx.kind != tAnd && nx.kind != tOr && nx.kind != tRParen {
			return elem{}, fmt.Errorf("%w: expected host, src, dst, proto, broadcast or multicast after %s, got %s", errSyntax, t, nx)
		}
		n, err := abbrev(t)
		return elem{kind: eTerm, n: n, q: qerr}, err
	case tKw:
		var n node
		var err error
		switch t.kw {
		case kwBroadcast, kwMulticast:
			n, err = castPrim(qDefault, t.kw == kwMulticast)
		case kwLess, kwGreater:
			v := p.next()
			if v.kind != tNUM {
				return elem{}, fmt.Errorf("%w: %s needs a number, got %s", errSyntax, t, v)
			}
			n = lenNode{greater: t.kw == kwGreater, n: v.num}
		case kwByte:
			n, err = p.bytePrim()
		case kwVlan:
			n, err = p.vlanPrim()
		case kwMpls:
			n, err = p.mplsPrim()
		case kwUnsupported:
			err = unsupported(t.text)
		case kwWlanType:
			err = unsupported(t.text + " (802.11)")
		default:
			err = p.errAt(t)
		}
		return elem{kind: eTerm, n: n, q: qerr}, err
	}
	return elem{}, p.errAt(t)
}

func unsupported(what string) error {
	return fmt.Errorf("%q is not supported", what)
}

// headKeyword reports whether a keyword starts the qualifiers of an
// identifier.
func headKeyword(kw keyword) bool {
	switch kw {
	case kwSrc, kwDst, kwHost, kwNet, kwPort, kwPortrange, kwProto,
		kwProtochain, kwGateway, kwAddr1:
		return true
	}
	return false
}

// head parses the qualifiers before an identifier ("tcp src port") and
// the identifier itself. pq is the protocol qualifier already read.
func (p *parser) head(pq qproto) (elem, error) {
	q := qual{proto: pq, dir: dirDefault, addr: addrDefault}
	t := p.next()
	last := t // the token before the identifier
	switch t.kw {
	case kwSrc, kwDst:
		q.dir = dirSrc
		if t.kw == kwDst {
			q.dir = dirDst
		}
		if op := p.peek().kind; op == tAnd || op == tOr {
			p.next()
			other := p.next()
			if other.kind != tKw || (other.kw != kwSrc && other.kw != kwDst) || other.kw == t.kw {
				return elem{}, p.errAt(other)
			}
			q.dir = dirOr
			if op == tAnd {
				q.dir = dirAnd
			}
		}
		last = p.toks[p.i-1]
		if nx := p.peek(); nx.kind == tKw {
			switch nx.kw {
			case kwHost, kwNet, kwPort, kwPortrange:
				t = p.next()
				last = t
			}
		}
	case kwAddr1:
		return elem{}, unsupported(t.text + " (802.11)")
	case kwProtochain, kwGateway:
		return elem{}, unsupported(t.text)
	}
	switch t.kw {
	case kwHost:
		q.addr = addrHost
	case kwNet:
		q.addr = addrNet
	case kwPort:
		q.addr = addrPort
	case kwPortrange:
		q.addr = addrPortrange
	case kwProto:
		q.addr = addrProto
	}
	switch p.peek().kind {
	case tID, tHID, tHID6, tEID, tAID, tNUM, tLParen, tNot:
	default:
		what := map[qaddr]string{addrDefault: "address", addrHost: "address",
			addrNet: "network", addrPort: "port", addrPortrange: "port range",
			addrProto: "protocol"}[q.addr]
		if nx := p.peek(); nx.kind != tEOF {
			return elem{}, fmt.Errorf("%w: expected %s after %s, got %s", errSyntax, what, last, nx)
		}
		return elem{}, fmt.Errorf("missing %s after %s", what, last)
	}
	e, err := p.elem(q, ctx{id: true})
	if err != nil {
		return elem{}, err
	}
	return elem{kind: eTerm, n: e.n, q: q}, nil
}

// pnum parses a number, possibly parenthesized.
func (p *parser) pnum() (uint32, error) {
	t := p.next()
	switch t.kind {
	case tNUM:
		return t.num, nil
	case tLParen:
		v, err := p.pnum()
		if err != nil {
			return 0, err
		}
		return v, p.expect(tRParen, `")"`)
	}
	return 0, p.errAt(t)
}

func (p *parser) vlanPrim() (node, error) {
	if k := p.peek().kind; k != tNUM && k != tLParen {
		return vlanNode{}, nil
	}
	v, err := p.pnum()
	if err != nil {
		return nil, err
	}
	if v > 0xfff {
		return nil, fmt.Errorf("VLAN tag %d greater than maximum 4095", v)
	}
	return vlanNode{has: true, id: v}, nil
}

func (p *parser) mplsPrim() (node, error) {
	if k := p.peek().kind; k != tNUM && k != tLParen {
		return mplsNode{}, nil
	}
	v, err := p.pnum()
	if err != nil {
		return nil, err
	}
	if v > 0xfffff {
		return nil, fmt.Errorf("MPLS label %d greater than maximum 1048575", v)
	}
	return mplsNode{has: true, label: v}, nil
}

// bytePrim parses "byte IDX OP VAL".
func (p *parser) bytePrim() (node, error) {
	idx := p.next()
	if idx.kind != tNUM {
		return nil, p.errAt(idx)
	}
	op := p.next()
	switch op.kind {
	case tEq, tLT, tGT:
	case tAmp, tPipe:
		return nil, unsupported("byte " + op.text)
	default:
		return nil, p.errAt(op)
	}
	val := p.next()
	if val.kind != tNUM {
		return nil, p.errAt(val)
	}
	return byteNode{op: op.kind, idx: idx.num, val: val.num}, nil
}

// castPrim is "[proto] broadcast" or "[proto] multicast".
func castPrim(pq qproto, multi bool) (node, error) {
	switch {
	case pq == qDefault || pq == qLink:
	case multi && (pq == qIP || pq == qIPv6):
	case !multi && pq == qIP:
	case multi:
		return nil, fmt.Errorf("%q is not valid: multicast applies to ether, ip and ip6", pq.String()+" multicast")
	default:
		return nil, fmt.Errorf("%q is not valid: broadcast applies to ether and ip", pq.String()+" broadcast")
	}
	return castNode{proto: pq, multi: multi}, nil
}

// abbrev is a protocol keyword used alone.
func abbrev(t token) (node, error) {
	switch t.q {
	case qLink:
		return nil, fmt.Errorf("%s needs a qualifier such as host or proto", t)
	case qRadio:
		return nil, fmt.Errorf("%s is not a valid protocol type", t)
	case qAtalk, qAARP, qIPX, qESIS, qISIS, qCLNP:
		return nil, unsupported(t.text)
	}
	return abbrevNode{proto: t.q}, nil
}

// --- identifiers ---

// nid parses a name or address and applies the qualifiers q.
func (p *parser) nid(q qual) (node, error) {
	t := p.next()
	if q == qerr {
		return nil, fmt.Errorf("%w at %s: no qualifier (such as host or port) to apply", errSyntax, t)
	}
	switch t.kind {
	case tID:
		return scode(strings.TrimPrefix(t.text, `\`), q)
	case tHID:
		switch p.peek().kind {
		case tSlash:
			p.next()
			n := p.next()
			if n.kind != tNUM {
				return nil, p.errAt(n)
			}
			if err := addrQualCheck(q, t, "IP address and prefix length"); err != nil {
				return nil, err
			}
			return mcode(t.text, "", n.num, q)
		case tKw:
			if p.peek().kw == kwMask {
				p.next()
				m := p.next()
				if m.kind != tHID {
					return nil, p.errAt(m)
				}
				if err := addrQualCheck(q, t, "IP address and netmask"); err != nil {
					return nil, err
				}
				return mcode(t.text, m.text, 0, q)
			}
		}
		if err := addrQualCheck(q, t, "IP address"); err != nil {
			return nil, err
		}
		return ncodeHID(t.text, q)
	case tHID6:
		bits := uint32(128)
		if p.peek().kind == tSlash {
			p.next()
			n := p.next()
			if n.kind != tNUM {
				return nil, p.errAt(n)
			}
			bits = n.num
		}
		if err := addrQualCheck(q, t, "IPv6 address"); err != nil {
			return nil, err
		}
		return mcode6(t.text, bits, q)
	case tEID:
		return ecode(t.text, q)
	default: // tAID
		return nil, unsupported("ARCnet address " + t.text)
	}
}

// addrQualCheck rejects an address after "port", "portrange" or "proto".
func addrQualCheck(q qual, t token, what string) error {
	var kw string
	switch q.addr {
	case addrPort:
		kw = "port"
	case addrPortrange:
		kw = "portrange"
	case addrProto:
		kw = "proto"
	default:
		return nil
	}
	return fmt.Errorf("'%s' applied to %s %s", kw, what, t)
}

// numID applies qualifiers to a bare number, as libpcap's gen_ncode.
func (p *parser) numID(v uint32, q qual) (node, error) {
	if q == qerr {
		return nil, fmt.Errorf("%w at \"%d\": no qualifier (such as host or port) to apply", errSyntax, v)
	}
	switch q.addr {
	case addrDefault, addrHost, addrNet:
		if q.proto == qLink {
			return nil, fmt.Errorf("illegal link layer address %d", v)
		}
		mask := uint32(0xffffffff)
		if q.addr == addrNet {
			// "net 10" is 10.0.0.0/8.
			for v != 0 && v&0xff000000 == 0 {
				v <<= 8
				mask <<= 8
			}
		}
		return hostV4(v, mask, q)
	case addrPort, addrPortrange:
		ipproto, err := portProto(q)
		if err != nil {
			return nil, err
		}
		if v > 65535 {
			return nil, fmt.Errorf("port %d out of range", v)
		}
		return portNode{ipproto: ipproto, dir: q.dir, lo: v, hi: v, rng: q.addr == addrPortrange}, nil
	default: // addrProto
		return protoPrim(v, q)
	}
}

func portProto(q qual) (int, error) {
	switch q.proto {
	case qDefault:
		return protoUndef, nil
	case qTCP:
		return ipprotoTCP, nil
	case qUDP:
		return ipprotoUDP, nil
	case qSCTP:
		return ipprotoSCTP, nil
	}
	kw := "port"
	if q.addr == addrPortrange {
		kw = "portrange"
	}
	return 0, fmt.Errorf("%q is not valid: %s applies to tcp, udp and sctp", q.proto.String()+" "+kw, kw)
}

// atoin parses a dotted IPv4 form of one to four decimal parts and returns
// its value right-aligned and its length in bits.
func atoin(s string) (uint32, int, bool) {
	var v uint32
	parts := strings.Split(s, ".")
	for _, part := range parts {
		n, err := strconv.ParseUint(part, 10, 8)
		if err != nil || part == "" || strings.ContainsAny(part, "+-") {
			return 0, 0, false
		}
		v = v<<8 | uint32(n)
	}
	return v, 8 * len(parts), true
}

// ncodeHID applies qualifiers to a dotted address: "host 10.1" is the same
// as "net 10.1.0.0/16".
func ncodeHID(s string, q qual) (node, error) {
	v, bits, ok := atoin(s)
	if !ok {
		return nil, fmt.Errorf("invalid IPv4 address %q", s)
	}
	if q.proto == qLink {
		return nil, fmt.Errorf("illegal link layer address %q", s)
	}
	return hostV4(v<<(32-bits), 0xffffffff<<(32-bits), q)
}

// mcode is "net A/LEN" and "net A mask M".
func mcode(s1, s2 string, bits uint32, q qual) (node, error) {
	n, nbits, ok := atoin(s1)
	if !ok {
		return nil, fmt.Errorf("invalid IPv4 address %q", s1)
	}
	n <<= 32 - nbits
	var m uint32
	if s2 != "" {
		mv, mbits, ok := atoin(s2)
		if !ok {
			return nil, fmt.Errorf("invalid IPv4 address %q", s2)
		}
		m = mv << (32 - mbits)
		if n&^m != 0 {
			return nil, fmt.Errorf("non-network bits set in \"%s mask %s\"", s1, s2)
		}
	} else {
		if bits > 32 {
			return nil, fmt.Errorf("mask length %d must be <= 32", bits)
		}
		if bits > 0 {
			m = 0xffffffff << (32 - bits)
		}
		if n&^m != 0 {
			return nil, fmt.Errorf("non-network bits set in \"%s/%d\"", s1, bits)
		}
	}
	if q.addr != addrNet {
		return nil, fmt.Errorf("mask syntax is for networks only: use \"net %s\"", s1)
	}
	return hostV4(n, m, q)
}

// mcode6 is an IPv6 address with an optional prefix length.
func mcode6(s string, bits uint32, q qual) (node, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is6() {
		return nil, fmt.Errorf("invalid IPv6 address %q", s)
	}
	if bits > 128 {
		return nil, fmt.Errorf("mask length %d must be <= 128", bits)
	}
	var mask [16]byte
	for i := range mask {
		switch {
		case bits >= uint32(8*i+8):
			mask[i] = 0xff
		case bits > uint32(8*i):
			mask[i] = byte(0xff << (8*uint32(i) + 8 - bits))
		}
	}
	b := a.As16()
	for i := range b {
		if b[i]&^mask[i] != 0 {
			return nil, fmt.Errorf("non-network bits set in \"%s/%d\"", s, bits)
		}
	}
	if q.addr != addrNet && bits != 128 {
		return nil, fmt.Errorf("mask syntax is for networks only: use \"net %s/%d\"", s, bits)
	}
	return hostV6(a, mask, q, false)
}

// ecode is a MAC address, valid only after "ether [dir] [host]".
func ecode(s string, q qual) (node, error) {
	if q.proto != qLink || (q.addr != addrHost && q.addr != addrDefault) {
		return nil, fmt.Errorf("ethernet address %q used in non-ether expression", s)
	}
	return etherHostNode{dir: q.dir, mac: etherAton(s)}, nil
}

// etherAton parses the MAC forms the scanner accepts.
func etherAton(s string) [6]byte {
	var mac [6]byte
	n := 0
	for i := 0; i < len(s) && n < 6; {
		if s[i] == ':' || s[i] == '.' || s[i] == '-' {
			i++
			continue
		}
		d := unhex(s[i])
		i++
		if i < len(s) && isHex(s[i]) {
			d = d<<4 | unhex(s[i])
			i++
		}
		mac[n] = d
		n++
	}
	return mac
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// hostV4 checks the protocol qualifier of an IPv4 host or net.
func hostV4(addr, mask uint32, q qual) (node, error) {
	kind := "host"
	if q.addr == addrNet {
		kind = "net"
	}
	switch q.proto {
	case qDefault, qIP, qARP, qRARP:
	case qLink:
		return nil, fmt.Errorf("link-layer modifier applied to %s", kind)
	case qIPv6:
		return nil, fmt.Errorf("'ip6' modifier applied to IPv4 %s", kind)
	case qDECnet:
		return nil, unsupported("decnet " + kind)
	default:
		return nil, fmt.Errorf("'%s' modifier applied to %s", q.proto, kind)
	}
	h := hostNode{proto: q.proto, dir: q.dir, net: q.addr == addrNet,
		addr: netip.AddrFrom4([4]byte{byte(addr >> 24), byte(addr >> 16), byte(addr >> 8), byte(addr)})}
	h.mask[0], h.mask[1], h.mask[2], h.mask[3] = byte(mask>>24), byte(mask>>16), byte(mask>>8), byte(mask)
	return h, nil
}

// hostV6 checks the protocol qualifier of an IPv6 host or net.
func hostV6(a netip.Addr, mask [16]byte, q qual, byName bool) (node, error) {
	kind := "host"
	if q.addr == addrNet {
		kind = "net"
	}
	switch q.proto {
	case qDefault, qIPv6:
	case qLink:
		return nil, fmt.Errorf("link-layer modifier applied to IPv6 %s", kind)
	default:
		return nil, fmt.Errorf("'%s' modifier applied to IPv6 %s", q.proto, kind)
	}
	return hostNode{proto: q.proto, dir: q.dir, net: q.addr == addrNet, addr: a, mask: mask, byName: byName}, nil
}

// scode applies qualifiers to a name, as libpcap's gen_scode.
func scode(name string, q qual) (node, error) {
	switch q.addr {
	case addrNet:
		addr := networkByName(name)
		if addr == 0 {
			return nil, fmt.Errorf("unknown network %q", name)
		}
		mask := uint32(0xffffffff)
		for addr&0xff000000 == 0 {
			addr <<= 8
			mask <<= 8
		}
		return hostV4(addr, mask, q)
	case addrDefault, addrHost:
		switch q.proto {
		case qLink:
			mac, ok := etherByName(name)
			if !ok {
				return nil, fmt.Errorf("unknown ether host %q", name)
			}
			return etherHostNode{dir: q.dir, mac: mac}, nil
		case qDECnet:
			return nil, unsupported("decnet host")
		}
		return hostByName(name, q)
	case addrPort:
		ipproto, err := portProto(q)
		if err != nil {
			return nil, err
		}
		port, real, ok := nameToPort(name)
		if !ok {
			return nil, fmt.Errorf("unknown port %q", name)
		}
		real, err = reconcilePort(name, ipproto, real)
		if err != nil {
			return nil, err
		}
		return portNode{ipproto: real, dir: q.dir, lo: uint32(port), hi: uint32(port)}, nil
	case addrPortrange:
		ipproto, err := portProto(q)
		if err != nil {
			return nil, err
		}
		lo, hi, real, ok := nameToPortRange(name)
		if !ok {
			return nil, fmt.Errorf("unknown port in range %q", name)
		}
		real, err = reconcilePort(name, ipproto, real)
		if err != nil {
			return nil, err
		}
		for _, v := range []int{lo, hi} {
			if v < 0 || v > 65535 {
				return nil, fmt.Errorf("port %d out of range", v)
			}
		}
		if lo > hi {
			lo, hi = hi, lo
		}
		return portNode{ipproto: real, dir: q.dir, lo: uint32(lo), hi: uint32(hi), rng: true}, nil
	default: // addrProto
		v, err := lookupProto(name, q.proto)
		if err != nil {
			return nil, err
		}
		return protoPrim(v, q)
	}
}

// reconcilePort checks a named port against the protocol qualifier.
func reconcilePort(name string, want, real int) (int, error) {
	if want == protoUndef || real == protoUndef || real == want {
		if want != protoUndef {
			return want, nil
		}
		return real, nil
	}
	return 0, fmt.Errorf("port %q is %s, not %s", name, ipprotoName(real), ipprotoName(want))
}

func ipprotoName(p int) string {
	switch p {
	case ipprotoTCP:
		return "tcp"
	case ipprotoUDP:
		return "udp"
	}
	return "sctp"
}

// hostByName resolves a host name; every address becomes an alternative.
func hostByName(name string, q qual) (node, error) {
	addrs, err := lookupHost(name)
	if err != nil || len(addrs) == 0 {
		return nil, fmt.Errorf("unknown host %q", name)
	}
	var n node
	for _, a := range addrs {
		var h node
		var err error
		if a.Is4() {
			if q.proto == qIPv6 {
				continue
			}
			var hn node
			hn, err = hostV4(ipv4Uint(a), 0xffffffff, q)
			if err == nil {
				hh := hn.(hostNode)
				hh.byName = true
				h = hh
			}
		} else {
			if q.proto == qIP {
				continue
			}
			var mask [16]byte
			for i := range mask {
				mask[i] = 0xff
			}
			h, err = hostV6(a, mask, q, true)
		}
		if err != nil {
			return nil, err
		}
		if n == nil {
			n = h
		} else {
			n = orNode{n, h}
		}
	}
	if n == nil {
		return nil, fmt.Errorf("unknown host %q for the %s address family", name, q.proto)
	}
	return n, nil
}

func ipv4Uint(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// lookupProto resolves "proto NAME".
func lookupProto(name string, pq qproto) (uint32, error) {
	switch pq {
	case qDefault, qIP, qIPv6:
		if v, ok := protoByName(name); ok {
			return v, nil
		}
		return 0, fmt.Errorf("unknown ip proto %q", name)
	case qLink:
		if v, ok := etherProtos[name]; ok {
			return v, nil
		}
		if v, ok := llcSAPs[name]; ok {
			return v, nil
		}
		return 0, fmt.Errorf("unknown ether proto %q", name)
	case qISO:
		return 0, unsupported("iso proto")
	}
	return 0, fmt.Errorf("unknown protocol %q for %q", name, pq.String()+" proto")
}

// protoPrim checks "PROTO proto N".
func protoPrim(v uint32, q qual) (node, error) {
	switch q.proto {
	case qDefault, qLink, qIP, qIPv6:
		return protoNode{proto: q.proto, v: v}, nil
	case qISO, qISIS:
		return nil, unsupported(q.proto.String() + " proto")
	case qARP, qRARP, qLAT, qSCA, qMOPRC, qMOPDL:
		return nil, fmt.Errorf("%s does not encapsulate another protocol", q.proto)
	}
	return nil, fmt.Errorf("%q is not valid", q.proto.String()+" proto")
}

// --- arithmetic ---

// binOp gives the yacc precedence of binary operators; '%' and '^' have
// none in libpcap's grammar, so the parser always shifts on them, making
// them take everything to their right as the right operand.
func binOp(k tokKind) (arithOp, int, bool) {
	switch k {
	case tPipe:
		return aOr, 1, true
	case tAmp:
		return aAnd, 2, true
	case tLSH:
		return aLsh, 3, true
	case tRSH:
		return aRsh, 3, true
	case tPlus:
		return aAdd, 4, true
	case tMinus:
		return aSub, 4, true
	case tStar:
		return aMul, 5, true
	case tSlash:
		return aDiv, 5, true
	case tPercent:
		return aMod, 0, true
	case tCaret:
		return aXor, 0, true
	}
	return 0, 0, false
}

const precNeg = 6

type pendingOp struct {
	op   arithOp
	prec int // 0: no precedence
}

// arithOps parses operators and operands after first (or a whole
// expression when first is nil), resolving conflicts as yacc does: reduce
// when the operator on the stack binds at least as tightly as the incoming
// one, shift when either has no precedence.
func (p *parser) arithOps(first *arith) (*arith, error) {
	var vals []*arith
	var ops []pendingOp
	operand := func() error {
		for p.peek().kind == tMinus {
			p.next()
			ops = append(ops, pendingOp{aNeg, precNeg})
		}
		a, err := p.arithPrimary()
		if err != nil {
			return err
		}
		vals = append(vals, a)
		return nil
	}
	reduce := func() error {
		top := ops[len(ops)-1]
		ops = ops[:len(ops)-1]
		if top.op == aNeg {
			v := vals[len(vals)-1]
			vals[len(vals)-1] = fold(&arith{op: aNeg, a: v})
			return nil
		}
		a, b := vals[len(vals)-2], vals[len(vals)-1]
		vals = vals[:len(vals)-1]
		zero := b.isConst() && b.k == 0 || b.hasLead && b.lead == 0
		switch {
		case top.op == aDiv && zero:
			return errors.New("division by zero")
		case top.op == aMod && zero:
			return errors.New("modulus by zero")
		case (top.op == aLsh || top.op == aRsh) && b.hasLead && b.lead > 31:
			return fmt.Errorf("shift by %d, more than 31 bits", b.lead)
		}
		vals[len(vals)-1] = fold(&arith{op: top.op, a: a, b: b, lead: a.lead, hasLead: a.hasLead})
		return nil
	}
	if first != nil {
		vals = append(vals, first)
	} else if err := operand(); err != nil {
		return nil, err
	}
	for {
		op, prec, ok := binOp(p.peek().kind)
		if !ok {
			break
		}
		for len(ops) > 0 && ops[len(ops)-1].prec > 0 && prec > 0 && ops[len(ops)-1].prec >= prec {
			if err := reduce(); err != nil {
				return nil, err
			}
		}
		p.next()
		ops = append(ops, pendingOp{op, prec})
		if p.peek().kind == tEOF {
			return nil, fmt.Errorf("%w: missing operand at end of expression", errSyntax)
		}
		if err := operand(); err != nil {
			return nil, err
		}
	}
	for len(ops) > 0 {
		if err := reduce(); err != nil {
			return nil, err
		}
	}
	return vals[0], nil
}

// fold evaluates operations on constants, with BPF's 32-bit arithmetic.
func fold(a *arith) *arith {
	if a.op == aNeg {
		a.lead, a.hasLead = a.a.lead, a.a.hasLead
		if a.a.isConst() {
			return &arith{op: aNum, k: -a.a.k, lead: a.lead, hasLead: a.hasLead}
		}
		return a
	}
	if !a.a.isConst() || !a.b.isConst() {
		return a
	}
	x, y := a.a.k, a.b.k
	var v uint32
	switch a.op {
	case aAdd:
		v = x + y
	case aSub:
		v = x - y
	case aMul:
		v = x * y
	case aDiv:
		v = x / y
	case aMod:
		v = x % y
	case aAnd:
		v = x & y
	case aOr:
		v = x | y
	case aXor:
		v = x ^ y
	case aLsh:
		v = x << y // 0 for y > 31, as libpcap's optimizer folds it
	case aRsh:
		v = x >> y
	}
	return &arith{op: aNum, k: v, lead: a.lead, hasLead: a.hasLead}
}

// arithPrimary parses a number, "len", "proto[index(:size)]" or a
// parenthesized arithmetic expression.
func (p *parser) arithPrimary() (*arith, error) {
	t := p.peek()
	switch t.kind {
	case tNUM:
		p.next()
		return &arith{op: aNum, k: t.num, lead: t.num, hasLead: true}, nil
	case tKw:
		if t.kw == kwLen {
			p.next()
			return &arith{op: aLen}, nil
		}
	case tLParen:
		r, err := p.paren(qerr, ctx{arith: true})
		if err != nil {
			return nil, err
		}
		a := *r.a
		a.pnum = false
		return &a, nil
	case tPname:
		if p.peekAt(1).kind != tLBrack {
			break
		}
		p.next()
		p.next()
		if err := indexable(t); err != nil {
			return nil, err
		}
		idx, err := p.arithOps(nil)
		if err != nil {
			return nil, err
		}
		size := uint32(1)
		if p.peek().kind == tColon {
			p.next()
			s := p.next()
			if s.kind != tNUM {
				return nil, p.errAt(s)
			}
			if s.num != 1 && s.num != 2 && s.num != 4 {
				return nil, fmt.Errorf("data size %d must be 1, 2 or 4", s.num)
			}
			size = s.num
		}
		if err := p.expect(tRBrack, `"]"`); err != nil {
			return nil, err
		}
		return &arith{op: aLoad, proto: t.q, size: size, a: idx, lead: idx.lead, hasLead: idx.hasLead}, nil
	}
	return nil, p.errAt(t)
}

// indexable checks that proto[...] is supported for a protocol.
func indexable(t token) error {
	switch t.q {
	case qLink, qIP, qARP, qRARP, qIPv6, qTCP, qUDP, qSCTP, qICMP, qIGMP,
		qIGRP, qPIM, qVRRP, qCARP, qICMPv6, qDECnet, qLAT, qSCA, qMOPRC, qMOPDL:
		return nil
	case qRadio:
		return fmt.Errorf("%s[]: radio information not present in capture", t.text)
	case qAtalk:
		return unsupported(t.text + "[]")
	}
	return fmt.Errorf("%s[] is not a supported index operation", t.text)
}
