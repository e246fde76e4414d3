package oracle

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestTunnelParents checks tunnel_parents, which compare_conn.py does not score,
// on every case whose Zeek log has tunnelled connections. Uids differ between Zeek
// and flowtop, so a parent is compared by what it names: the 5-tuple of the outer
// connection when that connection is in the log, or else an IP tunnel, whose uids
// must correspond one to one.
func TestTunnelParents(t *testing.T) {
	shared, err := SharedDir()
	if err != nil {
		t.Skip("oracle corpus not available: ", err)
	}
	cases, err := Cases(shared)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, c := range cases {
		want, err := readConnLog(filepath.Join(c.Dir, c.Expected))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(want, func(r map[string]string) bool { p, ok := r["tunnel_parents"]; return ok && p != "-" }) {
			continue
		}
		checked++
		t.Run(c.Name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "conn.log")
			if err := c.Run(out); err != nil {
				t.Fatal(err)
			}
			got, err := readConnLog(out)
			if err != nil {
				t.Fatal(err)
			}
			compareParents(t, want, got)
		})
	}
	if checked == 0 {
		t.Fatal("no case has tunnel_parents")
	}
}

// compareParents pairs the records of two logs by 5-tuple and compares their
// tunnel_parents by what each parent uid names.
func compareParents(t *testing.T, want, got []map[string]string) {
	tuple := func(r map[string]string) string {
		return strings.Join([]string{r["proto"], r["id.orig_h"], r["id.orig_p"], r["id.resp_h"], r["id.resp_p"]}, " ")
	}
	byUID := func(log []map[string]string) map[string]string {
		m := map[string]string{}
		for _, r := range log {
			m[r["uid"]] = tuple(r)
		}
		return m
	}
	wantUID, gotUID := byUID(want), byUID(got)
	tunnels := map[string]string{} // Zeek's IP tunnel uid -> flowtop's
	parents := func(r map[string]string, uids map[string]string) (named []string, ip []string) {
		if r["tunnel_parents"] == "-" {
			return nil, nil
		}
		for _, u := range strings.Split(r["tunnel_parents"], ",") {
			if tu, ok := uids[u]; ok {
				named = append(named, tu)
			} else {
				ip = append(ip, u)
			}
		}
		slices.Sort(named)
		return named, ip
	}
	gotBy := map[string][]map[string]string{}
	for _, r := range got {
		gotBy[tuple(r)] = append(gotBy[tuple(r)], r)
	}
	for _, w := range want {
		wn, wip := parents(w, wantUID)
		cands := gotBy[tuple(w)]
		if len(cands) == 0 {
			t.Errorf("%s: not in flowtop's log", tuple(w))
			continue
		}
		// Records sharing a 5-tuple: any with the same parents will do.
		ok := false
		var desc []string
		for _, g := range cands {
			gn, gip := parents(g, gotUID)
			desc = append(desc, g["tunnel_parents"])
			if !slices.Equal(wn, gn) || len(wip) != len(gip) {
				continue
			}
			match := true
			for i, u := range wip {
				if m, seen := tunnels[u]; seen && m != gip[i] {
					match = false
				}
			}
			if match {
				for i, u := range wip {
					tunnels[u] = gip[i]
				}
				ok = true
				break
			}
		}
		if !ok {
			t.Errorf("%s: tunnel_parents %s (%v, IP tunnels %v); flowtop has %v", tuple(w), w["tunnel_parents"], wn, wip, desc)
		}
	}
	seen := map[string]bool{}
	for _, g := range tunnels {
		if seen[g] {
			t.Errorf("two of Zeek's IP tunnels are one flowtop tunnel %s", g)
		}
		seen[g] = true
	}
}

// readConnLog reads a Zeek TSV conn.log into records by field name.
func readConnLog(path string) ([]map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var fields []string
	var out []map[string]string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "#fields\t"); ok {
			fields = strings.Split(rest, "\t")
			continue
		}
		if strings.HasPrefix(line, "#") || fields == nil {
			continue
		}
		r := map[string]string{}
		for i, v := range strings.Split(line, "\t") {
			if i < len(fields) {
				r[fields[i]] = v
			}
		}
		out = append(out, r)
	}
	return out, sc.Err()
}
