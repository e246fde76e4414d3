package oracle

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// TestRatchet runs the whole corpus and fails when a case listed in
// testdata/oracle-passing.txt is no longer reproduced exactly, or one listed in
// testdata/oracle-service-passing.txt no longer with its service column.
func TestRatchet(t *testing.T) {
	shared, err := SharedDir()
	if err != nil {
		t.Skip("oracle corpus not available: ", err)
	}
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not installed: the oracle scorer needs it")
	}
	want, err := ReadList(filepath.Join("..", "..", "testdata", "oracle-passing.txt"))
	if err != nil {
		t.Fatal(err)
	}
	wantSvc, err := ReadList(filepath.Join("..", "..", "testdata", "oracle-service-passing.txt"))
	if err != nil {
		t.Fatal(err)
	}
	cases, err := Cases(shared)
	if err != nil {
		t.Fatal(err)
	}
	results := RunAll(shared, t.TempDir(), cases, runtime.NumCPU())
	got := map[string]Result{}
	exact, exactSvc := 0, 0
	for _, r := range results {
		got[r.Case.Name] = r
		if r.Err == nil && r.Score.Exact() {
			exact++
		}
		if r.Err == nil && r.ServiceScore.Exact() {
			exactSvc++
		}
	}
	for _, name := range wantSvc {
		r, ok := got[name]
		switch {
		case !ok:
			t.Errorf("%s: listed as passing with service but not in the corpus", name)
		case r.Err != nil:
			t.Errorf("%s: %v", name, r.Err)
		case !r.ServiceScore.Exact():
			t.Errorf("%s regressed in service: %s\n%s", name, r.ServiceScore.Line, r.ServiceScore.Detail)
		}
	}
	for _, name := range want {
		r, ok := got[name]
		switch {
		case !ok:
			t.Errorf("%s: listed as passing but not in the corpus", name)
		case r.Err != nil:
			t.Errorf("%s: %v", name, r.Err)
		case !r.Score.Exact():
			t.Errorf("%s regressed: %s\n%s", name, r.Score.Line, r.Score.Detail)
		}
	}
	t.Logf("oracle: exact %d/%d (ratchet holds %d), with service %d/%d (ratchet holds %d)",
		exact, len(results), len(want), exactSvc, len(results), len(wantSvc))
	if exact > len(want) || exactSvc > len(wantSvc) {
		t.Logf("more cases pass than the ratchet lists: run `make oracle-ratchet`")
	}
}
