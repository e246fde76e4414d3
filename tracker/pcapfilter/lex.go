package pcapfilter

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"
)

// tokKind is the kind of a lexical token.
type tokKind uint8

const (
	tEOF   tokKind = iota
	tID            // name (also "\name" escapes)
	tHID           // dotted IPv4 form: N.N, N.N.N or N.N.N.N
	tHID6          // IPv6 address
	tEID           // MAC address
	tAID           // ARCnet address ($xx)
	tNUM           // number or named constant
	tPname         // protocol name usable as a qualifier (tok.q)
	tKw            // other keyword (tok.kw)

	// Punctuation and operators.
	tLParen
	tRParen
	tLBrack
	tRBrack
	tColon
	tPlus
	tMinus
	tStar
	tSlash
	tPercent
	tAmp
	tPipe
	tCaret
	tEq
	tGT
	tLT
	tGE
	tLE
	tNE
	tLSH
	tRSH
	tNot
	tAnd
	tOr
)

// keyword identifies a keyword that is not a protocol qualifier.
type keyword uint8

const (
	kwNone keyword = iota
	kwSrc
	kwDst
	kwHost
	kwNet
	kwMask
	kwPort
	kwPortrange
	kwProto
	kwProtochain
	kwGateway
	kwLess
	kwGreater
	kwByte
	kwBroadcast
	kwMulticast
	kwLen
	kwVlan
	kwMpls
	kwAddr1 // also addr2..4, ra, ta: 802.11 direction qualifiers
	kwWlanType
	kwUnsupported
)

// token is one lexical token of a filter expression.
type token struct {
	kind tokKind
	kw   keyword
	q    qproto // protocol qualifier of a tPname
	num  uint32 // value of a tNUM
	text string // source text
	pos  int    // byte offset in the expression
}

func (t token) String() string {
	if t.kind == tEOF {
		return "end of expression"
	}
	return fmt.Sprintf("%q", t.text)
}

type kwInfo struct {
	kind tokKind
	kw   keyword
	q    qproto
	num  uint32
}

