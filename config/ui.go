package config

import (
	"errors"
	"fmt"
	"github.com/flowtop/flowtop/internal/tomlstrict"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/BurntSushi/toml"
)

// Compile-time checks that the [ui] and [keys] types decode themselves.
var (
	_ toml.Unmarshaler = (*ThemeName)(nil)
	_ toml.Unmarshaler = (*RefreshInterval)(nil)
	_ toml.Unmarshaler = (*ColumnList)(nil)
	_ toml.Unmarshaler = (*RateUnit)(nil)
	_ toml.Unmarshaler = (*Linger)(nil)
	_ toml.Unmarshaler = (*Speed)(nil)
	_ toml.Unmarshaler = (*KeysSection)(nil)
	_ TableDecoder     = (*KeysSection)(nil)
)

// UISection is the [ui] section: how the TUI looks and behaves. A key the file leaves
// out keeps its zero value and the UI's default applies; use Config.Defined where the
// zero value is also a setting (linger, show_closed, speed).
//
//	[ui]
//	theme = "dark"
//	refresh = "250ms"
//	columns = ["proto", "orig", "resp", "service", "state", "orig_rate", "resp_rate"]
//	units = "bits"
//	linger = "30s"        # 0: closed connections stay until cleared
//	show_closed = true
//	speed = 10            # replaying a file: 10 times as fast; "max": no delay
type UISection struct {
	// Theme names the colour theme; the themes package resolves and checks it.
	Theme ThemeName `toml:"theme"`
	// Refresh is how often the display gets a new snapshot; 0 when unset.
	Refresh RefreshInterval `toml:"refresh"`
	// Columns are the flow table's visible columns, in order (see Columns).
	Columns ColumnList `toml:"columns"`
	// Units is how rates are shown: RateBits or RateBytes; "" when unset.
	Units RateUnit `toml:"units"`
	// Linger is how long closed connections stay visible; 0 means forever.
	Linger Linger `toml:"linger"`
	// ShowClosed shows closed connections that are still lingering.
	ShowClosed bool `toml:"show_closed"`
	// Speed is the replay speed when reading a file; 0 means as fast as possible.
	Speed Speed `toml:"speed"`
}

// Columns are the names of the flow table's columns, the values allowed in
// [ui] columns. The ui package knows each of them.
var Columns = []string{
	"proto", "orig", "resp", "process", "service", "name", "state", "history",
	"orig_bytes", "resp_bytes", "orig_pkts", "resp_pkts", "orig_rate", "resp_rate",
	"duration", "idle", "start", "uid", "missed", "orig_short", "resp_short", "bytes", "rate", "idle_short",
}

// Actions are the names of the TUI's key actions, the keys allowed in [keys].
var Actions = []string{
	"quit", "help", "filter", "sort_next", "sort_reverse",
	"up", "down", "top", "bottom", "page_up", "page_down",
	"detail", "back", "pause", "thresholds", "default_thresholds",
	"extract", "packets", "extract_all", "closed", "units", "names", "rate_window", "columns", "jump", "copy", "time", "alerts",
}

// ThemeName names a colour theme: a string, which must not be empty. Whether the
// theme exists is for the themes package to say.
type ThemeName string

// UnmarshalTOML decodes a TOML theme name.
func (n *ThemeName) UnmarshalTOML(v any) error {
	s, ok := v.(string)
	switch {
	case !ok:
		return fmt.Errorf(`want a theme name like "dark", got %s`, tomlstrict.Describe(v))
	case s == "":
		return errors.New(`want a theme name like "dark", got an empty string`)
	}
	*n = ThemeName(s)
	return nil
}

// The bounds of [ui] refresh.
const (
	MinRefresh = 20 * time.Millisecond
	MaxRefresh = 10 * time.Second
)

// RefreshInterval is a duration (see Duration) from MinRefresh to MaxRefresh.
type RefreshInterval time.Duration

// UnmarshalTOML decodes a TOML duration and checks its bounds.
func (r *RefreshInterval) UnmarshalTOML(v any) error {
	d, err := parseDuration(v, true)
	if err != nil {
		return err
	}
	if d < MinRefresh || d > MaxRefresh {
		return fmt.Errorf("duration %s: must be between %s and %s", showValue(v), MinRefresh, MaxRefresh)
	}
	*r = RefreshInterval(d)
	return nil
}

// String formats r like time.Duration.String.
func (r RefreshInterval) String() string { return time.Duration(r).String() }

// ColumnList is a non-empty list of column names (see Columns) without repeats, e.g.
// ["proto", "orig", "resp", "state"].
type ColumnList []string

