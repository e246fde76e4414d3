package tomlstrict

import (
	"strings"
	"testing"
)

type sample struct {
	Name  string `toml:"name"`
	Count int    `toml:"count"`
	Inner struct {
		On bool `toml:"on"`
	} `toml:"inner"`
}

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name, doc, err string
	}{
		{"good", "name = \"x\"\ncount = 3\n[inner]\non = true\n", ""},
		{"unknown key", "name = \"x\"\nbogus = 1\n", "f.toml:2: bogus: unknown key"},
		{"wrong type", "count = \"three\"\n", "f.toml:1: count: "},
		{"first error wins", "[inner]\nnope = 1\n[other]\n", "f.toml:2: inner.nope: unknown key"},
		{"syntax", "name = \n", "f.toml:1: "},
		{"key case", "Name = \"x\"\n", "f.toml:1: Name: unknown key"},
	} {
		var v sample
		err := Decode("f.toml", []byte(tc.doc), &v)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.err != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.err)):
			t.Errorf("%s: error %v, want %q...", tc.name, err, tc.err)
		case err != nil && strings.Contains(err.Error(), "\n"):
			t.Errorf("%s: error of more than one line: %q", tc.name, err)
		}
		if tc.err == "" && (v.Name != "x" || v.Count != 3 || !v.Inner.On) {
			t.Errorf("%s: decoded %+v", tc.name, v)
		}
	}
	d, err := Parse("f.toml", []byte("name = \"x\"\n\n[inner]\non = true\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Line([]string{"inner", "on"}); got != 4 {
		t.Errorf("line of inner.on: %d, want 4", got)
	}
	if !d.MetaData().IsDefined("inner", "on") || d.Name() != "f.toml" {
		t.Error("metadata or name lost")
	}
}

// FuzzDecode decodes any document: an error of one line, never a panic.
func FuzzDecode(f *testing.F) {
	f.Add("name = \"x\"\ncount = 3\n[inner]\non = true\n")
	f.Add("[[inner]]\n")
	f.Fuzz(func(t *testing.T, doc string) {
		var v sample
		if err := Decode("f.toml", []byte(doc), &v); err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("error of more than one line: %q", err)
		}
	})
}
