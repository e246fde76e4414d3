package tracker

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/flowtop/flowtop/analyzer"
)

// Proto is an IP protocol number (the conn.log ip_proto field).
type Proto uint8

// IP protocol numbers the tracker treats specially.
const (
	ProtoICMP   Proto = 1
	ProtoTCP    Proto = 6
	ProtoUDP    Proto = 17
	ProtoICMPv6 Proto = 58
	protoSCTP   Proto = 132 // tracked as another transport, as Zeek does
)

// Transport returns the conn.log proto name: tcp, udp, icmp or unknown_transport.
func (p Proto) Transport() string {
	switch p {
	case ProtoTCP:
		return "tcp"
	case ProtoUDP:
		return "udp"
	case ProtoICMP, ProtoICMPv6:
		return "icmp"
	}
	return "unknown_transport"
}

// PortProto is a transport port qualified by its protocol, written "80/tcp" as Zeek does.
type PortProto struct {
	Port  uint16
	Proto Proto
}

// String formats p as "port/proto".
func (p PortProto) String() string {
	return strconv.Itoa(int(p.Port)) + "/" + p.Proto.Transport()
}

// ParsePortProto parses "80/tcp", "53/udp" or "3/icmp".
func ParsePortProto(s string) (PortProto, error) {
	num, proto, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return PortProto{}, fmt.Errorf("port %q: want PORT/PROTO, e.g. 80/tcp", s)
	}
	n, err := strconv.ParseUint(num, 10, 16)
	if err != nil {
		return PortProto{}, fmt.Errorf("port %q: bad number", s)
	}
	var p Proto
	switch strings.ToLower(proto) {
	case "tcp":
		p = ProtoTCP
	case "udp":
		p = ProtoUDP
	case "icmp":
		p = ProtoICMP
	default:
		return PortProto{}, fmt.Errorf("port %q: protocol must be tcp, udp or icmp", s)
	}
	return PortProto{Port: uint16(n), Proto: p}, nil
}

// Timeouts are the connection timers, named after Zeek's options in init-bare.zeek.
// A zero field means "use the default".
type Timeouts struct {
	TCPInactivity     time.Duration // tcp_inactivity_timeout
	UDPInactivity     time.Duration // udp_inactivity_timeout
	ICMPInactivity    time.Duration // icmp_inactivity_timeout
	UnknownInactivity time.Duration // unknown_ip_inactivity_timeout
	TCPAttempt        time.Duration // tcp_attempt_delay
	TCPClose          time.Duration // tcp_close_delay
	TCPReset          time.Duration // tcp_reset_delay
	TCPPartialClose   time.Duration // tcp_partial_close_delay
	TCPSession        time.Duration // tcp_session_timer
	TCPLinger         time.Duration // tcp_connection_linger
}

// Zeek's default timer values (scripts/base/init-bare.zeek).
const (
	DefaultTCPInactivity     = 5 * time.Minute
	DefaultUDPInactivity     = time.Minute
	DefaultICMPInactivity    = time.Minute
	DefaultUnknownInactivity = time.Minute
	DefaultTCPAttempt        = 5 * time.Second
	DefaultTCPClose          = 5 * time.Second
	DefaultTCPReset          = 5 * time.Second
	DefaultTCPPartialClose   = 3 * time.Second
	DefaultTCPSession        = 6 * time.Second
	DefaultTCPLinger         = 5 * time.Second
	// DefaultServiceInactivity is the timeout inactivity.zeek gives FTP, SSH, telnet and rlogin.
	DefaultServiceInactivity = time.Hour
)

// withDefaults returns t with every zero field set to Zeek's default.
func (t Timeouts) withDefaults() Timeouts {
	set := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	set(&t.TCPInactivity, DefaultTCPInactivity)
	set(&t.UDPInactivity, DefaultUDPInactivity)
	set(&t.ICMPInactivity, DefaultICMPInactivity)
	set(&t.UnknownInactivity, DefaultUnknownInactivity)
	set(&t.TCPAttempt, DefaultTCPAttempt)
	set(&t.TCPClose, DefaultTCPClose)
	set(&t.TCPReset, DefaultTCPReset)
	set(&t.TCPPartialClose, DefaultTCPPartialClose)
	set(&t.TCPSession, DefaultTCPSession)
	set(&t.TCPLinger, DefaultTCPLinger)
	return t
}

