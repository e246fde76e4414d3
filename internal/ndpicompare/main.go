// Command ndpicompare compares flowtop's protocol detection (conn.log's
// service, which follows Zeek: a protocol is named once a parser confirms it)
// and server names (TLS SNI, HTTP Host, DNS query) with those of nDPI's
// ndpiReader on the same captures, and measures both tools' packets per second.
//
//	go run ./internal/ndpicompare -flowtop bin/flowtop -cases ../shared/oracle/cases [-C] [FILE...]
//
// For each capture it runs `flowtop -r FILE --headless` (TSV, with the
// server_name column; -C when the oracle case was run with zeek -C) and
// `ndpiReader -i FILE -v 2`, whose flow listing holds every flow, detected or
// not, with its protocol ("TLS.Google": master protocol and application), the
// detection's confidence and the Hostname/SNI field. Flows are paired by
// 5-tuple, the endpoints in either order (ICMP and other protocols by
// addresses only); several records of one 5-tuple on one side (a connection
// reused, a UDP flow split by inactivity) are taken together. nDPI's master
// protocol is mapped to the Zeek service names that mean the same (HTTP is
// http, TLS is ssl, IMAPS is imap plus ssl...); a pair agrees when the two
// share a service. Names are compared where nDPI's Hostname/SNI field holds a
// server name (HTTP, TLS, QUIC, DNS, mDNS, LLMNR); for SSH it holds the client's
// software, for DHCP and NetBIOS a host name, which flowtop does not put there.
//
// With -cases DIR every case of the Zeek oracle corpus that has application
// traffic is compared: Zeek's own conn.log names a service, or nDPI detects
// a protocol by inspection on a TCP or UDP flow. Zeek's service is shown next
// to each example of a difference.
//
// testdata/loopback.pcap is real traffic captured on loopback in a network
// namespace of its own by loopback.sh (HTTP, TLS with SNI, DNS, SSH and bytes
// of no protocol, on usual and other ports); its checksums were left to the
// NIC, hence -C, which gives flowtop -C for the captures named as arguments.
//
// -bench times both tools on one capture, in alternating rounds, and prints
// medians: flowtop headless writing conn.log to /dev/null, and ndpiReader -q
// (no flow listing, no CSV: the least output it can be asked for). A benchgen
// workload name ("many") stands for its capture in $TMPDIR/flowtop-bench,
// generated there unless a previous run left it.
//
// The report is Markdown: one table row per capture, the totals, and examples of
// each kind of difference.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/flowtop/flowtop/internal/benchgen"
)

func main() {
	ftBin := flag.String("flowtop", "bin/flowtop", "flowtop `binary`")
	ndBin := flag.String("ndpi", "ndpiReader", "ndpiReader `binary`")
	cases := flag.String("cases", "", "oracle cases `dir`: compare every case with application traffic")
	benchArg := flag.String("bench", "many", "capture `file` (or benchgen workload name) to time both tools on; empty: no timing")
	rounds := flag.Int("rounds", 3, "timing rounds per tool")
	examples := flag.Int("examples", 4, "examples of each kind of difference")
	noChecksums := flag.Bool("C", false, "flowtop -C for the captures given as arguments (a loopback capture's checksums were never filled in)")
	flag.Parse()
	if err := run(*ftBin, *ndBin, *cases, *benchArg, *rounds, *examples, *noChecksums, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "ndpicompare:", err)
		os.Exit(1)
	}
}

