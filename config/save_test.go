package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSaveColumns(t *testing.T) {
	cols := []string{"proto", "orig", "resp"}
	const want = `columns = ["proto", "orig", "resp"]`
	for _, tc := range []struct {
		name, before, after string // after "": the file is unchanged and an error comes
	}{
		{"no file", "\x00", "[ui]\n" + want + "\n"},
		{"replaced, the rest kept", "# mine\n[ui]\ntheme = \"light\"\ncolumns = [\"uid\"] # old\nlinger = \"5s\"\n",
			"# mine\n[ui]\ntheme = \"light\"\n" + want + " # old\nlinger = \"5s\"\n"},
		{"over several lines", "[ui]\ncolumns = [\n  \"uid\", # first\n  \"proto\",\n]\n[keys]\nquit = \"q\"\n",
			"[ui]\n" + want + "\n[keys]\nquit = \"q\"\n"},
		{"under [ui]", "[tracker]\nignore_checksums = true\n\n[ui] # the view\ntheme = \"mono\"\n",
			"[tracker]\nignore_checksums = true\n\n[ui] # the view\n" + want + "\ntheme = \"mono\"\n"},
		{"appended", "[tracker]\nignore_checksums = true", "[tracker]\nignore_checksums = true\n\n[ui]\n" + want + "\n"},
		{"a file that does not parse", "[ui\ncolumns = 3\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "flowtop", "config.toml")
			if tc.before != "\x00" {
				os.MkdirAll(filepath.Dir(path), 0o755)
				os.WriteFile(path, []byte(tc.before), 0o600)
			}
			err := SaveColumns(path, cols)
			got, _ := os.ReadFile(path)
			if tc.after == "" {
				if err == nil || string(got) != tc.before {
					t.Errorf("error %v, file %q", err, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.after {
				t.Errorf("file\n%s\nwant\n%s", got, tc.after)
			}
			if st, _ := os.Stat(path); tc.before != "\x00" && st.Mode().Perm() != 0o600 {
				t.Errorf("mode %v, want the file's 0600", st.Mode().Perm())
			}
			if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 || strings.HasPrefix(entries[0].Name(), ".config-") {
				t.Errorf("left behind: %v", entries)
			}
		})
	}
}
