package benchgen

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"os"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// synEpoch is the first SYN's time in a SYN capture.
var synEpoch = time.Unix(1_700_000_000, 0).UTC()

// WriteSYNs writes a capture of n SYNs, each from its own 5-tuple (a SYN
// flood, a port scan), gap apart: clients 10.0.0.0/8 with ports 1024 up, to
// 192.0.2.1:80, with valid checksums. It is the workload of the memory bounds:
// every SYN is a new connection that lives until its attempt timeout.
func WriteSYNs(path string, n int, gap time.Duration) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	w := pcapgo.NewWriter(bw)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		f.Close()
		return err
	}
	eth := &layers.Ethernet{SrcMAC: []byte{2, 0, 0, 0, 0, 1}, DstMAC: []byte{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	dst := []byte{192, 0, 2, 1}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	for i := range n {
		// 64512 ports per client address, then the next address.
		client, port := i/64512, 1024+i%64512
		var src [4]byte
		binary.BigEndian.PutUint32(src[:], 10<<24|uint32(client+1))
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: src[:], DstIP: dst, Id: uint16(i)}
		tcp := &layers.TCP{SrcPort: layers.TCPPort(port), DstPort: 80, SYN: true, Seq: uint32(i) * 7919, Window: 64240}
		tcp.SetNetworkLayerForChecksum(ip)
		if err := gopacket.SerializeLayers(buf, opts, eth, ip, tcp); err != nil {
			f.Close()
			return err
		}
		data := buf.Bytes()
		ci := gopacket.CaptureInfo{Timestamp: synEpoch.Add(time.Duration(i) * gap), CaptureLength: len(data), Length: len(data)}
		if err := w.WritePacket(ci, data); err != nil {
			f.Close()
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
