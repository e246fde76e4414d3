package pcapfilter

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/google/gopacket/layers"
	"golang.org/x/net/bpf"
)

// cond is a boolean test in the program being generated. Conditions are
// evaluated left to right with short circuits, in the order libpcap
// evaluates them: a load beyond the end of the packet rejects the packet at
// once, so the order of tests is part of a filter's meaning.
type cond interface{ isCond() }

// leaf runs ins, then jumps on A compared with k (or with X).
type leaf struct {
	ins []bpf.Instruction
	jop bpf.JumpTest // JumpEqual, JumpGreaterThan, JumpGreaterOrEqual or JumpBitsSet
	k   uint32
	x   bool
}

type andC struct{ a, b cond }
type orC struct{ a, b cond }
type notC struct{ a cond }
type constC bool

func (leaf) isCond()   {}
func (andC) isCond()   {}
func (orC) isCond()    {}
func (notC) isCond()   {}
func (constC) isCond() {}

// and and or skip nil operands, which stand for "no test".
func and(a, b cond) cond {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return andC{a, b}
}

func or(a, b cond) cond { return orC{a, b} }

func not(a cond) cond { return notC{a} }

// linkKind groups the supported link types by header layout.
type linkKind uint8

const (
	linkEther linkKind = iota
	linkSLL
	linkRaw  // IPv4 or IPv6, told apart by the version nibble
	linkIPv4 // IPv4 only
	linkIPv6 // IPv6 only
	linkNull // 4-byte address family, host byte order
	linkLoop // 4-byte address family, network byte order
)

// linkInfo describes a supported link type.
type linkInfo struct {
	kind linkKind
	name string
}

func linkOf(l layers.LinkType) (linkInfo, bool) {
	switch l {
	case layers.LinkTypeEthernet:
		return linkInfo{linkEther, "Ethernet"}, true
	case layers.LinkTypeLinuxSLL:
		return linkInfo{linkSLL, "Linux SLL"}, true
	case layers.LinkTypeRaw, 12, 14:
		return linkInfo{linkRaw, "Raw"}, true
	case layers.LinkTypeIPv4:
		return linkInfo{linkIPv4, "IPv4"}, true
	case layers.LinkTypeIPv6:
		return linkInfo{linkIPv6, "IPv6"}, true
	case layers.LinkTypeNull:
		return linkInfo{linkNull, "Null"}, true
	case layers.LinkTypeLoop:
		return linkInfo{linkLoop, "Loop"}, true
	}
	return linkInfo{}, false
}

// compiler holds libpcap's offsets. They change while the filter is
// compiled: "vlan" moves the type field and the payload by 4 bytes for
// everything after it, "mpls" moves the network layer by 4 bytes.
type compiler struct {
	link    linkInfo
	offType int    // offset of the link-layer type field; -1 if none
	offPl   uint32 // offset of the link-layer payload
	offNl   uint32 // offset of the network layer within the payload
	labels  int
}

func newCompiler(l layers.LinkType) (*compiler, error) {
	info, ok := linkOf(l)
	if !ok {
		return nil, fmt.Errorf("link type %d (%s) is not supported", uint8(l), l)
	}
	c := &compiler{link: info}
	switch info.kind {
	case linkEther:
		c.offType, c.offPl = 12, 14
	case linkSLL:
		c.offType, c.offPl = 14, 16
	case linkNull, linkLoop:
		c.offType, c.offPl = 0, 4
	default:
		c.offType, c.offPl = -1, 0
	}
	return c, nil
}

// nl is the absolute offset of the network-layer header.
func (c *compiler) nl() uint32 { return c.offPl + c.offNl }

func ldAbs(off uint32, size int) bpf.Instruction {
	return bpf.LoadAbsolute{Off: off, Size: size}
}

// cmp compares the field at an absolute offset with v.
func cmp(off uint32, size int, jop bpf.JumpTest, v uint32) cond {
	return leaf{ins: []bpf.Instruction{ldAbs(off, size)}, jop: jop, k: v}
}

