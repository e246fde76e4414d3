package config

import (
	"fmt"
	"github.com/flowtop/flowtop/internal/tomlstrict"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/flowtop/flowtop/tracker"
	"github.com/flowtop/flowtop/units"
)

// Compile-time checks that the value types decode themselves.
var (
	_ toml.Unmarshaler = (*Duration)(nil)
	_ toml.Unmarshaler = (*PortList)(nil)
	_ toml.Unmarshaler = (*PrefixList)(nil)
	_ toml.Unmarshaler = (*PortTimeouts)(nil)
	_ toml.Unmarshaler = (*SizeList)(nil)
	_ toml.Unmarshaler = (*Size)(nil)
	_ toml.Unmarshaler = (*DurationList)(nil)
	_ TableDecoder     = (*PortTimeouts)(nil)
)

// Duration is a positive time span. In TOML it is a string accepted by
// time.ParseDuration ("90s", "1h30m", "500ms") or a number of seconds, given either as
// a TOML number (90, 1.5) or as a string holding one ("90").
type Duration time.Duration

// UnmarshalTOML decodes a TOML duration value; zero and negative durations are errors.
func (d *Duration) UnmarshalTOML(v any) error {
	x, err := parseDuration(v, false)
	if err != nil {
		return err
	}
	*d = Duration(x)
	return nil
}

// String formats d like time.Duration.String, e.g. "1m30s".
func (d Duration) String() string { return time.Duration(d).String() }

// parseDuration decodes a TOML duration value (see Duration). allowZero permits 0.
func parseDuration(v any, allowZero bool) (time.Duration, error) {
	var (
		d     time.Duration
		shown string // v as the user wrote it, for messages
		err   error
	)
	switch x := v.(type) {
	case string:
		shown = strconv.Quote(x)
		s := strings.TrimSpace(x)
		if f, ferr := strconv.ParseFloat(s, 64); ferr == nil {
			d, err = secondsDuration(f, shown)
		} else if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf(`duration %s: want a number of seconds or a duration like "90s" or "1h30m"`, shown)
		}
	case int64:
		shown = strconv.FormatInt(x, 10)
		switch {
		case x < 0:
			return 0, fmt.Errorf("duration %s: must not be negative", shown)
		case x > math.MaxInt64/int64(time.Second):
			return 0, fmt.Errorf("duration %s: too large", shown)
		}
		d = time.Duration(x) * time.Second
	case float64:
		shown = strconv.FormatFloat(x, 'g', -1, 64)
		d, err = secondsDuration(x, shown)
	default:
		return 0, fmt.Errorf(`want a duration like "90s" or a number of seconds, got %s`, tomlstrict.Describe(v))
	}
	switch {
	case err != nil:
		return 0, err
	case d < 0:
		return 0, fmt.Errorf("duration %s: must not be negative", shown)
	case d == 0 && !allowZero:
		return 0, fmt.Errorf("duration %s: must be positive", shown)
	}
	return d, nil
}

// secondsDuration converts a number of seconds to a Duration.
func secondsDuration(sec float64, shown string) (time.Duration, error) {
	ns := math.Round(sec * float64(time.Second))
	switch {
	case math.IsNaN(ns):
		return 0, fmt.Errorf("duration %s: not a number", shown)
	case ns < 0:
		return 0, fmt.Errorf("duration %s: must not be negative", shown)
	case ns >= math.MaxInt64:
		return 0, fmt.Errorf("duration %s: too large", shown)
	}
	return time.Duration(ns), nil
}

// PortList is a list of transport ports, written in TOML as an array of strings like
// ["80/tcp", "53/udp", "3/icmp"] (see tracker.ParsePortProto). An empty array is a
// set, empty list.
type PortList []tracker.PortProto

// UnmarshalTOML decodes a TOML array of "PORT/PROTO" strings.
func (l *PortList) UnmarshalTOML(v any) error {
	return decodeArray((*[]tracker.PortProto)(l), v, `ports like ["80/tcp"]`, func(e any) (tracker.PortProto, error) {
		s, ok := e.(string)
		if !ok {
			return tracker.PortProto{}, fmt.Errorf(`want ports as strings like "80/tcp", got %s`, tomlstrict.Describe(e))
		}
		return tracker.ParsePortProto(s)
	})
}

// PrefixList is a list of IP networks, written in TOML as an array of strings in CIDR
// notation like ["10.0.0.0/8", "2001:db8::/32"]. A bare address stands for itself
// (/32 or /128). Host bits are cleared, as Zeek does for subnet literals:
// "10.1.2.3/8" is 10.0.0.0/8. An empty array is a set, empty list.
type PrefixList []netip.Prefix

// UnmarshalTOML decodes a TOML array of network strings.
func (l *PrefixList) UnmarshalTOML(v any) error {
	return decodeArray((*[]netip.Prefix)(l), v, `networks like ["10.0.0.0/8"]`, func(e any) (netip.Prefix, error) {
		s, ok := e.(string)
		if !ok {
			return netip.Prefix{}, fmt.Errorf(`want networks as strings like "10.0.0.0/8", got %s`, tomlstrict.Describe(e))
		}
		return parsePrefix(s)
	})
}