func run(ftBin, ndBin, casesDir, benchArg string, rounds, nex int, noChecksums bool, files []string) error {
	if _, err := exec.LookPath(ndBin); err != nil {
		return fmt.Errorf("%s not found (apt-get install libndpi-bin): %v", ndBin, err)
	}
	if _, err := os.Stat(ftBin); err != nil {
		return fmt.Errorf("flowtop binary: %v (make build)", err)
	}
	tmp, err := os.MkdirTemp("", "ndpicompare")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	cfg := filepath.Join(tmp, "flowtop.toml")
	if err := os.WriteFile(cfg, []byte("[connlog]\nextra_fields = [\"server_name\"]\n"), 0o644); err != nil {
		return err
	}
	var caps []capture
	var skipped []string
	if casesDir != "" {
		traces, _ := filepath.Glob(filepath.Join(casesDir, "*", "trace.pcap*"))
		sort.Strings(traces)
		for _, t := range traces {
			c, err := compare(ftBin, ndBin, cfg, tmp, t, false)
			if err != nil {
				return err
			}
			if !c.application() {
				skipped = append(skipped, c.Name)
				continue
			}
			caps = append(caps, c)
		}
	}
	for _, f := range files {
		c, err := compare(ftBin, ndBin, cfg, tmp, f, noChecksums)
		if err != nil {
			return err
		}
		caps = append(caps, c)
	}
	if len(caps) > 0 {
		report(os.Stdout, caps, skipped, nex)
	}
	if benchArg != "" {
		pcap, packets, err := benchCapture(benchArg)
		if err != nil {
			return err
		}
		b, err := bench(ftBin, ndBin, pcap, packets, rounds, tmp)
		if err != nil {
			return err
		}
		b.print(os.Stdout)
	}
	return nil
}

// --- the two tools' outputs -------------------------------------------------

// ndpiFlow is one flow of ndpiReader's -v 2 listing.
type ndpiFlow struct {
	Proto      int // IP protocol number
	A, B       netip.AddrPort
	Label      string // "TLS.Google", "Unknown"
	Confidence string // "DPI", "Match by port", "Unknown"...
	Host       string // the Hostname/SNI field
}

// Master is nDPI's master protocol: "TLS" of "TLS.Google".
func (f ndpiFlow) Master() string {
	m, _, _ := strings.Cut(f.Label, ".")
	return m
}

// A flow line: "\t3\tTCP 1.2.3.4:80 <-> [::1]:5 [VLAN: 7][proto: 91.126/TLS.Google][...".
var ndpiLine = regexp.MustCompile(`^\s*\d+\s+(\S+) (\[[0-9A-Fa-f:.]+\]|[0-9.]+):(\d+) (?:<->|->) (\[[0-9A-Fa-f:.]+\]|[0-9.]+):(\d+) (?:\[[^\]]*\])*?\[proto: [0-9.]+/([^\]]+)\](.*)$`)

var ndpiProtos = map[string]int{"TCP": 6, "UDP": 17, "ICMP": 1, "ICMPV6": 58, "IGMP": 2, "VRRP": 112}

// parseNDPI reads the flows of `ndpiReader -v 2` output (the detected ones,
// then those under "Undetected flows:").
func parseNDPI(r io.Reader) ([]ndpiFlow, error) {
	var out []ndpiFlow
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		m := ndpiLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		proto, ok := ndpiProtos[m[1]]
		if !ok {
			n, err := strconv.Atoi(m[1])
			if err != nil {
				continue
			}
			proto = n
		}
		a, err1 := addrPort(m[2], m[3])
		b, err2 := addrPort(m[4], m[5])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("ndpiReader line %q: bad endpoint", sc.Text())
		}
		out = append(out, ndpiFlow{Proto: proto, A: a, B: b, Label: m[6],
			Confidence: bracket(m[7], "Confidence"), Host: bracket(m[7], "Hostname/SNI")})
	}
	return out, sc.Err()
}

func addrPort(host, port string) (netip.AddrPort, error) {
	a, err := netip.ParseAddr(strings.Trim(host, "[]"))
	if err != nil {
		return netip.AddrPort{}, err
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return netip.AddrPort{}, err
	}
	return netip.AddrPortFrom(a.Unmap(), uint16(p)), nil
}

