package ui

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	for _, tc := range []struct {
		name string
		w, h int
		keys []string
	}{
		{"table-200x50", 200, 50, nil},
		{"table-120x40", 120, 40, nil},
		{"table-80x24", 80, 24, nil},
		{"sorted-by-resp-bytes-desc", 180, 20, []string{"s", "s", "s", "s", "s", "s", "S"}},
		{"filter-tcp-and-bytes", 180, 20, []string{"/", "t", "c", "p", " ", "a", "n", "d", " ", "b", "y", "t", "e", "s", " ", ">", " ", "1", "0", "0", "k", "enter"}},
		{"detail-120x40", 120, 40, []string{"j", "enter"}},
		{"help-120x30", 120, 30, []string{"?"}},
		{"help-80x24", 80, 24, []string{"?"}},
		{"help-80x24-scrolled", 80, 24, []string{"?", "G"}},
		{"detail-80x24", 80, 24, []string{"j", "enter"}},
		{"defaults-dialog-100x30", 100, 30, []string{"T", "1", "0", "M", "B"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tm := newTestModel(t, tc.w, tc.h, Options{Source: "ordinary.pcap", ShowClosed: true}, nil, nil)
			tm.apply(snap)
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
