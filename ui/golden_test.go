package ui

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowtop/flowtop/process"
	"github.com/flowtop/flowtop/tracker"
)

// updating reports whether -update was given (the flag is teatest's, which this
// package imports; it rewrites the golden files in testdata/golden).
func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// TestGoldenViews compares whole screens, without colour, with files in
// testdata/golden: the table at three sizes, the detail view, the help and the
// thresholds dialog, on the project's capture read to its end. Run with -update to
// rewrite them after a deliberate change, and review the diff.
func TestGoldenViews(t *testing.T) {
	snap := finalSnapshot(t, ordinary)
	procs := withProcesses(snap)
	for _, tc := range []struct {
		name  string
		w, h  int
		keys  []string
		procs bool // the capture with processes attributed (withProcesses)
	}{
		{"table-200x50", 200, 50, nil, false},
		{"table-120x40", 120, 40, nil, false},
		{"table-80x24", 80, 24, nil, false},
		{"sorted-by-resp-bytes-desc", 180, 20, []string{"s", "s", "s", "s", "s", "s", "S"}, false},
		{"filter-tcp-and-bytes", 180, 20, []string{"/", "t", "c", "p", " ", "a", "n", "d", " ", "b", "y", "t", "e", "s", " ", ">", " ", "1", "0", "0", "k", "enter"}, false},
		{"detail-120x40", 120, 40, []string{"j", "enter"}, false},
		{"help-120x30", 120, 30, []string{"?"}, false},
		{"help-80x24", 80, 24, []string{"?"}, false},
		{"help-80x24-scrolled", 80, 24, []string{"?", "G"}, false},
		{"detail-80x24", 80, 24, []string{"j", "enter"}, false},
		{"defaults-dialog-100x30", 100, 30, []string{"T", "1", "0", "M", "B"}, false},
		{"table-procs-120x40", 120, 40, nil, true},
		{"detail-procs-120x40", 120, 40, []string{"j", "enter", "G"}, true}, // at its end, both processes
	} {
		t.Run(tc.name, func(t *testing.T) {
			tm := newTestModel(t, tc.w, tc.h, Options{Source: "ordinary.pcap", ShowClosed: true}, nil, nil)
			if tc.procs {
				tm.apply(procs)
			} else {
				tm.apply(snap)
			}
			tm.press(tc.keys...)
			got := tm.View()
			for i, line := range strings.Split(got, "\n") {
				if w := len([]rune(line)); w > tc.w {
					t.Errorf("line %d is %d cells wide, screen %d", i, w, tc.w)
				}
			}
			if n := strings.Count(got, "\n") + 1; n != tc.h {
				t.Errorf("%d lines, screen %d", n, tc.h)
			}
			path := filepath.Join("testdata", "golden", tc.name+".golden")
			if updating() {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("view differs from %s:\n--- got\n%s\n--- want\n%s", path, got, want)
			}
		})
	}
}

// withProcesses is snap with the processes a live capture's attributor would
// have given its connections, both of whose ends are local: curl and a Python
// web server for HTTP, a client whose server's process was gone (its owner
// alone known) on 8081, nc for UDP, ping for ICMP, nothing for ICMPv6. The
// records share the processes, as the tracker's do.
func withProcesses(snap *tracker.Snapshot) *tracker.Snapshot {
	out := *snap
	out.Removed = slices.Clone(snap.Removed)
	start := snap.Removed[0].TS.Add(-3*time.Minute - 5*time.Second)
	curl := &process.Process{PID: 4242, PPID: 4100, UID: 1000, User: "alice", Comm: "curl",
		Cmdline: "curl --silent --show-error --output /dev/null --write-out %{http_code} http://10.77.0.2:8080/files/large.bin",
		Cgroup:  "/user.slice/user-1000.slice/user@1000.service/app.slice/app-gnome-terminal.scope", Start: start}
	server := &process.Process{PID: 812, PPID: 1, UID: 33, User: "www-data", Comm: "python3",
		Cmdline: "/usr/bin/python3 -m http.server 8080", Cgroup: "/system.slice/files.service", Unit: "files.service",
		Start: start.Add(-time.Hour)}
	owner := &process.Process{UID: 33, User: "www-data"}
	nc := &process.Process{PID: 5150, PPID: 4100, UID: 1000, User: "alice", Comm: "nc", Cmdline: "nc -u 10.77.0.2 7777"}
	ping := &process.Process{PID: 6001, PPID: 4100, UID: 1000, User: "alice", Comm: "ping", Cmdline: "ping -c 2 10.77.0.2",
		Container: "4f2c9a7b1e3d"}
	for i := range out.Removed {
		r := &out.Removed[i]
		switch {
		case r.Proto == tracker.ProtoTCP && r.RespP == 8080:
			r.OrigProc, r.RespProc = curl, server
		case r.Proto == tracker.ProtoTCP && r.RespP == 8081:
			r.OrigProc, r.RespProc = curl, owner
		case r.Proto == tracker.ProtoTCP:
			r.OrigProc = curl
		case r.Proto == tracker.ProtoUDP:
			r.OrigProc = nc
		case r.OrigH.Is4():
			r.OrigProc = ping
		}
	}
	return &out
}