// UnmarshalTOML decodes a TOML array of column names.
func (l *ColumnList) UnmarshalTOML(v any) error {
	var cols []string
	seen := make(map[string]bool)
	err := decodeArray(&cols, v, `columns like ["proto", "orig", "resp"]`, func(e any) (string, error) {
		s, ok := e.(string)
		switch {
		case !ok:
			return "", fmt.Errorf(`want columns as strings like "proto", got %s`, tomlstrict.Describe(e))
		case !slices.Contains(Columns, s):
			return "", fmt.Errorf("unknown column %q: want one of %s", s, oneOf(Columns))
		case seen[s]:
			return "", fmt.Errorf("column %q is already given", s)
		}
		seen[s] = true
		return s, nil
	})
	if err != nil {
		return err
	}
	if len(cols) == 0 {
		return errors.New("want at least one column")
	}
	*l = cols
	return nil
}

// RateUnit is how the TUI shows rates: RateBits or RateBytes.
type RateUnit string

// The values of [ui] units.
const (
	RateBits  RateUnit = "bits"
	RateBytes RateUnit = "bytes"
)

// UnmarshalTOML decodes a TOML rate unit.
func (u *RateUnit) UnmarshalTOML(v any) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf(`want "bits" or "bytes", got %s`, tomlstrict.Describe(v))
	}
	switch x := RateUnit(s); x {
	case RateBits, RateBytes:
		*u = x
		return nil
	}
	return fmt.Errorf("units %q: must be bits or bytes", s)
}

// Linger is how long a closed connection stays visible: a duration (see Duration)
// where 0 means forever.
type Linger time.Duration

// UnmarshalTOML decodes a TOML duration; zero is allowed, negative is an error.
func (l *Linger) UnmarshalTOML(v any) error {
	d, err := parseDuration(v, true)
	if err != nil {
		return err
	}
	*l = Linger(d)
	return nil
}

// String formats l like time.Duration.String.
func (l Linger) String() string { return time.Duration(l).String() }

// Speed is the replay speed of a capture file, as a multiple of real time: "max" (no
// delay, stored as 0) or a positive number such as 1, 10 or 0.5, given as a TOML
// number or a string holding one.
type Speed float64

