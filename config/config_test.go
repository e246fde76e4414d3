package config

import (
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowtop/flowtop/tracker"
)

func pp(port uint16, proto tracker.Proto) tracker.PortProto {
	return tracker.PortProto{Port: port, Proto: proto}
}

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// withDefaultPorts returns tracker.DefaultPortInactivity() changed by edits: a zero
// duration deletes the port.
func withDefaultPorts(edits map[tracker.PortProto]time.Duration) map[tracker.PortProto]time.Duration {
	m := tracker.DefaultPortInactivity()
	for p, d := range edits {
		if d == 0 {
			delete(m, p)
		} else {
			m[p] = d
		}
	}
	return m
}

func TestParseGood(t *testing.T) {
	tcp, udp := tracker.ProtoTCP, tracker.ProtoUDP
	base := tracker.Config{
		IgnoreChecksums: true,
		UIDSeed:         42,
		Timeouts:        tracker.Timeouts{TCPInactivity: time.Hour, UDPInactivity: 3 * time.Minute},
	}
	tests := []struct {
		name string
		file string
		base tracker.Config
		want tracker.Config
	}{
		{
			name: "empty file keeps base",
			file: "",
			base: base,
			want: base,
		},
		{
			name: "comments and empty section keep base",
			file: "# flowtop\n[tracker]\n# nothing yet\n",
			base: base,
			want: base,
		},
		{
			name: "every key",
			file: `
[tracker]
ignore_checksums = true
likely_server_ports = ["22/tcp", "53/udp", " 8080/TCP "]
local_nets = ["10.0.0.0/8", "2001:db8::/32", "192.0.2.7", "fe80::1", "172.16.9.9/12"]
tcp_inactivity_timeout = "10m"
udp_inactivity_timeout = 120
icmp_inactivity_timeout = 1.5
unknown_inactivity_timeout = "90"
tcp_attempt_delay = "1m30s"
tcp_close_delay = " 4s "
tcp_reset_delay = "250ms"
tcp_partial_close_delay = "2.5"
tcp_session_timer = "7s"
tcp_connection_linger = "1h"

[tracker.port_inactivity]
"22/tcp" = "2h"
"3389/tcp" = 1800
"23/tcp" = 0
"513/tcp" = "0s"
`,
			want: tracker.Config{
				IgnoreChecksums:   true,
				LikelyServerPorts: []tracker.PortProto{pp(22, tcp), pp(53, udp), pp(8080, tcp)},
				LocalNets:         prefixes("10.0.0.0/8", "2001:db8::/32", "192.0.2.7/32", "fe80::1/128", "172.16.0.0/12"),
				Timeouts: tracker.Timeouts{
					TCPInactivity:     10 * time.Minute,
					UDPInactivity:     2 * time.Minute,
					ICMPInactivity:    1500 * time.Millisecond,
					UnknownInactivity: 90 * time.Second,
					TCPAttempt:        90 * time.Second,
					TCPClose:          4 * time.Second,
					TCPReset:          250 * time.Millisecond,
					TCPPartialClose:   2500 * time.Millisecond,
					TCPSession:        7 * time.Second,
					TCPLinger:         time.Hour,
				},
				PortInactivity: withDefaultPorts(map[tracker.PortProto]time.Duration{
					pp(22, tcp): 2 * time.Hour, pp(3389, tcp): 30 * time.Minute, pp(23, tcp): 0, pp(513, tcp): 0,
				}),
			},
		},
		{
			name: "false and empty lists override base",
			file: "[tracker]\nignore_checksums = false\nlikely_server_ports = []\nlocal_nets = []\n",
			base: tracker.Config{
				IgnoreChecksums:   true,
				LikelyServerPorts: []tracker.PortProto{pp(80, tcp)},
				LocalNets:         prefixes("10.0.0.0/8"),
			},
			want: tracker.Config{LikelyServerPorts: []tracker.PortProto{}, LocalNets: []netip.Prefix{}},
		},
		{
			name: "one timeout leaves the others of base",
			file: "[tracker]\nudp_inactivity_timeout = \"30s\"\n",
			base: base,
			want: tracker.Config{
				IgnoreChecksums: true,
				UIDSeed:         42,
				Timeouts:        tracker.Timeouts{TCPInactivity: time.Hour, UDPInactivity: 30 * time.Second},
			},
		},
		{
			name: "port_inactivity merges over base's table",
			file: "[tracker.port_inactivity]\n\"22/tcp\" = 0\n\"443/tcp\" = \"10m\"\n",
			base: tracker.Config{PortInactivity: map[tracker.PortProto]time.Duration{pp(22, tcp): time.Minute, pp(21, tcp): time.Hour}},
			want: tracker.Config{PortInactivity: map[tracker.PortProto]time.Duration{pp(21, tcp): time.Hour, pp(443, tcp): 10 * time.Minute}},
		},
		{
			name: "empty port_inactivity table is Zeek's table",
			file: "[tracker.port_inactivity]\n",
			want: tracker.Config{PortInactivity: tracker.DefaultPortInactivity()},
		},
		{
			name: "dotted keys and inline tables",
			file: "tracker.ignore_checksums = true\n" +
				"tracker.port_inactivity = { \"22/tcp\" = \"3h\" }\n" +
				"tracker.local_nets = [\n  \"10.0.0.0/8\", # office\n  \"192.168.0.0/16\",\n]\n",
			want: tracker.Config{
				IgnoreChecksums: true,
				LocalNets:       prefixes("10.0.0.0/8", "192.168.0.0/16"),
				PortInactivity:  withDefaultPorts(map[tracker.PortProto]time.Duration{pp(22, tcp): 3 * time.Hour}),
			},
		},
		{
			name: "inline tracker table",
			file: "tracker = { tcp_close_delay = 1, likely_server_ports = [\"3/icmp\"] }\n",
			want: tracker.Config{
				LikelyServerPorts: []tracker.PortProto{pp(3, tracker.ProtoICMP)},
				Timeouts:          tracker.Timeouts{TCPClose: time.Second},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("config.toml", []byte(tt.file))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got := c.TrackerConfig(tt.base)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("TrackerConfig\n got: %+v\nwant: %+v", got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		file string
		want string
	}{
		{
			name: "unknown key",
			file: "[tracker]\nignore_checksums = true\nignore_checksum = true\n",
			want: "config.toml:3: tracker.ignore_checksum: unknown key",
		},
		{
			name: "keys are case-sensitive",
			file: "[tracker]\nIgnore_Checksums = true\n",
			want: "config.toml:2: tracker.Ignore_Checksums: unknown key",
		},
		{
			name: "unknown top-level key",
			file: "# top\nignore_checksums = true\n",
			want: "config.toml:2: ignore_checksums: unknown key",
		},
		{
			name: "unknown section",
			file: "[tracker]\n\n[display]\ntheme = \"dark\"\n",
			want: "config.toml:3: display: unknown section",
		},
		{
			name: "unknown section made by a dotted key",
			file: "\n\ndisplay.theme = \"dark\"\n",
			want: "config.toml:3: display: unknown section",
		},
		{
			name: "unknown table inside a section",
			file: "[tracker]\n[tracker.timeouts]\ntcp = \"5m\"\n",
			want: "config.toml:2: tracker.timeouts: unknown key",
		},
		{
			name: "bad port",
			file: "# ports\n\n[tracker]\nignore_checksums = true\n\n\nlikely_server_ports = [\"80/tcp\", \"80/tcpx\"]\n",
			want: `config.toml:7: tracker.likely_server_ports: port "80/tcpx": protocol must be tcp, udp or icmp`,
		},
		{
			name: "bad port number in a multi-line array",
			file: "[tracker]\nlikely_server_ports = [\n  \"80/tcp\",\n  \"99999/tcp\",\n]\n",
			want: `config.toml:2: tracker.likely_server_ports: port "99999/tcp": bad number`,
		},
		{
			name: "port that is not a string",
			file: "[tracker]\nlikely_server_ports = [80]\n",
			want: `config.toml:2: tracker.likely_server_ports: want ports as strings like "80/tcp", got an integer (80)`,
		},
		{
			name: "port list that is not an array",
			file: "[tracker]\nlikely_server_ports = \"80/tcp\"\n",
			want: `config.toml:2: tracker.likely_server_ports: want an array of ports like ["80/tcp"], got a string ("80/tcp")`,
		},
		{
			name: "bad prefix length",
			file: "[tracker]\nlocal_nets = [\"10.0.0.0/33\"]\n",
			want: `config.toml:2: tracker.local_nets: net "10.0.0.0/33": prefix length must be 0 to 32`,
		},
		{
			name: "bad prefix address",
			file: "[tracker]\nlocal_nets = [\"10.0.0/8\"]\n",
			want: `config.toml:2: tracker.local_nets: net "10.0.0/8": bad IP address`,
		},
		{
			name: "bad IPv6 prefix length",
			file: "[tracker]\nlocal_nets = [\"2001:db8::/129\"]\n",
			want: `config.toml:2: tracker.local_nets: net "2001:db8::/129": prefix length must be 0 to 128`,
		},
		{
			name: "prefix with zone",
			file: "[tracker]\nlocal_nets = [\"fe80::1%eth0\"]\n",
			want: `config.toml:2: tracker.local_nets: net "fe80::1%eth0": an address zone is not allowed`,
		},
		{
			name: "bad duration",
			file: "[tracker]\ntcp_inactivity_timeout = \"5 minutes\"\n",
			want: `config.toml:2: tracker.tcp_inactivity_timeout: duration "5 minutes": want a number of seconds or a duration like "90s" or "1h30m"`,
		},
		{
			name: "negative duration",
			file: "[tracker]\ntcp_attempt_delay = \"-5s\"\n",
			want: `config.toml:2: tracker.tcp_attempt_delay: duration "-5s": must not be negative`,
		},
		{
			name: "zero timeout",
			file: "[tracker]\ntcp_close_delay = 0\n",
			want: `config.toml:2: tracker.tcp_close_delay: duration 0: must be positive`,
		},
		{
			name: "huge duration",
			file: "[tracker]\ntcp_session_timer = 1e300\n",
			want: `config.toml:2: tracker.tcp_session_timer: duration 1e+300: too large`,
		},
		{
			name: "huge integer duration",
			file: "[tracker]\ntcp_session_timer = 9223372036854775807\n",
			want: `config.toml:2: tracker.tcp_session_timer: duration 9223372036854775807: too large`,
		},
		{
			name: "negative infinite duration",
			file: "[tracker]\ntcp_session_timer = -inf\n",
			want: `config.toml:2: tracker.tcp_session_timer: duration -Inf: must not be negative`,
		},
		{
			name: "negative integer duration",
			file: "[tracker]\ntcp_session_timer = -9223372036854775808\n",
			want: `config.toml:2: tracker.tcp_session_timer: duration -9223372036854775808: must not be negative`,
		},
		{
			name: "NaN duration",
			file: "[tracker]\ntcp_session_timer = nan\n",
			want: `config.toml:2: tracker.tcp_session_timer: duration NaN: not a number`,
		},
		{
			name: "duration of the wrong type",
			file: "[tracker]\ntcp_session_timer = true\n",
			want: `config.toml:2: tracker.tcp_session_timer: want a duration like "90s" or a number of seconds, got a boolean (true)`,
		},
		{
			name: "bool of the wrong type",
			file: "[tracker]\nignore_checksums = \"yes\"\n",
			want: `config.toml:2: tracker.ignore_checksums: want true or false, got a string ("yes")`,
		},
		{
			name: "section that is not a table",
			file: "tracker = 5\n",
			want: `config.toml:1: tracker: want a table, got an integer (5)`,
		},
		{
			name: "section as an array of tables",
			file: "\n[[tracker]]\nignore_checksums = true\n",
			want: `config.toml:2: tracker: want a table, got an array of tables`,
		},
		{
			name: "bad port in port_inactivity",
			file: "[tracker.port_inactivity]\n\"22/tcp\" = \"2h\"\n\"22/tcpx\" = \"2h\"\n",
			want: `config.toml:3: tracker.port_inactivity."22/tcpx": port "22/tcpx": protocol must be tcp, udp or icmp`,
		},
		{
			name: "bad duration in port_inactivity",
			file: "[tracker.port_inactivity]\n\"22/tcp\" = \"2h\"\n\"23/tcp\" = \"-1h\"\n",
			want: `config.toml:3: tracker.port_inactivity."23/tcp": duration "-1h": must not be negative`,
		},
		{
			name: "port given twice in port_inactivity",
			file: "[tracker.port_inactivity]\n\"22/tcp\" = \"2h\"\n\"22/TCP\" = \"3h\"\n",
			want: `config.toml:3: tracker.port_inactivity."22/TCP": port "22/TCP": 22/tcp is already given`,
		},
		{
			name: "port_inactivity that is not a table",
			file: "[tracker]\nport_inactivity = [\"22/tcp\"]\n",
			want: `config.toml:2: tracker.port_inactivity: want a table, got an array`,
		},
		{
			name: "the first error in the file is reported",
			file: "[tracker]\ntcp_close_delay = \"x\"\nbogus = 1\nlocal_nets = [\"x\"]\nignore_checksums = 3\n",
			want: `config.toml:2: tracker.tcp_close_delay: duration "x": want a number of seconds or a duration like "90s" or "1h30m"`,
		},
		{
			name: "the first error in the file is reported, across sections",
			file: "[zzz]\na = 1\n[tracker]\nbogus = 1\n",
			want: `config.toml:1: zzz: unknown section`,
		},
		{
			name: "syntax error: unterminated table header",
			file: "[tracker]\nignore_checksums = true\n[tracker.port_inactivity\n",
			want: `config.toml:3: expected '.' or ']' to end table name, but got '\n' instead`,
		},
		{
			name: "syntax error: missing value",
			file: "[tracker]\n\ntcp_close_delay =\n",
			want: `config.toml:3: expected value but found '\n' instead`,
		},
		{
			name: "syntax error: duplicate key",
			file: "[tracker]\nignore_checksums = true\nignore_checksums = false\n",
			want: `config.toml:3: key 'tracker.ignore_checksums' has already been defined`,
		},
		{
			name: "syntax error: newline in a string",
			file: "[tracker]\nlocal_nets = [\"10.0.0.0/8\n\"]\n",
			want: `config.toml:2: strings cannot contain newlines`,
		},
		{
			name: "syntax error after a byte order mark",
			file: "\xef\xbb\xbf[tracker]\n\n[ui\n",
			want: `config.toml:3: expected '.' or ']' to end table name, but got '\n' instead`,
		},
		{
			name: "key with a newline stays on one line",
			file: "\"a\\nb\" = 1\n",
			want: `config.toml:1: "a\nb": unknown key`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("config.toml", []byte(tt.file))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", c)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error\n got: %s\nwant: %s", got, tt.want)
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.File != "config.toml" || ce.Line == 0 {
				t.Errorf("error is not an *Error with file and line: %#v", err)
			}
			if c != nil {
				t.Errorf("Parse returned a Config with its error")
			}
		})
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		err  Error
		want string
	}{
		{Error{File: "a.toml", Line: 3, Key: "tracker.x", Msg: "unknown key"}, "a.toml:3: tracker.x: unknown key"},
		{Error{File: "a.toml", Key: "tracker.x", Msg: "unknown key"}, "a.toml: tracker.x: unknown key"},
		{Error{File: "a.toml", Line: 1, Msg: "bad\nthing\u2028"}, `a.toml:1: bad\nthing\u2028`},
		{Error{Line: 1, Msg: "m"}, "config:1: m"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("%#v.Error() = %q, want %q", tt.err, got, tt.want)
		}
	}
}

// TestEveryTrackerKeyApplies sets each [tracker] key alone and checks that it reaches
// the tracker.Config, so a key added to TrackerSection cannot be forgotten in
// TrackerConfig.
func TestEveryTrackerKeyApplies(t *testing.T) {
	typ := reflect.TypeFor[TrackerSection]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		key := f.Tag.Get("toml")
		var value string
		switch f.Type {
		case reflect.TypeFor[bool]():
			value = "true"
		case reflect.TypeFor[PortList]():
			value = `["1/tcp"]`
		case reflect.TypeFor[PrefixList]():
			value = `["10.0.0.0/8"]`
		case reflect.TypeFor[Duration]():
			value = `"7s"`
		case reflect.TypeFor[PortTimeouts]():
			value = `{ "1/udp" = "7s" }`
		case reflect.TypeFor[uint]():
			value = "7"
		default:
			t.Fatalf("field %s: no test value for type %s", f.Name, f.Type)
		}
		file := "[tracker]\n" + key + " = " + value + "\n"
		c, err := Parse("config.toml", []byte(file))
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if !c.Defined("tracker", key) {
			t.Errorf("%s: Defined is false", key)
		}
		if got := c.TrackerConfig(tracker.Config{}); reflect.DeepEqual(got, tracker.Config{}) {
			t.Errorf("%s: TrackerConfig ignores the key", key)
		}
	}
}