func eq(off uint32, size int, v uint32) cond { return cmp(off, size, bpf.JumpEqual, v) }

// masked compares the field at off, ANDed with mask, with v.
func masked(off uint32, size int, v, mask uint32) cond {
	if mask == 0xffffffff {
		return eq(off, size, v)
	}
	return leaf{ins: []bpf.Instruction{ldAbs(off, size),
		bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: mask}}, jop: bpf.JumpEqual, k: v}
}

// bytesEq compares len(b) bytes at off with b: the last four bytes first,
// then the two before them, as libpcap does.
func bytesEq(off uint32, b []byte) cond {
	var c cond
	for n := len(b); n > 0; {
		var t cond
		switch {
		case n >= 4:
			t = eq(off+uint32(n)-4, 4, binary.BigEndian.Uint32(b[n-4:]))
			n -= 4
		case n >= 2:
			t = eq(off+uint32(n)-2, 2, uint32(binary.BigEndian.Uint16(b[n-2:])))
			n -= 2
		default:
			t = eq(off, 1, uint32(b[0]))
			n--
		}
		c = and(c, t)
	}
	return c
}

var errUnsupportedMPLS = errors.New("only IPv4 and IPv6 can be matched inside MPLS")

// linktype tests the link-layer protocol field for an Ethernet type, or an
// 802.2 SAP when proto <= 1500.
func (c *compiler) linktype(proto uint32) (cond, error) {
	if c.labels > 0 {
		return c.mplsLinktype(proto)
	}
	switch c.link.kind {
	case linkEther, linkSLL:
		switch proto {
		case 0xe0, 0x809b, 0x80f3:
			return nil, fmt.Errorf("IPX and AppleTalk encapsulations are not supported on %s", c.link.name)
		}
		lt := uint32(c.offType)
		if c.link.kind == linkEther {
			isLLC := not(cmp(lt, 2, bpf.JumpGreaterThan, etherMTU))
			switch {
			case proto == 0xfe || proto == 0x06 || proto == 0xf0:
				return and(isLLC, eq(c.offPl, 2, proto<<8|proto)), nil
			case proto <= etherMTU:
				return and(isLLC, eq(lt+2, 1, proto)), nil
			}
			return eq(lt, 2, proto), nil
		}
		// Linux SLL marks 802.2 frames with protocol 4.
		isLLC := eq(lt, 2, 4)
		switch {
		case proto == 0xfe || proto == 0x06 || proto == 0xf0:
			return and(isLLC, eq(c.offPl, 2, proto<<8|proto)), nil
		case proto <= etherMTU:
			return and(isLLC, eq(c.offPl, 1, proto)), nil
		}
		return eq(lt, 2, proto), nil
	case linkRaw:
		switch proto {
		case etherIP:
			return masked(0, 1, 0x40, 0xf0), nil
		case etherIPv6:
			return masked(0, 1, 0x60, 0xf0), nil
		}
	case linkIPv4:
		return constC(proto == etherIP), nil
	case linkIPv6:
		return constC(proto == etherIPv6), nil
	case linkNull, linkLoop:
		switch proto {
		case etherIP:
			return c.family(2), nil
		case etherIPv6:
			// The AF_INET6 values of the BSDs, macOS and Npcap, which
			// libpcap tests when it reads a capture file.
			return or(or(c.family(24), c.family(28)), c.family(30)), nil
		}
	}
	return constC(false), nil
}

// family tests the address family of a BSD loopback header.
func (c *compiler) family(af uint32) cond {
	if c.link.kind == linkNull {
		var b [4]byte
		binary.NativeEndian.PutUint32(b[:], af)
		af = binary.BigEndian.Uint32(b[:])
	}
	return eq(0, 4, af)
}

// mplsLinktype tests for IP inside MPLS: the bottom-of-stack bit of the
// last label, then the IP version.
func (c *compiler) mplsLinktype(proto uint32) (cond, error) {
	var v uint32
	switch proto {
	case etherIP:
		v = 0x40
	case etherIPv6:
		v = 0x60
	default:
		return nil, errUnsupportedMPLS
	}
	return and(masked(c.nl()-2, 1, 1, 1), masked(c.nl(), 1, v, 0xf0)), nil
}

