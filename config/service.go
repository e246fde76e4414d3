package config

import (
	"fmt"
	"github.com/flowtop/flowtop/internal/tomlstrict"
	"slices"

	"github.com/flowtop/flowtop/analyzer"
)

// ServiceSection is the [service] section: which protocol analyzers decide each
// connection's service and names (package analyzer).
//
//	[service]
//	analyzers = ["http", "dns", "ssl"]   # default: every analyzer, as a plain `zeek -r`
//
//	[service.ports]                      # ports added to analyzers' registrations
//	redis = ["10625/tcp"]
//
// An empty analyzers list turns service identification off. The analyzers' side
// effects on other fields (the DNS and NTP role flips, the DNS session timer, an
// hour of inactivity after SSH or FTP confirmation) follow the same switch.
type ServiceSection struct {
	Analyzers AnalyzerList `toml:"analyzers"`
	Ports     ServicePorts `toml:"ports"`
}

// AnalyzerList is a list of analyzer names without repeats, e.g. ["http", "dns"].
type AnalyzerList []string

// UnmarshalTOML decodes a TOML array of analyzer names.
func (l *AnalyzerList) UnmarshalTOML(v any) error {
	names, err := decodeNames(v, "analyzer", `"http"`, func(s string) error {
		if analyzer.Lookup(s) == nil {
			return fmt.Errorf("unknown analyzer %q: want one of %s", s, oneOf(analyzer.Names()))
		}
		return nil
	})
	if err != nil {
		return err
	}
	*l = names
	return nil
}

// decodeNames decodes a TOML array of distinct names of a kind (e.g. `"http"`),
// each accepted by valid.
func decodeNames(v any, kind, example string, valid func(string) error) ([]string, error) {
	var names []string
	seen := map[string]bool{}
	err := decodeArray(&names, v, kind+"s like ["+example+"]", func(e any) (string, error) {
		s, ok := e.(string)
		switch {
		case !ok:
			return "", fmt.Errorf("want %ss as strings like %s, got %s", kind, example, tomlstrict.Describe(e))
		case seen[s]:
			return "", fmt.Errorf("%s %q is already given", kind, s)
		}
		if err := valid(s); err != nil {
			return "", err
		}
		seen[s] = true
		return s, nil
	})
	return names, err
}

// ServicePorts maps analyzer names to ports added to their registrations. In TOML it
// is a table of arrays of "PORT/PROTO" strings: redis = ["10625/tcp"].
type ServicePorts map[string][]analyzer.Port

var _ TableDecoder = (*ServicePorts)(nil)

// StartTable makes m an empty, non-nil table.
func (m *ServicePorts) StartTable() { *m = ServicePorts{} }

// DecodeEntry decodes the entry name = ["PORT/PROTO", ...].
func (m *ServicePorts) DecodeEntry(name string, v any) error {
	if analyzer.Lookup(name) == nil {
		return fmt.Errorf("unknown analyzer %q: want one of %s", name, oneOf(analyzer.Names()))
	}
	var ports PortList
	if err := ports.UnmarshalTOML(v); err != nil {
		return err
	}
	var out []analyzer.Port
	for _, p := range ports {
		ap := analyzer.Port{Port: p.Port, Transport: analyzer.Transport(p.Proto)}
		if err := (analyzer.Config{Ports: map[string][]analyzer.Port{name: {ap}}}).Validate(); err != nil {
			return err
		}
		out = append(out, ap)
	}
	if *m == nil {
		*m = ServicePorts{}
	}
	(*m)[name] = out
	return nil
}

// ServiceConfig returns the analyzer configuration of the [service] section: every
// analyzer unless the file lists some.
func (c *Config) ServiceConfig() analyzer.Config {
	var out analyzer.Config
	if c == nil {
		return out
	}
	s := &c.Service
	if c.setIn(s.Analyzers != nil, "service", "analyzers") {
		out.Analyzers = slices.Clone([]string(s.Analyzers))
		if out.Analyzers == nil {
			out.Analyzers = []string{}
		}
	}
	for name, ports := range s.Ports {
		if out.Ports == nil {
			out.Ports = map[string][]analyzer.Port{}
		}
		out.Ports[name] = slices.Clone(ports)
	}
	return out
}

// ConnlogSection is the [connlog] section: what conn.log holds beyond Zeek's 22
// columns.
//
//	[connlog]
//	extra_fields = ["server_name"]   # appended after Zeek's columns, as policy scripts do
//	community_id_seed = 0            # Zeek's CommunityID::seed, 0 to 65535
type ConnlogSection struct {
	ExtraFields FieldList `toml:"extra_fields"`
	// CommunityIDSeed seeds the community_id field, the detail view's Community ID
	// and the filter's cid (Zeek's CommunityID::seed); tools whose IDs are to be
	// joined must use the same seed.
	CommunityIDSeed uint16 `toml:"community_id_seed"`
}

// ExtraFields are the optional conn.log fields [connlog] extra_fields may add.
var ExtraFields = []string{"server_name", "orig_pid", "orig_comm", "orig_user", "resp_pid", "resp_comm", "resp_user", "community_id"}

// FieldList is a list of optional conn.log field names without repeats.
type FieldList []string

// UnmarshalTOML decodes a TOML array of field names.
func (l *FieldList) UnmarshalTOML(v any) error {
	names, err := decodeNames(v, "field", `"server_name"`, func(s string) error {
		if !slices.Contains(ExtraFields, s) {
			return fmt.Errorf("unknown field %q: want one of %s", s, oneOf(ExtraFields))
		}
		return nil
	})
	if err != nil {
		return err
	}
	*l = names
	return nil
}
