package tomlstrict

import (
	"bytes"
	"cmp"
	"encoding"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/BurntSushi/toml"
)

// Error is a configuration error: a TOML syntax error, an unknown key or a bad value.
// Its message is always one line: "FILE:LINE: KEY: MESSAGE", where LINE is left out
// when it is not known and KEY is left out for syntax errors.
type Error struct {
	File string // the name given to Parse, or the path given to Load
	Line int    // 1-based line of the key (for a syntax error, of the error); 0 if unknown
	Key  string // dotted TOML key, e.g. "tracker.local_nets"; "" for a syntax error
	Msg  string // what is wrong
}

// Error formats e as one line.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.File == "" {
		b.WriteString("config")
	}
	if e.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return oneLine(b.String())
}

// TableDecoder is implemented by table-valued types whose keys are data rather than
// field names (ports, colour names, roles). They decode one entry at a time, so that
// an error names the entry's own key and line.
type TableDecoder interface {
	// StartTable is called once, before the table's entries.
	StartTable()
	// DecodeEntry decodes the entry name = v (v as the TOML Decoder gives it: string,
	// int64, float64, bool, []any or map[string]any).
	DecodeEntry(name string, v any) error
}

// Decoder walks a parsed TOML document into a struct, strictly: every key must match a
// field's toml tag exactly, and keys are visited in document order so that the first
// error reported is the first one in the file.
type Decoder struct {
	name  string
	md    toml.MetaData
	root  map[string]toml.Primitive
	order map[string]int // Key.String() → index in md.Keys() of its first appearance
}

// Decode parses data strictly into the struct v points to: keys match toml tags
// exactly, a field type may implement toml.Unmarshaler or TableDecoder, and the
// error is an *Error of one line, "name:LINE: KEY: MESSAGE".
func Decode(name string, data []byte, v any) error {
	d, err := Parse(name, data)
	if err != nil {
		return err
	}
	return d.Decode(v)
}

// Parse parses data, the contents of the file name (used in error messages only),
// and returns its Decoder.
func Parse(name string, data []byte) (*Decoder, error) {
	d := &Decoder{name: name}
	if err := d.parse(data); err != nil {
		return nil, err
	}
	return d, nil
}

// Name returns the file's name as given to Parse.
func (d *Decoder) Name() string { return d.name }

// MetaData returns what the TOML decoder knows of the document: the keys it defined.
func (d *Decoder) MetaData() *toml.MetaData { return &d.md }

// parse parses data. BurntSushi/toml reports syntax errors as values, but a bug in
// it could still panic; that becomes an error too, since config files are user input.
func (d *Decoder) parse(data []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &Error{File: d.name, Msg: fmt.Sprintf("toml: internal error: %v", r)}
		}
	}()
	md, err := toml.Decode(string(data), &d.root)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return &Error{File: d.name, Line: syntaxLine(data, pe.Position), Msg: tidy(pe.Message)}
		}
		return &Error{File: d.name, Msg: tidy(err.Error())}
	}
	d.md = md
	d.order = make(map[string]int)
	for i, k := range md.Keys() {
		for n := 1; n <= len(k); n++ {
			s := k[:n].String()
			if _, ok := d.order[s]; !ok {
				d.order[s] = i
			}
		}
	}
	return nil
}

// syntaxLine returns the line of a TOML syntax error. The byte offset is more reliable
// than the parser's line count, which is one too high for an error at a newline
// ("expected ']' ... but got '\n'"). Offsets count from after a byte order mark, which
// the parser strips.
func syntaxLine(data []byte, pos toml.Position) int {
	switch {
	case bytes.HasPrefix(data, []byte("\xef\xbb\xbf")):
		data = data[3:]
	case bytes.HasPrefix(data, []byte("\xff\xfe")), bytes.HasPrefix(data, []byte("\xfe\xff")):
		data = data[2:]
	}
	if pos.Start <= 0 || pos.Start > len(data) {
		return pos.Line
	}
	return 1 + bytes.Count(data[:pos.Start], []byte("\n"))
}

