// Package filter is the flow table's filter language: small expressions over a
// connection's fields, compiled once into a predicate.
//
//	tcp | udp | icmp                    the transport (icmp: ICMP and ICMPv6, as in conn.log)
//	proto tcp                           the same
//	ip | ip6 | icmp6                    IPv4, IPv6; ICMPv6
//	tcp port 80, ip6 host ::1           a transport or IP version then a host, net
//	                                    or port primary: both hold (tcpdump's form)
//	src host|net|port X, dst ...        the originator's, the responder's (tcpdump's
//	                                    src and dst)
//	host 10.0.0.1 | host 10.0.0.0/8     either address (an address or a network)
//	net 10.0.0.0/8                      the same, addresses and networks only
//	host example.com                    a name, without case: either endpoint's
//	                                    passive-DNS name or the connection's server
//	                                    name (TLS SNI, else HTTP Host, else DNS
//	                                    query) is exactly example.com
//	host .example.com                   a leading dot: example.com or any name under
//	                                    it (www.example.com, a.b.example.com)
//	port 443                            either port
//	port 80 or 443                      a bare value (a port, an address or a network)
//	                                    reuses the last qualifier
//	state SF                            conn_state
//	service http                        conn.log's service lists http (protocols
//	                                    an analyzer confirmed; without case; a guess
//	                                    from the port does not count)
//	name ~ example                      a name of the connection contains the text,
//	                                    without case: SNI, HTTP Host, DNS query, SSH
//	                                    client and server software, and both
//	                                    endpoints' passive-DNS names
//	history ~ R                         history contains the letters, e.g. ~ ShAD
//	uid CabC123                         the connection's uid
//	cid 1:LQU9qZlK+B5F3KDmev6m5PMibrg=  the connection's Community ID v1 (as
//	                                    Zeek, Suricata and Arkime log it), with
//	                                    Options.CommunityIDSeed
//	proc curl                           a local process behind either endpoint has
//	                                    this command name, exactly (as pgrep -x;
//	                                    case counts; the kernel keeps 15 bytes of it)
//	proc ~ fire                         such a command name contains the text,
//	                                    without case
//	pid 4242                            a local process behind either endpoint has
//	                                    this pid
//	user alice, user 1000               a local process behind either endpoint
//	                                    (or the socket's owner, when only that is
//	                                    known) runs as this user: its name, or its
//	                                    uid in decimal
//	FIELD OP VALUE                      a number compared, OP one of = != < <= > >=:
//	    bytes, orig_bytes, resp_bytes   payload bytes (conn.log), sizes like 1MB, 1.5GiB
//	    ip_bytes                        IP bytes both ways
//	    pkts                            packets both ways
//	    duration                        like 2s, 500ms, 1h
//	not X | X and Y | X or Y | ( X )    also !, &&, ||; and binds tighter than or
//
// An empty expression matches everything. A bad expression is an error that says
// where, in one line.
package filter

import (
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/flowtop/flowtop/communityid"
	"github.com/flowtop/flowtop/process"
	"github.com/flowtop/flowtop/tracker"
	"github.com/flowtop/flowtop/units"
)

// Filter is a compiled expression.
type Filter struct {
	src  string
	pred func(*tracker.Record) bool
}

// Match reports whether r passes the filter.
func (f *Filter) Match(r *tracker.Record) bool { return f.pred == nil || f.pred(r) }

// String returns the expression.
func (f *Filter) String() string { return f.src }

// Options are what an expression's meaning depends on beyond the record.
type Options struct {
	// CommunityIDSeed is the seed cid compares Community IDs with (default 0).
	CommunityIDSeed uint16
}

// Compile parses an expression with the default Options.
func Compile(src string) (*Filter, error) { return CompileWith(src, Options{}) }

// CompileWith parses an expression.
func CompileWith(src string, o Options) (*Filter, error) {
	p := &parser{src: src, toks: lex(src), opts: o}
	if len(p.toks) == 0 {
		return &Filter{src: src}, nil
	}
	pred, err := p.or()
	if err == nil && p.i < len(p.toks) {
		err = p.errorf("unexpected %q", p.toks[p.i].text)
	}
	if err != nil {
		return nil, err
	}
	return &Filter{src: src, pred: pred}, nil
}

