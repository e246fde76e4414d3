package analyzer

import "bytes"

// Helpers for writing signature matchers on raw bytes. A matcher answers for the
// data seen so far: Match when a prefix matches, Fail when nothing appended can
// make it match, More otherwise.

// class is a set of byte values.
type class [4]uint64

func (c *class) has(b byte) bool { return c[b>>6]&(1<<(b&63)) != 0 }

// bytesOf returns the class of the listed bytes.
func bytesOf(bs ...byte) class {
	var c class
	for _, b := range bs {
		c[b>>6] |= 1 << (b & 63)
	}
	return c
}

// span returns the class of the bytes lo through hi.
func span(lo, hi byte) class {
	var c class
	for b := int(lo); b <= int(hi); b++ {
		c[b>>6] |= 1 << (b & 63)
	}
	return c
}

// union returns the class of the bytes in any of cs.
func union(cs ...class) class {
	var u class
	for _, c := range cs {
		for i := range u {
			u[i] |= c[i]
		}
	}
	return u
}

// anyByte is `.` in dot-all mode.
var anyByte = class{^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0)}

// spaceClass is [[:space:]]: tab, newline, vertical tab, form feed, carriage return, space.
var spaceClass = bytesOf('\t', '\n', '\v', '\f', '\r', ' ')

// digitClass is [0-9].
var digitClass = span('0', '9')

// seq matches data against one class per byte, from the start.
func seq(data []byte, cs ...class) Result {
	for i := range cs {
		if i >= len(data) {
			return More
		}
		if !cs[i].has(data[i]) {
			return Fail
		}
	}
	return Match
}

// lit matches a literal prefix.
func lit(data []byte, s string) Result {
	n := min(len(data), len(s))
	if string(data[:n]) != s[:n] {
		return Fail
	}
	if n < len(s) {
		return More
	}
	return Match
}

// litFold matches a literal prefix, ASCII letters in either case.
func litFold(data []byte, s string) Result {
	for i := 0; i < len(s); i++ {
		if i >= len(data) {
			return More
		}
		if lower(data[i]) != lower(s[i]) {
			return Fail
		}
	}
	return Match
}

func lower(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}

// skip returns the offset of the first byte of data not in c.
func skip(data []byte, c *class) int {
	i := 0
	for i < len(data) && c.has(data[i]) {
		i++
	}
	return i
}

// skipped is for a pattern that starts with c*: it returns the rest of data after
// the run, and false when the run reaches the end of data (more of it may come, so
// the answer is More).
func skipped(data []byte, c *class) ([]byte, bool) {
	i := skip(data, c)
	return data[i:], i < len(data)
}

// atLineStarts is `(|.*[\r\n])P`: P at the start of data or after any CR or LF. It
// never fails, since a later line may still match.
func atLineStarts(data []byte, p func([]byte) Result) Result {
	for {
		if p(data) == Match {
			return Match
		}
		i := indexCRLF(data)
		if i < 0 {
			return More
		}
		data = data[i+1:]
	}
}

// oneOf is the alternation of several literal words: Match for the first that
// matches, More when one may still match, else Fail.
func oneOf(data []byte, words []string, fold bool) Result {
	res := Fail
	for _, w := range words {
		var r Result
		if fold {
			r = litFold(data, w)
		} else {
			r = lit(data, w)
		}
		if r == Match {
			return Match
		}
		if r == More {
			res = More
		}
	}
	return res
}

// then chains matchers: a at the start of data, then b after n bytes.
func then(r Result, rest func() Result) Result {
	if r != Match {
		return r
	}
	return rest()
}

// indexCRLF is bytes.IndexAny(b, "\r\n") in two vectorised scans.
func indexCRLF(b []byte) int { return indexEither(b, '\n', '\r') }

// indexSpaceTab is bytes.IndexAny(b, " \t") in two vectorised scans.
func indexSpaceTab(b []byte) int { return indexEither(b, ' ', '\t') }

// indexEither returns the index of the first x or y in b, or -1.
func indexEither(b []byte, x, y byte) int {
	i := bytes.IndexByte(b, x)
	if i < 0 {
		return bytes.IndexByte(b, y)
	}
	if j := bytes.IndexByte(b[:i], y); j >= 0 {
		return j
	}
	return i
}

// trimSpaceTab is bytes.Trim(b, " \t").
func trimSpaceTab(b []byte) []byte { return trimRightSpaceTab(trimLeftSpaceTab(b)) }

// trimLeftSpaceTab is bytes.TrimLeft(b, " \t").
func trimLeftSpaceTab(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	return b
}

// trimRightSpaceTab is bytes.TrimRight(b, " \t").
func trimRightSpaceTab(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}