// Decode decodes the whole document into the struct that v points to.
func (d *Decoder) Decode(v any) error {
	tbl := make(map[string]any, len(d.root))
	for name, p := range d.root {
		var raw any
		if err := d.md.PrimitiveDecode(p, &raw); err != nil {
			return d.fail(toml.Key{name}, err)
		}
		tbl[name] = raw
	}
	return d.decodeStruct(nil, tbl, reflect.ValueOf(v).Elem())
}

// sorted returns the names in tbl (the table at key) in document order.
func (d *Decoder) sorted(key toml.Key, tbl map[string]any) []string {
	type entry struct {
		name string
		pos  int
	}
	entries := make([]entry, 0, len(tbl))
	for name := range tbl {
		pos, ok := d.order[child(key, name).String()]
		if !ok {
			pos = math.MaxInt
		}
		entries = append(entries, entry{name, pos})
	}
	slices.SortFunc(entries, func(a, b entry) int {
		return cmp.Or(cmp.Compare(a.pos, b.pos), strings.Compare(a.name, b.name))
	})
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.name
	}
	return names
}

// child returns key extended by name, without sharing key's backing array.
func child(key toml.Key, name string) toml.Key {
	return append(key[:len(key):len(key)], name)
}

// tomlFields maps the toml tag names of t's exported fields to field indexes.
func tomlFields(t reflect.Type) map[string]int {
	m := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if name != "" && name != "-" {
			m[name] = i
		}
	}
	return m
}

// decodeStruct decodes the table tbl, found at key, into the struct rv.
func (d *Decoder) decodeStruct(key toml.Key, tbl map[string]any, rv reflect.Value) error {
	fields := tomlFields(rv.Type())
	for _, name := range d.sorted(key, tbl) {
		k := child(key, name)
		i, ok := fields[name]
		if !ok {
			if len(key) == 0 && isTable(tbl[name]) {
				return d.errorf(k, "unknown section")
			}
			return d.errorf(k, "unknown key")
		}
		if err := d.decodeValue(k, tbl[name], rv.Field(i)); err != nil {
			return err
		}
	}
	return nil
}

func isTable(v any) bool {
	switch v.(type) {
	case map[string]any, []map[string]any:
		return true
	}
	return false
}

// decodeValue decodes v, the value of key, into the field fv.
func (d *Decoder) decodeValue(key toml.Key, v any, fv reflect.Value) error {
	switch p := fv.Addr().Interface().(type) {
	case TableDecoder:
		tbl, ok := v.(map[string]any)
		if !ok {
			return d.errorf(key, "want a table, got %s", Describe(v))
		}
		p.StartTable()
		for _, name := range d.sorted(key, tbl) {
			if err := p.DecodeEntry(name, tbl[name]); err != nil {
				return d.fail(child(key, name), err)
			}
		}
		return nil
	case toml.Unmarshaler:
		if err := p.UnmarshalTOML(v); err != nil {
			return d.fail(key, err)
		}
		return nil
	case encoding.TextUnmarshaler:
		s, ok := v.(string)
		if !ok {
			return d.errorf(key, "want a string, got %s", Describe(v))
		}
		if err := p.UnmarshalText([]byte(s)); err != nil {
			return d.fail(key, err)
		}
		return nil
	}
	switch fv.Kind() {
	case reflect.Struct:
		tbl, ok := v.(map[string]any)
		if !ok {
			return d.errorf(key, "want a table, got %s", Describe(v))
		}
		return d.decodeStruct(key, tbl, fv)
	case reflect.Bool:
		b, ok := v.(bool)
		if !ok {
			return d.errorf(key, "want true or false, got %s", Describe(v))
		}
		fv.SetBool(b)
	case reflect.String:
		s, ok := v.(string)
		if !ok {
			return d.errorf(key, "want a string, got %s", Describe(v))
		}
		fv.SetString(s)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := v.(int64)
		if !ok {
			return d.errorf(key, "want an integer, got %s", Describe(v))
		}
		if fv.OverflowInt(n) {
			return d.errorf(key, "%d is out of range", n)
		}
		fv.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, ok := v.(int64)
		if !ok {
			return d.errorf(key, "want an integer, got %s", Describe(v))
		}
		if n < 0 || fv.OverflowUint(uint64(n)) {
			return d.errorf(key, "%d is out of range", n)
		}
		fv.SetUint(uint64(n))
	case reflect.Float32, reflect.Float64:
		var f float64
		switch x := v.(type) {
		case float64:
			f = x
		case int64:
			f = float64(x)
		default:
			return d.errorf(key, "want a number, got %s", Describe(v))
		}
		if fv.OverflowFloat(f) {
			return d.errorf(key, "%v is out of range", f)
		}
		fv.SetFloat(f)
	default:
		// A programming error in this package: a field type the walk does not know.
		return d.errorf(key, "cannot decode into %s", fv.Type())
	}
	return nil
}