// token is a word or an operator, at byte offset pos.
type token struct {
	text string
	pos  int
}

// lex splits src into words, parentheses and comparison operators.
func lex(src string) []token {
	var toks []token
	for i := 0; i < len(src); {
		c := rune(src[i])
		switch {
		case unicode.IsSpace(c):
			i++
		case c == '(' || c == ')' || c == '~':
			toks = append(toks, token{string(c), i})
			i++
		case strings.ContainsRune("<>=!&|", c):
			j := i + 1
			if j < len(src) && strings.ContainsRune("=&|", rune(src[j])) {
				j++
			}
			toks = append(toks, token{src[i:j], i})
			i = j
		case strings.HasPrefix(src[i:], "1:"):
			// A Community ID: base64, which may end in '='.
			j := i
			for j < len(src) && !unicode.IsSpace(rune(src[j])) && src[j] != '(' && src[j] != ')' {
				j++
			}
			toks = append(toks, token{src[i:j], i})
			i = j
		default:
			j := i
			for j < len(src) && !unicode.IsSpace(rune(src[j])) && !strings.ContainsRune("()~<>=!&|", rune(src[j])) {
				j++
			}
			toks = append(toks, token{src[i:j], i})
			i = j
		}
	}
	return toks
}

type parser struct {
	src  string
	toks []token
	i    int
	opts Options
	// last is the qualifier of the last host, net or port primary ("src port"...):
	// as in tcpdump, a bare value after and/or reuses it (port 80 or 443).
	last string
}

type pred = func(*tracker.Record) bool

func (p *parser) errorf(format string, args ...any) error {
	pos := len(p.src)
	if p.i < len(p.toks) {
		pos = p.toks[p.i].pos
	}
	return fmt.Errorf("filter: column %d: %s", pos+1, fmt.Sprintf(format, args...))
}

// peek returns the next token's text, lower-cased, or "".
func (p *parser) peek() string {
	if p.i < len(p.toks) {
		return strings.ToLower(p.toks[p.i].text)
	}
	return ""
}

// next consumes and returns the next token's text, or reports that what was
// expected is missing.
func (p *parser) next(what string) (string, error) {
	if p.i >= len(p.toks) {
		return "", p.errorf("%s expected at the end", what)
	}
	t := p.toks[p.i].text
	p.i++
	return t, nil
}

func (p *parser) or() (pred, error) {
	return p.chain("or", "||", p.and, func(a, b pred) pred {
		return func(r *tracker.Record) bool { return a(r) || b(r) }
	})
}

func (p *parser) and() (pred, error) {
	return p.chain("and", "&&", p.not, func(a, b pred) pred {
		return func(r *tracker.Record) bool { return a(r) && b(r) }
	})
}

// chain parses operand (word operand)*, word being either spelling, joined left to
// right with join.
func (p *parser) chain(word, symbol string, operand func() (pred, error), join func(a, b pred) pred) (pred, error) {
	left, err := operand()
	if err != nil {
		return nil, err
	}
	for p.peek() == word || p.peek() == symbol {
		p.i++
		right, err := operand()
		if err != nil {
			return nil, err
		}
		left = join(left, right)
	}
	return left, nil
}

func (p *parser) not() (pred, error) {
	if t := p.peek(); t == "not" || t == "!" {
		p.i++
		x, err := p.not()
		if err != nil {
			return nil, err
		}
		return func(r *tracker.Record) bool { return !x(r) }, nil
	}
	return p.primary()
}

// numeric fields and how to read them.
var numeric = map[string]func(*tracker.Record) float64{
	"bytes":      func(r *tracker.Record) float64 { return float64(r.OrigBytes + r.RespBytes) },
	"orig_bytes": func(r *tracker.Record) float64 { return float64(r.OrigBytes) },
	"resp_bytes": func(r *tracker.Record) float64 { return float64(r.RespBytes) },
	"ip_bytes":   func(r *tracker.Record) float64 { return float64(r.OrigIPBytes + r.RespIPBytes) },
	"pkts":       func(r *tracker.Record) float64 { return float64(r.OrigPkts + r.RespPkts) },
	"duration":   func(r *tracker.Record) float64 { return r.Duration.Seconds() },
}

