// Package units parses and formats the quantities flowtop shows and accepts: sizes
// with SI or IEC prefixes ("10MB", "1.5GiB", "500k").
package units

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ParseSize parses a count or a byte size: a non-negative number, optionally
// followed (spaces allowed) by an SI prefix k, M, G, T, P (powers of 1000) or an
// IEC prefix Ki, Mi, Gi, Ti, Pi (powers of 1024), and an optional "B":
// "2500", "500k", "10MB", "1.5GiB", "64 KiB". The prefix k may also be written K.
// A fractional result is rounded to the nearest integer.
func ParseSize(s string) (uint64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.TrimSpace(t[i:])
	if num == "" {
		return 0, fmt.Errorf("size %q: want a number with an optional unit, e.g. 2500, 500k, 10MB, 1.5GiB", s)
	}
	mult, err := multiplier(unit)
	if err != nil {
		return 0, fmt.Errorf("size %q: %v", s, err)
	}
	if !strings.Contains(num, ".") {
		n, err := strconv.ParseUint(num, 10, 64)
		if err == nil && (n == 0 || n <= math.MaxUint64/mult) {
			return n * mult, nil
		}
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("size %q: bad number", s)
		}
		return 0, fmt.Errorf("size %q: too large", s)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q: bad number", s)
	}
	v := math.Round(f * float64(mult))
	if v >= math.MaxUint64 {
		return 0, fmt.Errorf("size %q: too large", s)
	}
	return uint64(v), nil
}

// multiplier returns the factor of a unit such as "", "k", "MB", "GiB" or "B".
func multiplier(unit string) (uint64, error) {
	u := strings.TrimSuffix(unit, "B")
	if u == "" {
		return 1, nil
	}
	binary := strings.HasSuffix(u, "i")
	u = strings.TrimSuffix(u, "i")
	const prefixes = "kMGTP"
	if len(u) == 1 {
		p := u[0]
		if p == 'K' {
			p = 'k'
		}
		if i := strings.IndexByte(prefixes, p); i >= 0 {
			base := uint64(1000)
			if binary {
				base = 1024
			}
			m := uint64(1)
			for range i + 1 {
				m *= base
			}
			return m, nil
		}
	}
	return 0, fmt.Errorf("unknown unit %q: use k, M, G, T, P (×1000) or Ki, Mi, Gi, Ti, Pi (×1024), optionally with B", unit)
}

// FormatBytes formats a byte count with an IEC prefix and at most 3 significant
// digits: "0 B", "999 B", "1.2 KiB", "15.3 MiB", "117 GiB".
func FormatBytes(n uint64) string {
	if n < 1024 {
		return strconv.FormatUint(n, 10) + " B"
	}
	v, i := reduce(float64(n), 1024, 1024)
	return short(v) + " " + iecPrefixes[i] + "B"
}

// FormatBytesShort formats a byte count in at most 4 cells, with an IEC prefix
// letter and no unit, for narrow tables: "999", "4.4K", "522K", "1.3M", "117G".
func FormatBytesShort(n uint64) string {
	if n < 1000 {
		return strconv.FormatUint(n, 10)
	}
	v, i := reduce(float64(n), 1024, 999.5) // 3 digits at most: 1000 B is 1.0K
	if v < 9.95 {
		return strconv.FormatFloat(v, 'f', 1, 64) + iecPrefixes[i][:1]
	}
	return strconv.FormatFloat(math.Round(v), 'f', 0, 64) + iecPrefixes[i][:1]
}

// FormatRate formats a rate given in bits per second, with an SI prefix: "0 b/s",
// "12.5 kb/s", "1.20 Gb/s"; with bytes set, in bytes per second: "1.56 kB/s".
func FormatRate(bitsPerSec float64, bytes bool) string {
	unit := "b/s"
	if bytes {
		bitsPerSec /= 8
		unit = "B/s"
	}
	if bitsPerSec < 0.5 {
		return "0 " + unit
	}
	v, i := reduce(bitsPerSec, 1000, 999.5)
	if i == 0 {
		return strconv.FormatFloat(math.Round(v), 'f', 0, 64) + " " + unit
	}
	return short(v) + " " + siPrefixes[i] + unit
}

// FormatCount formats a count with an SI prefix and at most 3 significant digits:
// "999", "1.50k", "12.0M".
func FormatCount(n uint64) string {
	if n < 1000 {
		return strconv.FormatUint(n, 10)
	}
	v, i := reduce(float64(n), 1000, 999.5)
	return short(v) + siPrefixes[i]
}

// reduce divides v by base while it is at least limit, up to the last prefix, and
// returns it with the index of its prefix (iecPrefixes or siPrefixes).
func reduce(v, base, limit float64) (float64, int) {
	i := 0
	for v >= limit && i < len(siPrefixes)-1 {
		v /= base
		i++
	}
	return v, i
}

var (
	iecPrefixes = [...]string{"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"}
	siPrefixes  = [...]string{"", "k", "M", "G", "T", "P", "E"}
)

// short formats v (1 <= v < 1024) with 3 significant digits, or as an integer
// from 100 up.
func short(v float64) string {
	switch {
	case v < 9.995:
		return strconv.FormatFloat(v, 'f', 2, 64)
	case v < 99.95:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	}
}
