// Package userdir says where flowtop's per-user files live.
package userdir

import (
	"os"
	"path/filepath"
)

// Dir returns flowtop's configuration directory: $XDG_CONFIG_HOME/flowtop, or
// ~/.config/flowtop when XDG_CONFIG_HOME is unset or not an absolute path (as the
// XDG spec asks), on every platform. It returns "" if the home directory is not
// known either.
func Dir() string {
	if dir := os.Getenv("XDG_CONFIG_HOME"); dir != "" && filepath.IsAbs(dir) {
		return filepath.Join(dir, "flowtop")
	}
	if home, err := os.UserHomeDir(); err == nil && home != "" {
		return filepath.Join(home, ".config", "flowtop")
	}
	return ""
}
