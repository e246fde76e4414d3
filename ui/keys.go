package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
)

// KeyMap binds every action of the TUI to its keys. The help screen and the footer
// are generated from it, so a rebinding in the config file shows up there too.
type KeyMap struct {
	Quit, Help, Filter, SortNext, SortReverse  key.Binding
	Up, Down, Top, Bottom, PageUp, PageDown    key.Binding
	Detail, Back, Pause, Thresholds, Defaults  key.Binding
	Extract, ExtractAll, Closed, Units, Alerts key.Binding
	Names, Time, Copy, Jump, Columns           key.Binding
	RateWindow, Packets                        key.Binding
}

// action is one bindable action: its name in the [keys] config section, default
// keys, help text and where it lives in KeyMap.
type action struct {
	name string
	keys []string
	help string
	get  func(*KeyMap) *key.Binding
}

var actions = []action{
	{"quit", []string{"q", "ctrl+c"}, "quit", func(k *KeyMap) *key.Binding { return &k.Quit }},
	{"help", []string{"?"}, "help", func(k *KeyMap) *key.Binding { return &k.Help }},
	{"filter", []string{"/"}, "filter", func(k *KeyMap) *key.Binding { return &k.Filter }},
	{"sort_next", []string{"s"}, "sort by next column", func(k *KeyMap) *key.Binding { return &k.SortNext }},
	{"sort_reverse", []string{"S"}, "reverse order", func(k *KeyMap) *key.Binding { return &k.SortReverse }},
	{"up", []string{"k", "up"}, "up", func(k *KeyMap) *key.Binding { return &k.Up }},
	{"down", []string{"j", "down"}, "down", func(k *KeyMap) *key.Binding { return &k.Down }},
	{"top", []string{"g", "home"}, "first row", func(k *KeyMap) *key.Binding { return &k.Top }},
	{"bottom", []string{"G", "end"}, "last row", func(k *KeyMap) *key.Binding { return &k.Bottom }},
	{"page_up", []string{"pgup", "ctrl+b"}, "page up", func(k *KeyMap) *key.Binding { return &k.PageUp }},
	{"page_down", []string{"pgdown", "ctrl+f"}, "page down", func(k *KeyMap) *key.Binding { return &k.PageDown }},
	{"detail", []string{"enter"}, "details", func(k *KeyMap) *key.Binding { return &k.Detail }},
	{"back", []string{"esc"}, "back / close", func(k *KeyMap) *key.Binding { return &k.Back }},
	{"pause", []string{"p", " "}, "pause display", func(k *KeyMap) *key.Binding { return &k.Pause }},
	{"thresholds", []string{"t"}, "thresholds of this connection", func(k *KeyMap) *key.Binding { return &k.Thresholds }},
	{"default_thresholds", []string{"T"}, "default thresholds", func(k *KeyMap) *key.Binding { return &k.Defaults }},
	{"extract", []string{"x"}, "extract this connection", func(k *KeyMap) *key.Binding { return &k.Extract }},
	{"packets", []string{"w"}, "write this connection's packets (pcapng)", func(k *KeyMap) *key.Binding { return &k.Packets }},
	{"extract_all", []string{"X"}, "extract all new connections", func(k *KeyMap) *key.Binding { return &k.ExtractAll }},
	{"closed", []string{"c"}, "show closed", func(k *KeyMap) *key.Binding { return &k.Closed }},
	{"units", []string{"b"}, "bits / bytes", func(k *KeyMap) *key.Binding { return &k.Units }},
	{"names", []string{"n"}, "names / numbers", func(k *KeyMap) *key.Binding { return &k.Names }},
	{"rate_window", []string{"r"}, "rates over 2 s / 10 s / 40 s", func(k *KeyMap) *key.Binding { return &k.RateWindow }},
	{"columns", []string{"C"}, "choose columns (show, hide, order; w saves)", func(k *KeyMap) *key.Binding { return &k.Columns }},
	{"jump", []string{":"}, "go to a connection by uid or address", func(k *KeyMap) *key.Binding { return &k.Jump }},
	{"copy", []string{"y"}, "copy uid / 5-tuple / conn.log line (OSC 52)", func(k *KeyMap) *key.Binding { return &k.Copy }},
	{"time", []string{"d"}, "start time: of day / since capture start / epoch", func(k *KeyMap) *key.Binding { return &k.Time }},
	{"alerts", []string{"a"}, "alerts pane", func(k *KeyMap) *key.Binding { return &k.Alerts }},
}

