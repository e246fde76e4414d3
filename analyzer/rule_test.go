package analyzer

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// The matchers of the DPD rules are written on raw bytes; these tests hold each to
// its Pattern, compiled by Go's regexp with each byte read as the rune of the same
// value (service-detection.md §2.4: prefix-anchored, dot-all, byte semantics).

var (
	hexByte = regexp.MustCompile(`\\x([0-9a-fA-F]{2})`)
)

// patternRE compiles a rule's Pattern for Latin-1 input.
func patternRE(t testing.TB, r *Rule) *regexp.Regexp {
	t.Helper()
	p := hexByte.ReplaceAllString(r.Pattern, `\x{$1}`)
	re, err := regexp.Compile(`^(?s:` + p + `)`)
	if err != nil {
		t.Fatalf("rule %s: pattern %q: %v", r.Name, r.Pattern, err)
	}
	return re
}

// latin1 maps each byte to the rune of the same value.
func latin1(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		sb.WriteRune(rune(c))
	}
	return sb.String()
}

var _ = utf8.RuneLen

// atLines is `(|.*[\r\n])P` evaluated with a line rule's AtLine, as the PIA does
// it over a whole stream at once.
func atLines(r *Rule, data []byte) Result {
	var p pia
	st := &lineState{}
	p.starts = lineStarts(nil, data, 0)
	return p.matchLines(st, 0, r, data)
}

// checkRuleOn compares r.Match on data with the pattern: Match exactly when the
// pattern matches a prefix, and Fail only when no suffix makes it match (tried
// with suffixes drawn from the data and from the pattern's alphabet). A line rule's
// AtLine, applied at every line start, must agree with Match, also when the data
// arrives cut in two, and so must Resume wherever Match said More on a prefix.
func checkRuleOn(t testing.TB, r *Rule, re *regexp.Regexp, data []byte, rng *rand.Rand) {
	t.Helper()
	if r.AtLine != nil {
		if a, m := atLines(r, data) == Match, r.Match(data) == Match; a != m {
			t.Fatalf("rule %s on %q: AtLine at the line starts says match=%v, Match says %v", r.Name, data, a, m)
		}
		if len(data) > 1 {
			cut := rng.IntN(len(data))
			var p pia
			st := &lineState{}
			p.starts = lineStarts(nil, data[:cut], 0)
			first := p.matchLines(st, 0, r, data[:cut])
			p.starts = lineStarts(p.starts[:0], data, cut)
			var second Result
			if st.full[0] { // as the PIA does after too many pending line starts
				second = r.Match(data)
			} else {
				second = p.matchLines(st, 0, r, data)
			}
			if got, want := first == Match || second == Match, r.Match(data) == Match; got != want {
				t.Fatalf("rule %s on %q cut at %d: incremental match=%v, Match says %v", r.Name, data, cut, got, want)
			}
		}
	}
	if r.Resume != nil {
		full := r.Match(data)
		for cut := 1; cut < len(data); cut++ {
			if r.Match(data[:cut]) != More {
				continue
			}
			if res := r.Resume(data, cut); res != full {
				t.Fatalf("rule %s on %q resumed at %d: %v, Match says %v", r.Name, data, cut, res, full)
			}
		}
	}
	got := r.Match(data)
	want := re.MatchString(latin1(data))
	if (got == Match) != want {
		t.Fatalf("rule %s on %q: Match says %v, pattern says match=%v", r.Name, data, got, want)
	}
	if got != Fail {
		return
	}
	for range 4 {
		ext := append([]byte(nil), data...)
		n := rng.IntN(64)
		for range n {
			ext = append(ext, byte(rng.IntN(256)))
		}
		if re.MatchString(latin1(ext)) {
			t.Fatalf("rule %s on %q: Match says Fail, but %q matches", r.Name, data, ext)
		}
	}
}

// ruleSamples are inputs for every rule: matches and near misses.
var ruleSamples = []string{
	"", "G", "GET / HTTP/1.1\r\n", "  POST /x", "HTTP/1.1 200 OK\r\n", "http/1",
	"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", "\x16\x03\x03\x00\x5a\x02\x00\x00\x56\x03\x03",
	"SSH-2.0-OpenSSH_9.2\r\n", "ssh-1.99-x", "220 ftp ready\r\n331 pw\r\n", "USER anonymous\r\n",
	"220 mail ESMTP\r\n", "EHLO x\r\n", "helo x", "+OK ready\r\n", "CAPA\r\n", "USER bob\r\nNICK bob\r\n",
	"NICK a\r\nUSER a b c :d\r\n", ":irc.x 001 nick :hi\r\n", "SERVER a 1 :x\r\n",
	"<?xml version='1.0'?><stream:stream to='x' xmlns='jabber:client'>", "\x04\x01\x00\x50\x01\x02\x03\x04user\x00",
	"\x00\x5a", "\x05\x01\x00", "\x05\x00", "\x00\x00\x00\x2f\xffSMB", "\x00\x00\x00\x2f\xfeSMB", "\x05\x00\x0b",
	"\x30\x0c\x02\x01\x01\x60\x07", "\x30\x84", "\x00\x00\x00\x08\x04\xd2\x16\x2f", "S", "N",
	"\x00\x00\x00\x29\x00\x03\x00\x00user\x00postgres\x00", "R\x00\x00\x00\x08", "+OK\r\n", ":1\r\n", "*1\r\n$4\r\nPING\r\n",
	"RFB 003.008\n", "\x03\x00\x00\x13\x0e\xd0", "Cookie: mstshash=a", "\x10\x0e\x00\x04MQTT", "\x05\x64\x05\xc9",
	"\xc3\x00\x00\x00\x01\x08", "\xd1\x6b\x33\x43\xcf", "INVITE sip:a SIP/2.0\r\n", "SIP/2.0 200 OK\r\n",
	"\x6a\x81\x00\x30\x81\x00\xa1\x03\x02\x01\x05\xa2\x03\x02\x01", "\x16\xfe\xff\x00\x00\x00\x00\x00\x00\x00",
	"\xff\xff\xff\xff\x00\x00\x00\x01", "\x15\x03\x01\x00\x02\x02\x28",
}

func TestRulesMatchPatterns(t *testing.T) {
	registered()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, r := range allRules {
		re := patternRE(t, r)
		for _, s := range ruleSamples {
			checkRuleOn(t, r, re, []byte(s), rng)
			// Prefixes: every one of a short sample, some of a long one (the
			// fuzz target covers the rest).
			for i := 0; i < len(s); i += 1 + len(s)/24 {
				checkRuleOn(t, r, re, []byte(s[:i]), rng)
			}
		}
		for range 400 {
			n := rng.IntN(40)
			b := make([]byte, n)
			for i := range b {
				if rng.IntN(2) == 0 {
					b[i] = byte(rng.IntN(256))
				} else {
					s := ruleSamples[rng.IntN(len(ruleSamples))]
					if len(s) > 0 {
						b[i] = s[rng.IntN(len(s))]
					}
				}
			}
			checkRuleOn(t, r, re, b, rng)
		}
	}
}

// FuzzRules holds every rule's matcher to its pattern on any input.
func FuzzRules(f *testing.F) {
	for _, s := range ruleSamples {
		f.Add([]byte(s))
	}
	registered()
	res := make([]*regexp.Regexp, len(allRules))
	for i, r := range allRules {
		res[i] = patternRE(f, r)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rng := rand.New(rand.NewPCG(uint64(len(data)), 7))
		for i, r := range allRules {
			checkRuleOn(t, r, res[i], data, rng)
		}
	})
}