// ipfrag is true for an unfragmented IPv4 datagram or a first fragment.
func (c *compiler) ipfrag() cond {
	return not(cmp(c.nl()+6, 2, bpf.JumpBitsSet, 0x1fff))
}

// ipProto tests the protocol field of IPv4.
func (c *compiler) ipProto(p uint32) (cond, error) {
	lt, err := c.linktype(etherIP)
	if err != nil {
		return nil, err
	}
	return and(lt, eq(c.nl()+9, 1, p)), nil
}

// ip6Proto tests the next header of IPv6, also behind one fragment header.
func (c *compiler) ip6Proto(p uint32) (cond, error) {
	lt, err := c.linktype(etherIPv6)
	if err != nil {
		return nil, err
	}
	nl := c.nl()
	frag := and(eq(nl+6, 1, ipprotoFrag), eq(nl+40, 1, p))
	return and(lt, or(eq(nl+6, 1, p), frag)), nil
}

func (c *compiler) eitherProto(p uint32) (cond, error) {
	a, err := c.ipProto(p)
	if err != nil {
		return nil, err
	}
	b, err := c.ip6Proto(p)
	if err != nil {
		return nil, err
	}
	return or(a, b), nil
}

// gen compiles a node.
func (c *compiler) gen(n node) (cond, error) {
	switch n := n.(type) {
	case andNode:
		a, err := c.gen(n.a)
		if err != nil {
			return nil, err
		}
		b, err := c.gen(n.b)
		if err != nil {
			return nil, err
		}
		return andC{a, b}, nil
	case orNode:
		a, err := c.gen(n.a)
		if err != nil {
			return nil, err
		}
		b, err := c.gen(n.b)
		if err != nil {
			return nil, err
		}
		return orC{a, b}, nil
	case notNode:
		a, err := c.gen(n.a)
		if err != nil {
			return nil, err
		}
		return notC{a}, nil
	case hostNode:
		if n.addr.Is4() {
			return c.host4(n)
		}
		return c.host6(n)
	case etherHostNode:
		if err := c.needEther(); err != nil {
			return nil, err
		}
		return dirOp(n.dir, func(src bool) (cond, error) {
			if src {
				return bytesEq(6, n.mac[:]), nil
			}
			return bytesEq(0, n.mac[:]), nil
		})
	case portNode:
		return c.port(n)
	case protoNode:
		return c.proto(n)
	case abbrevNode:
		return c.abbrev(n.proto)
	case relNode:
		return c.relation(n)
	case lenNode:
		l := leaf{ins: []bpf.Instruction{bpf.LoadExtension{Num: bpf.ExtLen}}, k: n.n}
		if n.greater {
			l.jop = bpf.JumpGreaterOrEqual
			return l, nil
		}
		l.jop = bpf.JumpGreaterThan
		return not(l), nil
	case castNode:
		return c.cast(n)
	case vlanNode:
		return c.vlan(n)
	case mplsNode:
		return c.mpls(n)
	case byteNode:
		switch n.op {
		case tEq:
			return eq(n.idx, 1, n.val), nil
		case tLT:
			return not(cmp(n.idx, 1, bpf.JumpGreaterOrEqual, n.val)), nil
		default:
			return cmp(n.idx, 1, bpf.JumpGreaterThan, n.val), nil
		}
	}
	return nil, fmt.Errorf("internal error: unexpected node %T", n)
}

// needEther fails unless the link layer is Ethernet.
func (c *compiler) needEther() error {
	if c.link.kind != linkEther {
		return fmt.Errorf("link type %s has no Ethernet header", c.link.name)
	}
	return nil
}