// Config configures a Tracker. The zero value gives Zeek's defaults.
type Config struct {
	// IgnoreChecksums turns off IP, TCP, UDP and ICMP checksum verification (zeek -C).
	IgnoreChecksums bool
	// LikelyServerPorts decides who is the originator (conn-semantics §2.2).
	// Nil means DefaultLikelyServerPorts; an empty non-nil slice means none.
	LikelyServerPorts []PortProto
	// LocalNets decides local_orig and local_resp. Nil means DefaultLocalNets;
	// an empty non-nil slice leaves both fields unset.
	LocalNets []netip.Prefix
	// Timeouts are the connection timers; zero fields take Zeek's defaults.
	Timeouts Timeouts
	// PortInactivity overrides the inactivity timeout of TCP connections whose service
	// port is a key, once established (Conn::port_inactivity_timeouts). Nil means
	// DefaultPortInactivity; an empty non-nil map means none.
	PortInactivity map[PortProto]time.Duration
	// UIDSeed seeds connection uids, for reproducible output; 0 picks a random seed.
	UIDSeed uint64
	// Thresholds are set on every TCP connection when it becomes established and on
	// every other connection when it is created.
	Thresholds Thresholds
	// MaxConns bounds the connection table: when it is full, a new connection first
	// evicts the one closest to its timeout (ReasonEviction). 0 means no bound.
	MaxConns int
	// KeepPayload keeps packet payload from the start, for content delivery to sinks
	// set as connections appear (Conn.SetContentSink). Without it a pipelined Run
	// starts keeping payload at the first SetContentSink, and data decoded before
	// reaches sinks as gaps.
	KeepPayload bool
	// RecentBuffer is the size in bytes of a ring of the latest frames, so that a
	// PacketSink set on a connection also gets its packets from before (from its
	// first, while they are still in the ring); 0 keeps none. Every frame is
	// copied into it.
	RecentBuffer int
	// Service selects the protocol analyzers that decide each connection's service
	// and names (package analyzer): the zero value runs every one, as a plain
	// `zeek -r` does. NoService turns inspection off altogether.
	Service   analyzer.Config
	NoService bool
}

// DefaultPortInactivity is Zeek's Conn::port_inactivity_timeouts: one hour for
// FTP, SSH, telnet and rlogin.
func DefaultPortInactivity() map[PortProto]time.Duration {
	return map[PortProto]time.Duration{
		{21, ProtoTCP}:  DefaultServiceInactivity,
		{22, ProtoTCP}:  DefaultServiceInactivity,
		{23, ProtoTCP}:  DefaultServiceInactivity,
		{513, ProtoTCP}: DefaultServiceInactivity,
	}
}

// DefaultLikelyServerPorts is the likely_server_ports set of a plain `zeek -r` run
// (conn-semantics §2.2).
func DefaultLikelyServerPorts() []PortProto {
	tcp := []uint16{21, 22, 25, 53, 79, 80, 81, 88, 135, 139, 143, 389, 443, 445, 465, 502, 514,
		563, 585, 587, 614, 631, 636, 989, 990, 992, 993, 995, 1080, 1434, 1883, 2811, 3128, 3268,
		3306, 3389, 5222, 5223, 5269, 5432, 6379, 6666, 6667, 6668, 6669, 8000, 8080, 8888, 20000}
	udp := []uint16{53, 67, 88, 123, 137, 161, 162, 389, 443, 514, 1812, 3389, 4011, 5060, 5353,
		5355, 20000, 2123, 2152, 3544, 4754, 4789, 5072, 6081}
	out := make([]PortProto, 0, len(tcp)+len(udp))
	for _, p := range tcp {
		out = append(out, PortProto{p, ProtoTCP})
	}
	for _, p := range udp {
		out = append(out, PortProto{p, ProtoUDP})
	}
	return out
}

// DefaultLocalNets is Zeek's Site::private_address_space, which Zeek treats as local
// by default (Site::private_address_space_is_local).
func DefaultLocalNets() []netip.Prefix {
	nets := []string{
		"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
		"172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
		"198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/24", "233.252.0.0/24", "239.0.0.0/8",
		"240.0.0.0/4", "255.255.255.255/32",
		"::/128", "::1/128", "::ffff:0:0/96", "64:ff9b::/96", "64:ff9b:1::/48", "100::/64",
		"2001::/23", "2001:db8::/32", "2002::/16", "fc00::/7", "fe80::/10", "fec0::/10",
	}
	out := make([]netip.Prefix, len(nets))
	for i, s := range nets {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}
