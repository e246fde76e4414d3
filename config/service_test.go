package config

import (
	"strings"
	"testing"

	"github.com/flowtop/flowtop/analyzer"
)

func TestServiceSection(t *testing.T) {
	for _, tc := range []struct {
		name, toml string
		want       string // analyzers joined, "*" for all
		ports      string // redis ports
		err        string
	}{
		{"default", "", "*", "", ""},
		{"list", "[service]\nanalyzers = [\"http\", \"dns\"]\n", "http,dns", "", ""},
		{"none", "[service]\nanalyzers = []\n", "", "", ""},
		{"ports", "[service.ports]\nredis = [\"10625/tcp\"]\n", "*", "10625/tcp", ""},
		{"unknown analyzer", "[service]\nanalyzers = [\"htpp\"]\n", "", "", `c.toml:2: service.analyzers: unknown analyzer "htpp"`},
		{"repeat", "[service]\nanalyzers = [\"http\", \"http\"]\n", "", "", `analyzer "http" is already given`},
		{"ports of unknown analyzer", "[service.ports]\nredi = [\"10625/tcp\"]\n", "", "", `c.toml:2: service.ports.redi: unknown analyzer "redi"`},
		{"wrong transport", "[service.ports]\nredis = [\"10625/udp\"]\n", "", "", `redis parses tcp, not 10625/udp`},
		{"bad port", "[service.ports]\nredis = [\"x/tcp\"]\n", "", "", `port "x/tcp": bad number`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("c.toml", []byte(tc.toml))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sc := c.ServiceConfig()
			got := "*"
			if sc.Analyzers != nil {
				got = strings.Join(sc.Analyzers, ",")
			}
			if got != tc.want {
				t.Errorf("analyzers %q, want %q", got, tc.want)
			}
			var ps []string
			for _, p := range sc.Ports["redis"] {
				ps = append(ps, p.String())
			}
			if strings.Join(ps, ",") != tc.ports {
				t.Errorf("ports %v, want %q", ps, tc.ports)
			}
			if err := sc.Validate(); err != nil {
				t.Errorf("invalid result: %v", err)
			}
		})
	}
	_ = analyzer.TCP
}

func TestConnlogSection(t *testing.T) {
	c, err := Parse("c.toml", []byte("[connlog]\nextra_fields = [\"server_name\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.Connlog.ExtraFields, ","); got != "server_name" {
		t.Errorf("extra_fields %q", got)
	}
	if _, err := Parse("c.toml", []byte("[connlog]\nextra_fields = [\"sni\"]\n")); err == nil || !strings.Contains(err.Error(), `unknown field "sni"`) {
		t.Errorf("bad field: %v", err)
	}
}