// bracket returns the value of the "[label: value]" field in s. A value may
// hold brackets itself ("[Hostname/SNI: [::1]:8080]"): it ends at the first
// "]" followed by "[" or by the end of s.
func bracket(s, label string) string {
	i := strings.Index(s, "["+label+": ")
	if i < 0 {
		return ""
	}
	s = s[i+len(label)+3:]
	for j := 0; j < len(s); j++ {
		if s[j] == ']' && (j+1 == len(s) || s[j+1] == '[') {
			return s[:j]
		}
	}
	return s
}

// connRecord is one conn.log record (flowtop's, or Zeek's of an oracle case).
type connRecord struct {
	Proto          int
	Orig, Resp     netip.AddrPort
	Service        []string
	Name           string // server_name
	State, History string
}

// parseConnLog reads a Zeek TSV conn.log by its #fields header.
func parseConnLog(r io.Reader) ([]connRecord, error) {
	var out []connRecord
	col := map[string]int{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	get := func(f []string, name string) string {
		if i, ok := col[name]; ok && i < len(f) {
			return f[i]
		}
		return "-"
	}
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "#fields\t"); ok {
			clear(col)
			for i, n := range strings.Split(rest, "\t") {
				col[n] = i
			}
			continue
		}
		if line == "" || line[0] == '#' {
			continue
		}
		if len(col) == 0 {
			return nil, errors.New("conn.log without #fields")
		}
		f := strings.Split(line, "\t")
		orig, err1 := addrPort(get(f, "id.orig_h"), get(f, "id.orig_p"))
		resp, err2 := addrPort(get(f, "id.resp_h"), get(f, "id.resp_p"))
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("conn.log line %q: bad endpoint", line)
		}
		rec := connRecord{Orig: orig, Resp: resp, State: get(f, "conn_state"), History: get(f, "history")}
		if p, err := strconv.Atoi(get(f, "ip_proto")); err == nil {
			rec.Proto = p
		} else {
			switch get(f, "proto") {
			case "tcp":
				rec.Proto = 6
			case "udp":
				rec.Proto = 17
			case "icmp":
				rec.Proto = 1
				if orig.Addr().Is6() {
					rec.Proto = 58
				}
			}
		}
		if s := get(f, "service"); s != "-" && s != "" && s != "(empty)" {
			rec.Service = strings.Split(s, ",")
		}
		if n := get(f, "server_name"); n != "-" && n != "(empty)" {
			rec.Name = n
		}
		out = append(out, rec)
	}
	return out, sc.Err()
}

// --- pairing and classification ---------------------------------------------

// flowKey names a flow by protocol and endpoints in either order; ports count
// for TCP and UDP only (nDPI gives ICMP flows port 0, flowtop type and code).
func flowKey(proto int, a, b netip.AddrPort) string {
	if proto != 6 && proto != 17 {
		a, b = netip.AddrPortFrom(a.Addr(), 0), netip.AddrPortFrom(b.Addr(), 0)
	}
	x, y := a.String(), b.String()
	if y < x {
		x, y = y, x
	}
	return strconv.Itoa(proto) + " " + x + " " + y
}

// group is one 5-tuple with the records both sides have for it.
type group struct {
	Key  string
	FT   []connRecord
	ND   []ndpiFlow
	Zeek []connRecord
}

// pairFlows groups flowtop's records and nDPI's flows by 5-tuple, in order of
// first appearance (flowtop's first).
func pairFlows(ft []connRecord, nd []ndpiFlow) []*group {
	var out []*group
	idx := map[string]*group{}
	at := func(k string) *group {
		g := idx[k]
		if g == nil {
			g = &group{Key: k}
			idx[k] = g
			out = append(out, g)
		}
		return g
	}
	for _, r := range ft {
		g := at(flowKey(r.Proto, r.Orig, r.Resp))
		g.FT = append(g.FT, r)
	}
	for _, f := range nd {
		g := at(flowKey(f.Proto, f.A, f.B))
		g.ND = append(g.ND, f)
	}
	return out
}