func TestTrackerConfigDoesNotAlias(t *testing.T) {
	c, err := Parse("config.toml", []byte("[tracker]\nlikely_server_ports = [\"80/tcp\"]\nlocal_nets = [\"10.0.0.0/8\"]\n[tracker.port_inactivity]\n\"22/tcp\" = 5\n"))
	if err != nil {
		t.Fatal(err)
	}
	baseMap := map[tracker.PortProto]time.Duration{pp(21, tracker.ProtoTCP): time.Hour}
	got := c.TrackerConfig(tracker.Config{PortInactivity: baseMap})
	got.LikelyServerPorts[0].Port = 1
	got.LocalNets[0] = netip.Prefix{}
	got.PortInactivity[pp(9, tracker.ProtoTCP)] = time.Second
	if c.Tracker.LikelyServerPorts[0].Port != 80 || !c.Tracker.LocalNets[0].IsValid() {
		t.Errorf("TrackerConfig result shares lists with the Config")
	}
	if len(baseMap) != 1 {
		t.Errorf("TrackerConfig changed base's PortInactivity map: %v", baseMap)
	}
}

func TestTrackerConfigHandBuilt(t *testing.T) {
	c := &Config{Tracker: TrackerSection{
		LocalNets:       PrefixList(prefixes("10.0.0.0/8")),
		TCPCloseDelay:   Duration(time.Second),
		IgnoreChecksums: false, // zero: does not apply
	}}
	base := tracker.Config{IgnoreChecksums: true, Timeouts: tracker.Timeouts{TCPReset: time.Minute}}
	want := tracker.Config{
		IgnoreChecksums: true,
		LocalNets:       prefixes("10.0.0.0/8"),
		Timeouts:        tracker.Timeouts{TCPReset: time.Minute, TCPClose: time.Second},
	}
	if got := c.TrackerConfig(base); !reflect.DeepEqual(got, want) {
		t.Errorf("TrackerConfig\n got: %+v\nwant: %+v", got, want)
	}
	if c.Defined("tracker", "local_nets") {
		t.Errorf("Defined is true for a Config built in code")
	}
	var nilConfig *Config
	if got := nilConfig.TrackerConfig(base); !reflect.DeepEqual(got, base) {
		t.Errorf("nil Config changed base: %+v", got)
	}
}

