package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// uiHeader matches the [ui] table's header line.
var uiHeader = regexp.MustCompile(`^\s*\[\s*ui\s*\]\s*(#.*)?$`)

// SaveColumns writes [ui] columns = cols into the configuration file at path,
// changing nothing else in it: the key's value is replaced where the file sets it,
// else the key goes under [ui], else a [ui] table is appended (a missing file is
// created). The result is parsed before it replaces the file, which is replaced
// atomically; on any error the file is left as it was.
func SaveColumns(path string, cols []string) error {
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = strconv.Quote(c)
	}
	line := "columns = [" + strings.Join(quoted, ", ") + "]"
	out, err := setColumns(path, data, line)
	if err != nil {
		return err
	}
	c, err := Parse(path, out)
	if err != nil {
		return fmt.Errorf("%s: the file would not parse after the change: %v", path, err)
	}
	if !slices.Equal([]string(c.UI.Columns), cols) {
		return fmt.Errorf("%s: [ui] columns did not take (is it set twice?)", path)
	}
	mode := fs.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".config-*.toml")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(out); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// setColumns returns data with line as its [ui] columns.
func setColumns(name string, data []byte, line string) ([]byte, error) {
	lines := strings.SplitAfter(string(data), "\n")
	if len(data) > 0 {
		c, err := Parse(name, data)
		if err != nil {
			return nil, err // a file that does not parse is not edited
		}
		if c.Defined("ui", "columns") {
			at := c.dec.Line([]string{"ui", "columns"}) - 1
			if at < 0 || at >= len(lines) {
				return nil, fmt.Errorf("%s: cannot find the line of [ui] columns", name)
			}
			// The array may run over several lines: up to its closing bracket.
			end, depth := at, 0
		scan:
			for ; end < len(lines); end++ {
				for _, r := range lines[end] {
					switch r {
					case '[':
						depth++
					case ']':
						if depth--; depth == 0 {
							break scan
						}
					case '#':
						if depth > 0 {
							continue scan // a comment inside the array
						}
					}
				}
			}
			if end == len(lines) {
				return nil, fmt.Errorf("%s: cannot find the end of [ui] columns", name)
			}
			rest := lines[end][strings.LastIndexByte(lines[end], ']')+1:]
			repl := line + rest
			if !strings.HasSuffix(repl, "\n") {
				repl += "\n"
			}
			return []byte(strings.Join(slices.Concat(lines[:at], []string{repl}, lines[end+1:]), "")), nil
		}
		for i, l := range lines {
			if uiHeader.MatchString(strings.TrimRight(l, "\r\n")) {
				return []byte(strings.Join(slices.Concat(lines[:i+1], []string{line + "\n"}, lines[i+1:]), "")), nil
			}
		}
	}
	var b bytes.Buffer
	b.Write(data)
	if len(data) > 0 && !bytes.HasSuffix(data, []byte("\n")) {
		b.WriteByte('\n')
	}
	if len(data) > 0 {
		b.WriteByte('\n')
	}
	b.WriteString("[ui]\n" + line + "\n")
	return b.Bytes(), nil
}