// keywords maps the reserved words of libpcap 1.10's scanner, and its named
// constants, to tokens. Keywords are case-sensitive, as in libpcap.
var keywords = map[string]kwInfo{
	"dst": {kind: tKw, kw: kwDst}, "src": {kind: tKw, kw: kwSrc},

	"link": {kind: tPname, q: qLink}, "ether": {kind: tPname, q: qLink},
	"ppp": {kind: tPname, q: qLink}, "slip": {kind: tPname, q: qLink},
	"fddi": {kind: tPname, q: qLink}, "tr": {kind: tPname, q: qLink},
	"wlan": {kind: tPname, q: qLink},
	"arp":  {kind: tPname, q: qARP}, "rarp": {kind: tPname, q: qRARP},
	"ip": {kind: tPname, q: qIP}, "sctp": {kind: tPname, q: qSCTP},
	"tcp": {kind: tPname, q: qTCP}, "udp": {kind: tPname, q: qUDP},
	"icmp": {kind: tPname, q: qICMP}, "igmp": {kind: tPname, q: qIGMP},
	"igrp": {kind: tPname, q: qIGRP}, "pim": {kind: tPname, q: qPIM},
	"vrrp": {kind: tPname, q: qVRRP}, "carp": {kind: tPname, q: qCARP},
	"radio": {kind: tPname, q: qRadio},
	"ip6":   {kind: tPname, q: qIPv6}, "icmp6": {kind: tPname, q: qICMPv6},
	"ah": {kind: tPname, q: qAH}, "esp": {kind: tPname, q: qESP},
	"atalk": {kind: tPname, q: qAtalk}, "aarp": {kind: tPname, q: qAARP},
	"decnet": {kind: tPname, q: qDECnet}, "lat": {kind: tPname, q: qLAT},
	"sca": {kind: tPname, q: qSCA}, "moprc": {kind: tPname, q: qMOPRC},
	"mopdl": {kind: tPname, q: qMOPDL},
	"iso":   {kind: tPname, q: qISO}, "esis": {kind: tPname, q: qESIS},
	"es-is": {kind: tPname, q: qESIS}, "isis": {kind: tPname, q: qISIS},
	"is-is": {kind: tPname, q: qISIS}, "l1": {kind: tPname, q: qISIS},
	"l2": {kind: tPname, q: qISIS}, "iih": {kind: tPname, q: qISIS},
	"lsp": {kind: tPname, q: qISIS}, "snp": {kind: tPname, q: qISIS},
	"csnp": {kind: tPname, q: qISIS}, "psnp": {kind: tPname, q: qISIS},
	"clnp": {kind: tPname, q: qCLNP}, "stp": {kind: tPname, q: qSTP},
	"ipx": {kind: tPname, q: qIPX}, "netbeui": {kind: tPname, q: qNetBEUI},

	"host": {kind: tKw, kw: kwHost}, "net": {kind: tKw, kw: kwNet},
	"mask": {kind: tKw, kw: kwMask}, "port": {kind: tKw, kw: kwPort},
	"portrange": {kind: tKw, kw: kwPortrange}, "proto": {kind: tKw, kw: kwProto},
	"protochain": {kind: tKw, kw: kwProtochain}, "gateway": {kind: tKw, kw: kwGateway},

	"type": {kind: tKw, kw: kwWlanType}, "subtype": {kind: tKw, kw: kwWlanType},
	"direction": {kind: tKw, kw: kwWlanType}, "dir": {kind: tKw, kw: kwWlanType},
	"address1": {kind: tKw, kw: kwAddr1}, "addr1": {kind: tKw, kw: kwAddr1},
	"address2": {kind: tKw, kw: kwAddr1}, "addr2": {kind: tKw, kw: kwAddr1},
	"address3": {kind: tKw, kw: kwAddr1}, "addr3": {kind: tKw, kw: kwAddr1},
	"address4": {kind: tKw, kw: kwAddr1}, "addr4": {kind: tKw, kw: kwAddr1},
	"ra": {kind: tKw, kw: kwAddr1}, "ta": {kind: tKw, kw: kwAddr1},

	"less": {kind: tKw, kw: kwLess}, "greater": {kind: tKw, kw: kwGreater},
	"byte": {kind: tKw, kw: kwByte}, "broadcast": {kind: tKw, kw: kwBroadcast},
	"multicast": {kind: tKw, kw: kwMulticast},
	"and":       {kind: tAnd}, "or": {kind: tOr}, "not": {kind: tNot},
	"len": {kind: tKw, kw: kwLen}, "length": {kind: tKw, kw: kwLen},
	"vlan": {kind: tKw, kw: kwVlan}, "mpls": {kind: tKw, kw: kwMpls},

	"inbound": unsup, "outbound": unsup, "ifindex": unsup,
	"pppoed": unsup, "pppoes": unsup, "geneve": unsup,
	"lane": unsup, "llc": unsup, "metac": unsup, "bcc": unsup, "oam": unsup,
	"oamf4": unsup, "oamf4ec": unsup, "oamf4sc": unsup, "sc": unsup,
	"ilmic": unsup, "vpi": unsup, "vci": unsup, "connectmsg": unsup,
	"metaconnect": unsup,
	"on":          unsup, "ifname": unsup, "rset": unsup, "ruleset": unsup,
	"rnr": unsup, "rulenum": unsup, "srnr": unsup, "subrulenum": unsup,
	"reason": unsup, "action": unsup,
	"fisu": unsup, "lssu": unsup, "lsu": unsup, "msu": unsup, "hfisu": unsup,
	"hlssu": unsup, "hmsu": unsup, "sio": unsup, "opc": unsup, "dpc": unsup,
	"sls": unsup, "hsio": unsup, "hopc": unsup, "hdpc": unsup, "hsls": unsup,

	// Named constants.
	"icmptype": num(0), "icmpcode": num(1),
	"icmp-echoreply": num(0), "icmp-unreach": num(3),
	"icmp-sourcequench": num(4), "icmp-redirect": num(5),
	"icmp-echo": num(8), "icmp-routeradvert": num(9),
	"icmp-routersolicit": num(10), "icmp-timxceed": num(11),
	"icmp-paramprob": num(12), "icmp-tstamp": num(13),
	"icmp-tstampreply": num(14), "icmp-ireq": num(15),
	"icmp-ireqreply": num(16), "icmp-maskreq": num(17),
	"icmp-maskreply": num(18),
	"icmp6type":      num(0), "icmp6code": num(1),
	"icmp6-destinationunreach":        num(1),
	"icmp6-packettoobig":              num(2),
	"icmp6-timeexceeded":              num(3),
	"icmp6-parameterproblem":          num(4),
	"icmp6-echo":                      num(128),
	"icmp6-echoreply":                 num(129),
	"icmp6-multicastlistenerquery":    num(130),
	"icmp6-multicastlistenerreportv1": num(131),
	"icmp6-multicastlistenerdone":     num(132),
	"icmp6-routersolicit":             num(133),
	"icmp6-routeradvert":              num(134),
	"icmp6-neighborsolicit":           num(135),
	"icmp6-neighboradvert":            num(136),
	"icmp6-redirect":                  num(137),
	"icmp6-routerrenum":               num(138),
	"icmp6-nodeinformationquery":      num(139),
	"icmp6-nodeinformationresponse":   num(140),
	"icmp6-ineighbordiscoverysolicit": num(141),
	"icmp6-ineighbordiscoveryadvert":  num(142),
	"icmp6-multicastlistenerreportv2": num(143),
	"icmp6-homeagentdiscoveryrequest": num(144),
	"icmp6-homeagentdiscoveryreply":   num(145),
	"icmp6-mobileprefixsolicit":       num(146),
	"icmp6-mobileprefixadvert":        num(147),
	"icmp6-certpathsolicit":           num(148),
	"icmp6-certpathadvert":            num(149),
	"icmp6-multicastrouteradvert":     num(151),
	"icmp6-multicastroutersolicit":    num(152),
	"icmp6-multicastrouterterm":       num(153),
	"tcpflags":                        num(13),
	"tcp-fin":                         num(0x01), "tcp-syn": num(0x02),
	"tcp-rst": num(0x04), "tcp-push": num(0x08), "tcp-ack": num(0x10),
	"tcp-urg": num(0x20), "tcp-ece": num(0x40), "tcp-cwr": num(0x80),
}

