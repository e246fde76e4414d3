package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/gopacket/pcapgo"
)

// TestPcapDir: headless with --pcap-dir, each connection of each oracle trace
// without tunnels gets a pcapng file that tshark reads, with as many packets
// as conn.log counts for it.
func TestPcapDir(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("skipping: tshark not found")
	}
	traces, _ := filepath.Glob(filepath.Join("..", "..", "..", "shared", "oracle", "cases", "*", "trace.pcap*"))
	if len(traces) == 0 {
		t.Skip("oracle corpus not available (../shared)")
	}
	checked := 0
	for _, trace := range traces {
		name := filepath.Base(filepath.Dir(trace))
		if strings.HasPrefix(name, "tun-") {
			continue // a tunnel's frames belong to its inner and outer connections both
		}
		dir := t.TempDir()
		pdir := filepath.Join(dir, "packets")
		var stdout, stderr bytes.Buffer
		if st := run([]string{"-C", "--headless", "--json", "-r", trace, "--extract", "all", "--extract-dir", filepath.Join(dir, "c"), "--pcap-dir", pdir}, &stdout, &stderr); st != exitOK {
			t.Fatalf("%s: status %d: %s", name, st, stderr.String())
		}
		sampled := false
		for _, line := range bytes.Split(bytes.TrimSpace(stdout.Bytes()), []byte("\n")) {
			if len(line) == 0 {
				continue
			}
			var r struct {
				UID      string `json:"uid"`
				OrigPkts int    `json:"orig_pkts"`
				RespPkts int    `json:"resp_pkts"`
			}
			json.Unmarshal(line, &r)
			files, _ := filepath.Glob(filepath.Join(pdir, "packets_"+r.UID+"_*.pcapng"))
			if len(files) != 1 {
				t.Errorf("%s: %s: files %q", name, r.UID, files)
				continue
			}
			got, err := pcapngPackets(files[0])
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			if want := r.OrigPkts + r.RespPkts; got != want {
				t.Errorf("%s: %s has %d packets, conn.log counts %d", name, files[0], got, want)
			}
			if !sampled {
				// Wireshark reads the files too (one a trace: tshark is slow to start).
				out, err := exec.Command("tshark", "-n", "-r", files[0], "-T", "fields", "-e", "frame.number").Output()
				if n := strings.Count(string(out), "\n"); err != nil || n != got {
					t.Errorf("%s: tshark -r %s: %d packets, %v", name, files[0], n, err)
				}
				sampled = true
			}
			checked++
		}
	}
	t.Logf("%d connections' pcapng files read by tshark", checked)
}

// pcapngPackets counts the packets of a pcapng file.
func pcapngPackets(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		return 0, fmt.Errorf("%s: %v", path, err)
	}
	n := 0
	for {
		if _, _, err := r.ReadPacketData(); err != nil {
			if err == io.EOF {
				return n, nil
			}
			return n, fmt.Errorf("%s: %v", path, err)
		}
		n++
	}
}
