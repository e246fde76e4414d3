// Package oracle runs the tracker over the Zeek conn.log corpus in ../shared/oracle and
// scores the result with the corpus's own scorer, compare_conn.py. Agreement with Zeek
// is the tracker's main quality figure.
package oracle

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/flowtop/flowtop/analyzer"
	"github.com/flowtop/flowtop/connlog"
	"github.com/flowtop/flowtop/tracker"
)

// Case is one trace of the corpus with the options Zeek ran it with.
type Case struct {
	Name              string   `json:"name"`
	Trace             string   `json:"trace"`
	Expected          string   `json:"expected"`
	IgnoreChecksums   bool     `json:"ignore_checksums"`
	LikelyServerPorts []string `json:"likely_server_ports"`
	// Analyzers are the protocol analyzers Zeek's run loaded: "default" (every one)
	// or a list of service names.
	Analyzers json.RawMessage `json:"analyzers"`
	// AnalyzerPorts are ports the test added to analyzers' registrations.
	AnalyzerPorts map[string][]string `json:"analyzer_ports"`
	Dir           string              `json:"-"`
}

// ErrNoShared reports that the shared corpus is not beside the repository.
var ErrNoShared = errors.New("../shared/oracle not found (set FLOWTOP_SHARED to its parent)")

// SharedDir finds the shared directory: $FLOWTOP_SHARED, else ../shared of the
// repository root (found by walking up from the working directory to go.mod).
func SharedDir() (string, error) {
	if d := os.Getenv("FLOWTOP_SHARED"); d != "" {
		return d, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			shared := filepath.Join(dir, "..", "shared")
			if _, err := os.Stat(filepath.Join(shared, "oracle", "compare_conn.py")); err != nil {
				return "", ErrNoShared
			}
			return shared, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", ErrNoShared
		}
		dir = parent
	}
}

