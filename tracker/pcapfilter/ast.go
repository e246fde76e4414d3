package pcapfilter

import "net/netip"

// qproto is a protocol qualifier ("ip", "tcp", "ether", ...).
type qproto uint8

const (
	qDefault qproto = iota
	qLink
	qIP
	qARP
	qRARP
	qSCTP
	qTCP
	qUDP
	qICMP
	qIGMP
	qIGRP
	qPIM
	qVRRP
	qCARP
	qRadio
	qIPv6
	qICMPv6
	qAH
	qESP
	qAtalk
	qAARP
	qDECnet
	qLAT
	qSCA
	qMOPRC
	qMOPDL
	qISO
	qESIS
	qISIS
	qCLNP
	qSTP
	qIPX
	qNetBEUI
	qUndef qproto = 255
)

var qprotoNames = [...]string{
	qDefault: "", qLink: "link", qIP: "ip", qARP: "arp", qRARP: "rarp",
	qSCTP: "sctp", qTCP: "tcp", qUDP: "udp", qICMP: "icmp", qIGMP: "igmp",
	qIGRP: "igrp", qPIM: "pim", qVRRP: "vrrp", qCARP: "carp", qRadio: "radio",
	qIPv6: "ip6", qICMPv6: "icmp6", qAH: "ah", qESP: "esp", qAtalk: "atalk",
	qAARP: "aarp", qDECnet: "decnet", qLAT: "lat", qSCA: "sca",
	qMOPRC: "moprc", qMOPDL: "mopdl", qISO: "iso", qESIS: "esis",
	qISIS: "isis", qCLNP: "clnp", qSTP: "stp", qIPX: "ipx", qNetBEUI: "netbeui",
}

func (q qproto) String() string {
	if int(q) < len(qprotoNames) {
		return qprotoNames[q]
	}
	return "?"
}

// qdir is a direction qualifier.
type qdir uint8

const (
	dirDefault qdir = iota // src or dst
	dirSrc
	dirDst
	dirOr
	dirAnd
	dirUndef qdir = 255
)

// qaddr is an address-type qualifier.
type qaddr uint8

const (
	addrDefault qaddr = iota // host
	addrHost
	addrNet
	addrPort
	addrPortrange
	addrProto
	addrUndef qaddr = 255
)

// qual is the qualifier list in force for an identifier. Identifiers
// without their own qualifiers inherit the most recent list; qerr marks
// positions (after "tcp", "vlan", a relation...) where there is none.
type qual struct {
	proto qproto
	dir   qdir
	addr  qaddr
}

var qerr = qual{qUndef, dirUndef, addrUndef}

// IP protocol numbers and Ethernet types used by the code generator.
const (
	ipprotoICMP   = 1
	ipprotoIGMP   = 2
	ipprotoTCP    = 6
	ipprotoIGRP   = 9
	ipprotoUDP    = 17
	ipprotoFrag   = 44
	ipprotoESP    = 50
	ipprotoAH     = 51
	ipprotoICMPv6 = 58
	ipprotoPIM    = 103
	ipprotoVRRP   = 112
	ipprotoSCTP   = 132
	protoUndef    = -1 // port qualifier without a protocol: tcp, udp or sctp

	etherIP     = 0x0800
	etherARP    = 0x0806
	etherRARP   = 0x8035
	etherIPv6   = 0x86dd
	ether8021Q  = 0x8100
	ether8021AD = 0x88a8
	etherQinQ   = 0x9100
	etherMPLS   = 0x8847
	etherMTU    = 1500
)

// node is a parsed primitive or boolean combination. Nodes are built in
// source order; Compile walks them in that order because "vlan" and "mpls"
// change the offsets of everything after them.
type node interface{ isNode() }

type andNode struct{ a, b node }
type orNode struct{ a, b node }
type notNode struct{ a node }

// hostNode is "[proto] [dir] host|net ADDR" for one IPv4 or IPv6 address.
type hostNode struct {
	proto  qproto
	dir    qdir
	net    bool
	addr   netip.Addr
	mask   [16]byte // leading len(addr) bytes are used
	byName bool     // resolved from a host name
}

// etherHostNode is "ether [dir] host MAC".
type etherHostNode struct {
	dir qdir
	mac [6]byte
}

// portNode is "[tcp|udp|sctp] [dir] port|portrange".
type portNode struct {
	ipproto int // ipprotoTCP, ipprotoUDP, ipprotoSCTP or protoUndef
	dir     qdir
	lo, hi  uint32
	rng     bool
}

// protoNode is "ip|ip6|ether proto N" or "proto N".
type protoNode struct {
	proto qproto
	v     uint32
}

// abbrevNode is a bare protocol keyword such as "tcp" or "arp".
type abbrevNode struct{ proto qproto }

// relNode is "arith relop arith".
type relNode struct {
	op   tokKind // tGT, tGE, tEq, tLE, tLT or tNE
	a, b *arith
}

// lenNode is "less N" (len <= N) or "greater N" (len >= N).
type lenNode struct {
	greater bool
	n       uint32
}

// castNode is "[proto] broadcast" or "[proto] multicast".
type castNode struct {
	proto qproto
	multi bool
}

// vlanNode is "vlan [ID]".
type vlanNode struct {
	has bool
	id  uint32
}

// mplsNode is "mpls [LABEL]".
type mplsNode struct {
	has   bool
	label uint32
}

// byteNode is "byte IDX op VAL" with op '=', '<' or '>'.
type byteNode struct {
	op       tokKind
	idx, val uint32
}

func (andNode) isNode()       {}
func (orNode) isNode()        {}
func (notNode) isNode()       {}
func (hostNode) isNode()      {}
func (etherHostNode) isNode() {}
func (portNode) isNode()      {}
func (protoNode) isNode()     {}
func (abbrevNode) isNode()    {}
func (relNode) isNode()       {}
func (lenNode) isNode()       {}
func (castNode) isNode()      {}
func (vlanNode) isNode()      {}
func (mplsNode) isNode()      {}
func (byteNode) isNode()      {}

// arithOp is an arithmetic operator or operand kind.
type arithOp uint8

const (
	aNum  arithOp = iota // constant
	aLen                 // packet length
	aLoad                // proto[index:size]
	aNeg                 // unary minus
	aAdd
	aSub
	aMul
	aDiv
	aMod
	aAnd
	aOr
	aXor
	aLsh
	aRsh
)

// arith is an arithmetic expression.
type arith struct {
	op    arithOp
	k     uint32 // aNum value
	proto qproto // aLoad protocol
	size  uint32 // aLoad size: 1, 2 or 4
	a, b  *arith // operands; a is the index of an aLoad
	pnum  bool   // a bare number, possibly parenthesized

	// lead is the leftmost number of the expression as written, if it
	// starts with one. libpcap decides that a divisor is zero, or a shift
	// too large, by looking at it (so "len / (0 + 1)" is an error there).
	lead    uint32
	hasLead bool
}

func (a *arith) isConst() bool { return a.op == aNum }