var unsup = kwInfo{kind: tKw, kw: kwUnsupported}

func num(v uint32) kwInfo { return kwInfo{kind: tNUM, num: v} }

// maxKeyword is the length of the longest keyword, bounding prefix searches.
var maxKeyword = func() int {
	n := 0
	for k := range keywords {
		n = max(n, len(k))
	}
	return n
}()

// The scanner picks the longest match; ties go to the rule listed first,
// as flex does. These are libpcap's patterns.
const (
	hexB  = `[0-9A-Fa-f][0-9A-Fa-f]?`
	hexB2 = `[0-9A-Fa-f]{4}`
	numN  = `(?:[0-9]+|0[Xx][0-9A-Fa-f]+)`
)

var (
	reAID = regexp.MustCompile(`^\$` + hexB)
	reMAC = regexp.MustCompile(`^(?:` + hexB + `(?::` + hexB + `){5}|` +
		hexB + `(?:-` + hexB + `){5}|` + hexB + `(?:\.` + hexB + `){5}|` +
		hexB2 + `\.` + hexB2 + `\.` + hexB2 + `|` + hexB2 + hexB2 + hexB2 + `)`)
	reN     = regexp.MustCompile(`^` + numN)
	reHID   = regexp.MustCompile(`^` + numN + `(?:\.` + numN + `){1,3}`)
	reBogus = regexp.MustCompile(`^` + hexB + `:+(?:` + hexB + `:+)+`)
	reID    = regexp.MustCompile(`^[A-Za-z0-9](?:[-_.A-Za-z0-9]*[.A-Za-z0-9])?`)
	reEsc   = regexp.MustCompile(`^\\[^ !()\n\t]+`)
)

func init() {
	for _, re := range []*regexp.Regexp{reAID, reMAC, reN, reHID, reBogus, reID, reEsc} {
		re.Longest()
	}
}

// lexer rules in flex order; the index breaks ties between equal lengths.
const (
	ruleKeyword = iota
	ruleAID
	ruleMAC
	ruleN
	ruleHID
	ruleV6
	ruleBogus
	ruleID
	ruleEsc
)

// lex splits expr into tokens. The last token is tEOF.
func lex(expr string) ([]token, error) {
	var toks []token
	for i := 0; ; {
		for i < len(expr) && strings.IndexByte(" \t\r\n", expr[i]) >= 0 {
			i++
		}
		if i == len(expr) {
			return append(toks, token{kind: tEOF, pos: i}), nil
		}
		t, n, err := lexOne(expr[i:])
		if err != nil {
			return nil, err
		}
		t.text, t.pos = expr[i:i+n], i
		toks = append(toks, t)
		i += n
	}
}

