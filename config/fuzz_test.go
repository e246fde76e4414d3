package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/flowtop/flowtop/tracker"
)

// FuzzParse checks that Parse never panics, that every error is a one-line *Error
// naming the file, and that a parsed Config converts to a tracker.Config.
func FuzzParse(f *testing.F) {
	seeds := []string{
		"",
		"[tracker]\nignore_checksums = true\n",
		"[tracker]\nlikely_server_ports = [\"80/tcp\", \"53/udp\", \"3/icmp\"]\nlocal_nets = [\"10.0.0.0/8\", \"::1\"]\n",
		"[tracker]\ntcp_inactivity_timeout = \"5m\"\nudp_inactivity_timeout = 60\nicmp_inactivity_timeout = 1.5\n",
		"[tracker.port_inactivity]\n\"22/tcp\" = \"1h\"\n\"23/tcp\" = 0\n",
		"tracker = { ignore_checksums = false, port_inactivity = { \"1/udp\" = \"1s\" } }\n",
		"tracker.local_nets = []\n[ui]\nx = 1\n",
		"[[tracker]]\n[tracker\n\"a\nb\" = 1\n",
		"a.b.c = 1\n[a]\n[a.b.d]\ne = [[1], [{x = 2}]]\n",
		"x = 1979-05-27T07:32:00Z\ny = 07:32:00\nz = 0x10\n",
		"[ui]\ntheme = \"dark\"\nrefresh = \"250ms\"\ncolumns = [\"proto\", \"orig\"]\nunits = \"bits\"\nlinger = 0\nshow_closed = true\nspeed = \"max\"\n",
		"[ui]\nspeed = 0.5\nrefresh = 10\ncolumns = []\n",
		"[keys]\nquit = [\"q\", \"ctrl+c\"]\npause = \"space\"\nhelp = \"alt+?\"\nback = \"q\"\n",
		"keys = { detail = [\"enter\", \"ctrl+m\"], bogus = 1 }\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.toml", data)
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error is %T, not *Error: %v", err, err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "fuzz.toml") {
				t.Fatalf("error does not name the file: %q", msg)
			}
			if strings.ContainsAny(msg, "\n\r") {
				t.Fatalf("error spans lines: %q", msg)
			}
			if c != nil {
				t.Fatalf("Config returned with an error")
			}
			return
		}
		_ = c.TrackerConfig(tracker.Config{})
	})
}