// zeekServices maps nDPI master protocols to the Zeek services of the same
// protocol.
var zeekServices = map[string][]string{
	"HTTP": {"http"}, "HTTP_Connect": {"http"}, "HTTP_Proxy": {"http"},
	"TLS": {"ssl"}, "DTLS": {"dtls"}, "QUIC": {"quic"},
	"DNS": {"dns"}, "MDNS": {"dns"}, "LLMNR": {"dns"},
	"SSH": {"ssh"}, "FTP_CONTROL": {"ftp"}, "FTP_DATA": {"ftp-data"},
	"IMAP": {"imap"}, "IMAPS": {"imap", "ssl"}, "POP3": {"pop3"}, "POP3S": {"pop3", "ssl"},
	"SMTP": {"smtp"}, "SMTPS": {"smtp", "ssl"}, "IRC": {"irc"}, "Jabber": {"xmpp"},
	"LDAP": {"ldap_tcp", "ldap_udp"}, "Kerberos": {"krb", "krb_tcp"}, "Redis": {"redis"},
	"NTP": {"ntp"}, "DHCP": {"dhcp"}, "SNMP": {"snmp"}, "SIP": {"sip"}, "RADIUS": {"radius"},
	"Syslog": {"syslog"}, "MQTT": {"mqtt"}, "Modbus": {"modbus"}, "DNP3": {"dnp3_tcp", "dnp3_udp"},
	"MySQL": {"mysql"}, "PostgreSQL": {"postgresql"}, "SMBv1": {"smb"}, "SMBv23": {"smb"},
	"DCE_RPC": {"dce_rpc"}, "Socks": {"socks"}, "VNC": {"rfb"}, "WebSocket": {"websocket"},
	"Teredo": {"teredo"}, "GTP": {"gtpv1"}, "VXLAN": {"vxlan"},
}

// services returns the Zeek services nDPI's flow means (nil: none).
func (f ndpiFlow) services() []string {
	m := f.Master()
	switch {
	case m == "RDP" && f.Proto == 17:
		return []string{"rdpeudp"}
	case m == "RDP":
		return []string{"rdp"}
	case f.netbiosNS():
		return []string{"dns"} // Zeek parses NetBIOS name service with its DNS analyzer
	}
	return zeekServices[m]
}

// nameFields are the nDPI protocols whose Hostname/SNI field is a server name.
var nameFields = map[string]bool{"HTTP": true, "HTTP_Connect": true, "HTTP_Proxy": true,
	"TLS": true, "DTLS": true, "QUIC": true, "DNS": true, "MDNS": true, "LLMNR": true}

// Protocol verdicts of a pair.
const (
	pAgree     = "agree"
	pNeither   = "neither"
	pDiffer    = "differ"
	pFlowtop   = "flowtop only"
	pNDPI      = "nDPI only"
	pNDPIOther = "nDPI, no Zeek analyzer"
)

// Name verdicts of a pair.
const (
	nAgree   = "agree"
	nDiffer  = "differ"
	nFlowtop = "flowtop only"
	nNDPI    = "nDPI only"
	nNone    = "none"
)

