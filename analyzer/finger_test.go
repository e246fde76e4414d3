package analyzer

import (
	"strings"
	"testing"
)

// A finger query and the answer of a BSD fingerd (RFC 1288 §2.3).
const (
	fingerQuery = "alice\r\n"
	fingerReply = "Login: alice          \t\t\tName: Alice Liddell\r\n" +
		"Directory: /home/alice              \tShell: /bin/bash\r\n" +
		"Never logged in.\r\n" +
		"No Plan.\r\n"
)

// TestFinger covers queries, answers, UTF-8, line bounds and FIN inside a line.
func TestFinger(t *testing.T) {
	conv := []step{o(fingerQuery), r(fingerReply)}
	for _, tc := range []struct {
		name string
		s    script
		want string
	}{
		{"a query and its answer", script{Steps: conv}, "finger"},
		{"one byte at a time", script{Steps: bytewise(conv)}, "finger"},
		{"the query alone", script{Steps: []step{o(fingerQuery)}}, "finger"},
		{"the answer alone", script{Steps: []step{r(fingerReply)}}, "finger"},
		{"a query with a host", script{Steps: []step{o("alice@example.com\r\n")}}, "finger"},
		{"a verbose query", script{Steps: []step{o("/W alice\r\n")}}, "finger"},
		{"a verbose query without a user", script{Steps: []step{o("/W\r\n")}}, "finger"},
		{"a query with LF only", script{Steps: []step{o("  alice\n")}}, "finger"},
		{"a UTF-8 user", script{Steps: []step{o("jos\xc3\xa9\r\n")}}, "finger"},
		{"an empty query and a short answer", script{Steps: []step{o("\r\n"), r("No one.\r\n")}}, ""},
		{"an empty query and a long answer", script{Steps: []step{o("\r\n"), r("Login     Name       Tty      Idle  Login Time\r\n")}}, "finger"},
		{"an incomplete query", script{Steps: []step{o("alice")}}, ""},
		{"mid-stream", script{Partial: true, Steps: conv}, "finger"},
		{"no port elsewhere", script{Resp: "10.0.0.2:7979", Steps: conv}, ""},
		{"a query not UTF-8", script{Steps: []step{o("al\xffce\r\n")}}, ""},
		{"an answer not UTF-8 after confirmation", script{Steps: []step{o(fingerQuery), r("Login: \xc3\x28lice is here\r\n")}}, ""},
		{"an overlong UTF-8 form", script{Steps: []step{o("a\xc0\xafb\r\n")}}, ""},
		{"a UTF-8 sequence cut by the line end", script{Steps: []step{o("abc\xe2\x82\r\n")}}, ""},
		{"an over-long line", script{Steps: []step{o(fingerQuery), r(strings.Repeat("x", fingerMaxLine+1) + "\r\n")}}, ""},
		{"a line of the longest length", script{Steps: []step{r(strings.Repeat("x", fingerMaxLine) + "\r\n")}}, "finger"},
		{"the answer ends inside a line", script{Steps: []step{o(fingerQuery), r("Login: alice, still typing"), {End: true}}}, ""},
		{"the answer ends after its last line", script{Steps: []step{o(fingerQuery), r(fingerReply), {End: true}}}, "finger"},
		{"data after the query is not parsed", script{Steps: []step{o(fingerQuery + "\xff\xff\xff")}}, "finger"},
		{"a gap ends the direction", script{Steps: []step{{Orig: true, Gap: 3}, o(fingerQuery)}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.s.Analyzers = []string{"finger"}
			if tc.s.Resp == "" {
				tc.s.Resp = "10.0.0.2:79"
			}
			if h, _ := run(t, tc.s); h.service() != tc.want {
				t.Errorf("service %q, want %q", h.service(), tc.want)
			}
		})
	}
}

// FuzzFinger feeds the Finger parser arbitrary chunked streams.
func FuzzFinger(f *testing.F) {
	f.Add(rpFuzzInput(o(fingerQuery), r(fingerReply), step{End: true}))
	f.Add(rpFuzzInput(bytewise([]step{o("/W jos\xc3\xa9@host\r\n"), r("x\xe2\x82\xacyz\n")})...))
	f.Fuzz(func(t *testing.T, data []byte) {
		rpFuzz(t, []string{"finger"}, TCP, 79, false, data, rpCheckBounds)
	})
}