// decodeArray decodes a TOML array into *dst, each element with elem; what names
// the expected elements in the error for a value that is not an array. An empty
// array gives an empty, non-nil slice.
func decodeArray[T any](dst *[]T, v any, what string, elem func(any) (T, error)) error {
	arr, ok := v.([]any)
	if !ok {
		return fmt.Errorf("want an array of %s, got %s", what, tomlstrict.Describe(v))
	}
	out := make([]T, 0, len(arr))
	for _, e := range arr {
		x, err := elem(e)
		if err != nil {
			return err
		}
		out = append(out, x)
	}
	*dst = out
	return nil
}

// parsePrefix parses "ADDRESS/BITS" or a bare address.
func parsePrefix(s string) (netip.Prefix, error) {
	addrPart, bitsPart, hasBits := strings.Cut(strings.TrimSpace(s), "/")
	a, err := netip.ParseAddr(addrPart)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("net %q: bad IP address", s)
	}
	if a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("net %q: an address zone is not allowed", s)
	}
	bits := a.BitLen()
	if hasBits {
		n, err := strconv.ParseUint(bitsPart, 10, 8)
		if err != nil || int(n) > a.BitLen() {
			return netip.Prefix{}, fmt.Errorf("net %q: prefix length must be 0 to %d", s, a.BitLen())
		}
		bits = int(n)
	}
	return netip.PrefixFrom(a, bits).Masked(), nil
}

// PortTimeouts maps transport ports to inactivity timeouts. In TOML it is a table whose
// keys are "PORT/PROTO" strings and whose values are durations (see Duration), e.g.
//
//	[tracker.port_inactivity]
//	"22/tcp" = "2h"
//	"3389/tcp" = "30m"
//	"21/tcp" = 0     # remove FTP from Zeek's default table
//
// A zero duration ("0", "0s" or 0) removes the port from the table it is merged over.
type PortTimeouts map[tracker.PortProto]time.Duration

// StartTable makes m an empty, non-nil table.
func (m *PortTimeouts) StartTable() { *m = PortTimeouts{} }

// DecodeEntry decodes the entry name = v.
func (m *PortTimeouts) DecodeEntry(name string, v any) error {
	p, err := tracker.ParsePortProto(name)
	if err != nil {
		return err
	}
	d, err := parseDuration(v, true)
	if err != nil {
		return err
	}
	if *m == nil {
		*m = PortTimeouts{}
	}
	if _, dup := (*m)[p]; dup {
		return fmt.Errorf("port %q: %s is already given", name, p)
	}
	(*m)[p] = d
	return nil
}

// UnmarshalTOML decodes a TOML table of "PORT/PROTO" = duration entries. (Parse decodes
// entry by entry instead, so that an error points at the entry's own line.)
func (m *PortTimeouts) UnmarshalTOML(v any) error {
	tbl, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("want a table, got %s", tomlstrict.Describe(v))
	}
	m.StartTable()
	names := make([]string, 0, len(tbl))
	for name := range tbl {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if err := m.DecodeEntry(name, tbl[name]); err != nil {
			return err
		}
	}
	return nil
}

// SizeList is a list of positive counts or byte sizes. In TOML it is an array whose
// elements are integers or strings with a unit (see units.ParseSize):
// [1, 2500, "10MB", "1.5GiB", "500k"].
type SizeList []uint64

// UnmarshalTOML decodes a TOML array of sizes; zero is an error.
func (l *SizeList) UnmarshalTOML(v any) error {
	return decodeArray((*[]uint64)(l), v, `sizes like [2500, "10MB"]`, func(e any) (uint64, error) {
		if x, ok := e.(int64); ok && x <= 0 {
			return 0, fmt.Errorf("size %d: must be positive", x)
		}
		n, err := parseSize(e, `want sizes as integers or strings like "10MB", got %s`)
		if err == nil && n == 0 {
			err = fmt.Errorf("size %q: must be positive", e)
		}
		return n, err
	})
}

// parseSize decodes a TOML size value: a non-negative integer or a string with a
// unit. wrongType formats the error for another type, with the value's description.
func parseSize(v any, wrongType string) (uint64, error) {
	switch x := v.(type) {
	case int64:
		if x < 0 {
			return 0, fmt.Errorf("size %d: must not be negative", x)
		}
		return uint64(x), nil
	case string:
		return units.ParseSize(x)
	}
	return 0, fmt.Errorf(wrongType, tomlstrict.Describe(v))
}

// DurationList is a list of positive durations (see Duration): ["200ms", "1m", 5].
type DurationList []time.Duration

// UnmarshalTOML decodes a TOML array of durations.
func (l *DurationList) UnmarshalTOML(v any) error {
	return decodeArray((*[]time.Duration)(l), v, `durations like ["200ms", "1m"]`, func(e any) (time.Duration, error) {
		return parseDuration(e, false)
	})
}

// Size is a byte size: an integer, or a string with a unit (see units.ParseSize),
// e.g. 1048576, "100MB", "1.5GiB". Zero is allowed.
type Size uint64

// UnmarshalTOML decodes a TOML size.
func (z *Size) UnmarshalTOML(v any) error {
	n, err := parseSize(v, `want a size like 1048576 or "100MB", got %s`)
	*z = Size(n)
	return err
}
