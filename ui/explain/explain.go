// Package explain puts conn.log's codes into words for the TUI: a port-based guess
// of the service, the meaning of a conn_state, of each history letter and of a
// removal reason (conn-semantics §3, §6, §7 and §8). All functions are pure.
package explain

import (
	"strconv"

	"github.com/flowtop/flowtop/tracker"
)

// Service guesses the service from the ports: respPort is looked up first, then
// origPort, in a table of well-known TCP and UDP ports (443/tcp is "https", 443/udp
// "quic"). It is only a hint for the flow table; conn.log's service stays unset.
// For ICMP, origPort is the type of the first message (conn-semantics §3), and
// Service names its family, e.g. "echo" for echo requests and replies (ICMPv4
// 8/0, ICMPv6 128/129) or "unreachable". It returns "" when nothing matches.
func Service(proto tracker.Proto, respPort, origPort uint16) string {
	switch proto {
	case tracker.ProtoICMP:
		return icmp4(origPort)
	case tracker.ProtoICMPv6:
		return icmp6(origPort)
	case tracker.ProtoTCP, tracker.ProtoUDP:
		if s := port(proto, respPort); s != "" {
			return s
		}
		return port(proto, origPort)
	}
	return ""
}

// port looks p up for TCP or UDP.
func port(proto tracker.Proto, p uint16) string {
	var s string
	if proto == tracker.ProtoTCP {
		s = tcpPort(p)
	} else {
		s = udpPort(p)
	}
	if s != "" {
		return s
	}
	return anyPort(p)
}

// anyPort names the ports a service uses over both TCP and UDP.
func anyPort(p uint16) string {
	switch p {
	case 53:
		return "dns"
	case 88, 464:
		return "kerberos"
	case 111:
		return "sunrpc"
	case 137:
		return "netbios-ns"
	case 138:
		return "netbios-dgm"
	case 139:
		return "netbios-ssn"
	case 389:
		return "ldap"
	case 1194:
		return "openvpn"
	case 2049:
		return "nfs"
	case 3389:
		return "rdp"
	case 3478:
		return "stun"
	case 5060:
		return "sip"
	case 11211:
		return "memcached"
	}
	return ""
}

// tcpPort names the TCP-only ports.
func tcpPort(p uint16) string {
	switch p {
	case 20:
		return "ftp-data"
	case 21, 989, 990:
		return "ftp"
	case 22:
		return "ssh"
	case 23, 992:
		return "telnet"
	case 25, 465, 587:
		return "smtp"
	case 43:
		return "whois"
	case 79:
		return "finger"
	case 80, 81, 8000, 8080, 8888:
		return "http"
	case 110, 995:
		return "pop3"
	case 113:
		return "ident"
	case 119, 563:
		return "nntp"
	case 135:
		return "msrpc"
	case 143, 993:
		return "imap"
	case 179:
		return "bgp"
	case 443, 8443:
		return "https"
	case 445:
		return "smb"
	case 502:
		return "modbus"
	case 513:
		return "rlogin"
	case 514, 6514:
		return "syslog"
	case 515:
		return "lpd"
	case 554:
		return "rtsp"
	case 631:
		return "ipp"
	case 636, 3268, 3269:
		return "ldap"
	case 853:
		return "dns"
	case 873:
		return "rsync"
	case 1080:
		return "socks"
	case 1433:
		return "mssql"
	case 1521:
		return "oracle"
	case 1723:
		return "pptp"
	case 1883, 8883:
		return "mqtt"
	case 2379, 2380:
		return "etcd"
	case 3128:
		return "http-proxy"
	case 3306:
		return "mysql"
	case 5061:
		return "sip"
	case 5222, 5223, 5269:
		return "xmpp"
	case 5432:
		return "postgresql"
	case 5671, 5672:
		return "amqp"
	case 5900:
		return "vnc"
	case 5985, 5986:
		return "winrm"
	case 6379:
		return "redis"
	case 6660, 6661, 6662, 6663, 6664, 6665, 6666, 6667, 6668, 6669, 6697:
		return "irc"
	case 9092:
		return "kafka"
	case 9200:
		return "elasticsearch"
	case 9418:
		return "git"
	case 20000:
		return "dnp3"
	case 27017:
		return "mongodb"
	}
	return ""
}

