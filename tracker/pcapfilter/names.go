package pcapfilter

import (
	"bufio"
	"context"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Name databases. libpcap asks the C library, which reads the files below;
// the built-in tables stand in for names the files lack (or for missing
// files), so common names work on minimal systems.
var (
	servicesFile  = "/etc/services"
	protocolsFile = "/etc/protocols"
	networksFile  = "/etc/networks"
	ethersFile    = "/etc/ethers"

	// resolveTimeout bounds host-name lookups done by Parse.
	resolveTimeout = 10 * time.Second
)

// svcPorts holds the TCP and UDP port of a service name; -1 means none.
type svcPorts struct{ tcp, udp int }

var builtinServices = map[string]svcPorts{
	"ftp-data": {20, -1}, "ftp": {21, -1}, "ssh": {22, -1}, "telnet": {23, -1},
	"smtp": {25, -1}, "time": {37, 37}, "whois": {43, -1}, "domain": {53, 53},
	"bootps": {-1, 67}, "bootpc": {-1, 68}, "tftp": {-1, 69}, "gopher": {70, -1},
	"finger": {79, -1}, "http": {80, -1}, "www": {80, -1}, "kerberos": {88, 88},
	"pop3": {110, -1}, "sunrpc": {111, 111}, "auth": {113, -1}, "nntp": {119, -1},
	"ntp": {-1, 123}, "epmap": {135, -1}, "netbios-ns": {-1, 137},
	"netbios-dgm": {-1, 138}, "netbios-ssn": {139, -1}, "imap2": {143, -1},
	"imap": {143, -1}, "snmp": {161, 161}, "snmp-trap": {162, 162},
	"bgp": {179, -1}, "irc": {194, -1}, "ldap": {389, 389}, "https": {443, 443},
	"microsoft-ds": {445, -1}, "isakmp": {-1, 500}, "syslog": {-1, 514},
	"printer": {515, -1}, "submission": {587, -1}, "ldaps": {636, 636},
	"rsync": {873, -1}, "imaps": {993, -1}, "pop3s": {995, -1},
	"openvpn": {1194, 1194}, "ms-sql-s": {1433, -1}, "radius": {1812, 1812},
	"nfs": {2049, 2049}, "mysql": {3306, -1}, "ms-wbt-server": {3389, -1},
	"sip": {5060, 5060}, "postgresql": {5432, -1}, "x11": {6000, -1},
	"http-alt": {8080, -1},
}

var builtinProtocols = map[string]int{
	"ip": 0, "hopopt": 0, "icmp": 1, "igmp": 2, "ggp": 3, "ipencap": 4,
	"st": 5, "tcp": 6, "egp": 8, "igp": 9, "pup": 12, "udp": 17, "hmp": 20,
	"xns-idp": 22, "rdp": 27, "iso-tp4": 29, "dccp": 33, "xtp": 36, "ddp": 37,
	"idpr-cmtp": 38, "ipv6": 41, "ipv6-route": 43, "ipv6-frag": 44,
	"idrp": 45, "rsvp": 46, "gre": 47, "esp": 50, "ah": 51, "skip": 57,
	"ipv6-icmp": 58, "ipv6-nonxt": 59, "ipv6-opts": 60, "rspf": 73,
	"vmtp": 81, "eigrp": 88, "ospf": 89, "ax.25": 93, "ipip": 94,
	"etherip": 97, "encap": 98, "pim": 103, "ipcomp": 108, "vrrp": 112,
	"l2tp": 115, "isis": 124, "sctp": 132, "fc": 133, "mobility-header": 135,
	"udplite": 136, "mpls-in-ip": 137, "manet": 138, "hip": 139, "shim6": 140,
	"wesp": 141, "rohc": 142, "ethernet": 143,
}

// etherProtos is libpcap's table for "ether proto NAME"; llcSAPs holds the
// names that select an 802.2 SAP instead of an Ethernet type.
var (
	etherProtos = map[string]uint32{
		"aarp": 0x80f3, "arp": 0x0806, "atalk": 0x809b, "decnet": 0x6003,
		"ip": 0x0800, "ip6": 0x86dd, "lat": 0x6004, "loopback": 0x9000,
		"mopdl": 0x6001, "moprc": 0x6002, "rarp": 0x8035, "sca": 0x6007,
	}
	llcSAPs = map[string]uint32{"iso": 0xfe, "stp": 0x42, "ipx": 0xe0, "netbeui": 0xf0}
)

// nameDB is the lazily loaded content of the name files.
type nameDB struct {
	services  map[string]svcPorts
	protocols map[string]int
	networks  map[string]uint32
	ethers    map[string][6]byte
}

var (
	dbOnce sync.Once
	db     nameDB
)

func names() *nameDB {
	dbOnce.Do(func() {
		db.services = loadServices(servicesFile)
		db.protocols = loadProtocols(protocolsFile)
		db.networks = loadNetworks(networksFile)
		db.ethers = loadEthers(ethersFile)
	})
	return &db
}

// eachLine calls fn with the fields of every non-comment line of path.
func eachLine(path string, fn func(f []string)) {
	file, err := os.Open(path)
	if err != nil {
		return
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		if f := strings.Fields(line); len(f) > 0 {
			fn(f)
		}
	}
}

func loadServices(path string) map[string]svcPorts {
	m := map[string]svcPorts{}
	eachLine(path, func(f []string) {
		if len(f) < 2 {
			return
		}
		portStr, proto, ok := strings.Cut(f[1], "/")
		port, err := strconv.Atoi(portStr)
		if !ok || err != nil || port < 0 || port > 65535 {
			return
		}
		for _, name := range append([]string{f[0]}, f[2:]...) {
			p, seen := m[name]
			if !seen {
				p = svcPorts{-1, -1}
			}
			// The first entry for a name and protocol wins, as with
			// getservbyname.
			switch {
			case proto == "tcp" && p.tcp < 0:
				p.tcp = port
			case proto == "udp" && p.udp < 0:
				p.udp = port
			}
			m[name] = p
		}
	})
	return m
}

func loadProtocols(path string) map[string]int {
	m := map[string]int{}
	eachLine(path, func(f []string) {
		if len(f) < 2 {
			return
		}
		v, err := strconv.Atoi(f[1])
		if err != nil || v < 0 || v > 255 {
			return
		}
		for _, name := range append([]string{f[0]}, f[2:]...) {
			if _, seen := m[name]; !seen {
				m[name] = v
			}
		}
	})
	return m
}

func loadNetworks(path string) map[string]uint32 {
	m := map[string]uint32{}
	eachLine(path, func(f []string) {
		if len(f) < 2 {
			return
		}
		v, ok := inetNetwork(f[1])
		if !ok {
			return
		}
		for _, name := range append([]string{f[0]}, f[2:]...) {
			if _, seen := m[name]; !seen {
				m[name] = v
			}
		}
	})
	return m
}

// inetNetwork converts a dotted network number as inet_network(3) does:
// the parts are right-aligned, so "10.1" is 0x0a01.
func inetNetwork(s string) (uint32, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return 0, false
	}
	var v uint32
	for _, p := range parts {
		n, err := strconv.ParseUint(p, 0, 8)
		if err != nil {
			return 0, false
		}
		v = v<<8 | uint32(n)
	}
	return v, true
}