// lexOne returns the first token of s (which has no leading blanks) and its
// length.
func lexOne(s string) (token, int, error) {
	if n, k := punct(s); n > 0 {
		// Only multi-character matches can beat an operator, and those
		// start with a letter, digit, '$', '\' or ':'.
		if s[0] != ':' {
			return token{kind: k}, n, nil
		}
	}
	best, rule := 0, -1
	try := func(r int, n int) {
		if n > best {
			best, rule = n, r
		}
	}
	// Keywords: the longest keyword that is a prefix of s.
	for n := min(len(s), maxKeyword); n > 0; n-- {
		if _, ok := keywords[s[:n]]; ok {
			try(ruleKeyword, n)
			break
		}
	}
	try(ruleAID, len(reAID.FindString(s)))
	try(ruleMAC, len(reMAC.FindString(s)))
	try(ruleN, len(reN.FindString(s)))
	try(ruleHID, len(reHID.FindString(s)))
	try(ruleV6, v6Len(s))
	try(ruleBogus, len(reBogus.FindString(s)))
	try(ruleID, len(reID.FindString(s)))
	try(ruleEsc, len(reEsc.FindString(s)))
	if rule < 0 || (s[0] == ':' && best <= 1) {
		if s[0] == ':' {
			return token{kind: tColon}, 1, nil
		}
		return token{}, 0, fmt.Errorf("unexpected character %q", rune0(s))
	}
	text := s[:best]
	switch rule {
	case ruleKeyword:
		k := keywords[text]
		return token{kind: k.kind, kw: k.kw, q: k.q, num: k.num}, best, nil
	case ruleAID:
		return token{kind: tAID}, best, nil
	case ruleMAC:
		return token{kind: tEID}, best, nil
	case ruleN:
		v, err := parseNum(text)
		if err != nil {
			return token{}, 0, err
		}
		return token{kind: tNUM, num: v}, best, nil
	case ruleHID:
		return token{kind: tHID}, best, nil
	case ruleV6:
		return token{kind: tHID6}, best, nil
	case ruleBogus:
		return token{}, 0, fmt.Errorf("bogus ethernet address %q", text)
	case ruleID:
		return token{kind: tID}, best, nil
	default: // ruleEsc
		return token{kind: tID}, best, nil
	}
}

func rune0(s string) rune {
	for _, r := range s {
		return r
	}
	return 0
}

// punct matches an operator at the start of s.
func punct(s string) (int, tokKind) {
	if len(s) >= 2 {
		switch s[:2] {
		case ">=":
			return 2, tGE
		case "<=":
			return 2, tLE
		case "!=":
			return 2, tNE
		case "==":
			return 2, tEq
		case "<<":
			return 2, tLSH
		case ">>":
			return 2, tRSH
		case "&&":
			return 2, tAnd
		case "||":
			return 2, tOr
		}
	}
	switch s[0] {
	case '(':
		return 1, tLParen
	case ')':
		return 1, tRParen
	case '[':
		return 1, tLBrack
	case ']':
		return 1, tRBrack
	case ':':
		return 1, tColon
	case '+':
		return 1, tPlus
	case '-':
		return 1, tMinus
	case '*':
		return 1, tStar
	case '/':
		return 1, tSlash
	case '%':
		return 1, tPercent
	case '&':
		return 1, tAmp
	case '|':
		return 1, tPipe
	case '^':
		return 1, tCaret
	case '=':
		return 1, tEq
	case '>':
		return 1, tGT
	case '<':
		return 1, tLT
	case '!':
		return 1, tNot
	}
	return 0, 0
}

// v6Len returns the length of the longest prefix of s that is an IPv6
// address in the textual forms libpcap's scanner accepts (no zone).
func v6Len(s string) int {
	n := 0
	for n < len(s) && n < 45 && strings.IndexByte("0123456789abcdefABCDEF:.", s[n]) >= 0 {
		n++
	}
	for ; n >= 2; n-- {
		c := s[:n]
		if strings.Count(c, ":") < 2 {
			return 0
		}
		if a, err := netip.ParseAddr(c); err == nil && a.Is6() && a.Zone() == "" {
			return n
		}
	}
	return 0
}

// parseNum converts a libpcap number: decimal, 0x hexadecimal, or octal
// with a leading 0.
func parseNum(s string) (uint32, error) {
	base, digits := 10, s
	switch {
	case len(s) > 2 && (s[1] == 'x' || s[1] == 'X'):
		base, digits = 16, s[2:]
	case len(s) > 1 && s[0] == '0':
		base, digits = 8, s[1:]
	}
	var v uint64
	for _, c := range digits {
		var d uint64
		switch {
		case c >= '0' && c <= '9':
			d = uint64(c - '0')
		case c >= 'a' && c <= 'f':
			d = uint64(c-'a') + 10
		default:
			d = uint64(c-'A') + 10
		}
		if d >= uint64(base) {
			return 0, fmt.Errorf("number %s contains non-octal digit", s)
		}
		v = v*uint64(base) + d
		if v > 0xffffffff {
			return 0, fmt.Errorf("number %s overflows 32 bits", s)
		}
	}
	return uint32(v), nil
}