// Actions returns the names of the bindable actions, as the [keys] section spells
// them.
func Actions() []string {
	names := make([]string, len(actions))
	for i, a := range actions {
		names[i] = a.name
	}
	return names
}

// KeyError is NewKeyMap's error: what is wrong with the binding of Action.
type KeyError struct {
	Action string
	Msg    string
}

func (e *KeyError) Error() string { return "keys: " + e.Action + ": " + e.Msg }

// NewKeyMap returns the default bindings with overrides (action name → keys, as in
// the [keys] config section) applied. An unknown action or a key bound to two
// actions is a *KeyError naming the override at fault.
func NewKeyMap(overrides map[string][]string) (KeyMap, error) {
	var k KeyMap
	owner := map[string]string{}
	known := map[string]bool{}
	for _, a := range actions {
		known[a.name] = true
	}
	for name := range overrides {
		if !known[name] {
			return k, &KeyError{name, "unknown action (known: " + strings.Join(Actions(), ", ") + ")"}
		}
	}
	for _, a := range actions {
		keys := a.keys
		if o, ok := overrides[a.name]; ok {
			keys = o
		}
		for _, s := range keys {
			if prev, ok := owner[s]; ok {
				// Name the action the file rebound: the other kept its default.
				at := a.name
				if _, ok := overrides[prev]; ok {
					at = prev
				}
				return k, &KeyError{at, fmt.Sprintf("%q is bound to both %s and %s", keyName(s), prev, a.name)}
			}
			owner[s] = a.name
		}
		*a.get(&k) = key.NewBinding(key.WithKeys(keys...), key.WithHelp(helpKeys(keys), a.help))
	}
	return k, nil
}

// helpKeys spells keys for the help screen: "j/↓".
func helpKeys(keys []string) string {
	names := make([]string, len(keys))
	for i, s := range keys {
		names[i] = keyName(s)
	}
	return strings.Join(names, "/")
}

// keyName is how the help shows one key.
func keyName(s string) string {
	switch s {
	case " ":
		return "space"
	case "up":
		return "↑"
	case "down":
		return "↓"
	case "left":
		return "←"
	case "right":
		return "→"
	}
	return s
}

// ShortHelp is the footer: the essentials.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Help, k.Filter, k.SortNext, k.Detail, k.Pause, k.Thresholds, k.Extract, k.Quit}
}

// FullHelp is the help screen: every binding, in columns.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom, k.Detail, k.Back},
		{k.Filter, k.SortNext, k.SortReverse, k.Closed, k.Units, k.Names, k.Alerts, k.Pause},
		{k.Thresholds, k.Defaults, k.Extract, k.Packets, k.ExtractAll, k.Jump, k.Copy, k.Time, k.Columns, k.RateWindow, k.Help, k.Quit},
	}
}

// componentKeys is the footer help of an overlay (the thresholds dialog, the
// detail view): its own keys, in place of the table's.
type componentKeys []key.Binding

// ShortHelp implements help.KeyMap.
func (k componentKeys) ShortHelp() []key.Binding { return k }

// FullHelp implements help.KeyMap.
func (k componentKeys) FullHelp() [][]key.Binding { return [][]key.Binding{k} }

// helpOnly is a binding shown in the help without being matched by the model
// (the component handles the key itself).
func helpOnly(keys, text string) key.Binding {
	return key.NewBinding(key.WithKeys(keys), key.WithHelp(keys, text))
}

// dialogKeys are the thresholds dialog's keys.
var dialogKeys = componentKeys{
	helpOnly("tab", "next field"), helpOnly("←/→", "change"), helpOnly("enter", "add"),
	helpOnly("d", "delete"), helpOnly("esc", "close"),
}
