// Package tsharkcheck cross-checks flowtop's per-connection packet and IP byte
// counters against an independent count made by tshark on the same capture.
//
// tshark is asked for one row of fields per frame (addresses, IP lengths,
// protocol and ports); the rows are aggregated here into conversations: a TCP or
// UDP 5-tuple, or for ICMP (and other transports) an address pair. flowtop's
// records (JSON lines with Zeek's field names) are then matched to those
// conversations in either orientation.
package tsharkcheck

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/netip"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
)

// TsharkFields are the fields requested from tshark, in column order.
var TsharkFields = []string{
	"frame.number",
	"ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
	"ip.len", "ipv6.plen",
	"ip.proto", "ipv6.nxt",
	"tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport",
}

// TsharkArgs returns the tshark command-line arguments that print TsharkFields
// for every frame of pcap, comma separated. Only the first occurrence of a
// field is printed, so the headers quoted inside ICMP errors (or tunnels) do
// not add values; -n turns off all name resolution.
func TsharkArgs(pcap string) []string {
	args := []string{"-r", pcap, "-n", "-T", "fields"}
	for _, f := range TsharkFields {
		args = append(args, "-e", f)
	}
	return append(args, "-E", "separator=,", "-E", "occurrence=f")
}

// Transport names as written in conn.log's proto field.
const (
	TCP     = "tcp"
	UDP     = "udp"
	ICMP    = "icmp" // ICMPv4 and ICMPv6
	Unknown = "unknown_transport"
)

// Key identifies a conversation regardless of direction: the protocol and the
// two endpoints in canonical (sorted) order. Ports are zero for ICMP and
// unknown transports, which are tracked per address pair.
type Key struct {
	Proto string
	Lo    netip.AddrPort
	Hi    netip.AddrPort
}

// MakeKey returns the direction-free key of a packet or connection between x and
// y. The ports of x and y are ignored (set to zero) unless proto is TCP or UDP.
func MakeKey(proto string, x, y netip.AddrPort) Key {
	if proto != TCP && proto != UDP {
		x = netip.AddrPortFrom(x.Addr(), 0)
		y = netip.AddrPortFrom(y.Addr(), 0)
	}
	if x.Compare(y) > 0 {
		x, y = y, x
	}
	return Key{Proto: proto, Lo: x, Hi: y}
}

// String formats k as "proto lo <-> hi".
func (k Key) String() string {
	return fmt.Sprintf("%s %s <-> %s", k.Proto, k.Lo, k.Hi)
}

// Conversation is tshark's view of one connection: packets and IP bytes (the IP
// header's total length; for IPv6 the payload length plus the 40-byte fixed
// header) sent by each side. A is the sender of the conversation's first frame.
type Conversation struct {
	Key        Key
	A, B       netip.AddrPort // ports zero unless TCP or UDP
	FirstFrame int            // frame number of the first packet

	APkts, AIPBytes uint64 // sent by A
	BPkts, BIPBytes uint64 // sent by B
}

// From returns the packets and IP bytes sent by endpoint ep, which must be A or
// B (ports are ignored unless the conversation is TCP or UDP).
func (c *Conversation) From(ep netip.AddrPort) (pkts, ipBytes uint64, ok bool) {
	if c.Key.Proto != TCP && c.Key.Proto != UDP {
		ep = netip.AddrPortFrom(ep.Addr(), 0)
	}
	switch ep {
	case c.A:
		return c.APkts, c.AIPBytes, true
	case c.B:
		return c.BPkts, c.BIPBytes, true
	}
	return 0, 0, false
}

// Summary is the aggregate of a tshark field dump.
type Summary struct {
	Conversations []*Conversation // ordered by first frame
	Frames        int             // rows read
	NonIP         int             // rows without an IPv4 or IPv6 header (ARP, ...)
}

// Find returns the conversation with key k, or nil.
func (s *Summary) Find(k Key) *Conversation {
	for _, c := range s.Conversations {
		if c.Key == k {
			return c
		}
	}
	return nil
}