// udpPort names the UDP-only ports.
func udpPort(p uint16) string {
	switch p {
	case 67, 68:
		return "dhcp"
	case 69:
		return "tftp"
	case 123:
		return "ntp"
	case 161, 162:
		return "snmp"
	case 443:
		return "quic"
	case 500, 4500:
		return "ike"
	case 514:
		return "syslog"
	case 520:
		return "rip"
	case 546, 547:
		return "dhcpv6"
	case 1434:
		return "mssql"
	case 1701:
		return "l2tp"
	case 1812, 1813:
		return "radius"
	case 1900:
		return "ssdp"
	case 2123, 2152:
		return "gtp"
	case 3544:
		return "teredo"
	case 4789:
		return "vxlan"
	case 5072:
		return "ayiya"
	case 5353:
		return "mdns"
	case 5355:
		return "llmnr"
	case 6081:
		return "geneve"
	case 51820:
		return "wireguard"
	}
	return ""
}

// icmp4 names an ICMPv4 message type.
func icmp4(t uint16) string {
	switch t {
	case 0, 8:
		return "echo"
	case 3:
		return "unreachable"
	case 4:
		return "source-quench"
	case 5:
		return "redirect"
	case 9, 10:
		return "router-disc"
	case 11:
		return "time-exceeded"
	case 12:
		return "param-problem"
	case 13, 14:
		return "timestamp"
	case 15, 16:
		return "info"
	case 17, 18:
		return "mask"
	}
	return ""
}

// icmp6 names an ICMPv6 message type.
func icmp6(t uint16) string {
	switch t {
	case 1:
		return "unreachable"
	case 2:
		return "too-big"
	case 3:
		return "time-exceeded"
	case 4:
		return "param-problem"
	case 128, 129:
		return "echo"
	case 130, 131, 132, 143:
		return "mld"
	case 133, 134, 135, 136, 137:
		return "ndp"
	case 139, 140:
		return "node-info"
	}
	return ""
}

// State returns the meaning of a conn_state value, worded as Zeek's documentation
// words it, or "" for an unknown value. The wording describes TCP; for UDP, SF
// means both sides sent, S0 only the originator and SHR only the responder, and
// ICMP is always OTH (conn-semantics §6).
func State(s string) string {
	switch s {
	case "S0":
		return "Connection attempt seen, no reply."
	case "S1":
		return "Connection established, not terminated."
	case "SF":
		return "Normal establishment and termination."
	case "REJ":
		return "Connection attempt rejected."
	case "S2":
		return "Connection established and close attempt by originator seen (but no reply from responder)."
	case "S3":
		return "Connection established and close attempt by responder seen (but no reply from originator)."
	case "RSTO":
		return "Connection established, originator aborted (sent a RST)."
	case "RSTR":
		return "Responder sent a RST."
	case "RSTOS0":
		return "Originator sent a SYN followed by a RST, we never saw a SYN-ACK from the responder."
	case "RSTRH":
		return "Responder sent a SYN ACK followed by a RST, we never saw a SYN from the (purported) originator."
	case "SH":
		return "Originator sent a SYN followed by a FIN, we never saw a SYN ACK from the responder (hence the connection was \"half\" open)."
	case "SHR":
		return "Responder sent a SYN ACK followed by a FIN, we never saw a SYN from the originator."
	case "OTH":
		return "No SYN seen, just midstream traffic (one example of this is a \"partial connection\" that was not later closed)."
	}
	return ""
}

// Letter is one history character explained.
type Letter struct {
	Letter byte   // the character as it appears in the history
	Orig   bool   // upper case: the originator's (for G: its data is missing)
	Text   string // what it means, "unknown" for a character Zeek does not write
}

