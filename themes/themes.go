// Package themes turns colour themes, TOML files, into lipgloss styles for the UI.
//
// A theme names colours in a [palette] and gives each semantic role of the UI a
// style in [roles]; UI code asks for a Role and never names a colour itself:
//
//	[palette]
//	fg = "#c6c6c6"
//	accent = "#5fafff"
//	red = "1"            # an ANSI colour number, 0-255
//
//	[roles]
//	header = { fg = "accent", bold = true }
//	selected = { fg = "#000000", bg = "accent" }
//	state_REJ = { fg = "red" }
//
// A colour is a palette name, "#rrggbb", "#rgb" or an ANSI number "0" to "255". A
// style's keys are fg, bg, bold, faint, italic, underline and reverse. Roles a
// theme leaves out are plain. An unknown role, style key or colour is an error that
// names the file and the key.
//
// Built-in themes (dark, light, high-contrast, mono) are embedded; user themes are
// read from $XDG_CONFIG_HOME/flowtop/themes/NAME.toml. With NO_COLOR set, every
// theme keeps its bold, underline and reverse attributes but no colours.
package themes

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/flowtop/flowtop/internal/tomlstrict"
	"github.com/flowtop/flowtop/internal/userdir"
)

// Role is a semantic part of the UI that a theme styles.
type Role string

// The roles. The state roles style conn_state values in the flow table.
const (
	Title        Role = "title"         // the program name in the status bar
	Status       Role = "status"        // the status bar
	StatusLabel  Role = "status_label"  // labels in the status bar
	Header       Role = "header"        // table column headers
	HeaderSorted Role = "header_sorted" // the column the table is sorted by
	Row          Role = "row"           // a table row
	Selected     Role = "selected"      // the row under the cursor
	Closed       Role = "closed"        // a removed connection, still shown
	Crossed      Role = "crossed"       // a connection that crossed a threshold
	Mark         Role = "mark"          // marks: extracting, thresholds set
	Alert        Role = "alert"         // an alert in the alerts pane
	Error        Role = "error"         // error messages (bad filter, capture error)
	Dim          Role = "dim"           // secondary text
	Border       Role = "border"        // pane borders
	Footer       Role = "footer"        // the key hints under the table
	HelpKey      Role = "help_key"      // a key in help
	HelpDesc     Role = "help_desc"     // its description
	Filter       Role = "filter"        // the filter prompt
	Spark        Role = "spark"         // the rate sparkline
)

// StateRole returns the role that styles conn_state s, e.g. "state_SF".
func StateRole(s string) Role { return Role("state_" + s) }

// connStates are Zeek's conn_state values.
var connStates = []string{"S0", "S1", "SF", "REJ", "S2", "S3", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH", "SHR", "OTH"}

// Roles returns every role, in a stable order.
func Roles() []Role {
	r := []Role{Title, Status, StatusLabel, Header, HeaderSorted, Row, Selected, Closed, Crossed, Mark,
		Alert, Error, Dim, Border, Footer, HelpKey, HelpDesc, Filter, Spark}
	for _, s := range connStates {
		r = append(r, StateRole(s))
	}
	return r
}

// Theme is a loaded theme: a style per role.
type Theme struct {
	Name   string
	styles map[Role]lipgloss.Style
}

// Style returns the style of role r (a plain style for a role the theme leaves out).
func (t *Theme) Style(r Role) lipgloss.Style {
	if s, ok := t.styles[r]; ok {
		return s
	}
	return lipgloss.NewStyle()
}

//go:embed builtin/*.toml
var builtin embed.FS

// Builtin returns the names of the embedded themes.
func Builtin() []string {
	entries, _ := fs.ReadDir(builtin, "builtin")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".toml"))
	}
	return names
}

// UserDir returns where user themes live: $XDG_CONFIG_HOME/flowtop/themes, or
// ~/.config/flowtop/themes.
func UserDir() string {
	if dir := userdir.Dir(); dir != "" {
		return filepath.Join(dir, "themes")
	}
	return ""
}

