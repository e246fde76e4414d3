package units

import (
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
