// Package tomlstrict decodes TOML files strictly, for flowtop's configuration and
// theme files: every key must match a field's toml tag exactly (case-sensitively),
// keys are visited in document order so that the first error reported is the
// first in the file, a field type may implement toml.Unmarshaler or TableDecoder
// (tables whose keys are data), and every error is an *Error of one line,
// "FILE:LINE: KEY: MESSAGE". A bug in the TOML parser that panics becomes an error
// too: the files are user input.
//
// It depends on BurntSushi/toml only, so that packages that read TOML (config,
// themes) need not depend on each other or on the tracker.
package tomlstrict