func TestUnmarshalTOML(t *testing.T) {
	// The value types also work with plain toml.Decode users, through UnmarshalTOML.
	var d Duration
	if err := d.UnmarshalTOML("1m30s"); err != nil || time.Duration(d) != 90*time.Second || d.String() != "1m30s" {
		t.Errorf("Duration.UnmarshalTOML = %v, %v", d, err)
	}
	var m PortTimeouts
	err := m.UnmarshalTOML(map[string]any{"22/tcp": "1h", "53/udp": int64(0)})
	want := PortTimeouts{pp(22, tracker.ProtoTCP): time.Hour, pp(53, tracker.ProtoUDP): 0}
	if err != nil || !reflect.DeepEqual(m, want) {
		t.Errorf("PortTimeouts.UnmarshalTOML = %v, %v", m, err)
	}
	if err := m.UnmarshalTOML("x"); err == nil || err.Error() != `want a table, got a string ("x")` {
		t.Errorf("PortTimeouts.UnmarshalTOML(string) error = %v", err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte("[tracker]\nignore_checksums = true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Tracker.IgnoreChecksums || !c.Defined("tracker", "ignore_checksums") || c.Defined("tracker", "local_nets") {
		t.Errorf("Load = %+v", c)
	}

	if err := os.WriteFile(path, []byte("[tracker]\nbogus = 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || err.Error() != path+":2: tracker.bogus: unknown key" {
		t.Errorf("Load error = %v", err)
	}

	_, err = Load(filepath.Join(dir, "missing.toml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load of a missing file = %v, want fs.ErrNotExist", err)
	}
	if err != nil && strings.Contains(err.Error(), "\n") {
		t.Errorf("error spans lines: %q", err)
	}
}

func TestDefaultPath(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	tests := []struct{ xdg, want string }{
		{"/xdg", filepath.Join("/xdg", "flowtop", "config.toml")},
		{"", filepath.Join(home, ".config", "flowtop", "config.toml")},
		{"relative/dir", filepath.Join(home, ".config", "flowtop", "config.toml")},
	}
	for _, tt := range tests {
		t.Setenv("XDG_CONFIG_HOME", tt.xdg)
		if got := DefaultPath(); got != tt.want {
			t.Errorf("XDG_CONFIG_HOME=%q: DefaultPath() = %q, want %q", tt.xdg, got, tt.want)
		}
	}
}

func TestThresholdsSection(t *testing.T) {
	file := `
[thresholds]
orig_bytes = [1, 2500, 2700]     # counts; strings with units also accepted
resp_bytes = ["10MB", "1.5GiB", "500k"]
orig_packets = []
resp_packets = [50, 52]
duration = ["200ms", 2]
`
	c, err := Parse("config.toml", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	base := tracker.Config{Thresholds: tracker.Thresholds{OrigPackets: []uint64{9}, Duration: []time.Duration{time.Hour}}}
	got := c.TrackerConfig(base).Thresholds
	want := tracker.Thresholds{
		OrigBytes:   []uint64{1, 2500, 2700},
		RespBytes:   []uint64{10_000_000, 1_610_612_736, 500_000},
		OrigPackets: []uint64{},
		RespPackets: []uint64{50, 52},
		Duration:    []time.Duration{200 * time.Millisecond, 2 * time.Second},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("thresholds\n got %+v\nwant %+v", got, want)
	}

	// Lists the file leaves out keep base's.
	c, err = Parse("config.toml", []byte("[thresholds]\nresp_bytes = [5]\n"))
	if err != nil {
		t.Fatal(err)
	}
	got = c.TrackerConfig(base).Thresholds
	if !slices.Equal(got.OrigPackets, []uint64{9}) || !slices.Equal(got.Duration, []time.Duration{time.Hour}) || !slices.Equal(got.RespBytes, []uint64{5}) {
		t.Errorf("partial section: %+v", got)
	}
}

func TestThresholdsErrors(t *testing.T) {
	tests := []struct{ file, want string }{
		{"[thresholds]\norig_bytes = [0]\n", "config.toml:2: thresholds.orig_bytes: size 0: must be positive"},
		{"[thresholds]\norig_bytes = [-3]\n", "config.toml:2: thresholds.orig_bytes: size -3: must be positive"},
		{"[thresholds]\nresp_bytes = [\"10 mb\"]\n", `config.toml:2: thresholds.resp_bytes: size "10 mb": unknown unit "mb": use k, M, G, T, P (×1000) or Ki, Mi, Gi, Ti, Pi (×1024), optionally with B`},
		{"[thresholds]\nresp_bytes = 5\n", `config.toml:2: thresholds.resp_bytes: want an array of sizes like [2500, "10MB"], got an integer (5)`},
		{"[thresholds]\nduration = [\"soon\"]\n", `config.toml:2: thresholds.duration: duration "soon": want a number of seconds or a duration like "90s" or "1h30m"`},
		{"[thresholds]\nduration = [0]\n", "config.toml:2: thresholds.duration: duration 0: must be positive"},
		{"[thresholds]\nbytes = [1]\n", "config.toml:2: thresholds.bytes: unknown key"},
	}
	for _, tc := range tests {
		_, err := Parse("config.toml", []byte(tc.file))
		if err == nil || err.Error() != tc.want {
			t.Errorf("%q:\n got %v\nwant %s", tc.file, err, tc.want)
		}
	}
}

func TestExtractSection(t *testing.T) {
	c, err := Parse("config.toml", []byte("[extract]\ndir = \"/tmp/x\"\nmax_bytes_per_conn = \"100MB\"\nmax_bytes_total = 5000\n"))
	if err != nil {
		t.Fatal(err)
	}
	if e := c.Extract; e.Dir != "/tmp/x" || e.MaxBytesPerConn != 100_000_000 || e.MaxBytesTotal != 5000 {
		t.Errorf("extract section %+v", e)
	}
	for file, want := range map[string]string{
		"[extract]\nmax_bytes_total = -1\n":       "config.toml:2: extract.max_bytes_total: size -1: must not be negative",
		"[extract]\nmax_bytes_total = \"lots\"\n": `config.toml:2: extract.max_bytes_total: size "lots": want a number with an optional unit, e.g. 2500, 500k, 10MB, 1.5GiB`,
	} {
		if _, err := Parse("config.toml", []byte(file)); err == nil || err.Error() != want {
			t.Errorf("%q: got %v, want %s", file, err, want)
		}
	}
}
