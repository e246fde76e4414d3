package config

import (
	"maps"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/flowtop/flowtop/internal/tomlstrict"
	"github.com/flowtop/flowtop/internal/userdir"
	"github.com/flowtop/flowtop/tracker"
)

// Config is flowtop's configuration file. Each top-level TOML table is a section,
// decoded into one field; a section or key that the file leaves out keeps its zero
// value, and Defined tells the two apart.
//
// To add a section, add a field with a `toml:"name"` tag whose type is a struct of
// tagged fields. Parse finds it by reflection: bool, string, integer, float and struct
// fields decode directly, other types implement toml.Unmarshaler (see Duration).
type Config struct {
	Tracker    TrackerSection    `toml:"tracker"`
	Thresholds ThresholdsSection `toml:"thresholds"`
	Extract    ExtractSection    `toml:"extract"`
	Capture    CaptureSection    `toml:"capture"`
	Limits     LimitsSection     `toml:"limits"`
	Service    ServiceSection    `toml:"service"`
	Connlog    ConnlogSection    `toml:"connlog"`
	UI         UISection         `toml:"ui"`
	Keys       KeysSection       `toml:"keys"`

	md  *toml.MetaData      // the keys the file defined; nil for a Config built in code
	dec *tomlstrict.Decoder // the file's decoder, for the lines of its keys; nil likewise
}

// KeyError returns an *Error about key (its path, e.g. "keys", "quit") of the file c
// was parsed from, at the key's line, for what a later check (the key map) found
// wrong in a value the file gave.
func (c *Config) KeyError(msg string, key ...string) error {
	e := &Error{Key: strings.Join(key, "."), Msg: msg}
	if c != nil && c.dec != nil {
		e.File, e.Line = c.dec.Name(), c.dec.Line(toml.Key(key))
	}
	return e
}

// TrackerSection is the [tracker] section: how connections are tracked. Every key
// mirrors a field of tracker.Config; see TrackerConfig for how they apply.
type TrackerSection struct {
	// IgnoreChecksums turns off checksum verification (zeek -C).
	IgnoreChecksums bool `toml:"ignore_checksums"`
	// LikelyServerPorts replaces Zeek's likely_server_ports set.
	LikelyServerPorts PortList `toml:"likely_server_ports"`
	// LocalNets replaces Zeek's Site::local_nets; an empty list leaves local_orig and
	// local_resp unset.
	LocalNets PrefixList `toml:"local_nets"`

	// Connection timers, named after Zeek's options.
	TCPInactivityTimeout     Duration `toml:"tcp_inactivity_timeout"`
	UDPInactivityTimeout     Duration `toml:"udp_inactivity_timeout"`
	ICMPInactivityTimeout    Duration `toml:"icmp_inactivity_timeout"`
	UnknownInactivityTimeout Duration `toml:"unknown_inactivity_timeout"`
	TCPAttemptDelay          Duration `toml:"tcp_attempt_delay"`
	TCPCloseDelay            Duration `toml:"tcp_close_delay"`
	TCPResetDelay            Duration `toml:"tcp_reset_delay"`
	TCPPartialCloseDelay     Duration `toml:"tcp_partial_close_delay"`
	TCPSessionTimer          Duration `toml:"tcp_session_timer"`
	TCPConnectionLinger      Duration `toml:"tcp_connection_linger"`

	// PortInactivity overrides the inactivity timeout per service port
	// ([tracker.port_inactivity]). It is merged over the base table; a zero duration
	// removes a port.
	PortInactivity PortTimeouts `toml:"port_inactivity"`

	// MaxConnections bounds the connection table; when it is full, the connection
	// closest to its timeout is evicted (removal reason "eviction"). 0: no bound.
	MaxConnections uint `toml:"max_connections"`
}

// ThresholdsSection is the [thresholds] section: thresholds set on every TCP
// connection when it becomes established and on every UDP and ICMP connection when it
// is created (tracker.Config.Thresholds). Byte thresholds count IP-level bytes of one
// direction, as conn.log's orig_ip_bytes and resp_ip_bytes do.
//
//	[thresholds]
//	orig_bytes = [1, 2500, "10MB"]
//	resp_bytes = ["1.5GiB"]
//	resp_packets = [50, 52]
//	duration = ["200ms", "1h"]
type ThresholdsSection struct {
	OrigBytes   SizeList     `toml:"orig_bytes"`
	RespBytes   SizeList     `toml:"resp_bytes"`
	OrigPackets SizeList     `toml:"orig_packets"`
	RespPackets SizeList     `toml:"resp_packets"`
	Duration    DurationList `toml:"duration"`
}