// UnmarshalTOML decodes a TOML replay speed.
func (s *Speed) UnmarshalTOML(v any) error {
	var x float64
	switch t := v.(type) {
	case string:
		if strings.TrimSpace(t) == "max" {
			*s = 0
			return nil
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
		if err != nil {
			return fmt.Errorf(`speed %q: want "max" or a positive number like 1, 10 or 0.5`, t)
		}
		x = f
	case int64:
		x = float64(t)
	case float64:
		x = t
	default:
		return fmt.Errorf(`want "max" or a speed like 1, 10 or 0.5, got %s`, tomlstrict.Describe(v))
	}
	switch {
	case math.IsNaN(x):
		return fmt.Errorf("speed %s: not a number", showValue(v))
	case x <= 0:
		return fmt.Errorf(`speed %s: must be positive; "max" replays without delay`, showValue(v))
	case math.IsInf(x, 1):
		return fmt.Errorf(`speed %s: too large; "max" replays without delay`, showValue(v))
	case x < MinSpeed:
		return fmt.Errorf("speed %s: slower than %g times real time", showValue(v), MinSpeed)
	}
	*s = Speed(x)
	return nil
}

// MinSpeed is the slowest replay speed: a thousandth of real time.
const MinSpeed = 0.001

// ParseSpeed parses a replay speed as the --speed flag gives it: "max" or a positive
// number.
func ParseSpeed(text string) (Speed, error) {
	var s Speed
	err := s.UnmarshalTOML(text)
	return s, err
}

// String formats s as "max" or a number.
func (s Speed) String() string {
	if s == 0 {
		return "max"
	}
	return strconv.FormatFloat(float64(s), 'g', -1, 64)
}

// KeysSection is the [keys] section: for each action named (see Actions), the keys
// that replace its default keys, spelt as Bubble Tea v1's KeyMsg.String() reports
// them (see ParseKey). Actions the file leaves out keep their defaults; no key is
// bound to two actions of the file.
//
//	[keys]
//	quit = ["q", "ctrl+c"]
//	filter = "/"
//	pause = "space"
type KeysSection map[string][]string

// StartTable makes k an empty, non-nil table.
func (k *KeysSection) StartTable() { *k = KeysSection{} }

// DecodeEntry decodes the entry action = v, where v is a key or an array of keys.
func (k *KeysSection) DecodeEntry(action string, v any) error {
	if !slices.Contains(Actions, action) {
		return fmt.Errorf("unknown action: want one of %s", oneOf(Actions))
	}
	var written []any
	switch x := v.(type) {
	case string:
		written = []any{x}
	case []any:
		if len(x) == 0 {
			return errors.New("want at least one key")
		}
		written = x
	default:
		return fmt.Errorf(`want a key like "q" or an array of keys like ["q", "ctrl+c"], got %s`, tomlstrict.Describe(v))
	}
	keys := make([]string, 0, len(written))
	for _, e := range written {
		s, ok := e.(string)
		if !ok {
			return fmt.Errorf(`want keys as strings like "q", got %s`, tomlstrict.Describe(e))
		}
		key, err := ParseKey(s)
		if err != nil {
			return err
		}
		if slices.Contains(keys, key) {
			return fmt.Errorf("key %q is already given", s)
		}
		for _, other := range Actions { // in a fixed order, so the message is too
			if slices.Contains((*k)[other], key) {
				return fmt.Errorf("key %q is already bound to %s", s, other)
			}
		}
		keys = append(keys, key)
	}
	if *k == nil {
		*k = KeysSection{}
	}
	(*k)[action] = keys
	return nil
}

// UnmarshalTOML decodes a TOML table of action = keys entries. (Parse decodes entry
// by entry instead, so that an error points at the entry's own line.)
func (k *KeysSection) UnmarshalTOML(v any) error {
	tbl, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("want a table, got %s", tomlstrict.Describe(v))
	}
	k.StartTable()
	names := make([]string, 0, len(tbl))
	for name := range tbl {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if err := k.DecodeEntry(name, tbl[name]); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// keyNames are the names of Bubble Tea v1's non-printable keys, as KeyMsg.String()
// spells them, except "ctrl+i", "ctrl+m" and "ctrl+[", which a terminal cannot tell
// from tab, enter and esc and which keyAliases maps.
var keyNames = func() map[string]bool {
	m := make(map[string]bool)
	for _, s := range strings.Fields(`
		enter esc tab shift+tab backspace delete insert
		up down left right home end pgup pgdown
		ctrl+up ctrl+down ctrl+left ctrl+right ctrl+home ctrl+end ctrl+pgup ctrl+pgdown
		shift+up shift+down shift+left shift+right shift+home shift+end
		ctrl+shift+up ctrl+shift+down ctrl+shift+left ctrl+shift+right
		ctrl+shift+home ctrl+shift+end
		ctrl+@ ctrl+\ ctrl+] ctrl+^ ctrl+_`) {
		m[s] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		if c != 'i' && c != 'm' {
			m["ctrl+"+string(c)] = true
		}
	}
	for n := 1; n <= 20; n++ {
		m["f"+strconv.Itoa(n)] = true
	}
	return m
}()

// keyAliases maps other spellings to the one Bubble Tea reports.
var keyAliases = map[string]string{
	"space":  " ",
	"ctrl+i": "tab",
	"ctrl+m": "enter",
	"ctrl+[": "esc",
}

// ParseKey checks a key string and returns it as Bubble Tea v1's KeyMsg.String()
// reports the key: a single printable character ("q", "?", "G"), "space" (returned
// as " "), or a key name such as "enter", "esc", "tab", "pgdown", "f1" or "ctrl+c",
// each optionally prefixed by "alt+". "ctrl+i", "ctrl+m" and "ctrl+[" are returned
// as "tab", "enter" and "esc", since a terminal sends the same bytes for them.
func ParseKey(s string) (string, error) {
	if k, ok := parseKey(s); ok {
		return k, nil
	}
	if lower := strings.ToLower(s); lower != s {
		if _, ok := parseKey(lower); ok {
			return "", fmt.Errorf("key %q: key names are lower case: %q", s, lower)
		}
	}
	return "", fmt.Errorf(`key %q: want a single character, "space", or a key name like "enter", "ctrl+c" or "f1"`, s)
}

func parseKey(s string) (string, bool) {
	alt := strings.HasPrefix(s, "alt+") && len(s) > len("alt+")
	if alt {
		s = s[len("alt+"):]
	}
	if a, ok := keyAliases[s]; ok {
		s = a
	}
	r, n := utf8.DecodeRuneInString(s)
	if !keyNames[s] && (n != len(s) || r == utf8.RuneError || !unicode.IsPrint(r)) {
		return "", false
	}
	if alt {
		s = "alt+" + s
	}
	return s, true
}

// showValue formats a TOML scalar as the user wrote it, for messages.
func showValue(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return fmt.Sprint(v)
}

// oneOf lists names for a message: "a, b or c".
func oneOf(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