func union(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		for _, s := range l {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

func (g *group) ftServices() []string {
	var out []string
	for _, r := range g.FT {
		out = union(out, r.Service)
	}
	return out
}

func (g *group) ndLabels() (labels, services []string, byPort bool) {
	for _, f := range g.ND {
		if f.Label == "Unknown" {
			continue
		}
		labels = union(labels, []string{f.Label})
		services = union(services, f.services())
		if f.Confidence == "Match by port" {
			byPort = true
		}
	}
	return labels, services, byPort
}

// protocol classifies a pair's protocols.
func (g *group) protocol() string {
	ft := g.ftServices()
	labels, nd, _ := g.ndLabels()
	switch {
	case len(ft) == 0 && len(labels) == 0:
		return pNeither
	case len(labels) == 0:
		return pFlowtop
	case len(ft) == 0 && len(nd) == 0:
		return pNDPIOther
	case len(ft) == 0:
		return pNDPI
	}
	for _, s := range nd {
		if slices.Contains(ft, s) {
			return pAgree
		}
	}
	return pDiffer
}

// nameField reports whether nDPI's Hostname/SNI field of f is a server name.
func (f ndpiFlow) nameField() bool {
	m, app, _ := strings.Cut(f.Label, ".")
	return nameFields[m] || nameFields[app] || f.netbiosNS()
}

// netbiosNS reports whether f is NetBIOS name service, whose names Zeek's DNS
// analyzer (and flowtop) keep in their first-level encoding and nDPI decodes.
func (f ndpiFlow) netbiosNS() bool {
	return f.Master() == "NetBIOS" && f.Proto == 17 && (f.A.Port() == 137 || f.B.Port() == 137)
}

// netbiosDecode decodes a first-level encoded NetBIOS name
// ("FHEPFCELEHFCEPFFFACACACACACACABN" is "WORKGROUP" with suffix 0x1d); other
// names are returned as they are.
func netbiosDecode(s string) string {
	if len(s) != 32 {
		return s
	}
	var b []byte
	for i := 0; i < 32; i += 2 {
		hi, lo := s[i]|0x20, s[i+1]|0x20
		if hi < 'a' || hi > 'p' || lo < 'a' || lo > 'p' {
			return s
		}
		b = append(b, (hi-'a')<<4|(lo-'a'))
	}
	return strings.TrimRight(string(b[:15]), " ")
}

// normName folds case, drops a trailing dot and a port: an HTTP Host header
// may carry one ("[::1]:8080", "example.com:8080"), flowtop's server_name not.
func normName(s string) string {
	s = strings.TrimSuffix(strings.ToLower(s), ".")
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().String()
	}
	if h, p, ok := strings.Cut(s, ":"); ok && !strings.Contains(p, ":") {
		if _, err := strconv.ParseUint(p, 10, 16); err == nil {
			return h
		}
	}
	return s
}

// names returns flowtop's names and nDPI's server names of a pair, and how
// many nDPI flows had a Hostname/SNI that is not a server name.
func (g *group) names() (ft, nd []string, other int) {
	netbios := false
	for _, f := range g.ND {
		switch {
		case f.Host == "":
		case f.nameField():
			nd = union(nd, []string{normName(f.Host)})
			netbios = netbios || f.netbiosNS()
		default:
			other++
		}
	}
	for _, r := range g.FT {
		if r.Name != "" {
			n := r.Name
			if netbios {
				n = netbiosDecode(n)
			}
			ft = union(ft, []string{normName(n)})
		}
	}
	return ft, nd, other
}

// name classifies a pair's server names.
func (g *group) name() string {
	ft, nd, other := g.names()
	switch {
	case len(ft) == 0 && len(nd) == 0:
		return nNone
	case len(nd) == 0 && other > 0:
		return nNone // nDPI's field holds something else
	case len(nd) == 0:
		return nFlowtop
	case len(ft) == 0:
		return nNDPI
	}
	for _, n := range nd {
		if !slices.Contains(ft, n) {
			return nDiffer
		}
	}
	return nAgree
}

// --- one capture ------------------------------------------------------------

type capture struct {
	Name    string
	Groups  []*group
	NFT     int // flowtop records
	NND     int // nDPI flows
	HasZeek bool
}

func (c *capture) application() bool {
	for _, g := range c.Groups {
		for _, z := range g.Zeek {
			if len(z.Service) > 0 {
				return true
			}
		}
		for _, f := range g.ND {
			if (f.Proto == 6 || f.Proto == 17) && f.Label != "Unknown" && strings.HasPrefix(f.Confidence, "DPI") {
				return true
			}
		}
	}
	return false
}

type caseMeta struct {
	IgnoreChecksums bool   `json:"ignore_checksums"`
	Expected        string `json:"expected"`
}

func compare(ftBin, ndBin, cfg, tmp, path string, noChecksums bool) (capture, error) {
	c := capture{Name: filepath.Base(path)}
	args := []string{"-r", path, "--headless", "-w", filepath.Join(tmp, "conn.log"), "--config", cfg}
	if noChecksums {
		args = append(args, "-C")
	}
	dir := filepath.Dir(path)
	var meta caseMeta
	if b, err := os.ReadFile(filepath.Join(dir, "case.json")); err == nil {
		if err := json.Unmarshal(b, &meta); err != nil {
			return c, fmt.Errorf("%s: %v", filepath.Join(dir, "case.json"), err)
		}
		c.Name = filepath.Base(dir)
		if meta.IgnoreChecksums {
			args = append(args, "-C")
		}
	}
	if out, err := exec.Command(ftBin, args...).CombinedOutput(); err != nil {
		return c, fmt.Errorf("flowtop %s: %v: %s", path, err, bytes.TrimSpace(out))
	}
	b, err := os.ReadFile(filepath.Join(tmp, "conn.log"))
	if err != nil {
		return c, err
	}
	ft, err := parseConnLog(bytes.NewReader(b))
	if err != nil {
		return c, fmt.Errorf("flowtop %s: %v", path, err)
	}
	cmd := exec.Command(ndBin, "-i", path, "-v", "2")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return c, fmt.Errorf("ndpiReader %s: %v: %s", path, err, bytes.TrimSpace(stderr.Bytes()))
	}
	nd, err := parseNDPI(bytes.NewReader(out))
	if err != nil {
		return c, err
	}
	c.NFT, c.NND = len(ft), len(nd)
	c.Groups = pairFlows(ft, nd)
	if meta.Expected != "" {
		if zb, err := os.ReadFile(filepath.Join(dir, meta.Expected)); err == nil {
			if zeek, err := parseConnLog(bytes.NewReader(zb)); err == nil {
				c.HasZeek = true
				idx := map[string]*group{}
				for _, g := range c.Groups {
					idx[g.Key] = g
				}
				for _, z := range zeek {
					if g := idx[flowKey(z.Proto, z.Orig, z.Resp)]; g != nil {
						g.Zeek = append(g.Zeek, z)
					}
				}
			}
		}
	}
	return c, nil
}