// How often a letter is recorded (conn-semantics §7).
const (
	recOnce  = iota + 1 // once per direction: A D I Q
	recSeq              // again when its sequence number differs: S H F R
	recScale            // at the 1st, 10th, 100th, ... event: C G T W
)

// letters describes the history letters by their upper case.
var letters = ['Z' + 1]struct {
	text string
	rec  uint8
}{
	'S': {"SYN without ACK", recSeq},
	'H': {"SYN+ACK (handshake)", recSeq},
	'A': {"pure ACK", recOnce},
	'D': {"packet with payload (data)", recOnce},
	'F': {"packet with FIN bit set", recSeq},
	'R': {"packet with RST bit set", recSeq},
	'C': {"packet with a bad checksum", recScale},
	'G': {"content gap (data missing from the capture)", recScale},
	'T': {"packet with retransmitted payload", recScale},
	'W': {"zero window advertisement", recScale},
	'I': {"inconsistent packet (FIN+RST bits set)", recOnce},
	'Q': {"multi-flag packet (SYN+FIN or SYN+RST bits set)", recOnce},
	'X': {"limits exceeded: tunnel changed more than 5 times, or nested too deep", 0},
}

// History explains each character of a history string, in order: upper case is
// the originator's, lower case the responder's, and '^' (roles flipped) has no
// side; X also concerns the whole connection, though Orig follows its case. A
// letter recorded again is marked as a repeat: C G T W by how many events it
// stands for (Zeek records them at the 1st, 10th, 100th, ... event), S H F R as a
// new sequence number, A D I Q as a plain repeat. A flip swaps the sides' counts,
// since they belong to the endpoints.
func History(h string) []Letter {
	if h == "" {
		return nil
	}
	out := make([]Letter, len(h))
	var seen [2]['Z' + 1]uint8 // occurrences by endpoint (0 = current orig) and letter, saturating
	for i := 0; i < len(h); i++ {
		c := h[i]
		l := Letter{Letter: c, Text: "unknown"}
		up := c
		switch {
		case c >= 'A' && c <= 'Z':
			l.Orig = true
		case c >= 'a' && c <= 'z':
			up = c - ('a' - 'A')
		case c == '^':
			l.Text = "connection direction flipped (roles swapped)"
			seen[0], seen[1] = seen[1], seen[0]
			out[i] = l
			continue
		default:
			out[i] = l
			continue
		}
		d := letters[up]
		if d.text == "" {
			out[i] = l
			continue
		}
		l.Text = d.text
		side := 1
		if l.Orig {
			side = 0
		}
		n := &seen[side][up]
		if *n < 255 {
			*n++
		}
		if *n > 1 {
			switch d.rec {
			case recScale:
				l.Text += " (≥" + pow10(int(*n)-1) + " times)"
			case recSeq:
				l.Text += ", again (new sequence number)"
			case recOnce:
				l.Text += ", again"
			}
		}
		out[i] = l
	}
	return out
}

// pow10 formats 10^e with thousands separators, e.g. "10,000", or as "10^e" when
// e is large.
func pow10(e int) string {
	if e > 18 {
		return "10^" + strconv.Itoa(e)
	}
	b := make([]byte, 0, 32)
	b = append(b, '1')
	for i := e; i > 0; i-- {
		if i%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, '0')
	}
	return string(b)
}

// Reason returns a short phrase for why a connection was removed, e.g.
// "inactivity timeout", or "" for an unknown reason.
func Reason(r tracker.RemoveReason) string {
	switch r {
	case tracker.ReasonEndOfInput:
		return "input ended or capture stopped"
	case tracker.ReasonClose:
		return "both sides closed"
	case tracker.ReasonReset:
		return "reset (RST)"
	case tracker.ReasonInactivity:
		return "inactivity timeout"
	case tracker.ReasonAttempt:
		return "unanswered SYN (attempt timeout)"
	case tracker.ReasonReuse:
		return "5-tuple reused by a new SYN"
	case tracker.ReasonExpire:
		return "expired (half-closed or never established)"
	case tracker.ReasonEviction:
		return "evicted (table full)"
	}
	return ""
}