// dirOp combines a source and a destination test as the direction asks.
func dirOp(d qdir, one func(src bool) (cond, error)) (cond, error) {
	switch d {
	case dirSrc:
		return one(true)
	case dirDst:
		return one(false)
	}
	s, err := one(true)
	if err != nil {
		return nil, err
	}
	t, err := one(false)
	if err != nil {
		return nil, err
	}
	if d == dirAnd {
		return andC{s, t}, nil
	}
	return orC{s, t}, nil
}

func (c *compiler) host4(h hostNode) (cond, error) {
	addr := ipv4Uint(h.addr)
	mask := binary.BigEndian.Uint32(h.mask[:4])
	one := func(ethertype uint32, srcOff, dstOff uint32) (cond, error) {
		return dirOp(h.dir, func(src bool) (cond, error) {
			lt, err := c.linktype(ethertype)
			if err != nil {
				return nil, err
			}
			off := dstOff
			if src {
				off = srcOff
			}
			return and(lt, masked(c.nl()+off, 4, addr&mask, mask)), nil
		})
	}
	proto := h.proto
	if proto == qDefault && h.byName && c.offType < 0 {
		proto = qIP
	}
	switch proto {
	case qARP:
		return one(etherARP, 14, 24)
	case qRARP:
		return one(etherRARP, 14, 24)
	case qIP:
		return one(etherIP, 12, 16)
	}
	b, err := one(etherIP, 12, 16)
	if err != nil || c.labels > 0 {
		return b, err
	}
	arp, err := one(etherARP, 14, 24)
	if err != nil {
		return nil, err
	}
	rarp, err := one(etherRARP, 14, 24)
	if err != nil {
		return nil, err
	}
	return or(or(b, arp), rarp), nil
}

func (c *compiler) host6(h hostNode) (cond, error) {
	a := h.addr.As16()
	return dirOp(h.dir, func(src bool) (cond, error) {
		lt, err := c.linktype(etherIPv6)
		if err != nil {
			return nil, err
		}
		off := c.nl() + 24
		if src {
			off = c.nl() + 8
		}
		var w cond
		for i := uint32(0); i < 16; i += 4 {
			w = and(w, masked(off+i, 4, binary.BigEndian.Uint32(a[i:])&binary.BigEndian.Uint32(h.mask[i:]),
				binary.BigEndian.Uint32(h.mask[i:])))
		}
		return and(lt, w), nil
	})
}

// port tests TCP, UDP or SCTP ports over IPv6 (next header at the fixed
// offset 40, as libpcap) and over IPv4 (first fragments only).
func (c *compiler) port(n portNode) (cond, error) {
	perProto := func(one func(p uint32) (cond, error)) (cond, error) {
		if n.ipproto != protoUndef {
			return one(uint32(n.ipproto))
		}
		var res cond
		for _, p := range []uint32{ipprotoSCTP, ipprotoTCP, ipprotoUDP} {
			b, err := one(p)
			if err != nil {
				return nil, err
			}
			if res == nil {
				res = b
			} else {
				res = or(res, b)
			}
		}
		return res, nil
	}
	atom := func(load func(off uint32) []bpf.Instruction) (cond, error) {
		return dirOp(n.dir, func(src bool) (cond, error) {
			off := uint32(2)
			if src {
				off = 0
			}
			if !n.rng {
				return leaf{ins: load(off), jop: bpf.JumpEqual, k: n.lo}, nil
			}
			ge := leaf{ins: load(off), jop: bpf.JumpGreaterOrEqual, k: n.lo}
			le := not(leaf{ins: load(off), jop: bpf.JumpGreaterThan, k: n.hi})
			return and(ge, le), nil
		})
	}
	nl := c.nl()
	load6 := func(off uint32) []bpf.Instruction {
		return []bpf.Instruction{ldAbs(nl+40+off, 2)}
	}
	load4 := func(off uint32) []bpf.Instruction {
		return []bpf.Instruction{bpf.LoadMemShift{Off: nl}, bpf.LoadIndirect{Off: nl + off, Size: 2}}
	}
	v6, err := perProto(func(p uint32) (cond, error) {
		ports, err := atom(load6)
		return and(eq(nl+6, 1, p), ports), err
	})
	if err != nil {
		return nil, err
	}
	lt6, err := c.linktype(etherIPv6)
	if err != nil {
		return nil, err
	}
	v4, err := perProto(func(p uint32) (cond, error) {
		ports, err := atom(load4)
		return and(and(eq(nl+9, 1, p), c.ipfrag()), ports), err
	})
	if err != nil {
		return nil, err
	}
	lt4, err := c.linktype(etherIP)
	if err != nil {
		return nil, err
	}
	return or(and(lt6, v6), and(lt4, v4)), nil
}