// RunTshark runs the tshark binary at path on pcap and aggregates its output.
func RunTshark(ctx context.Context, tshark, pcap string) (*Summary, error) {
	cmd := exec.CommandContext(ctx, tshark, TsharkArgs(pcap)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("tshark: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return ParseTshark(bytes.NewReader(out))
}

// ParseTshark aggregates the output of tshark run with TsharkArgs.
func ParseTshark(r io.Reader) (*Summary, error) {
	s := &Summary{}
	byKey := map[Key]*Conversation{}
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		if text == "" {
			continue
		}
		f := strings.Split(text, ",")
		if len(f) != len(TsharkFields) {
			return nil, fmt.Errorf("tshark line %d: %d fields, want %d: %q", line, len(f), len(TsharkFields), text)
		}
		s.Frames++
		p, ok, err := parseRow(f)
		if err != nil {
			return nil, fmt.Errorf("tshark line %d: %v: %q", line, err, text)
		}
		if !ok {
			s.NonIP++
			continue
		}
		k := MakeKey(p.proto, p.src, p.dst)
		c := byKey[k]
		if c == nil {
			c = &Conversation{Key: k, FirstFrame: p.frame}
			if k.Lo == ipPortOf(p.proto, p.src) {
				c.A, c.B = k.Lo, k.Hi
			} else {
				c.A, c.B = k.Hi, k.Lo
			}
			byKey[k] = c
			s.Conversations = append(s.Conversations, c)
		}
		// A host talking ICMP to itself has A == B: everything counts on A.
		if ipPortOf(p.proto, p.src) == c.A {
			c.APkts++
			c.AIPBytes += p.ipLen
		} else {
			c.BPkts++
			c.BIPBytes += p.ipLen
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	sort.SliceStable(s.Conversations, func(i, j int) bool {
		return s.Conversations[i].FirstFrame < s.Conversations[j].FirstFrame
	})
	return s, nil
}

func ipPortOf(proto string, ep netip.AddrPort) netip.AddrPort {
	if proto != TCP && proto != UDP {
		return netip.AddrPortFrom(ep.Addr(), 0)
	}
	return ep
}

type packet struct {
	frame    int
	proto    string
	src, dst netip.AddrPort
	ipLen    uint64
}

// parseRow decodes one row of TsharkFields. ok is false for frames without an
// IP header.
func parseRow(f []string) (p packet, ok bool, err error) {
	const (
		frameNo = iota
		ipSrc
		ipDst
		ip6Src
		ip6Dst
		ipLen
		ip6Plen
		ipProto
		ip6Nxt
		tcpSrc
		tcpDst
		udpSrc
		udpDst
	)
	if p.frame, err = strconv.Atoi(f[frameNo]); err != nil {
		return p, false, fmt.Errorf("frame.number: %v", err)
	}
	var src, dst netip.Addr
	var num uint64
	switch {
	case f[ipSrc] != "":
		if src, dst, err = parseAddrs(f[ipSrc], f[ipDst]); err != nil {
			return p, false, err
		}
		if p.ipLen, err = strconv.ParseUint(f[ipLen], 10, 16); err != nil {
			return p, false, fmt.Errorf("ip.len: %v", err)
		}
		if num, err = strconv.ParseUint(f[ipProto], 10, 8); err != nil {
			return p, false, fmt.Errorf("ip.proto: %v", err)
		}
		switch num {
		case 1:
			p.proto = ICMP
		case 6:
			p.proto = TCP
		case 17:
			p.proto = UDP
		default:
			p.proto = Unknown
		}
	case f[ip6Src] != "":
		if src, dst, err = parseAddrs(f[ip6Src], f[ip6Dst]); err != nil {
			return p, false, err
		}
		if p.ipLen, err = strconv.ParseUint(f[ip6Plen], 10, 16); err != nil {
			return p, false, fmt.Errorf("ipv6.plen: %v", err)
		}
		p.ipLen += 40
		if num, err = strconv.ParseUint(f[ip6Nxt], 10, 8); err != nil {
			return p, false, fmt.Errorf("ipv6.nxt: %v", err)
		}
		switch {
		case num == 58:
			p.proto = ICMP
		case num == 6 || (f[tcpSrc] != "" && num != 17):
			// ipv6.nxt is the first next-header value, which names an
			// extension header if there is one; fall back on the ports.
			p.proto = TCP
		case num == 17 || f[udpSrc] != "":
			p.proto = UDP
		default:
			p.proto = Unknown
		}
	default:
		return p, false, nil
	}
	var sp, dp uint64
	switch p.proto {
	case TCP:
		sp, dp, err = parsePorts(f[tcpSrc], f[tcpDst])
	case UDP:
		sp, dp, err = parsePorts(f[udpSrc], f[udpDst])
	}
	if err != nil {
		return p, false, err
	}
	p.src = netip.AddrPortFrom(src, uint16(sp))
	p.dst = netip.AddrPortFrom(dst, uint16(dp))
	return p, true, nil
}

func parseAddrs(s, d string) (src, dst netip.Addr, err error) {
	if src, err = netip.ParseAddr(s); err != nil {
		return src, dst, err
	}
	dst, err = netip.ParseAddr(d)
	return src, dst, err
}

func parsePorts(s, d string) (sp, dp uint64, err error) {
	if s == "" || d == "" {
		// A non-first IP fragment carries no transport header.
		return 0, 0, fmt.Errorf("transport ports missing (IP fragment?)")
	}
	if sp, err = strconv.ParseUint(s, 10, 16); err != nil {
		return 0, 0, err
	}
	dp, err = strconv.ParseUint(d, 10, 16)
	return sp, dp, err
}

// Table formats the conversations as an aligned text table, one per line, with
// the packets and IP bytes sent in each direction.
func (s *Summary) Table() string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "frame\tproto\tA\tB\tA→B pkts\tA→B ip_bytes\tB→A pkts\tB→A ip_bytes\t\n")
	for _, c := range s.Conversations {
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t\n",
			c.FirstFrame, c.Key.Proto, endpoint(c.Key.Proto, c.A), endpoint(c.Key.Proto, c.B),
			c.APkts, c.AIPBytes, c.BPkts, c.BIPBytes)
	}
	w.Flush()
	fmt.Fprintf(&b, "%d frames, %d non-IP, %d conversations\n", s.Frames, s.NonIP, len(s.Conversations))
	return b.String()
}

func endpoint(proto string, ep netip.AddrPort) string {
	if proto != TCP && proto != UDP {
		return ep.Addr().String()
	}
	return ep.String()
}
