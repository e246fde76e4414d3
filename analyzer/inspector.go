package analyzer

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Host is the connection table an Inspector works for: the tracker implements it.
// A connection is named by the handle the host gave NewSession. Every method runs
// on the host's goroutine, during a Session call.
type Host interface {
	// ConnID returns the connection's endpoints in its current roles.
	ConnID(conn uint64) ConnID
	// Partial reports whether the TCP connection is partial (picked up mid-stream).
	Partial(conn uint64) bool
	// Size returns the connection's orig_bytes + resp_bytes now.
	Size(conn uint64) uint64
	// AddService adds a confirmed service (at the end of the order) unless it is
	// present; RemoveService deletes it if present.
	AddService(conn uint64, id ID)
	RemoveService(conn uint64, id ID)
	// Flip reverses the connection's roles (DNS and NTP replies from the originator).
	Flip(conn uint64)
	// LongLived raises the connection's inactivity timeout to an hour.
	LongLived(conn uint64)
	// Name records a name learned on the connection.
	Name(conn uint64, kind NameKind, name string)
	// Answer records that DNS answered name with addr (passive DNS).
	Answer(name string, addr netip.Addr)
	// Now returns network time, in nanoseconds since the epoch.
	Now() int64
}

// Inspector attaches analyzers to connections the way Zeek's analyzer manager does:
// by responder port, by DPD signature and by expected connection. It is owned by
// one goroutine, the host's.
type Inspector struct {
	host    Host
	enabled []bool // by ID
	ports   map[Port][]*Analyzer
	rules   []*Rule // the rules of enabled analyzers, by index
	expect  expectations
	free    []*Session
	piaFree []*pia
	insFree []*instance
	parsers [][]Parser // by ID: parsers of ended sessions, reset, for the next instance
	tables  ruleTables
	hot     []hotRule // by rule index: what the PIA's loop reads of each
	scratch []byte    // the stream of a chunk that closes a PIA's window (takeScratch)
	// outcomes are the outcome lists of one analyzer that Outcomes returned, by
	// that outcome, for sessions that end the same way to share.
	outcomes map[Outcome][]Outcome
}

// New returns an Inspector running the analyzers cfg enables for host. An unknown
// analyzer name is an error.
func New(cfg Config, host Host) (*Inspector, error) {
	all := registered()
	in := &Inspector{host: host, enabled: make([]bool, len(all)+1), ports: map[Port][]*Analyzer{},
		parsers: make([][]Parser, len(all)+1)}
	for _, name := range cfg.Analyzers {
		if Lookup(name) == nil {
			return nil, fmt.Errorf("unknown analyzer %q (known: %s)", name, strings.Join(Names(), ", "))
		}
	}
	for _, a := range all {
		in.enabled[a.id] = cfg.Enabled(a.Name) || a.With != "" && cfg.Enabled(a.With)
	}
	for _, a := range all {
		if !in.enabled[a.id] || a.Transport == 0 || a.New == nil {
			continue
		}
		for _, p := range a.Ports {
			k := Port{p, a.Transport}
			in.ports[k] = append(in.ports[k], a)
		}
		for _, p := range a.TCPPorts {
			k := Port{p, TCP}
			in.ports[k] = append(in.ports[k], a)
		}
	}
	names := make([]string, 0, len(cfg.Ports))
	for name := range cfg.Ports {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		a := Lookup(name)
		if a == nil || a.New == nil {
			return nil, fmt.Errorf("ports for unknown analyzer %q", name)
		}
		if !in.enabled[a.id] {
			continue
		}
		for _, p := range cfg.Ports[name] {
			if !a.parses(p.Transport) {
				return nil, fmt.Errorf("%s parses %s, not %s", a.Name, a.Transport, p)
			}
			if !slices.Contains(in.ports[p], a) {
				in.ports[p] = append(in.ports[p], a)
			}
		}
	}
	in.rules = make([]*Rule, len(allRules))
	for i, r := range allRules {
		if in.enabled[r.owner.id] {
			in.rules[i] = r
		}
	}
	in.buildTables()
	return in, nil
}

// Names returns the names of every analyzer and label, sorted.
func Names() []string {
	var out []string
	for _, a := range registered() {
		out = append(out, a.Name)
	}
	return out
}

// Enabled reports whether the analyzer or label of that id is enabled.
func (in *Inspector) Enabled(id ID) bool { return int(id) < len(in.enabled) && in.enabled[id] }

// EnabledName reports whether the analyzer or label of that name is enabled.
func (in *Inspector) EnabledName(name string) bool {
	a := Lookup(name)
	return a != nil && in.enabled[a.id]
}

// PortAnalyzers reports whether any enabled analyzer is registered on p.
func (in *Inspector) PortAnalyzers(p Port) bool { return len(in.ports[p]) > 0 }

// Pending reports whether any expected connection is waiting.
func (in *Inspector) Pending() bool { return in.expect.n > 0 }

// Expected looks the new (or newly flipped) connection id up in the expected
// connections, and returns the labels it gets; matched says whether an entry
// matched, in which case no port analyzers are attached.
func (in *Inspector) Expected(id ConnID, now int64) (labels []ID, matched bool) {
	return in.expect.lookup(id, now)
}