func (c *compiler) proto(n protoNode) (cond, error) {
	switch n.proto {
	case qLink:
		return c.linktype(n.v)
	case qIP:
		return c.ipProto(n.v)
	case qIPv6:
		return c.ip6Proto(n.v)
	}
	return c.eitherProto(n.v)
}

// abbrev compiles a protocol keyword used alone.
func (c *compiler) abbrev(p qproto) (cond, error) {
	switch p {
	case qTCP:
		return c.eitherProto(ipprotoTCP)
	case qUDP:
		return c.eitherProto(ipprotoUDP)
	case qSCTP:
		return c.eitherProto(ipprotoSCTP)
	case qPIM:
		return c.eitherProto(ipprotoPIM)
	case qAH:
		return c.eitherProto(ipprotoAH)
	case qESP:
		return c.eitherProto(ipprotoESP)
	case qICMP:
		return c.ipProto(ipprotoICMP)
	case qIGMP:
		return c.ipProto(ipprotoIGMP)
	case qIGRP:
		return c.ipProto(ipprotoIGRP)
	case qVRRP, qCARP:
		return c.ipProto(ipprotoVRRP)
	case qICMPv6:
		return c.ip6Proto(ipprotoICMPv6)
	case qIP:
		return c.linktype(etherIP)
	case qIPv6:
		return c.linktype(etherIPv6)
	case qARP:
		return c.linktype(etherARP)
	case qRARP:
		return c.linktype(etherRARP)
	case qDECnet:
		return c.linktype(0x6003)
	case qLAT:
		return c.linktype(0x6004)
	case qSCA:
		return c.linktype(0x6007)
	case qMOPRC:
		return c.linktype(0x6002)
	case qMOPDL:
		return c.linktype(0x6001)
	case qSTP:
		return c.linktype(0x42)
	case qNetBEUI:
		return c.linktype(0xf0)
	case qISO:
		return c.linktype(0xfe)
	}
	return nil, unsupported(p.String())
}

func (c *compiler) cast(n castNode) (cond, error) {
	switch {
	case n.proto == qIP && !n.multi:
		// Without a netmask, as when libpcap reads a capture file, only
		// the all-zeros and all-ones addresses are broadcasts.
		lt, err := c.linktype(etherIP)
		if err != nil {
			return nil, err
		}
		return and(lt, or(eq(c.nl()+16, 4, 0), eq(c.nl()+16, 4, 0xffffffff))), nil
	case n.proto == qIP:
		lt, err := c.linktype(etherIP)
		if err != nil {
			return nil, err
		}
		return and(lt, cmp(c.nl()+16, 1, bpf.JumpGreaterOrEqual, 224)), nil
	case n.proto == qIPv6:
		lt, err := c.linktype(etherIPv6)
		if err != nil {
			return nil, err
		}
		return and(lt, eq(c.nl()+24, 1, 255)), nil
	case n.multi:
		if err := c.needEther(); err != nil {
			return nil, err
		}
		return cmp(0, 1, bpf.JumpBitsSet, 1), nil
	}
	if err := c.needEther(); err != nil {
		return nil, err
	}
	return bytesEq(0, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}), nil
}