// fail returns err as an *Error for key.
func (d *Decoder) fail(key toml.Key, err error) error {
	msg := err.Error()
	var pe toml.ParseError
	if errors.As(err, &pe) {
		msg = pe.Message
	}
	return &Error{File: d.name, Line: d.Line(key), Key: key.String(), Msg: msg}
}

func (d *Decoder) errorf(key toml.Key, format string, args ...any) error {
	return d.fail(key, fmt.Errorf(format, args...))
}

// probe is decoded into a toml.Primitive only to make the TOML Decoder report the
// position of the primitive's key in a ParseError: MetaData has no accessor for it.
type probe struct{}

var errProbe = errors.New("probe")

func (probe) UnmarshalTOML(any) error { return errProbe }

// Line returns the line where key is defined, or 0 if it is not known.
func (d *Decoder) Line(key toml.Key) int {
	prims := d.root
	for i, name := range key {
		p, ok := prims[name]
		if !ok {
			return 0
		}
		if i == len(key)-1 {
			var pe toml.ParseError
			if errors.As(d.md.PrimitiveDecode(p, probe{}), &pe) && pe.Position.Line > 0 {
				return pe.Position.Line
			}
			break
		}
		prims = nil
		if d.md.PrimitiveDecode(p, &prims) != nil {
			return 0
		}
	}
	// A table made implicitly, by a dotted key or a [a.b] header, has no position of
	// its own: use the first key inside it.
	if i, ok := d.order[key.String()]; ok {
		if first := d.md.Keys()[i]; len(first) > len(key) {
			return d.Line(first)
		}
	}
	return 0
}

// Describe names the TOML type of a decoded value, with the value when it is short.
func Describe(v any) string {
	switch x := v.(type) {
	case string:
		if len(x) > 40 {
			return "a string"
		}
		return "a string (" + strconv.Quote(x) + ")"
	case int64:
		return "an integer (" + strconv.FormatInt(x, 10) + ")"
	case float64:
		return "a float (" + strconv.FormatFloat(x, 'g', -1, 64) + ")"
	case bool:
		return "a boolean (" + strconv.FormatBool(x) + ")"
	case time.Time:
		return "a date-time"
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	case []map[string]any:
		return "an array of tables"
	}
	return fmt.Sprintf("a %T", v)
}

// tidy makes a TOML library message fit this package's style: no trailing period, and
// a lower-case first letter unless the first word is an acronym.
func tidy(msg string) string {
	msg = strings.TrimSuffix(strings.TrimSpace(msg), ".")
	r, n := utf8.DecodeRuneInString(msg)
	if n > 0 && unicode.IsUpper(r) {
		if next, _ := utf8.DecodeRuneInString(msg[n:]); !unicode.IsUpper(next) {
			msg = string(unicode.ToLower(r)) + msg[n:]
		}
	}
	return msg
}

// oneLine escapes control characters and Unicode line breaks in s, so that an error
// message can never span lines.
func oneLine(s string) string {
	isBreak := func(r rune) bool {
		return r < 0x20 || r == 0x7f || r == 0x85 || r == '\u2028' || r == '\u2029'
	}
	if !strings.ContainsFunc(s, isBreak) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if isBreak(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
