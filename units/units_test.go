package units

import (
	"math"
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    uint64
		wantErr string
	}{
		{"0", 0, ""},
		{"2500", 2500, ""},
		{" 2500 ", 2500, ""},
		{"500k", 500_000, ""},
		{"500K", 500_000, ""},
		{"10MB", 10_000_000, ""},
		{"10 MB", 10_000_000, ""},
		{"1.5GiB", 1_610_612_736, ""},
		{"64KiB", 65536, ""},
		{"1Ki", 1024, ""},
		{"2B", 2, ""},
		{"1.5k", 1500, ""},
		{"0.0004k", 0, ""},
		{"16PiB", 16 << 50, ""},
		{"18446744073709551615", 18446744073709551615, ""},
		{"18446744073709551616", 0, "too large"},
		{"20000PB", 0, "too large"},
		{"", 0, "want a number"},
		{"MB", 0, "want a number"},
		{"-5", 0, "want a number"},
		{"10 mb", 0, "unknown unit"},
		{"10XB", 0, "unknown unit"},
		{"1.2.3k", 0, "bad number"},
	}
	for _, tc := range tests {
		got, err := ParseSize(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseSize(%q) = %d, %v; want an error containing %q", tc.in, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"10MB", "1.5GiB", "500k", "2500", "1e9", "99999999999999999999PiB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseSize(s)
		if err == nil && strings.TrimSpace(s) == "" {
			t.Fatalf("ParseSize(%q) = %d without error", s, v)
		}
	})
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{FormatBytes(0), "0 B"},
		{FormatBytes(1023), "1023 B"},
		{FormatBytes(1024), "1.00 KiB"},
		{FormatBytes(1536), "1.50 KiB"},
		{FormatBytes(15 * 1024 * 1024), "15.0 MiB"},
		{FormatBytes(117 << 30), "117 GiB"},
		{FormatBytes(1<<64 - 1), "16.0 EiB"},
		{FormatRate(0, false), "0 b/s"},
		{FormatRate(999, false), "999 b/s"},
		{FormatRate(999.6, false), "1.00 kb/s"},
		{FormatRate(12500, false), "12.5 kb/s"},
		{FormatRate(1.2e9, false), "1.20 Gb/s"},
		{FormatRate(12500, true), "1.56 kB/s"},
		{FormatRate(8, true), "1 B/s"},
		{FormatCount(999), "999"},
		{FormatCount(1500), "1.50k"},
		{FormatCount(12_000_000), "12.0M"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

// The formatted size parses back to within the rounding of 3 significant digits.
func TestFormatBytesRoundTrip(t *testing.T) {
	for _, n := range []uint64{1, 999, 4096, 123456, 98765432, 1 << 40, 5 << 50} {
		s := strings.ReplaceAll(FormatBytes(n), " ", "")
		back, err := ParseSize(s)
		if err != nil {
			t.Fatalf("%d: %q does not parse: %v", n, s, err)
		}
		if d := math.Abs(float64(back)-float64(n)) / float64(n); d > 0.006 {
			t.Errorf("%d → %q → %d (off by %.2f%%)", n, s, back, d*100)
		}
	}
}

func TestFormatBytesShort(t *testing.T) {
	for _, tc := range []struct {
		n    uint64
		want string
	}{
		{0, "0"}, {999, "999"}, {1000, "1.0K"}, {4480, "4.4K"}, {534861, "522K"}, {1023 * 1024, "1.0M"},
		{1 << 20, "1.0M"}, {1_400_000, "1.3M"}, {117 << 30, "117G"}, {1 << 62, "4.0E"},
	} {
		if got := FormatBytesShort(tc.n); got != tc.want || len(got) > 4 {
			t.Errorf("FormatBytesShort(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}