// ExtractSection is the [extract] section: where and how much content extraction
// writes.
//
//	[extract]
//	dir = "/var/tmp/flowtop-contents"   # default ./flowtop-contents
//	max_bytes_per_conn = "100MB"         # both directions together; 0: no cap
//	max_bytes_total = "10GB"
type ExtractSection struct {
	Dir             string `toml:"dir"`
	MaxBytesPerConn Size   `toml:"max_bytes_per_conn"`
	MaxBytesTotal   Size   `toml:"max_bytes_total"`
}

// LimitsSection is the [limits] section: how much memory flowtop may use.
//
//	[limits]
//	memory = "1GiB"   # the default; 0 is unbounded
type LimitsSection struct {
	// Memory is the budget of the whole process; see MemoryBudget.
	Memory Size `toml:"memory"`
}

// DefaultMemory is the memory budget when [limits] memory is not set.
const DefaultMemory = 1 << 30

// MemoryBudget returns [limits] memory, DefaultMemory when the file does not
// set it, 0 for unbounded.
func (c *Config) MemoryBudget() uint64 {
	if c == nil || !c.setIn(c.Limits.Memory != 0, "limits", "memory") {
		return DefaultMemory
	}
	return uint64(c.Limits.Memory)
}

// CaptureSection is the [capture] section: what flowtop keeps of the packets.
//
//	[capture]
//	recent_buffer = "64MiB"   # a ring of the latest frames; 0 (the default) keeps none
type CaptureSection struct {
	// RecentBuffer keeps the latest frames, so that writing a connection's
	// packets (w) starts from its first while it is still in the ring.
	RecentBuffer Size `toml:"recent_buffer"`
}

// Load reads and parses the configuration file at path. A file that does not exist
// gives an error that matches fs.ErrNotExist, so that a caller can treat a missing
// default file as an empty configuration.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse parses a configuration file's contents. name is the file's name, used only in
// error messages.
//
// Parsing is strict: a key or section that flowtop does not know, a value of the wrong
// type and a value that does not parse are all errors. The error is an *Error and
// reads as one line, "name:LINE: KEY: MESSAGE", e.g.
//
//	config.toml:7: tracker.likely_server_ports: port "80/tcpx": protocol must be tcp, udp or icmp
//
// LINE is the line of the key (for an array, where the array starts); a TOML syntax
// error is reported as "name:LINE: MESSAGE". Keys match exactly (case-sensitively).
// When a file holds several errors, the first one in the file is reported.
func Parse(name string, data []byte) (*Config, error) {
	d, err := tomlstrict.Parse(name, data)
	if err != nil {
		return nil, err
	}
	c := new(Config)
	if err := d.Decode(c); err != nil {
		return nil, err
	}
	c.md, c.dec = d.MetaData(), d
	return c, nil
}

// Decode parses data strictly into the struct v points to, with Parse's rules: keys
// match toml tags exactly, a field type may implement toml.Unmarshaler or
// TableDecoder, and the error is an *Error of one line, "name:LINE: KEY: MESSAGE".
func Decode(name string, data []byte, v any) error { return tomlstrict.Decode(name, data, v) }

// Error is a configuration error: a TOML syntax error, an unknown key or a bad
// value, in one line "FILE:LINE: KEY: MESSAGE".
type Error = tomlstrict.Error

// TableDecoder is implemented by table-valued types whose keys are data rather than
// field names; see tomlstrict.TableDecoder.
type TableDecoder = tomlstrict.TableDecoder

// DefaultPath returns where flowtop looks for its configuration file:
// $XDG_CONFIG_HOME/flowtop/config.toml, or ~/.config/flowtop/config.toml when
// XDG_CONFIG_HOME is unset or not an absolute path (as the XDG spec asks), on every
// platform. It returns "" if the home directory is not known either.
func DefaultPath() string {
	if dir := userdir.Dir(); dir != "" {
		return filepath.Join(dir, "config.toml")
	}
	return ""
}

// Defined reports whether the parsed file set key, given as its parts:
// Defined("tracker", "local_nets"). It is false for every key of a Config that was not
// made by Parse or Load.
func (c *Config) Defined(key ...string) bool {
	return c != nil && c.md != nil && c.md.IsDefined(key...)
}

// set reports whether a key of section applies: for a parsed Config, whether the file
// defined it; for a Config built in code, whether the field is non-zero.
func (c *Config) set(nonZero bool, key string) bool {
	return c.setIn(nonZero, "tracker", key)
}

func (c *Config) setIn(nonZero bool, section, key string) bool {
	if c.md == nil {
		return nonZero
	}
	return c.md.IsDefined(section, key)
}

