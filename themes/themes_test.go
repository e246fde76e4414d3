package themes

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"
)

func TestBuiltinThemesLoad(t *testing.T) {
	names := Builtin()
	for _, want := range []string{"dark", "light", "high-contrast", "mono"} {
		if !strings.Contains(strings.Join(names, " "), want) {
			t.Errorf("built-in %q missing from %v", want, names)
		}
	}
	for _, name := range names {
		th, err := Load(name, t.TempDir())
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if th.Name != name {
			t.Errorf("name %q, want %q", th.Name, name)
		}
		if !th.Style(Selected).GetReverse() && th.Style(Selected).GetBackground() == (lipgloss.NoColor{}) {
			t.Errorf("%s: the selected row looks like any other", name)
		}
	}
}

func TestParse(t *testing.T) {
	t.Setenv("NO_COLOR", "")
	th, err := Parse("x.toml", []byte(`
[palette]
accent = "#5fafff"
[roles]
header = { fg = "accent", bold = true }
state_REJ = { fg = "9", bg = "#000" }
`))
	if err != nil {
		t.Fatal(err)
	}
	h := th.Style(Header)
	if h.GetForeground() != lipgloss.Color("#5fafff") || !h.GetBold() {
		t.Errorf("header: fg %v bold %v", h.GetForeground(), h.GetBold())
	}
	if r := th.Style(StateRole("REJ")); r.GetForeground() != lipgloss.Color("9") || r.GetBackground() != lipgloss.Color("#000") {
		t.Errorf("state_REJ: %v on %v", r.GetForeground(), r.GetBackground())
	}
	if th.Style(Row).GetBold() {
		t.Error("a role left out is not plain")
	}
}

func TestNoColor(t *testing.T) {
	t.Setenv("NO_COLOR", "1")
	th, err := Load("dark", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range Roles() {
		s := th.Style(r)
		if s.GetForeground() != (lipgloss.NoColor{}) || s.GetBackground() != (lipgloss.NoColor{}) {
			t.Errorf("%s keeps a colour under NO_COLOR", r)
		}
	}
	if !th.Style(Header).GetBold() {
		t.Error("attributes were dropped too")
	}
}

func TestErrors(t *testing.T) {
	tests := []struct{ file, want string }{
		{"[roles]\nheadr = { bold = true }\n", "x.toml:2: roles.headr: unknown role (known: title, "},
		{"[roles]\nheader = { fg = \"blurple\" }\n", `x.toml: roles.header.fg: colour "blurple": not in [palette]`},
		{"[roles]\nheader = { blink = true }\n", "x.toml:2: roles.header: blink: unknown style key"},
		{"[roles]\nheader = { bold = \"yes\" }\n", "x.toml:2: roles.header: bold: want true or false"},
		{"[palette]\nred = \"#ff00\"\n", `x.toml:2: palette.red: colour "#ff00": want "#rrggbb", "#rgb" or an ANSI number 0-255`},
		{"[palette]\nred = \"256\"\n", `x.toml:2: palette.red: colour "256"`},
		{"[colours]\nred = \"1\"\n", "x.toml:1: colours: unknown section"},
	}
	for _, tc := range tests {
		_, err := Parse("x.toml", []byte(tc.file))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%q:\n got %v\nwant %s…", tc.file, err, tc.want)
		}
	}
}

func TestUserTheme(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "mine.toml"), []byte("[roles]\nheader = { italic = true }\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "dark.toml"), []byte("[roles]\nheader = { underline = true }\n"), 0o644)
	th, err := Load("mine", dir)
	if err != nil || !th.Style(Header).GetItalic() {
		t.Errorf("user theme: %v", err)
	}
	if th, err := Load("dark", dir); err != nil || !th.Style(Header).GetUnderline() || th.Style(Header).GetBold() {
		t.Errorf("a user theme does not shadow the built-in one: %v", err)
	}
	if _, err := Load("nope", dir); err == nil || !strings.Contains(err.Error(), "no such theme") {
		t.Errorf("missing theme: %v", err)
	}
	if _, err := Load("../etc/passwd", dir); err == nil {
		t.Error("a path was accepted as a theme name")
	}
}

// FuzzParse feeds arbitrary theme files: Parse must return a theme or a one-line
// error, never panic.
func FuzzParse(f *testing.F) {
	for _, name := range Builtin() {
		data, _ := builtin.ReadFile("builtin/" + name + ".toml")
		f.Add(data)
	}
	f.Add([]byte("[roles]\nheader = { fg = \"x\" }\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := Parse("f.toml", data)
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Fatalf("error of several lines: %q", err)
		}
	})
}
