package main

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// vlanCapture writes a capture of UDP datagrams: untagged, in VLAN 10, in VLAN 20,
// and in VLAN 30 inside 802.1ad service VLAN 100; each flow has several packets.
func vlanCapture(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	ts := time.Unix(1_700_000_000, 0)
	for i, tags := range [][]uint16{nil, {10}, {20}, {100, 30}} {
		for n := range 3 {
			eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2},
				EthernetType: layers.EthernetTypeIPv4}
			switch len(tags) {
			case 1:
				eth.EthernetType = layers.EthernetTypeDot1Q
			case 2:
				eth.EthernetType = layers.EthernetTypeQinQ
			}
			ls := []gopacket.SerializableLayer{eth}
			for j, tag := range tags {
				next := layers.EthernetTypeIPv4
				if j < len(tags)-1 {
					next = layers.EthernetTypeDot1Q
				}
				ls = append(ls, &layers.Dot1Q{VLANIdentifier: tag, Type: next})
			}
			ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP,
				SrcIP: net.IPv4(10, 9, 0, byte(i+1)), DstIP: net.IPv4(10, 9, 1, 1)}
			udp := &layers.UDP{SrcPort: layers.UDPPort(40000 + i), DstPort: 53}
			udp.SetNetworkLayerForChecksum(ip)
			ls = append(ls, ip, udp, gopacket.Payload(bytes.Repeat([]byte{byte(n)}, 20+n)))
			buf := gopacket.NewSerializeBuffer()
			if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
				t.Fatal(err)
			}
			data := buf.Bytes()
			ts = ts.Add(time.Millisecond)
			if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(data), Length: len(data)}, data); err != nil {
				t.Fatal(err)
			}
		}
	}
}

var uidField = regexp.MustCompile(`"uid":"[^"]*",`)

// headlessJSON runs flowtop --headless --json on a file and returns its records
// without their uids, which differ from run to run.
func headlessJSON(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if st := run(append([]string{"--headless", "--json"}, args...), &stdout, &stderr); st != exitOK {
		t.Fatalf("flowtop %s: status %d: %s", strings.Join(args, " "), st, stderr.String())
	}
	return uidField.ReplaceAllString(stdout.String(), "")
}

// TestFileFilterMatchesTcpdump filters capture files with flowtop and, for
// comparison, with tcpdump -r ... -w: flowtop reading tcpdump's output unfiltered
// must write exactly the records it writes reading the original with the filter.
// The expressions cover host, net, port, portrange, proto, vlan, tcp flags and
// and/or/not, given with -f and as trailing arguments.
func TestFileFilterMatchesTcpdump(t *testing.T) {
	tcpdump, err := exec.LookPath("tcpdump")
	if err != nil {
		t.Skip("tcpdump not installed: skipping the comparison of filtered files")
	}
	dir := t.TempDir()
	vlan := filepath.Join(dir, "vlan.pcap")
	vlanCapture(t, vlan)
	ordinary := filepath.Join("..", "..", "testdata", "ordinary", "ordinary.pcap")
	cases := []struct{ file, expr string }{
		{ordinary, "host 10.77.0.2"},
		{ordinary, "host fd77::2 and tcp"},
		{ordinary, "net 10.77.0.0/24 and not icmp"},
		{ordinary, "port 8080"},
		{ordinary, "tcp port 8081 or udp port 7777"},
		{ordinary, "portrange 8000-8090"},
		{ordinary, "src portrange 1-1024 or icmp6"},
		{ordinary, "ip proto 17 or proto 58"},
		{ordinary, "icmp or icmp6"},
		{ordinary, "tcp[tcpflags] & tcp-rst != 0"},
		{ordinary, "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn"},
		{ordinary, "ip6 and not (udp or icmp6)"},
		{ordinary, "greater 1000"},
		{ordinary, "not port 8080 and not port 8081"},
		{vlan, "vlan"},
		{vlan, "vlan 10"},
		{vlan, "vlan 20 or vlan 100"},
		{vlan, "vlan 100 and vlan 30"},
		{vlan, "not vlan"},
		{vlan, "vlan and udp port 53"},
	}
	if trace, ok := sharedTraceOK("l2-q-in-q"); ok {
		cases = append(cases, struct{ file, expr string }{trace, "vlan 13 and vlan 10 and udp"})
	}
	if trace, ok := sharedTraceOK("mixed-wikipedia"); ok {
		cases = append(cases,
			struct{ file, expr string }{trace, "tcp and dst port 80"},
			struct{ file, expr string }{trace, "udp and not port 53"},
			struct{ file, expr string }{trace, "net 10.0.0.0/8 or ip6"})
	}
	for i, c := range cases {
		t.Run(c.expr, func(t *testing.T) {
			filtered := filepath.Join(dir, "f.pcap")
			cmd := exec.Command(tcpdump, "-r", c.file, "-w", filtered, c.expr)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("tcpdump: %v: %s", err, out)
			}
			want := headlessJSON(t, "-r", filtered)
			args := []string{"-r", c.file, "-f", c.expr}
			if i%2 == 1 {
				args = append([]string{"-r", c.file}, strings.Fields(c.expr)...) // tcpdump's way
			}
			got := headlessJSON(t, args...)
			if got != want {
				t.Errorf("flowtop %s:\n%s\nflowtop on tcpdump's filtered file:\n%s", strings.Join(args, " "), got, want)
			}
			if want == "" {
				t.Errorf("%s matched nothing in %s", c.expr, c.file)
			}
		})
	}
}

// sharedTraceOK returns a trace of the oracle corpus, if ../shared is there.
func sharedTraceOK(name string) (string, bool) {
	matches, _ := filepath.Glob(filepath.Join("..", "..", "..", "shared", "oracle", "cases", name, "trace.pcap*"))
	if len(matches) == 0 {
		return "", false
	}
	return matches[0], true
}
