package extract

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// The project's own capture (testdata/ordinary, made by
// scripts/make-ordinary-capture.sh) holds a 300 KiB HTTP download whose body is
// bytes 0..255 repeated, served by python3 -m http.server.
const (
	ordinaryPcap = "../testdata/ordinary/ordinary.pcap"
	largeConn    = "contents_10.77.0.1:57526-10.77.0.2:8080_resp.dat"
	largeSize    = 300 * 1024
)

func largeBody() []byte {
	return bytes.Repeat([]byte(func() string {
		b := make([]byte, 256)
		for i := range b {
			b[i] = byte(i)
		}
		return string(b)
	}()), largeSize/256)
}

// checkResponse checks an extracted HTTP response: the status line and headers, the
// body byte for byte.
func checkResponse(t *testing.T, got []byte) {
	t.Helper()
	head, body, ok := bytes.Cut(got, []byte("\r\n\r\n"))
	if !ok || !bytes.HasPrefix(head, []byte("HTTP/1.0 200 OK\r\n")) || !bytes.Contains(head, []byte("Content-Length: 307200")) {
		t.Fatalf("not the HTTP response: %.200q", got)
	}
	if !bytes.Equal(body, largeBody()) {
		t.Errorf("body: %d bytes, differs from the %d served", len(body), largeSize)
	}
}

// TestHTTPDownload extracts the download and compares the responder file with the
// response: the body with what the server served, and the whole stream with tshark's
// reassembly of it when tshark is installed.
func TestHTTPDownload(t *testing.T) {
	dir := t.TempDir()
	if alerts := extractTrace(t, ordinaryPcap, Config{Dir: dir}); len(alerts) > 0 {
		t.Fatal(alerts)
	}
	got, err := os.ReadFile(filepath.Join(dir, largeConn))
	if err != nil {
		t.Fatal(err)
	}
	checkResponse(t, got)
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Log("tshark not installed: the headers are checked only for their form")
		return
	}
	out, err := exec.Command("tshark", "-r", ordinaryPcap, "-q", "-z", "follow,tcp,raw,10.77.0.1:57526,10.77.0.2:8080").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	var ref []byte
	for _, line := range strings.Split(string(out), "\n") {
		// Server-to-client data lines are indented with a tab.
		if hex, ok := strings.CutPrefix(line, "\t"); ok {
			var b []byte
			if _, err := fmt.Sscanf(hex, "%x", &b); err != nil {
				t.Fatalf("tshark output %q: %v", line, err)
			}
			ref = append(ref, b...)
		}
	}
	if !bytes.Equal(got, ref) {
		t.Errorf("responder file (%d bytes) differs from tshark's stream (%d bytes)", len(got), len(ref))
	}
}

// TestHTTPDownloadWithDrops removes server segments from the capture (one alone, two
// in a row, and the one before the last, which carries the FIN): the file holds the
// response with each run of missing bytes replaced by a gap marker of its size.
// (Dropping the FIN segment itself would make the gap one byte longer: its ACK covers
// the FIN's sequence number, and nothing tells a lost FIN from a lost data byte.)
func TestHTTPDownloadWithDrops(t *testing.T) {
	r, err := os.Open(ordinaryPcap)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	pr, err := pcapgo.NewReader(r)
	if err != nil {
		t.Fatal(err)
	}
	type frame struct {
		ci   gopacket.CaptureInfo
		data []byte
		seq  uint32 // server data segments of the download: sequence and length
		n    int
	}
	var frames []frame
	var isn uint32
	var data []int // indexes of the download's server data segments
	for {
		d, ci, err := pr.ReadPacketData()
		if err != nil {
			break
		}
		f := frame{ci: ci, data: d}
		p := gopacket.NewPacket(d, layers.LayerTypeEthernet, gopacket.NoCopy)
		if tcp, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP); ok && tcp.SrcPort == 8080 && tcp.DstPort == 57526 {
			if tcp.SYN {
				isn = tcp.Seq
			} else if len(tcp.Payload) > 0 {
				f.seq, f.n = tcp.Seq, len(tcp.Payload)
				data = append(data, len(frames))
			}
		}
		frames = append(frames, f)
	}
	if len(data) < 50 {
		t.Fatalf("only %d server data segments in the download", len(data))
	}
	drop := []int{data[10], data[30], data[31], data[len(data)-2]}
	// The expected file: the whole response (checked against the served body) with
	// each dropped run replaced by a marker.
	dir := t.TempDir()
	if alerts := extractTrace(t, ordinaryPcap, Config{Dir: dir}); len(alerts) > 0 {
		t.Fatal(alerts)
	}
	stream, _ := os.ReadFile(filepath.Join(dir, largeConn))
	checkResponse(t, stream)
	var want []byte
	pos := 0
	for i := 0; i < len(drop); {
		lo := int(frames[drop[i]].seq - isn - 1)
		hi := lo + frames[drop[i]].n
		for i++; i < len(drop) && int(frames[drop[i]].seq-isn-1) == hi; i++ {
			hi += frames[drop[i]].n
		}
		want = append(want, stream[pos:lo]...)
		want = fmt.Appendf(want, "\n<<gap %d>>\n", hi-lo)
		pos = hi
	}
	want = append(want, stream[pos:]...)

	cut := filepath.Join(t.TempDir(), "cut.pcap")
	w, err := os.Create(cut)
	if err != nil {
		t.Fatal(err)
	}
	pw := pcapgo.NewWriter(w)
	pw.WriteFileHeader(262144, layers.LinkTypeEthernet)
	for i, f := range frames {
		if !slices.Contains(drop, i) {
			pw.WritePacket(f.ci, f.data)
		}
	}
	w.Close()

	dir2 := t.TempDir()
	if alerts := extractTrace(t, cut, Config{Dir: dir2}); len(alerts) > 0 {
		t.Fatal(alerts)
	}
	got, err := os.ReadFile(filepath.Join(dir2, largeConn))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		i := 0
		for i < min(len(got), len(want)) && got[i] == want[i] {
			i++
		}
		t.Errorf("with drops: %d bytes, want %d; first difference at %d: got %.60q want %.60q",
			len(got), len(want), i, got[i:], want[i:])
	}
	if n := bytes.Count(got, []byte("<<gap ")); n != 3 {
		t.Errorf("%d gap markers, want 3 (a single drop, a run of two, one before the FIN)", n)
	}
}