// --- the report -------------------------------------------------------------

type tally struct {
	paired, ftOnly, ndOnly int
	proto                  map[string]int
	byPort                 int // nDPI-only protocols that were port guesses
	name                   map[string]int
	otherNames             int
}

func (t *tally) add(c capture) {
	if t.proto == nil {
		t.proto, t.name = map[string]int{}, map[string]int{}
	}
	for _, g := range c.Groups {
		switch {
		case len(g.ND) == 0:
			t.ftOnly++
			continue
		case len(g.FT) == 0:
			t.ndOnly++
			continue
		}
		t.paired++
		p := g.protocol()
		t.proto[p]++
		if _, _, byPort := g.ndLabels(); p == pNDPI && byPort {
			t.byPort++
		}
		t.name[g.name()]++
		_, _, other := g.names()
		t.otherNames += other
	}
}

func (t tally) row(name string) string {
	return fmt.Sprintf("| %s | %d | %d / %d | %d | %d | %d | %d | %d (%d by port) | %d | %d | %d | %d | %d |",
		name, t.paired, t.ftOnly, t.ndOnly,
		t.proto[pAgree], t.proto[pNeither], t.proto[pDiffer], t.proto[pFlowtop], t.proto[pNDPI], t.byPort, t.proto[pNDPIOther],
		t.name[nAgree], t.name[nDiffer], t.name[nFlowtop], t.name[nNDPI])
}

