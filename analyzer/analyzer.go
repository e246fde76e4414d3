package analyzer

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
)

// Transport is the transport protocol an analyzer parses: its IP protocol number.
type Transport uint8

// Transports.
const (
	TCP Transport = 6
	UDP Transport = 17
)

// String returns "tcp" or "udp".
func (t Transport) String() string {
	switch t {
	case TCP:
		return "tcp"
	case UDP:
		return "udp"
	}
	return fmt.Sprintf("proto-%d", uint8(t))
}

// ID identifies a registered analyzer (or a script label such as ftp-data); 0 is
// none. IDs are small so that a connection can keep its services in a few bytes.
type ID uint8

// Analyzer describes one protocol analyzer: where Zeek attaches it (its registered
// responder ports and its DPD signatures, registered beside it) and how the
// framework feeds its parser.
type Analyzer struct {
	// Name is the service as conn.log writes it: lower case, "http", "ldap_tcp".
	Name string
	// Transport is the protocol the analyzer parses. Zero marks an analyzer that only
	// other analyzers attach (gssapi, ntlm) or a label (ftp-data).
	Transport Transport
	// Ports are the responder ports the analyzer is registered on, on Transport.
	Ports []uint16
	// TCPPorts, for a UDP analyzer that also parses TCP under the same name (DNS),
	// are its responder ports on TCP; its parser tells the two apart with
	// Ctx.Transport.
	TCPPorts []uint16
	// SkipPartial: the parser is given no data while the TCP connection is partial
	// ("P" in service-detection.md §8).
	SkipPartial bool
	// StopAtGap: the parser stops for good at the first content gap in either
	// direction ("G").
	StopAtGap bool
	// Persistent: the parser reads the whole connection, not only until violations
	// stop counting (FTP and IRC schedule expected connections at any time).
	Persistent bool
	// LongLived: confirmation raises the connection's inactivity timeout to an
	// hour (Conn::analyzer_inactivity_timeouts: SSH and FTP).
	LongLived bool
	// New returns a parser for one connection; nil for a label.
	New func() Parser
	// With is, for a label, the analyzer whose script adds it: the label is enabled
	// with that analyzer.
	With string

	id ID
}

// parses reports whether the analyzer parses transport t.
func (a *Analyzer) parses(t Transport) bool {
	return a.Transport == t || t == TCP && a.TCPPorts != nil
}

// ID returns the analyzer's ID.
func (a *Analyzer) ID() ID { return a.id }

// Parser is an analyzer's instance on one connection. Its methods run on the
// tracker's goroutine; data is valid only during the call. A parser reports what it
// finds through the Ctx it is given.
type Parser interface {
	// Data delivers the next bytes of one direction: for TCP the next in-order
	// chunk of the reassembled stream, for UDP one datagram.
	Data(c *Ctx, isOrig bool, data []byte)
	// Gap reports n bytes of one direction that were not captured; data resumes
	// after them.
	Gap(c *Ctx, isOrig bool, n uint64)
	// End reports that one direction has ended (a FIN was delivered).
	End(c *Ctx, isOrig bool)
}

// NameKind says where a connection's name was learned.
type NameKind uint8

// Name kinds, best first: the name of a connection is its best kind.
const (
	NameSNI       NameKind = iota // the TLS server name (also from a QUIC Initial)
	NameHTTPHost                  // the HTTP Host header
	NameDNSQuery                  // the first DNS question
	NameSSHClient                 // the SSH client's software version
	NameSSHServer                 // the SSH server's software version
	numNameKinds
)

var nameKindNames = [...]string{"sni", "http_host", "dns_query", "ssh_client", "ssh_server"}

// String returns the kind's name, e.g. "sni".
func (k NameKind) String() string {
	if int(k) < len(nameKindNames) {
		return nameKindNames[k]
	}
	return "unknown"
}

// ConnID is a connection's endpoints, originator first, in the current roles.
type ConnID struct {
	Orig, Resp netip.AddrPort
	Transport  Transport
}

// Expectation is an expected connection (Zeek's Analyzer::schedule_analyzer): the
// next connection from Orig (any originator when Orig is the zero Addr) to Resp
// gets Label as its service.
type Expectation struct {
	Orig      netip.Addr
	Resp      netip.AddrPort
	Transport Transport
	Label     string // "ftp-data" or "irc-dcc-data"
}

// ExpectTimeout is how long an expected connection waits (5 minutes of network time,
// renewed when the same connection is expected again).
const ExpectTimeout = 5 * time.Minute

// ViolationLimit is DPD::ignore_violations_after: a violation raised when the
// connection's orig_bytes + resp_bytes exceed it changes nothing.
const ViolationLimit = 10240

