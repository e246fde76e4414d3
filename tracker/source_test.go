package tracker

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"testing"

	"github.com/google/gopacket/pcapgo"
)

// pcapReaderDiff reads file with the tracker's classic pcap reader (over a read
// buffer of bufSize bytes) and with pcapgo's, and describes the first difference in
// what they return, or returns "". Inputs the tracker's reader does not take (it
// leaves them to pcapgo) have no difference.
func pcapReaderDiff(file []byte, bufSize int) string {
	raw := newPcapReader(bufio.NewReaderSize(bytes.NewReader(file), bufSize))
	if raw == nil || raw.snaplen > 1<<24 {
		return "" // pcapgo would allocate the whole snap length for the first record
	}
	ref, err := pcapgo.NewReader(bytes.NewReader(file))
	if err != nil {
		return fmt.Sprintf("pcapgo rejects the file header: %v", err)
	}
	if raw.link != ref.LinkType() || raw.snaplen != ref.Snaplen() {
		return fmt.Sprintf("link %d snaplen %d, pcapgo %d %d", raw.link, raw.snaplen, ref.LinkType(), ref.Snaplen())
	}
	for i := 0; i < 100000; i++ {
		data, ci, err := raw.read()
		wdata, wci, werr := ref.ZeroCopyReadPacketData()
		if fmt.Sprint(err) != fmt.Sprint(werr) {
			return fmt.Sprintf("record %d: error %v, pcapgo %v", i, err, werr)
		}
		if ci.Timestamp != wci.Timestamp || ci.CaptureLength != wci.CaptureLength || ci.Length != wci.Length {
			return fmt.Sprintf("record %d: %+v, pcapgo %+v", i, ci, wci)
		}
		if err != nil {
			// pcapgo returns what it read of a truncated record; the source drops it.
			// Both readers go on after a bad record header, so compare a few more.
			if i > 20 {
				return ""
			}
			continue
		}
		if !bytes.Equal(data, wdata) {
			return fmt.Sprintf("record %d: data %x, pcapgo %x", i, data, wdata)
		}
	}
	return ""
}

// TestPcapReaderMatchesPcapgo checks the classic pcap reader against pcapgo on the
// oracle traces and on synthetic files in both byte orders and timestamp
// resolutions, cut at every length and with corrupted record headers.
func TestPcapReaderMatchesPcapgo(t *testing.T) {
	var files [][]byte
	for _, f := range testTraces(t) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if newPcapReader(bufio.NewReader(bytes.NewReader(b))) != nil {
			files = append(files, b)
		}
	}
	frame := testSeg{src: testCli4, dst: testSrv4, sport: 1, dport: 80, flags: flagSYN}.build(t)
	small := testPcap(t, 1, frame, frame[:20], frame)
	files = append(files, small)
	for _, magic := range []uint32{pcapMagicMicros, pcapMagicNanos, pcapMagicMicrosBig, pcapMagicNanosBig} {
		files = append(files, pcapVariant(small, magic))
	}
	var synth [][]byte
	for _, b := range files[len(files)-5:] {
		for n := 0; n <= len(b); n++ {
			synth = append(synth, b[:n])
		}
		for pos := 24; pos < 24+16; pos++ {
			for _, v := range []byte{0, 1, 0x3b, 0x80, 0xff} {
				c := bytes.Clone(b)
				c[pos] = v
				synth = append(synth, c)
			}
		}
	}
	for i, b := range append(files, synth...) {
		for _, size := range []int{fileReadBuffer, 64} {
			if d := pcapReaderDiff(b, size); d != "" {
				t.Fatalf("file %d (%d bytes, buffer %d): %s", i, len(b), size, d)
			}
		}
	}
}

// pcapVariant rewrites a little-endian microsecond pcap file with another magic:
// big-endian files get every header field byte-swapped.
func pcapVariant(le []byte, magic uint32) []byte {
	b := bytes.Clone(le)
	binary.LittleEndian.PutUint32(b[0:4], magic)
	if magic != pcapMagicMicrosBig && magic != pcapMagicNanosBig {
		return b
	}
	swap := func(off, n int) {
		for i, j := off, off+n-1; i < j; i, j = i+1, j-1 {
			b[i], b[j] = b[j], b[i]
		}
	}
	swap(4, 2)
	swap(6, 2)
	for off := 8; off < 24; off += 4 {
		swap(off, 4)
	}
	for off := 24; off+16 <= len(b); {
		n := int(binary.LittleEndian.Uint32(b[off+8 : off+12]))
		for f := 0; f < 16; f += 4 {
			swap(off+f, 4)
		}
		off += 16 + n
	}
	return b
}
