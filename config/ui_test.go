package config

import (
	"errors"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestUISection(t *testing.T) {
	tests := []struct {
		name string
		file string
		ui   UISection
		keys KeysSection
	}{
		{
			name: "every key",
			file: `
[ui]
theme = "high-contrast"
refresh = "250ms"
columns = ["proto", "orig", "resp", "process", "service", "name", "state", "history", "orig_bytes", "resp_bytes",
  "orig_pkts", "resp_pkts", "orig_rate", "resp_rate", "duration", "idle", "start", "uid", "missed",
  "orig_short", "resp_short", "bytes", "rate", "idle_short"]
units = "bytes"
linger = "30s"
show_closed = true
speed = 0.5

[keys]
quit = ["q", "ctrl+c"]
help = "?"
filter = "/"
sort_next = "s"
sort_reverse = "S"
up = ["k", "up", "ctrl+p"]
down = ["j", "down", "ctrl+n"]
top = ["g", "home"]
bottom = ["G", "end"]
page_up = ["pgup", "ctrl+b"]
page_down = ["pgdown", "ctrl+f", "space"]
detail = "enter"
back = ["esc", "backspace"]
pause = "p"
thresholds = "t"
default_thresholds = "T"
extract = "x"
extract_all = "alt+x"
closed = "c"
units = "u"
names = "N"
alerts = ["a", "f12", "ctrl+@", "shift+tab"]
`,
			ui: UISection{
				Theme:      "high-contrast",
				Refresh:    RefreshInterval(250 * time.Millisecond),
				Columns:    ColumnList(Columns),
				Units:      RateBytes,
				Linger:     Linger(30 * time.Second),
				ShowClosed: true,
				Speed:      0.5,
			},
			keys: KeysSection{
				"quit": {"q", "ctrl+c"}, "help": {"?"}, "filter": {"/"},
				"sort_next": {"s"}, "sort_reverse": {"S"},
				"up": {"k", "up", "ctrl+p"}, "down": {"j", "down", "ctrl+n"},
				"top": {"g", "home"}, "bottom": {"G", "end"},
				"page_up": {"pgup", "ctrl+b"}, "page_down": {"pgdown", "ctrl+f", " "},
				"detail": {"enter"}, "back": {"esc", "backspace"}, "pause": {"p"},
				"thresholds": {"t"}, "default_thresholds": {"T"},
				"extract": {"x"}, "extract_all": {"alt+x"}, "closed": {"c"}, "units": {"u"},
				"names": {"N"}, "alerts": {"a", "f12", "ctrl+@", "shift+tab"},
			},
		},
		{
			name: "space and the keys a terminal cannot tell apart",
			file: "[keys]\npause = \"space\"\nextract = \"alt+space\"\nback = \"ctrl+[\"\ndetail = [\"ctrl+m\"]\nfilter = \"ctrl+i\"\n",
			keys: KeysSection{"pause": {" "}, "extract": {"alt+ "}, "back": {"esc"}, "detail": {"enter"}, "filter": {"tab"}},
		},
		{
			name: "bounds and zero values",
			file: "[ui]\nrefresh = 0.02\nlinger = 0\nshow_closed = false\nspeed = \"max\"\nunits = \"bits\"\ncolumns = [\"uid\"]\n",
			ui:   UISection{Refresh: RefreshInterval(MinRefresh), Columns: ColumnList{"uid"}, Units: RateBits},
		},
		{
			name: "upper bound, integer speed, speed as a string",
			file: "[ui]\nrefresh = \"10s\"\nspeed = 10\n",
			ui:   UISection{Refresh: RefreshInterval(MaxRefresh), Speed: 10},
		},
		{
			name: "speed as a string holding a number",
			file: "ui.speed = \" 2.5 \"\n",
			ui:   UISection{Speed: 2.5},
		},
		{
			name: "inline tables",
			file: "ui = { theme = \"mono\" }\nkeys = { quit = \"Q\" }\n",
			ui:   UISection{Theme: "mono"},
			keys: KeysSection{"quit": {"Q"}},
		},
		{
			name: "empty sections",
			file: "[ui]\n[keys]\n",
			keys: KeysSection{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("config.toml", []byte(tt.file))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(c.UI, tt.ui) {
				t.Errorf("UI\n got: %#v\nwant: %#v", c.UI, tt.ui)
			}
			if !reflect.DeepEqual(c.Keys, tt.keys) {
				t.Errorf("Keys\n got: %#v\nwant: %#v", c.Keys, tt.keys)
			}
		})
	}
}

func TestUISectionAbsent(t *testing.T) {
	c, err := Parse("config.toml", []byte("[tracker]\nignore_checksums = true\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.UI, UISection{}) || c.Keys != nil {
		t.Errorf("sections left out are not zero: UI %#v, Keys %#v", c.UI, c.Keys)
	}
	for _, key := range []string{"ui", "keys", "theme", "linger", "show_closed", "speed"} {
		if c.Defined("ui", key) || c.Defined(key) {
			t.Errorf("Defined(%q) is true", key)
		}
	}

	// Keys that are set to their zero value are told apart by Defined.
	c, err = Parse("config.toml", []byte("[ui]\nlinger = 0\nspeed = \"max\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Defined("ui", "linger") || !c.Defined("ui", "speed") || c.Defined("ui", "show_closed") {
		t.Errorf("Defined does not tell zero values from keys left out")
	}
	if c.UI.Linger != 0 || c.UI.Speed != 0 || c.UI.Speed.String() != "max" {
		t.Errorf("UI = %#v", c.UI)
	}
}

func TestUIErrors(t *testing.T) {
	allColumns := "proto, orig, resp, process, service, name, state, history, orig_bytes, resp_bytes, orig_pkts, resp_pkts, orig_rate, resp_rate, duration, idle, start, uid, missed, orig_short, resp_short, bytes, rate or idle_short"
	allActions := "quit, help, filter, sort_next, sort_reverse, up, down, top, bottom, page_up, page_down, detail, back, pause, thresholds, default_thresholds, extract, packets, extract_all, closed, units, names, rate_window, columns, jump, copy, time or alerts"
	badKey := `want a single character, "space", or a key name like "enter", "ctrl+c" or "f1"`
	tests := []struct {
		name string
		file string
		want string
	}{
		// [ui] theme
		{"empty theme", "[ui]\ntheme = \"\"\n", `config.toml:2: ui.theme: want a theme name like "dark", got an empty string`},
		{"theme not a string", "[ui]\ntheme = 1\n", `config.toml:2: ui.theme: want a theme name like "dark", got an integer (1)`},

		// [ui] refresh
		{"refresh too short", "[ui]\nrefresh = \"19ms\"\n", `config.toml:2: ui.refresh: duration "19ms": must be between 20ms and 10s`},
		{"refresh too long", "[ui]\n\nrefresh = 11\n", `config.toml:3: ui.refresh: duration 11: must be between 20ms and 10s`},
		{"refresh zero", "[ui]\nrefresh = 0\n", `config.toml:2: ui.refresh: duration 0: must be between 20ms and 10s`},
		{"refresh negative", "[ui]\nrefresh = \"-1s\"\n", `config.toml:2: ui.refresh: duration "-1s": must not be negative`},
		{"refresh bad", "[ui]\nrefresh = \"fast\"\n", `config.toml:2: ui.refresh: duration "fast": want a number of seconds or a duration like "90s" or "1h30m"`},

		// [ui] columns
		{"unknown column", "[ui]\ncolumns = [\"proto\", \"bites\"]\n", `config.toml:2: ui.columns: unknown column "bites": want one of ` + allColumns},
		{"column names are case-sensitive", "[ui]\ncolumns = [\"Proto\"]\n", `config.toml:2: ui.columns: unknown column "Proto": want one of ` + allColumns},
		{"column twice", "[ui]\ncolumns = [\n  \"proto\",\n  \"uid\",\n  \"proto\",\n]\n", `config.toml:2: ui.columns: column "proto" is already given`},
		{"no columns", "[ui]\ncolumns = []\n", `config.toml:2: ui.columns: want at least one column`},
		{"column not a string", "[ui]\ncolumns = [3]\n", `config.toml:2: ui.columns: want columns as strings like "proto", got an integer (3)`},
		{"columns not an array", "[ui]\ncolumns = \"proto\"\n", `config.toml:2: ui.columns: want an array of columns like ["proto", "orig", "resp"], got a string ("proto")`},

		// [ui] units
		{"bad units", "[ui]\nunits = \"bytez\"\n", `config.toml:2: ui.units: units "bytez": must be bits or bytes`},
		{"units are case-sensitive", "[ui]\nunits = \"Bits\"\n", `config.toml:2: ui.units: units "Bits": must be bits or bytes`},
		{"units not a string", "[ui]\nunits = 8\n", `config.toml:2: ui.units: want "bits" or "bytes", got an integer (8)`},

		// [ui] linger
		{"negative linger", "[ui]\nlinger = \"-5s\"\n", `config.toml:2: ui.linger: duration "-5s": must not be negative`},
		{"negative number linger", "[ui]\nlinger = -1\n", `config.toml:2: ui.linger: duration -1: must not be negative`},
		{"bad linger", "[ui]\nlinger = true\n", `config.toml:2: ui.linger: want a duration like "90s" or a number of seconds, got a boolean (true)`},

		// [ui] show_closed
		{"show_closed not a boolean", "[ui]\nshow_closed = \"yes\"\n", `config.toml:2: ui.show_closed: want true or false, got a string ("yes")`},

		// [ui] speed
		{"zero speed", "[ui]\nspeed = 0\n", `config.toml:2: ui.speed: speed 0: must be positive; "max" replays without delay`},
		{"negative speed", "[ui]\nspeed = -0.5\n", `config.toml:2: ui.speed: speed -0.5: must be positive; "max" replays without delay`},
		{"infinite speed", "[ui]\nspeed = inf\n", `config.toml:2: ui.speed: speed +Inf: too large; "max" replays without delay`},
		{"NaN speed", "[ui]\nspeed = nan\n", `config.toml:2: ui.speed: speed NaN: not a number`},
		{"bad speed string", "[ui]\nspeed = \"fast\"\n", `config.toml:2: ui.speed: speed "fast": want "max" or a positive number like 1, 10 or 0.5`},
		{"speed string zero", "[ui]\nspeed = \"0\"\n", `config.toml:2: ui.speed: speed "0": must be positive; "max" replays without delay`},
		{"too slow", "[ui]\nspeed = 0.0001\n", `config.toml:2: ui.speed: speed 0.0001: slower than 0.001 times real time`},
		{"speed of the wrong type", "[ui]\nspeed = [1]\n", `config.toml:2: ui.speed: want "max" or a speed like 1, 10 or 0.5, got an array`},

		// [ui] structure
		{"unknown ui key", "[ui]\ntheme = \"dark\"\ncolour = true\n", `config.toml:3: ui.colour: unknown key`},
		{"ui not a table", "ui = \"dark\"\n", `config.toml:1: ui: want a table, got a string ("dark")`},

		// [keys]
		{"unknown action", "[keys]\nquit = \"q\"\nexit = \"x\"\n", `config.toml:3: keys.exit: unknown action: want one of ` + allActions},
		{"bad key name", "[keys]\nquit = \"escape\"\n", `config.toml:2: keys.quit: key "escape": ` + badKey},
		{"two characters", "[keys]\nquit = [\"q\", \"qq\"]\n", `config.toml:2: keys.quit: key "qq": ` + badKey},
		{"empty key", "[keys]\nquit = \"\"\n", `config.toml:2: keys.quit: key "": ` + badKey},
		{"control character", "[keys]\nquit = \"\\t\"\n", `config.toml:2: keys.quit: key "\t": ` + badKey},
		{"bare alt", "[keys]\nquit = \"alt+\"\n", `config.toml:2: keys.quit: key "alt+": ` + badKey},
		{"alt twice", "[keys]\nquit = \"alt+alt+q\"\n", `config.toml:2: keys.quit: key "alt+alt+q": ` + badKey},
		{"f21", "[keys]\nhelp = \"f21\"\n", `config.toml:2: keys.help: key "f21": ` + badKey},
		{"upper-case name", "[keys]\ndetail = \"Enter\"\n", `config.toml:2: keys.detail: key "Enter": key names are lower case: "enter"`},
		{"upper-case ctrl", "[keys]\nquit = \"CTRL+C\"\n", `config.toml:2: keys.quit: key "CTRL+C": key names are lower case: "ctrl+c"`},
		{"empty list", "[keys]\nquit = []\n", `config.toml:2: keys.quit: want at least one key`},
		{"key not a string", "[keys]\nquit = [\"q\", 1]\n", `config.toml:2: keys.quit: want keys as strings like "q", got an integer (1)`},
		{"keys of the wrong type", "[keys]\nquit = 1\n", `config.toml:2: keys.quit: want a key like "q" or an array of keys like ["q", "ctrl+c"], got an integer (1)`},
		{"action as a table", "[keys.quit]\nkey = \"q\"\n", `config.toml:1: keys.quit: want a key like "q" or an array of keys like ["q", "ctrl+c"], got a table`},
		{"same key twice for one action", "[keys]\nquit = [\"q\", \"q\"]\n", `config.toml:2: keys.quit: key "q" is already given`},
		{"space twice for one action", "[keys]\npause = [\"space\", \" \"]\n", `config.toml:2: keys.pause: key " " is already given`},
		{"same key for two actions", "[keys]\nquit = [\"q\", \"ctrl+c\"]\nhelp = \"?\"\n\nalerts = [\"a\", \"q\"]\n", `config.toml:5: keys.alerts: key "q" is already bound to quit`},
		{"space and \" \" for two actions", "[keys]\npause = \" \"\ndetail = \"space\"\n", `config.toml:3: keys.detail: key "space" is already bound to pause`},
		{"alias for two actions", "[keys]\ndetail = \"enter\"\nthresholds = \"ctrl+m\"\n", `config.toml:3: keys.thresholds: key "ctrl+m" is already bound to detail`},
		{"keys not a table", "keys = [\"q\"]\n", `config.toml:1: keys: want a table, got an array`},

		// Order: the first error in the file wins, across the new sections too.
		{"first error in the file", "[keys]\nquit = \"escape\"\n[ui]\nunits = \"x\"\n", `config.toml:2: keys.quit: key "escape": ` + badKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("config.toml", []byte(tt.file))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", c)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error\n got: %s\nwant: %s", got, tt.want)
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.Line == 0 || ce.Key == "" {
				t.Errorf("error is not an *Error with line and key: %#v", err)
			}
			if c != nil {
				t.Errorf("Parse returned a Config with its error")
			}
		})
	}
}

func TestParseKey(t *testing.T) {
	good := map[string]string{
		"q": "q", "G": "G", "?": "?", "/": "/", "+": "+", "é": "é", " ": " ",
		"space": " ", "alt+space": "alt+ ", "alt+q": "alt+q", "alt+enter": "alt+enter", "alt++": "alt++",
		"enter": "enter", "esc": "esc", "tab": "tab", "shift+tab": "shift+tab",
		"backspace": "backspace", "delete": "delete", "insert": "insert",
		"up": "up", "down": "down", "left": "left", "right": "right",
		"home": "home", "end": "end", "pgup": "pgup", "pgdown": "pgdown",
		"f1": "f1", "f12": "f12", "f20": "f20",
		"ctrl+a": "ctrl+a", "ctrl+z": "ctrl+z", "ctrl+@": "ctrl+@", `ctrl+\`: `ctrl+\`,
		"ctrl+]": "ctrl+]", "ctrl+^": "ctrl+^", "ctrl+_": "ctrl+_",
		"ctrl+up": "ctrl+up", "shift+home": "shift+home", "ctrl+shift+end": "ctrl+shift+end",
		"ctrl+i": "tab", "ctrl+m": "enter", "ctrl+[": "esc", "alt+ctrl+i": "alt+tab",
	}
	for in, want := range good {
		if got, err := ParseKey(in); err != nil || got != want {
			t.Errorf("ParseKey(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{
		"", "qq", "ctrl+", "ctrl+1", "ctrl+shift+a", "shift+a", "f0", "f21", "pageup", "return",
		"alt+", "alt+alt+a", "\t", "\x7f", "\u200b", "\xff", "Space", "ctrl+A",
	} {
		if got, err := ParseKey(in); err == nil {
			t.Errorf("ParseKey(%q) = %q, want an error", in, got)
		}
	}
}

// TestColumnsAndActions checks the lists that name valid values against the
// documentation and for repeats.
func TestColumnsAndActions(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(strings.Fields(strings.NewReplacer("//", "", "#", "").Replace(string(doc))), " ")
	for _, l := range []struct {
		name  string
		names []string
	}{{"Columns", Columns}, {"Actions", Actions}} {
		seen := map[string]bool{}
		for _, n := range l.names {
			if seen[n] {
				t.Errorf("%s: %q is listed twice", l.name, n)
			}
			seen[n] = true
		}
		last := len(l.names) - 1
		list := strings.Join(l.names[:last], ", ") + " and " + l.names[last]
		if !strings.Contains(text, list) {
			t.Errorf("doc.go does not list %s in order: %s", l.name, list)
		}
	}
}

// TestDocExample parses the example file in doc.go.
func TestDocExample(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(doc), "# Format\n")
	if ok {
		block, _, ok = strings.Cut(block, "\n// Ports are written")
	}
	if !ok {
		t.Fatal("doc.go: no format block")
	}
	var file strings.Builder
	for line := range strings.Lines(block) {
		if s, ok := strings.CutPrefix(line, "//\t"); ok {
			file.WriteString(s)
		} else if line == "//\n" {
			file.WriteString("\n")
		}
	}
	c, err := Parse("doc.go", []byte(file.String()))
	if err != nil {
		t.Fatalf("example: %v\n%s", err, file.String())
	}
	if c.UI.Theme != "dark" || len(c.UI.Columns) == 0 || c.UI.Speed != 10 || !slices.Equal(c.Keys["pause"], []string{" "}) {
		t.Errorf("example: UI %#v, Keys %#v", c.UI, c.Keys)
	}
	if !c.Defined("extract", "dir") || !c.Defined("tracker", "ignore_checksums") {
		t.Errorf("example: sections missing")
	}
}

func TestUIUnmarshalTOML(t *testing.T) {
	// The types also work with plain toml.Decode users, through UnmarshalTOML.
	var k KeysSection
	err := k.UnmarshalTOML(map[string]any{"quit": []any{"q", "space"}, "help": "?"})
	if want := (KeysSection{"quit": {"q", " "}, "help": {"?"}}); err != nil || !reflect.DeepEqual(k, want) {
		t.Errorf("KeysSection.UnmarshalTOML = %#v, %v", k, err)
	}
	err = k.UnmarshalTOML(map[string]any{"quit": "q", "help": "q"})
	if err == nil || err.Error() != `quit: key "q" is already bound to help` {
		t.Errorf("KeysSection.UnmarshalTOML error = %v", err)
	}
	if err := k.UnmarshalTOML("q"); err == nil || err.Error() != `want a table, got a string ("q")` {
		t.Errorf("KeysSection.UnmarshalTOML(string) error = %v", err)
	}
	var s Speed
	if err := s.UnmarshalTOML(int64(4)); err != nil || s != 4 || s.String() != "4" {
		t.Errorf("Speed.UnmarshalTOML = %v, %v", s, err)
	}
	var r RefreshInterval
	if err := r.UnmarshalTOML("1s"); err != nil || r.String() != "1s" {
		t.Errorf("RefreshInterval.UnmarshalTOML = %v, %v", r, err)
	}
	var l Linger
	if err := l.UnmarshalTOML("0s"); err != nil || l.String() != "0s" {
		t.Errorf("Linger.UnmarshalTOML = %v, %v", l, err)
	}
}