func (g *group) describe(capName string) string {
	var ft []string
	for _, r := range g.FT {
		s := strings.Join(r.Service, ",")
		if s == "" {
			s = "-"
		}
		if r.Name != "" {
			s += " " + r.Name
		}
		ft = append(ft, fmt.Sprintf("%s %s %s", s, r.State, r.History))
	}
	var nd []string
	for _, f := range g.ND {
		s := f.Label + " (" + f.Confidence + ")"
		if f.Host != "" {
			s += " " + f.Host
		}
		nd = append(nd, s)
	}
	var z []string
	for _, r := range g.Zeek {
		s := strings.Join(r.Service, ",")
		if s == "" {
			s = "-"
		}
		z = append(z, s)
	}
	proto, _ := strconv.Atoi(strings.Fields(g.Key)[0])
	pn := map[int]string{6: "tcp", 17: "udp", 1: "icmp", 58: "icmp6"}[proto]
	if pn == "" {
		pn = "ip" + strconv.Itoa(proto)
	}
	s := fmt.Sprintf("%s: %s %s; flowtop [%s]; nDPI [%s]", capName, pn, strings.Join(strings.Fields(g.Key)[1:], " "),
		strings.Join(ft, "; "), strings.Join(nd, "; "))
	if len(z) > 0 {
		s += "; Zeek [" + strings.Join(z, "; ") + "]"
	}
	return s
}

func report(w io.Writer, caps []capture, skipped []string, nex int) {
	fmt.Fprintln(w, "Pairs are 5-tuples seen by both tools. Protocol: \"agree\" shares a Zeek service;")
	fmt.Fprintln(w, "\"nDPI, no Zeek analyzer\" is a label Zeek has no service for (ICMP, GRE, Telnet, applications).")
	fmt.Fprintln(w, "Names: TLS SNI, HTTP Host, DNS (and NetBIOS name service) query; nDPI's SSH software and DHCP host names are not compared.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| capture | pairs | only flowtop / only nDPI | proto agree | neither | differ | flowtop only | nDPI only | nDPI, no Zeek analyzer | name agree | differ | flowtop only | nDPI only |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	var total tally
	examples := map[string][]string{}
	counts := map[string]int{}
	var order []string
	seen := map[string]bool{} // kind and capture with an example
	addEx := func(kind, capName, s string) {
		if counts[kind] == 0 {
			order = append(order, kind)
		}
		counts[kind]++
		if len(examples[kind]) < nex && !seen[kind+" "+capName] {
			seen[kind+" "+capName] = true
			examples[kind] = append(examples[kind], s)
		}
	}
	for _, c := range caps {
		var t tally
		t.add(c)
		total.add(c)
		fmt.Fprintln(w, t.row(c.Name))
		for _, g := range c.Groups {
			switch {
			case len(g.ND) == 0:
				addEx("flow only in flowtop", c.Name, g.describe(c.Name))
				continue
			case len(g.FT) == 0:
				addEx("flow only in nDPI", c.Name, g.describe(c.Name))
				continue
			}
			if p := g.protocol(); p != pAgree && p != pNeither {
				addEx("protocol "+p, c.Name, g.describe(c.Name))
			}
			if n := g.name(); n != nAgree && n != nNone {
				addEx("name "+n, c.Name, g.describe(c.Name))
			}
		}
	}
	fmt.Fprintln(w, total.row(fmt.Sprintf("**all %d**", len(caps))))
	fmt.Fprintf(w, "\nnDPI Hostname/SNI fields not compared (SSH software, DHCP and NetBIOS datagram host names): %d\n", total.otherNames)
	if len(skipped) > 0 {
		fmt.Fprintf(w, "Cases without application traffic, not compared: %s\n", strings.Join(skipped, " "))
	}
	sort.SliceStable(order, func(i, j int) bool { return order[i] < order[j] })
	for _, k := range order {
		fmt.Fprintf(w, "\n%s (%d):\n", k, counts[k])
		for _, s := range examples[k] {
			fmt.Fprintln(w, "  - "+s)
		}
	}
}

// --- speed --------------------------------------------------------------------

// benchCapture resolves -bench: an existing file, or a benchgen workload.
func benchCapture(arg string) (string, int64, error) {
	if _, err := os.Stat(arg); err == nil {
		return arg, 0, nil
	}
	wl, ok := benchgen.ByName(arg)
	if !ok {
		return "", 0, fmt.Errorf("-bench %s: neither a file nor a benchgen workload", arg)
	}
	path := filepath.Join(os.TempDir(), "flowtop-bench", arg+".pcap")
	sum, err := benchgen.Generate(path, wl, 1)
	if err != nil {
		return "", 0, err
	}
	return path, int64(sum.Packets), nil
}

type timing struct {
	wall, cpu time.Duration
	maxRSS    int64 // KiB
}

type benchResult struct {
	pcap           string
	packets        int64
	ft, nd         []timing
	loadBefore     string
	loadAfter      string
	ftArgs, ndArgs []string
}

func timeRun(name string, args ...string) (timing, []byte, error) {
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stdout = io.Discard
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	t := timing{wall: time.Since(start)}
	if err != nil {
		return t, nil, fmt.Errorf("%s: %v: %s", name, err, bytes.TrimSpace(stderr.Bytes()))
	}
	t.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		t.maxRSS = ru.Maxrss
	}
	return t, stderr.Bytes(), nil
}