// vlan tests for an 802.1Q, 802.1ad or QinQ tag, then moves the offsets of
// everything compiled after it past the tag.
func (c *compiler) vlan(n vlanNode) (cond, error) {
	if c.labels > 0 {
		return nil, errors.New("no VLAN match after MPLS")
	}
	if c.link.kind != linkEther {
		return nil, fmt.Errorf("link type %s has no VLAN support", c.link.name)
	}
	var b cond
	for _, tpid := range []uint32{ether8021Q, ether8021AD, etherQinQ} {
		lt, err := c.linktype(tpid)
		if err != nil {
			return nil, err
		}
		if b == nil {
			b = lt
		} else {
			b = or(b, lt)
		}
	}
	if n.has {
		b = and(b, masked(c.nl(), 2, n.id, 0xfff))
	}
	c.offPl += 4
	c.offType += 4
	return b, nil
}

// mpls tests for an MPLS label, then moves the network layer past it.
func (c *compiler) mpls(n mplsNode) (cond, error) {
	var b cond
	if c.labels > 0 {
		// The previous label must not be the bottom of the stack.
		b = masked(c.nl()-4+2, 1, 0, 1)
	} else {
		if c.link.kind != linkEther {
			return nil, fmt.Errorf("link type %s has no MPLS support", c.link.name)
		}
		lt, err := c.linktype(etherMPLS)
		if err != nil {
			return nil, err
		}
		b = lt
	}
	if n.has {
		b = and(b, masked(c.nl(), 4, n.label<<12, 0xfffff000))
	}
	c.offNl += 4
	c.labels++
	return b, nil
}

// maxScratch is the number of BPF scratch memory slots.
const maxScratch = 16

var errTooComplex = errors.New("arithmetic expression needs more than 16 scratch registers")

// relation compiles "a op b". The protocol tests of the loads in a and b
// come first; like libpcap, the tests of the right operand of an arithmetic
// operator are dropped (so "len + tcp[0] = 0" reads tcp[0] from any
// packet, assuming an IPv4 header).
func (c *compiler) relation(n relNode) (cond, error) {
	l := leaf{}
	switch n.op {
	case tGT, tLE:
		l.jop = bpf.JumpGreaterThan
	case tGE, tLT:
		l.jop = bpf.JumpGreaterOrEqual
	default:
		l.jop = bpf.JumpEqual
	}
	var chkA, chkB cond
	if n.b.isConst() {
		ins, chk, err := c.arith(n.a, 0)
		if err != nil {
			return nil, err
		}
		l.ins, l.k, chkA = ins, n.b.k, chk
	} else {
		// B goes to scratch slot 0, A is computed into the accumulator,
		// then B is loaded into X for the comparison.
		insB, chk, err := c.arith(n.b, 0)
		if err != nil {
			return nil, err
		}
		chkB = chk
		insA, chk, err := c.arith(n.a, 1)
		if err != nil {
			return nil, err
		}
		chkA = chk
		l.ins = append(insB, bpf.StoreScratch{Src: bpf.RegA, N: 0})
		l.ins = append(l.ins, insA...)
		l.ins = append(l.ins, bpf.LoadScratch{Dst: bpf.RegX, N: 0})
		l.x = true
	}
	var res cond = l
	if n.op == tLE || n.op == tLT || n.op == tNE {
		res = not(l)
	}
	return and(and(chkA, chkB), res), nil
}

// arith returns instructions that leave the value of a in A, using scratch
// slots from slot up, and the protocol tests that must pass before they run.
func (c *compiler) arith(a *arith, slot int) ([]bpf.Instruction, cond, error) {
	switch a.op {
	case aNum:
		return []bpf.Instruction{bpf.LoadConstant{Dst: bpf.RegA, Val: a.k}}, nil, nil
	case aLen:
		return []bpf.Instruction{bpf.LoadExtension{Num: bpf.ExtLen}}, nil, nil
	case aNeg:
		ins, chk, err := c.arith(a.a, slot)
		// x/net/bpf has no NEG instruction; multiplying by -1 is the same.
		return append(ins, bpf.ALUOpConstant{Op: bpf.ALUOpMul, Val: 0xffffffff}), chk, err
	case aLoad:
		return c.load(a, slot)
	}
	op := aluOps[a.op]
	if a.b.isConst() {
		ins, chk, err := c.arith(a.a, slot)
		return append(ins, bpf.ALUOpConstant{Op: op, Val: a.b.k}), chk, err
	}
	if slot >= maxScratch {
		return nil, nil, errTooComplex
	}
	insB, _, err := c.arith(a.b, slot)
	if err != nil {
		return nil, nil, err
	}
	insA, chk, err := c.arith(a.a, slot+1)
	if err != nil {
		return nil, nil, err
	}
	ins := append(insB, bpf.StoreScratch{Src: bpf.RegA, N: slot})
	ins = append(ins, insA...)
	ins = append(ins, bpf.LoadScratch{Dst: bpf.RegX, N: slot}, bpf.ALUOpX{Op: op})
	return ins, chk, nil
}