func (p *parser) primary() (pred, error) {
	if p.i >= len(p.toks) {
		return nil, p.errorf("an expression expected at the end")
	}
	start := p.i
	word := p.peek()
	p.i++
	switch word {
	case "src", "dst":
		// tcpdump's direction: src is the originator, dst the responder.
		q := p.peek()
		if q != "host" && q != "net" && q != "port" {
			p.i--
			return nil, p.errorf("host, net or port expected after %s", word)
		}
		p.i++
		return p.qualified(word, q)
	case "host", "net", "port":
		return p.qualified("", word)
	case "proto":
		t := p.peek()
		if t != "tcp" && t != "udp" && t != "icmp" {
			return nil, p.errorf("tcp, udp or icmp expected after proto")
		}
		return p.primary()
	case "ip", "ip6":
		v6 := word == "ip6"
		return p.then(func(r *tracker.Record) bool { return r.OrigH.Unmap().Is6() == v6 })
	case "icmp6":
		return p.then(func(r *tracker.Record) bool { return r.Proto == tracker.ProtoICMP && r.OrigH.Unmap().Is6() })
	case "tcp", "udp", "icmp":
		return p.then(func(r *tracker.Record) bool { return r.Proto.Transport() == word })
	case "(":
		x, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, p.errorf("%q expected", ")")
		}
		p.i++
		return x, nil
	case "service":
		arg, err := p.next("a service such as http")
		if err != nil {
			return nil, err
		}
		return func(r *tracker.Record) bool { return hasService(r.Service, arg) }, nil
	case "name":
		if p.peek() != "~" {
			return nil, p.errorf(`"~" expected, as in name ~ example.com`)
		}
		p.i++
		arg, err := p.next("part of a name")
		if err != nil {
			return nil, err
		}
		return nameContains(strings.ToLower(arg)), nil
	case "state":
		arg, err := p.next("a conn_state such as SF")
		if err != nil {
			return nil, err
		}
		want := strings.ToUpper(arg)
		return func(r *tracker.Record) bool { return r.ConnState == want }, nil
	case "uid":
		arg, err := p.next("a uid")
		if err != nil {
			return nil, err
		}
		return func(r *tracker.Record) bool { return r.UID == arg }, nil
	case "cid":
		arg, err := p.next("a Community ID such as 1:LQU9qZlK+B5F3KDmev6m5PMibrg=")
		if err != nil {
			return nil, err
		}
		want, ok := parseCommunityID(arg)
		if !ok {
			p.i--
			return nil, p.errorf("cid %q: want a Community ID v1 such as 1:LQU9qZlK+B5F3KDmev6m5PMibrg=", arg)
		}
		seed := p.opts.CommunityIDSeed
		return func(r *tracker.Record) bool {
			var sum [sha1.Size]byte
			return communityid.Sum(seed, r.CommunityFlow(), &sum) && sum == want
		}, nil
	case "proc":
		if p.peek() == "~" {
			p.i++
			arg, err := p.next("part of a command name")
			if err != nil {
				return nil, err
			}
			sub := strings.ToLower(arg)
			return eitherProcess(func(pr *process.Process) bool {
				return pr.Comm != "" && strings.Contains(strings.ToLower(pr.Comm), sub)
			}), nil
		}
		arg, err := p.next("a command name such as curl")
		if err != nil {
			return nil, err
		}
		return eitherProcess(func(pr *process.Process) bool { return pr.Comm == arg }), nil
	case "pid":
		arg, err := p.next("a process id")
		if err != nil {
			return nil, err
		}
		n, err := strconv.ParseInt(arg, 10, 32)
		if err != nil || n < 1 {
			p.i--
			return nil, p.errorf("pid %q: want a process id such as 4242", arg)
		}
		pid := int32(n)
		return eitherProcess(func(pr *process.Process) bool { return pr.PID == pid }), nil
	case "user":
		arg, err := p.next("a user name or uid")
		if err != nil {
			return nil, err
		}
		uid, err := strconv.ParseUint(arg, 10, 32)
		byUID := err == nil
		return eitherProcess(func(pr *process.Process) bool {
			return pr.User == arg || byUID && pr.UID == uint32(uid)
		}), nil
	case "history":
		if p.peek() != "~" {
			return nil, p.errorf(`"~" expected, as in history ~ R`)
		}
		p.i++
		arg, err := p.next("history letters")
		if err != nil {
			return nil, err
		}
		return func(r *tracker.Record) bool { return strings.Contains(r.History, arg) }, nil
	}
	if get, ok := numeric[word]; ok {
		return p.comparison(word, get)
	}
	if p.last != "" && bareValue(word) {
		// port 80 or 443, host a or b: the last qualifier again.
		p.i = start
		dir, kind, _ := strings.Cut(p.last, " ")
		if kind == "" {
			dir, kind = "", dir
		}
		return p.qualified(dir, kind)
	}
	p.i = start
	return nil, p.errorf("unknown word %q (try tcp, udp, icmp, ip6, host, port, src, dst, state, service, name, history, uid, cid, proc, pid, user, bytes, pkts, duration)", p.toks[start].text)
}