// Cases lists the corpus cases, sorted by name.
func Cases(shared string) ([]Case, error) {
	dirs, err := filepath.Glob(filepath.Join(shared, "oracle", "cases", "*", "case.json"))
	if err != nil {
		return nil, err
	}
	var out []Case
	for _, f := range dirs {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var c Case
		if err := json.Unmarshal(data, &c); err != nil {
			return nil, fmt.Errorf("%s: %v", f, err)
		}
		c.Dir = filepath.Dir(f)
		if c.Name == "" {
			c.Name = filepath.Base(c.Dir)
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Config returns the tracker configuration Zeek's run of the case corresponds to.
func (c Case) Config() (tracker.Config, error) {
	cfg := tracker.Config{IgnoreChecksums: c.IgnoreChecksums, UIDSeed: 1}
	svc, err := c.ServiceConfig()
	if err != nil {
		return cfg, err
	}
	cfg.Service = svc
	cfg.LikelyServerPorts = []tracker.PortProto{}
	for _, s := range c.LikelyServerPorts {
		p, err := tracker.ParsePortProto(s)
		if err != nil {
			return cfg, err
		}
		cfg.LikelyServerPorts = append(cfg.LikelyServerPorts, p)
	}
	return cfg, nil
}

// ServiceConfig returns the analyzers of Zeek's run of the case, with the ports
// the test registered.
func (c Case) ServiceConfig() (analyzer.Config, error) {
	var cfg analyzer.Config
	var def string
	if len(c.Analyzers) > 0 && json.Unmarshal(c.Analyzers, &def) != nil {
		if err := json.Unmarshal(c.Analyzers, &cfg.Analyzers); err != nil {
			return cfg, fmt.Errorf("analyzers: %v", err)
		}
		if cfg.Analyzers == nil {
			cfg.Analyzers = []string{}
		}
	} else if def != "" && def != "default" {
		return cfg, fmt.Errorf("analyzers: %q is neither \"default\" nor a list", def)
	}
	for name, ports := range c.AnalyzerPorts {
		for _, s := range ports {
			p, err := tracker.ParsePortProto(s)
			if err != nil {
				return cfg, err
			}
			if cfg.Ports == nil {
				cfg.Ports = map[string][]analyzer.Port{}
			}
			cfg.Ports[name] = append(cfg.Ports[name], analyzer.Port{Port: p.Port, Transport: analyzer.Transport(p.Proto)})
		}
	}
	return cfg, cfg.Validate()
}

// Run tracks the case's trace and writes the conn.log (Zeek TSV) to path.
func (c Case) Run(path string) error {
	cfg, err := c.Config()
	if err != nil {
		return err
	}
	src, err := tracker.OpenFile(filepath.Join(c.Dir, c.Trace))
	if err != nil {
		return err
	}
	defer src.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w := connlog.NewWriter(f, connlog.TSV)
	w.SetOpenTime(time.Unix(0, 0))
	var werr error
	tr := tracker.New(cfg, tracker.Handlers{Remove: func(r *tracker.Record) {
		if err := w.Write(r); err != nil && werr == nil {
			werr = err
		}
	}})
	if err := tr.Run(context.Background(), src); err != nil && !errors.Is(err, tracker.ErrTruncated) {
		return err
	}
	if err := w.Close(time.Unix(0, 0)); err != nil {
		return err
	}
	return werr
}

// Score is compare_conn.py's verdict.
type Score struct {
	Matched, Expected, Extra int
	Agree                    string // fields_agree, e.g. "100.0%"
	Line                     string // the scorer's last line
	Detail                   string // the scorer's full report
}

// Exact reports whether every record matched with every field agreeing.
func (s Score) Exact() bool {
	return s.Matched == s.Expected && s.Extra == 0 && strings.HasPrefix(s.Agree, "100")
}

var scoreLine = regexp.MustCompile(`conn-oracle: matched=(\d+)/(\d+) extra=(\d+) fields_agree=(\S+)`)

// Compare scores the conn.log at actual against the case's Zeek baseline; with
// withService the service column counts too.
func (c Case) Compare(shared, actual string, withService bool) (Score, error) {
	script := filepath.Join(shared, "oracle", "compare_conn.py")
	args := []string{script, filepath.Join(c.Dir, c.Expected), actual}
	if withService {
		args = append(args, "--with-service")
	}
	out, err := exec.Command("python3", args...).CombinedOutput()
	if err != nil {
		return Score{}, fmt.Errorf("compare_conn.py: %v: %s", err, bytes.TrimSpace(out))
	}
	var s Score
	s.Detail = string(out)
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if m := scoreLine.FindStringSubmatch(sc.Text()); m != nil {
			s.Line = m[0]
			s.Matched, _ = strconv.Atoi(m[1])
			s.Expected, _ = strconv.Atoi(m[2])
			s.Extra, _ = strconv.Atoi(m[3])
			s.Agree = m[4]
		}
	}
	if s.Line == "" {
		return s, fmt.Errorf("compare_conn.py printed no score: %s", strings.TrimSpace(string(out)))
	}
	return s, nil
}

// Result is one case's outcome: its score on the connection fields, and with the
// service column counted too.
type Result struct {
	Case         Case
	Score        Score
	ServiceScore Score
	Err          error
}

// RunAll runs and scores every case, writing logs into dir, with up to par cases at once.
func RunAll(shared, dir string, cases []Case, par int) []Result {
	res := make([]Result, len(cases))
	sem := make(chan struct{}, par)
	done := make(chan struct{})
	for i := range cases {
		go func(i int) {
			sem <- struct{}{}
			defer func() { <-sem; done <- struct{}{} }()
			c := cases[i]
			out := filepath.Join(dir, c.Name+".conn.log")
			r := Result{Case: c}
			if r.Err = c.Run(out); r.Err == nil {
				r.Score, r.Err = c.Compare(shared, out, false)
			}
			if r.Err == nil {
				r.ServiceScore, r.Err = c.Compare(shared, out, true)
			}
			res[i] = r
		}(i)
	}
	for range cases {
		<-done
	}
	return res
}

// ReadList reads a ratchet file: one case name per line, # comments allowed.
func ReadList(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") {
			names = append(names, l)
		}
	}
	return names, nil
}