func loadEthers(path string) map[string][6]byte {
	m := map[string][6]byte{}
	eachLine(path, func(f []string) {
		if len(f) < 2 {
			return
		}
		hw, err := net.ParseMAC(f[0])
		if err != nil || len(hw) != 6 {
			return
		}
		if _, seen := m[f[1]]; !seen {
			m[f[1]] = [6]byte(hw)
		}
	})
	return m
}

// servicePort looks a port name up for one transport protocol; a decimal
// string is a port number, as getaddrinfo(3) treats it.
func servicePort(name string, tcp bool) int {
	if v, err := strconv.ParseUint(name, 10, 32); err == nil {
		return int(v & 0xffff)
	}
	p, ok := names().services[name]
	if !ok {
		p, ok = builtinServices[name]
	}
	if !ok {
		return -1
	}
	if tcp {
		return p.tcp
	}
	return p.udp
}

// nameToPort resolves a service name as libpcap's pcap_nametoport does: a
// name known for TCP and UDP with the same number matches any protocol.
func nameToPort(name string) (port, ipproto int, ok bool) {
	tcp, udp := servicePort(name, true), servicePort(name, false)
	switch {
	case tcp >= 0 && udp == tcp:
		return tcp, protoUndef, true
	case tcp >= 0:
		return tcp, ipprotoTCP, true
	case udp >= 0:
		return udp, ipprotoUDP, true
	}
	return 0, 0, false
}

// nameToPortRange resolves "P1-P2" as pcap_nametoportrange does.
func nameToPortRange(s string) (lo, hi, ipproto int, ok bool) {
	if a, b, ok := scanRange(s); ok {
		return a, b, protoUndef, true
	}
	first, second, found := strings.Cut(s, "-")
	if !found {
		return 0, 0, 0, false
	}
	lo, p1, ok1 := nameToPort(first)
	hi, p2, ok2 := nameToPort(second)
	if !ok1 || !ok2 {
		return 0, 0, 0, false
	}
	if p1 != p2 {
		p1 = protoUndef
	}
	return lo, hi, p1, true
}

// scanRange mimics sscanf(s, "%d-%d"): two decimal numbers joined by '-',
// anything after the second number ignored.
func scanRange(s string) (int, int, bool) {
	a, rest, ok := scanInt(s)
	if !ok || !strings.HasPrefix(rest, "-") {
		return 0, 0, false
	}
	b, _, ok := scanInt(rest[1:])
	return a, b, ok
}

func scanInt(s string) (int, string, bool) {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	j := i
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	if j == i {
		return 0, s, false
	}
	v, err := strconv.ParseInt(s[:j], 10, 64)
	if err != nil || v > 1<<31-1 || v < -1<<31 {
		return 0, s, false
	}
	return int(v), s[j:], true
}

// protoByName is getprotobyname(3) with a built-in fallback.
func protoByName(name string) (uint32, bool) {
	if v, ok := names().protocols[name]; ok {
		return uint32(v), true
	}
	v, ok := builtinProtocols[name]
	return uint32(v), ok
}

// networkByName is getnetbyname(3); 0 means unknown, as in libpcap.
func networkByName(name string) uint32 { return names().networks[name] }

// etherByName is ether_hostton(3).
func etherByName(name string) ([6]byte, bool) {
	mac, ok := names().ethers[name]
	return mac, ok
}

// lookupHost resolves host names for Parse; tests replace it.
var lookupHost = resolveHost

// resolveHost returns the addresses of a host name, in resolver order.
func resolveHost(name string) ([]netip.Addr, error) {
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", name)
	if err != nil {
		return nil, err
	}
	for i, a := range ips {
		ips[i] = a.Unmap().WithZone("")
	}
	return ips, nil
}