var ftPackets = regexp.MustCompile(`: (\d+) packets,`)

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func bench(ftBin, ndBin, pcap string, packets int64, rounds int, tmp string) (benchResult, error) {
	empty := filepath.Join(tmp, "empty.toml")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		return benchResult{}, err
	}
	b := benchResult{pcap: pcap, packets: packets, loadBefore: loadavg(),
		ftArgs: []string{"-r", pcap, "--headless", "-w", "/dev/null", "--config", empty, "-v"},
		ndArgs: []string{"-i", pcap, "-q"}}
	for i := 0; i < rounds; i++ {
		runFT := func() error {
			t, stderr, err := timeRun(ftBin, b.ftArgs...)
			if err != nil {
				return err
			}
			if m := ftPackets.FindSubmatch(stderr); m != nil && b.packets == 0 {
				b.packets, _ = strconv.ParseInt(string(m[1]), 10, 64)
			}
			b.ft = append(b.ft, t)
			return nil
		}
		runND := func() error {
			t, _, err := timeRun(ndBin, b.ndArgs...)
			b.nd = append(b.nd, t)
			return err
		}
		first, second := runFT, runND
		if i%2 == 1 {
			first, second = runND, runFT
		}
		if err := first(); err != nil {
			return b, err
		}
		if err := second(); err != nil {
			return b, err
		}
	}
	b.loadAfter = loadavg()
	return b, nil
}

func median(ts []timing, f func(timing) float64) float64 {
	v := make([]float64, len(ts))
	for i, t := range ts {
		v[i] = f(t)
	}
	sort.Float64s(v)
	if len(v) == 0 {
		return 0
	}
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func (b benchResult) print(w io.Writer) {
	fmt.Fprintf(w, "\nSpeed: %s, %d packets, %d alternating rounds per tool, medians; %d CPUs, load average %s before, %s after\n",
		b.pcap, b.packets, len(b.ft), runtime.NumCPU(), b.loadBefore, b.loadAfter)
	fmt.Fprintln(w, "\n| tool | command | wall s | packets/s (wall) | CPU s (user+sys) | packets/CPU-s | max RSS MiB |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	row := func(name string, args []string, ts []timing) {
		wall := median(ts, func(t timing) float64 { return t.wall.Seconds() })
		cpu := median(ts, func(t timing) float64 { return t.cpu.Seconds() })
		rss := median(ts, func(t timing) float64 { return float64(t.maxRSS) / 1024 })
		cmd := strings.Join(args, " ")
		cmd = strings.ReplaceAll(cmd, b.pcap, filepath.Base(b.pcap))
		cmd = regexp.MustCompile(`--config \S+`).ReplaceAllString(cmd, "--config empty.toml")
		fmt.Fprintf(w, "| %s | `%s %s` | %.2f | %.0f | %.2f | %.0f | %.0f |\n", name, name, cmd,
			wall, float64(b.packets)/wall, cpu, float64(b.packets)/cpu, rss)
	}
	row("flowtop", b.ftArgs, b.ft)
	row("ndpiReader", b.ndArgs, b.nd)
}