// Load returns the theme called name: a user theme in dir (UserDir() when dir is
// ""), which may shadow a built-in one, else a built-in theme.
func Load(name, dir string) (*Theme, error) {
	if name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		return nil, fmt.Errorf("theme %q: a theme is named by a plain name, e.g. dark", name)
	}
	if dir == "" {
		dir = UserDir()
	}
	if dir != "" {
		path := filepath.Join(dir, name+".toml")
		data, err := os.ReadFile(path)
		if err == nil {
			return Parse(path, data)
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	data, err := builtin.ReadFile("builtin/" + name + ".toml")
	if err != nil {
		return nil, fmt.Errorf("theme %q: no such theme (built-in: %s; user themes: %s)", name, strings.Join(Builtin(), ", "), filepath.Join(dir, name+".toml"))
	}
	return Parse(name+".toml", data)
}

// file is a theme file.
type file struct {
	Palette palette `toml:"palette"`
	Roles   roles   `toml:"roles"`
}

// Parse reads a theme file's contents; name is used in errors and, without its
// directory and extension, as the theme's name.
func Parse(name string, data []byte) (*Theme, error) {
	var f file
	if err := tomlstrict.Decode(name, data, &f); err != nil {
		return nil, err
	}
	noColor := os.Getenv("NO_COLOR") != ""
	t := &Theme{Name: strings.TrimSuffix(filepath.Base(name), ".toml"), styles: map[Role]lipgloss.Style{}}
	for _, r := range f.Roles.order {
		spec := f.Roles.specs[r]
		st := lipgloss.NewStyle().Bold(spec.bold).Faint(spec.faint).Italic(spec.italic).
			Underline(spec.underline).Reverse(spec.reverse)
		for _, c := range []struct{ key, value string }{{"fg", spec.fg}, {"bg", spec.bg}} {
			if c.value == "" {
				continue
			}
			col, err := f.Palette.resolve(c.value)
			if err != nil {
				return nil, fmt.Errorf("%s: roles.%s.%s: %v", name, r, c.key, err)
			}
			switch {
			case noColor:
			case c.key == "fg":
				st = st.Foreground(lipgloss.Color(col))
			default:
				st = st.Background(lipgloss.Color(col))
			}
		}
		t.styles[r] = st
	}
	return t, nil
}

// palette maps colour names to colours.
type palette map[string]string

func (p *palette) StartTable() { *p = palette{} }

func (p *palette) DecodeEntry(name string, v any) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf(`want a colour such as "#5fafff" or "12", got %v`, v)
	}
	if !isColour(s) {
		return fmt.Errorf(`colour %q: want "#rrggbb", "#rgb" or an ANSI number 0-255`, s)
	}
	(*p)[name] = s
	return nil
}

// resolve returns the colour s names: a palette entry or a colour literal.
func (p palette) resolve(s string) (string, error) {
	if c, ok := p[s]; ok {
		return c, nil
	}
	if isColour(s) {
		return s, nil
	}
	return "", fmt.Errorf(`colour %q: not in [palette], and not "#rrggbb", "#rgb" or an ANSI number 0-255`, s)
}

// isColour reports whether s is "#rrggbb", "#rgb" or "0" to "255".
func isColour(s string) bool {
	if h, ok := strings.CutPrefix(s, "#"); ok {
		if len(h) != 6 && len(h) != 3 {
			return false
		}
		_, err := strconv.ParseUint(h, 16, 32)
		return err == nil
	}
	n, err := strconv.Atoi(s)
	return err == nil && n >= 0 && n <= 255 && strconv.Itoa(n) == s
}

// styleSpec is one role's style as written.
type styleSpec struct {
	fg, bg                                  string
	bold, faint, italic, underline, reverse bool
}

// roles maps roles to styles, in file order.
type roles struct {
	specs map[Role]styleSpec
	order []Role
}

func (r *roles) StartTable() { *r = roles{specs: map[Role]styleSpec{}} }

func (r *roles) DecodeEntry(name string, v any) error {
	role := Role(name)
	if !slices.Contains(Roles(), role) {
		return fmt.Errorf("unknown role (known: %s)", roleList())
	}
	tbl, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("want a style table such as { fg = \"accent\", bold = true }, got %v", v)
	}
	var s styleSpec
	keys := make([]string, 0, len(tbl))
	for k := range tbl {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		val := tbl[k]
		switch k {
		case "fg", "bg":
			c, ok := val.(string)
			if !ok {
				return fmt.Errorf("%s: want a colour string, got %v", k, val)
			}
			if k == "fg" {
				s.fg = c
			} else {
				s.bg = c
			}
		case "bold", "faint", "italic", "underline", "reverse":
			b, ok := val.(bool)
			if !ok {
				return fmt.Errorf("%s: want true or false, got %v", k, val)
			}
			switch k {
			case "bold":
				s.bold = b
			case "faint":
				s.faint = b
			case "italic":
				s.italic = b
			case "underline":
				s.underline = b
			default:
				s.reverse = b
			}
		default:
			return fmt.Errorf("%s: unknown style key (known: fg, bg, bold, faint, italic, underline, reverse)", k)
		}
	}
	r.specs[role] = s
	r.order = append(r.order, role)
	return nil
}

func roleList() string {
	var s []string
	for _, r := range Roles() {
		s = append(s, string(r))
	}
	return strings.Join(s, ", ")
}