var aluOps = map[arithOp]bpf.ALUOp{
	aAdd: bpf.ALUOpAdd, aSub: bpf.ALUOpSub, aMul: bpf.ALUOpMul,
	aDiv: bpf.ALUOpDiv, aMod: bpf.ALUOpMod, aAnd: bpf.ALUOpAnd,
	aOr: bpf.ALUOpOr, aXor: bpf.ALUOpXor, aLsh: bpf.ALUOpShiftLeft,
	aRsh: bpf.ALUOpShiftRight,
}

// outOfRange is a load that always fails, rejecting the packet, for
// offsets past 4 GiB.
var outOfRange = bpf.LoadAbsolute{Off: 0xffffffff, Size: 1}

// load compiles proto[index:size].
func (c *compiler) load(a *arith, slot int) ([]bpf.Instruction, cond, error) {
	idx := a.a
	insIdx, chkIdx, err := c.arith(idx, slot)
	if err != nil {
		return nil, nil, err
	}
	size := int(a.size)
	// at loads at base+index, the index being in A.
	at := func(base uint32) []bpf.Instruction {
		if idx.isConst() {
			off := uint64(base) + uint64(idx.k)
			if off > 0xffffffff {
				return []bpf.Instruction{outOfRange}
			}
			return []bpf.Instruction{ldAbs(uint32(off), size)}
		}
		return append(insIdx, bpf.TAX{}, bpf.LoadIndirect{Off: base, Size: size})
	}
	switch a.proto {
	case qLink:
		return at(0), chkIdx, nil
	case qIP, qARP, qRARP, qIPv6, qDECnet, qLAT, qSCA, qMOPRC, qMOPDL:
		chk, err := c.abbrev(a.proto)
		if err != nil {
			return nil, nil, err
		}
		return at(c.nl()), and(chkIdx, chk), nil
	case qICMPv6:
		lt, err := c.linktype(etherIPv6)
		if err != nil {
			return nil, nil, err
		}
		chk := and(and(chkIdx, lt), eq(c.nl()+6, 1, ipprotoICMPv6))
		return at(c.nl() + 40), chk, nil
	}
	// Transport layer over IPv4: X holds the IPv4 header length.
	proto, err := c.abbrev(a.proto)
	if err != nil {
		return nil, nil, err
	}
	ip, err := c.linktype(etherIP)
	if err != nil {
		return nil, nil, err
	}
	chk := and(ip, and(chkIdx, and(proto, c.ipfrag())))
	nl := c.nl()
	// X = index + IPv4 header length, in 32-bit arithmetic, then the load
	// is at X + nl. With a small constant index the addition can be folded
	// into the load's offset.
	if idx.isConst() && uint64(nl)+uint64(idx.k)+60 <= 0xffffffff {
		return []bpf.Instruction{bpf.LoadMemShift{Off: nl}, bpf.LoadIndirect{Off: nl + idx.k, Size: size}}, chk, nil
	}
	ins := append(insIdx, bpf.LoadMemShift{Off: nl}, bpf.ALUOpX{Op: bpf.ALUOpAdd}, bpf.TAX{},
		bpf.LoadIndirect{Off: nl, Size: size})
	return ins, chk, nil
}
