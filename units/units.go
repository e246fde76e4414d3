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