// The registry of every analyzer, in the order of registration; IDs are assigned
// by name once the registry is first used, so they do not depend on file order.
var (
	registryMu   sync.Mutex
	registry     []*Analyzer
	registryDone bool
	byName       map[string]*Analyzer
	allRules     []*Rule
	numLineRules int // rules with AtLine
)

// register adds analyzers to the registry with the DPD rules that enable them (or
// serve as their preconditions). Protocol files call it from init.
func register(a *Analyzer, rules ...*Rule) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if registryDone {
		panic("analyzer: register after first use")
	}
	registry = append(registry, a)
	for _, r := range rules {
		r.owner = a
	}
	allRules = append(allRules, rules...)
}

// registered returns the registry, finishing it on first use.
func registered() []*Analyzer {
	registryMu.Lock()
	defer registryMu.Unlock()
	if !registryDone {
		registryDone = true
		slices.SortFunc(registry, func(a, b *Analyzer) int { return strings.Compare(a.Name, b.Name) })
		if len(registry) > 255 {
			panic("analyzer: more than 255 analyzers")
		}
		byName = make(map[string]*Analyzer, len(registry))
		for i, a := range registry {
			a.id = ID(i + 1)
			if byName[a.Name] != nil {
				panic("analyzer: " + a.Name + " registered twice")
			}
			byName[a.Name] = a
		}
		slices.SortStableFunc(allRules, func(a, b *Rule) int { return strings.Compare(a.Name, b.Name) })
		for i, r := range allRules {
			r.index = i
			if r.AtLine != nil {
				r.line = numLineRules
				numLineRules++
			}
			// A matcher's Fail is a promise that nothing appended can match, so
			// what it says of one byte holds for every data starting with it.
			for b := 0; b < 256; b++ {
				one := []byte{byte(b)}
				if r.Match(one) != Fail {
					r.first[b>>6] |= 1 << (b & 63)
				}
				if r.AtLine != nil && r.AtLine(one) != Fail {
					r.lineFirst[b>>6] |= 1 << (b & 63)
				}
			}
			if i > 0 && allRules[i-1].Name == r.Name {
				panic("analyzer: rule " + r.Name + " registered twice")
			}
		}
		for _, r := range allRules {
			if r.Needs != "" {
				i := slices.IndexFunc(allRules, func(o *Rule) bool { return o.Name == r.Needs })
				if i < 0 {
					panic("analyzer: rule " + r.Name + " needs unknown rule " + r.Needs)
				}
				r.needs = i
				allRules[i].neededBy = append(allRules[i].neededBy, r.index)
			} else {
				r.needs = -1
			}
			if r.Enables != "" {
				if r.enables = byName[r.Enables]; r.enables == nil {
					panic("analyzer: rule " + r.Name + " enables unknown analyzer " + r.Enables)
				}
			}
		}
	}
	return registry
}

// All returns every registered analyzer, sorted by name.
func All() []*Analyzer { return slices.Clone(registered()) }

// Lookup returns the analyzer or label of that name (case-insensitive), or nil.
func Lookup(name string) *Analyzer {
	registered()
	return byName[strings.ToLower(name)]
}

// Name returns the service name of id, or "" for 0 or an unknown ID.
func Name(id ID) string {
	r := registered()
	if id == 0 || int(id) > len(r) {
		return ""
	}
	return r[id-1].Name
}

// ByID returns the analyzer of id, or nil.
func ByID(id ID) *Analyzer {
	r := registered()
	if id == 0 || int(id) > len(r) {
		return nil
	}
	return r[id-1]
}

// Port is a transport port an analyzer is registered on.
type Port struct {
	Port      uint16
	Transport Transport
}

// String formats p as Zeek does: "80/tcp".
func (p Port) String() string { return fmt.Sprintf("%d/%s", p.Port, p.Transport) }

// Config selects the analyzers an Inspector runs.
type Config struct {
	// Analyzers are the enabled analyzers by name; nil enables every one, as a plain
	// `zeek -r` run does. The tunnel analyzers (vxlan, geneve, teredo, ayiya, gtpv1)
	// are the tracker's; naming them here enables their confirmation.
	Analyzers []string
	// Ports adds responder ports to analyzers' registrations (a site's
	// `redef Redis::ports += {10625/tcp}`), by analyzer name.
	Ports map[string][]Port
}

// Validate reports an unknown analyzer name, or ports of the wrong transport.
func (cfg Config) Validate() error {
	_, err := New(cfg, nil)
	return err
}

// Enabled reports whether the analyzer name is enabled by cfg.
func (cfg Config) Enabled(name string) bool {
	if cfg.Analyzers == nil {
		return true
	}
	return slices.ContainsFunc(cfg.Analyzers, func(s string) bool { return strings.EqualFold(s, name) })
}
