// Command oracle runs flowtop's tracker over every case of the Zeek conn.log corpus
// and prints per case PASS (exact, service included), SVC (exact but for the
// service column) or FAIL, and the number of exact cases with and without service.
//
//	go run ./internal/oracle/cmd/oracle [-v] [-run REGEXP] [-update-ratchet FILE]
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"sort"
	"strings"

	"github.com/flowtop/flowtop/internal/oracle"
)

func main() {
	verbose := flag.Bool("v", false, "print the scorer's report for failing cases")
	run := flag.String("run", "", "only cases whose name matches this regexp")
	keep := flag.String("keep", "", "write the conn.logs into this directory (default: a temporary one)")
	ratchet := flag.String("update-ratchet", "", "write the names of the exact cases to this file")
	svcRatchet := flag.String("update-service-ratchet", "", "write the names of the cases exact with the service column to this file")
	quiet := flag.Bool("q", false, "print only the final score")
	skipMissing := flag.Bool("skip-missing", false, "exit 0 with a note when the corpus or python3 is missing")
	flag.Parse()

	shared, err := oracle.SharedDir()
	if err == nil {
		_, err = exec.LookPath("python3")
	}
	if err != nil {
		if *skipMissing {
			fmt.Println("oracle: skipped:", err)
			return
		}
		fmt.Fprintln(os.Stderr, "oracle:", err)
		os.Exit(1)
	}
	cases, err := oracle.Cases(shared)
	if err != nil {
		fmt.Fprintln(os.Stderr, "oracle:", err)
		os.Exit(1)
	}
	if *run != "" {
		re, err := regexp.Compile(*run)
		if err != nil {
			fmt.Fprintln(os.Stderr, "oracle: -run:", err)
			os.Exit(2)
		}
		var sel []oracle.Case
		for _, c := range cases {
			if re.MatchString(c.Name) {
				sel = append(sel, c)
			}
		}
		cases = sel
	}
	dir := *keep
	if dir == "" {
		if dir, err = os.MkdirTemp("", "flowtop-oracle-"); err != nil {
			fmt.Fprintln(os.Stderr, "oracle:", err)
			os.Exit(1)
		}
		defer os.RemoveAll(dir)
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "oracle:", err)
		os.Exit(1)
	}
	results := oracle.RunAll(shared, dir, cases, runtime.NumCPU())
	exact, exactSvc := 0, 0
	var passing, passingSvc []string
	for _, r := range results {
		ok := r.Err == nil && r.Score.Exact()
		okSvc := r.Err == nil && r.ServiceScore.Exact()
		if ok {
			exact++
			passing = append(passing, r.Case.Name)
		}
		if okSvc {
			exactSvc++
			passingSvc = append(passingSvc, r.Case.Name)
		}
		if *quiet {
			continue
		}
		verdict := "FAIL"
		switch {
		case ok && okSvc:
			verdict = "PASS"
		case ok:
			verdict = "SVC "
		}
		switch {
		case r.Err != nil:
			fmt.Printf("FAIL %-32s error: %v\n", r.Case.Name, r.Err)
		default:
			fmt.Printf("%s %-32s %s\n", verdict, r.Case.Name, r.ServiceScore.Line)
			if *verbose && !okSvc {
				fmt.Println(indent(r.ServiceScore.Detail))
			}
		}
	}
	fmt.Printf("oracle: exact %d/%d, with service %d/%d\n", exact, len(results), exactSvc, len(results))
	for _, rf := range []struct {
		path, what string
		names      []string
	}{{*ratchet, "", passing}, {*svcRatchet, " with the service column", passingSvc}} {
		if rf.path == "" {
			continue
		}
		sort.Strings(rf.names)
		body := "# Oracle cases that flowtop reproduces exactly" + rf.what + "; `make test` fails if one regresses.\n" +
			"# Regenerate with: make oracle-ratchet\n" + strings.Join(rf.names, "\n") + "\n"
		if err := os.WriteFile(rf.path, []byte(body), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "oracle:", err)
			os.Exit(1)
		}
	}
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}