// TrackerConfig returns base with the [tracker] and [thresholds] keys that the file set
// applied over it; keys the file left out keep base's value, even where base's value
// is zero. (For a Config built in code rather than parsed, the non-zero fields apply.)
//
//   - likely_server_ports and local_nets replace base's lists; an empty array gives an
//     empty, non-nil list (no likely server ports; local_orig/local_resp unset).
//   - Timeouts set the matching tracker.Timeouts field.
//   - [tracker.port_inactivity] is merged over base's table, or over
//     tracker.DefaultPortInactivity() (Zeek's: one hour for 21, 22, 23 and 513/tcp)
//     when base's is nil: a listed port gets the given timeout, a zero timeout removes
//     the port, and ports not listed keep their timeout.
//   - Each [thresholds] list replaces base's list of the same kind.
//
// The result shares no slices or maps with c or base.
func (c *Config) TrackerConfig(base tracker.Config) tracker.Config {
	if c == nil {
		return base
	}
	out := base
	s := &c.Tracker
	if c.set(s.IgnoreChecksums, "ignore_checksums") {
		out.IgnoreChecksums = s.IgnoreChecksums
	}
	if c.set(s.LikelyServerPorts != nil, "likely_server_ports") {
		out.LikelyServerPorts = slices.Clone([]tracker.PortProto(s.LikelyServerPorts))
		if out.LikelyServerPorts == nil {
			out.LikelyServerPorts = []tracker.PortProto{}
		}
	}
	if c.set(s.LocalNets != nil, "local_nets") {
		out.LocalNets = slices.Clone([]netip.Prefix(s.LocalNets))
		if out.LocalNets == nil {
			out.LocalNets = []netip.Prefix{}
		}
	}
	for _, t := range s.timers(&out.Timeouts) {
		if c.set(*t.src != 0, t.key) {
			*t.dst = time.Duration(*t.src)
		}
	}
	if c.set(s.PortInactivity != nil, "port_inactivity") {
		m := base.PortInactivity
		if m == nil {
			m = tracker.DefaultPortInactivity()
		} else {
			m = maps.Clone(m)
		}
		for p, d := range s.PortInactivity {
			if d == 0 {
				delete(m, p)
			} else {
				m[p] = d
			}
		}
		out.PortInactivity = m
	}
	if c.set(s.MaxConnections != 0, "max_connections") {
		out.MaxConns = int(min(s.MaxConnections, math.MaxInt32))
	}
	th := &c.Thresholds
	for _, l := range []struct {
		key string
		src []uint64
		dst *[]uint64
	}{
		{"orig_bytes", th.OrigBytes, &out.Thresholds.OrigBytes},
		{"resp_bytes", th.RespBytes, &out.Thresholds.RespBytes},
		{"orig_packets", th.OrigPackets, &out.Thresholds.OrigPackets},
		{"resp_packets", th.RespPackets, &out.Thresholds.RespPackets},
	} {
		if c.setIn(l.src != nil, "thresholds", l.key) {
			*l.dst = slices.Clone(l.src)
		}
	}
	if c.setIn(th.Duration != nil, "thresholds", "duration") {
		out.Thresholds.Duration = slices.Clone([]time.Duration(th.Duration))
	}
	if c.setIn(c.Service.Analyzers != nil, "service", "analyzers") || c.Service.Ports != nil {
		out.Service = c.ServiceConfig()
	}
	if c.setIn(c.Capture.RecentBuffer != 0, "capture", "recent_buffer") {
		out.RecentBuffer = int(min(uint64(c.Capture.RecentBuffer), 1<<40))
	}
	return out
}

// timer ties a timeout key to its TrackerSection field and its tracker.Timeouts field.
type timer struct {
	key string
	src *Duration
	dst *time.Duration
}

func (s *TrackerSection) timers(t *tracker.Timeouts) []timer {
	return []timer{
		{"tcp_inactivity_timeout", &s.TCPInactivityTimeout, &t.TCPInactivity},
		{"udp_inactivity_timeout", &s.UDPInactivityTimeout, &t.UDPInactivity},
		{"icmp_inactivity_timeout", &s.ICMPInactivityTimeout, &t.ICMPInactivity},
		{"unknown_inactivity_timeout", &s.UnknownInactivityTimeout, &t.UnknownInactivity},
		{"tcp_attempt_delay", &s.TCPAttemptDelay, &t.TCPAttempt},
		{"tcp_close_delay", &s.TCPCloseDelay, &t.TCPClose},
		{"tcp_reset_delay", &s.TCPResetDelay, &t.TCPReset},
		{"tcp_partial_close_delay", &s.TCPPartialCloseDelay, &t.TCPPartialClose},
		{"tcp_session_timer", &s.TCPSessionTimer, &t.TCPSession},
		{"tcp_connection_linger", &s.TCPConnectionLinger, &t.TCPLinger},
	}
}