// then is a transport or IP version primary, and, as tcpdump reads tcp port 80, the
// host, net or port primary that may follow it without an and.
func (p *parser) then(x pred) (pred, error) {
	switch p.peek() {
	case "src", "dst", "host", "net", "port":
		y, err := p.primary()
		if err != nil {
			return nil, err
		}
		return func(r *tracker.Record) bool { return x(r) && y(r) }, nil
	}
	return x, nil
}

// bareValue reports whether a word can only be the value of a host, net or port
// primary: a number, an address or a network.
func bareValue(w string) bool {
	if _, err := strconv.ParseUint(w, 10, 16); err == nil {
		return true
	}
	if _, err := parseHost(w); err == nil {
		return true
	}
	return false
}

// qualified parses the value of a host, net or port primary (kind), of either
// endpoint, or with dir "src" the originator's, "dst" the responder's.
func (p *parser) qualified(dir, kind string) (pred, error) {
	p.last = strings.TrimSpace(dir + " " + kind)
	side := func(orig, resp func(r *tracker.Record) bool) pred {
		switch dir {
		case "src":
			return orig
		case "dst":
			return resp
		}
		return func(r *tracker.Record) bool { return orig(r) || resp(r) }
	}
	if kind == "port" {
		arg, err := p.next("a port")
		if err != nil {
			return nil, err
		}
		n, err := strconv.ParseUint(arg, 10, 16)
		if err != nil {
			p.i--
			return nil, p.errorf("port %q: want 0 to 65535", arg)
		}
		port := uint16(n)
		return side(func(r *tracker.Record) bool { return r.OrigP == port }, func(r *tracker.Record) bool { return r.RespP == port }), nil
	}
	what := "an address or network"
	if kind == "host" {
		what = "an address, network or name"
	}
	arg, err := p.next(what)
	if err != nil {
		return nil, err
	}
	if kind == "host" && isName(arg) {
		if !validName(arg) {
			p.i--
			return nil, p.errorf("name %q: want e.g. example.com, or .example.com for it and its subdomains", arg)
		}
		if dir != "" {
			p.i--
			return nil, p.errorf("%s host takes an address or network, not a name", dir)
		}
		return hostName(arg), nil
	}
	pfx, err := parseHost(arg)
	if err != nil {
		p.i--
		return nil, p.errorf("%v", err)
	}
	return side(func(r *tracker.Record) bool { return pfx.Contains(r.OrigH.Unmap()) },
		func(r *tracker.Record) bool { return pfx.Contains(r.RespH.Unmap()) }), nil
}

// comparison parses OP VALUE after a numeric field.
func (p *parser) comparison(field string, get func(*tracker.Record) float64) (pred, error) {
	op, err := p.next("a comparison such as >")
	if err != nil {
		return nil, err
	}
	var cmp func(a, b float64) bool
	switch op {
	case "=", "==":
		cmp = func(a, b float64) bool { return a == b }
	case "!=":
		cmp = func(a, b float64) bool { return a != b }
	case "<":
		cmp = func(a, b float64) bool { return a < b }
	case "<=":
		cmp = func(a, b float64) bool { return a <= b }
	case ">":
		cmp = func(a, b float64) bool { return a > b }
	case ">=":
		cmp = func(a, b float64) bool { return a >= b }
	default:
		p.i--
		return nil, p.errorf("%s: comparison expected (= != < <= > >=), got %q", field, op)
	}
	arg, err := p.next("a value")
	if err != nil {
		return nil, err
	}
	var v float64
	if field == "duration" {
		d, err := time.ParseDuration(arg)
		if err != nil {
			p.i--
			return nil, p.errorf("duration %q: want e.g. 2s, 500ms, 1h", arg)
		}
		v = d.Seconds()
	} else {
		n, err := units.ParseSize(arg)
		if err != nil {
			p.i--
			return nil, p.errorf("%v", err)
		}
		v = float64(n)
	}
	return func(r *tracker.Record) bool { return cmp(get(r), v) }, nil
}

// parseHost parses an address or a network.
func parseHost(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("network %q: want e.g. 10.0.0.0/8", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("address %q: want e.g. 10.0.0.1 or 2001:db8::1", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// isName reports whether a host argument is a name rather than an address or a
// network: it has a letter, and no ':' or '/' (which IPv6 addresses and networks
// have). "10.0.0.300" is a bad address, not a name.
func isName(s string) bool {
	if strings.ContainsAny(s, ":/") {
		return false
	}
	return strings.IndexFunc(s, unicode.IsLetter) >= 0
}

// validName reports whether s is made of a DNS name's characters: letters,
// digits, '-', '_' and dots.
func validName(s string) bool {
	for _, c := range s {
		if !(c == '-' || c == '_' || c == '.' || c < utf8.RuneSelf && (unicode.IsLetter(c) || unicode.IsDigit(c))) {
			return false
		}
	}
	return true
}

// normName lower-cases a name and drops the root's trailing dot.
func normName(s string) string { return strings.TrimSuffix(strings.ToLower(s), ".") }

// hostName matches the connections one of whose endpoints is called name: its
// passive-DNS name, or the connection's server name. A leading dot matches the
// domain and the names under it.
func hostName(name string) pred {
	name = normName(name)
	domain := strings.HasPrefix(name, ".")
	is := func(s string) bool {
		if s == "" {
			return false
		}
		s = normName(s)
		if domain {
			return s == name[1:] || strings.HasSuffix(s, name)
		}
		return s == name
	}
	return func(r *tracker.Record) bool {
		return is(r.OrigName) || is(r.RespName) || is(r.Names.ServerName())
	}
}

// eitherProcess matches the connections with a local process behind either
// endpoint for which it holds.
func eitherProcess(is func(*process.Process) bool) pred {
	return func(r *tracker.Record) bool {
		return r.OrigProc != nil && is(r.OrigProc) || r.RespProc != nil && is(r.RespProc)
	}
}

// hasService reports whether the comma-separated service list holds want, without
// case.
func hasService(list, want string) bool {
	for list != "" {
		var s string
		s, list, _ = strings.Cut(list, ",")
		if strings.EqualFold(strings.TrimSpace(s), want) {
			return true
		}
	}
	return false
}

// nameContains matches the connections one of whose names contains sub (lower
// case).
func nameContains(sub string) pred {
	has := func(s string) bool { return s != "" && strings.Contains(strings.ToLower(s), sub) }
	return func(r *tracker.Record) bool {
		if has(r.OrigName) || has(r.RespName) {
			return true
		}
		n := r.Names
		return n != nil && (has(n.SNI) || has(n.HTTPHost) || has(n.DNSQuery) || has(n.SSHClient) || has(n.SSHServer))
	}
}

// parseCommunityID decodes "1:" and the base64 of a SHA-1 digest.
func parseCommunityID(s string) ([sha1.Size]byte, bool) {
	var sum [sha1.Size]byte
	b64, ok := strings.CutPrefix(s, "1:")
	if !ok {
		return sum, false
	}
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(b) != sha1.Size {
		return sum, false
	}
	copy(sum[:], b)
	return sum, true
}
