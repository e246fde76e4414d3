package connlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/flowtop/flowtop/process"
	"github.com/flowtop/flowtop/tracker"
)

// fields is the conn.log column order, shared by TSV and JSON.
var fields = strings.Fields("ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto service duration " +
	"orig_bytes resp_bytes conn_state local_orig local_resp missed_bytes history orig_pkts " +
	"orig_ip_bytes resp_pkts resp_ip_bytes tunnel_parents ip_proto")

// baseRecord is a complete UDP record; the test cases change parts of it.
func baseRecord() tracker.Record {
	return tracker.Record{
		TS:  time.Unix(1300475167, 96535000),
		UID: "CHhAvVGS1DHFjwGM9",
		ConnID: tracker.ConnID{
			OrigH: netip.MustParseAddr("141.142.220.202"),
			OrigP: 5353,
			RespH: netip.MustParseAddr("224.0.0.251"),
			RespP: 5353,
			Proto: tracker.ProtoUDP,
		},
		Service:     "dns",
		Duration:    112400 * time.Microsecond,
		HasDuration: true,
		OrigBytes:   4039,
		RespBytes:   11996,
		ConnState:   "SF",
		HasLocal:    true,
		LocalOrig:   true,
		LocalResp:   false,
		MissedBytes: 7,
		History:     "Dd",
		OrigPkts:    10,
		OrigIPBytes: 4319,
		RespPkts:    12,
		RespIPBytes: 12332,
	}
}

// tsvLine joins columns with tabs and adds the newline.
func tsvLine(cols ...string) string { return strings.Join(cols, "\t") + "\n" }

var recordTests = []struct {
	name string
	edit func(r *tracker.Record)
	tsv  string
	json string
}{
	{
		name: "complete",
		edit: func(r *tracker.Record) {},
		tsv: tsvLine("1300475167.096535", "CHhAvVGS1DHFjwGM9", "141.142.220.202", "5353", "224.0.0.251", "5353",
			"udp", "dns", "0.112400", "4039", "11996", "SF", "T", "F", "7", "Dd", "10", "4319", "12", "12332", "-", "17"),
		json: `{"ts":1300475167.096535,"uid":"CHhAvVGS1DHFjwGM9","id.orig_h":"141.142.220.202","id.orig_p":5353,` +
			`"id.resp_h":"224.0.0.251","id.resp_p":5353,"proto":"udp","service":"dns","duration":0.112400,` +
			`"orig_bytes":4039,"resp_bytes":11996,"conn_state":"SF","local_orig":true,"local_resp":false,` +
			`"missed_bytes":7,"history":"Dd","orig_pkts":10,"orig_ip_bytes":4319,"resp_pkts":12,` +
			`"resp_ip_bytes":12332,"ip_proto":17}` + "\n",
	},
	{
		name: "unset duration, local, service, history",
		edit: func(r *tracker.Record) {
			r.HasDuration = false
			r.HasLocal = false
			r.Service = ""
			r.History = ""
		},
		tsv: tsvLine("1300475167.096535", "CHhAvVGS1DHFjwGM9", "141.142.220.202", "5353", "224.0.0.251", "5353",
			"udp", "-", "-", "-", "-", "SF", "-", "-", "7", "-", "10", "4319", "12", "12332", "-", "17"),
		json: `{"ts":1300475167.096535,"uid":"CHhAvVGS1DHFjwGM9","id.orig_h":"141.142.220.202","id.orig_p":5353,` +
			`"id.resp_h":"224.0.0.251","id.resp_p":5353,"proto":"udp","conn_state":"SF",` +
			`"missed_bytes":7,"orig_pkts":10,"orig_ip_bytes":4319,"resp_pkts":12,` +
			`"resp_ip_bytes":12332,"ip_proto":17}` + "\n",
	},
	{
		name: "empty tunnel_parents",
		edit: func(r *tracker.Record) { r.TunnelParents = []string{} },
		tsv: tsvLine("1300475167.096535", "CHhAvVGS1DHFjwGM9", "141.142.220.202", "5353", "224.0.0.251", "5353",
			"udp", "dns", "0.112400", "4039", "11996", "SF", "T", "F", "7", "Dd", "10", "4319", "12", "12332", "(empty)", "17"),
		json: `{"ts":1300475167.096535,"uid":"CHhAvVGS1DHFjwGM9","id.orig_h":"141.142.220.202","id.orig_p":5353,` +
			`"id.resp_h":"224.0.0.251","id.resp_p":5353,"proto":"udp","service":"dns","duration":0.112400,` +
			`"orig_bytes":4039,"resp_bytes":11996,"conn_state":"SF","local_orig":true,"local_resp":false,` +
			`"missed_bytes":7,"history":"Dd","orig_pkts":10,"orig_ip_bytes":4319,"resp_pkts":12,` +
			`"resp_ip_bytes":12332,"tunnel_parents":[],"ip_proto":17}` + "\n",
	},
	{
		name: "tunnel_parents with separator and empty element",
		edit: func(r *tracker.Record) { r.TunnelParents = []string{"CabC1", "a,b", ""} },
		tsv: tsvLine("1300475167.096535", "CHhAvVGS1DHFjwGM9", "141.142.220.202", "5353", "224.0.0.251", "5353",
			"udp", "dns", "0.112400", "4039", "11996", "SF", "T", "F", "7", "Dd", "10", "4319", "12", "12332",
			`CabC1,a\x2cb,(empty)`, "17"),
		json: `{"ts":1300475167.096535,"uid":"CHhAvVGS1DHFjwGM9","id.orig_h":"141.142.220.202","id.orig_p":5353,` +
			`"id.resp_h":"224.0.0.251","id.resp_p":5353,"proto":"udp","service":"dns","duration":0.112400,` +
			`"orig_bytes":4039,"resp_bytes":11996,"conn_state":"SF","local_orig":true,"local_resp":false,` +
			`"missed_bytes":7,"history":"Dd","orig_pkts":10,"orig_ip_bytes":4319,"resp_pkts":12,` +
			`"resp_ip_bytes":12332,"tunnel_parents":["CabC1","a,b",""],"ip_proto":17}` + "\n",
	},
	{
		name: "IPv6 ICMP",
		edit: func(r *tracker.Record) {
			r.OrigH = netip.MustParseAddr("fe80::2a0:ccff:fe3b:c13")
			r.OrigP = 135
			r.RespH = netip.MustParseAddr("2001:db8:0:0:1:0:0:1")
			r.RespP = 136
			r.Proto = tracker.ProtoICMPv6
			r.Service = ""
			r.History = ""
			r.ConnState = "OTH"
		},
		tsv: tsvLine("1300475167.096535", "CHhAvVGS1DHFjwGM9", "fe80::2a0:ccff:fe3b:c13", "135", "2001:db8::1:0:0:1", "136",
			"icmp", "-", "0.112400", "4039", "11996", "OTH", "T", "F", "7", "-", "10", "4319", "12", "12332", "-", "58"),
		json: `{"ts":1300475167.096535,"uid":"CHhAvVGS1DHFjwGM9","id.orig_h":"fe80::2a0:ccff:fe3b:c13","id.orig_p":135,` +
			`"id.resp_h":"2001:db8::1:0:0:1","id.resp_p":136,"proto":"icmp","duration":0.112400,` +
			`"orig_bytes":4039,"resp_bytes":11996,"conn_state":"OTH","local_orig":true,"local_resp":false,` +
			`"missed_bytes":7,"orig_pkts":10,"orig_ip_bytes":4319,"resp_pkts":12,` +
			`"resp_ip_bytes":12332,"ip_proto":58}` + "\n",
	},
	{
		name: "IPv4-mapped and IPv4-compatible addresses",
		edit: func(r *tracker.Record) {
			r.OrigH = netip.MustParseAddr("::ffff:10.0.0.1")
			r.RespH = netip.MustParseAddr("::1.2.3.4")
		},
		tsv: tsvLine("1300475167.096535", "CHhAvVGS1DHFjwGM9", "10.0.0.1", "5353", "::1.2.3.4", "5353",
			"udp", "dns", "0.112400", "4039", "11996", "SF", "T", "F", "7", "Dd", "10", "4319", "12", "12332", "-", "17"),
		json: `{"ts":1300475167.096535,"uid":"CHhAvVGS1DHFjwGM9","id.orig_h":"10.0.0.1","id.orig_p":5353,` +
			`"id.resp_h":"::1.2.3.4","id.resp_p":5353,"proto":"udp","service":"dns","duration":0.112400,` +
			`"orig_bytes":4039,"resp_bytes":11996,"conn_state":"SF","local_orig":true,"local_resp":false,` +
			`"missed_bytes":7,"history":"Dd","orig_pkts":10,"orig_ip_bytes":4319,"resp_pkts":12,` +
			`"resp_ip_bytes":12332,"ip_proto":17}` + "\n",
	},
	{
		name: "unspecified and loopback IPv6, unknown transport",
		edit: func(r *tracker.Record) {
			r.OrigH = netip.IPv6Unspecified()
			r.OrigP = 0
			r.RespH = netip.IPv6Loopback()
			r.RespP = 0
			r.Proto = 132
			r.Service = ""
			r.History = ""
			r.ConnState = "OTH"
			r.HasDuration = false
		},
		tsv: tsvLine("1300475167.096535", "CHhAvVGS1DHFjwGM9", "::", "0", "::1", "0",
			"unknown_transport", "-", "-", "-", "-", "OTH", "T", "F", "7", "-", "10", "4319", "12", "12332", "-", "132"),
		json: `{"ts":1300475167.096535,"uid":"CHhAvVGS1DHFjwGM9","id.orig_h":"::","id.orig_p":0,` +
			`"id.resp_h":"::1","id.resp_p":0,"proto":"unknown_transport","conn_state":"OTH","local_orig":true,"local_resp":false,` +
			`"missed_bytes":7,"orig_pkts":10,"orig_ip_bytes":4319,"resp_pkts":12,` +
			`"resp_ip_bytes":12332,"ip_proto":132}` + "\n",
	},
	{
		name: "escaping",
		edit: func(r *tracker.Record) {
			r.UID = "C\xff\x01"
			r.Service = "-"
			r.History = "D\td\\\"é"
			r.ConnState = "(empty)"
		},
		tsv: tsvLine("1300475167.096535", `C\xff\x01`, "141.142.220.202", "5353", "224.0.0.251", "5353",
			"udp", `\x2d`, "0.112400", "4039", "11996", `\x28empty)`, "T", "F", "7", `D\x09d\x5c"\xc3\xa9`, "10", "4319", "12", "12332", "-", "17"),
		json: `{"ts":1300475167.096535,"uid":"C\\xff\u0001","id.orig_h":"141.142.220.202","id.orig_p":5353,` +
			`"id.resp_h":"224.0.0.251","id.resp_p":5353,"proto":"udp","service":"-","duration":0.112400,` +
			`"orig_bytes":4039,"resp_bytes":11996,"conn_state":"(empty)","local_orig":true,"local_resp":false,` +
			`"missed_bytes":7,"history":"D\u0009d\\\"é","orig_pkts":10,"orig_ip_bytes":4319,"resp_pkts":12,` +
			`"resp_ip_bytes":12332,"ip_proto":17}` + "\n",
	},
	{
		name: "from flow records: payload bytes and an unsaid conn_state unset",
		edit: func(r *tracker.Record) {
			r.FromFlows = true
			r.ConnState = ""
			r.History = ""
		},
		tsv: tsvLine("1300475167.096535", "CHhAvVGS1DHFjwGM9", "141.142.220.202", "5353", "224.0.0.251", "5353",
			"udp", "dns", "0.112400", "-", "-", "-", "T", "F", "7", "-", "10", "4319", "12", "12332", "-", "17"),
		json: `{"ts":1300475167.096535,"uid":"CHhAvVGS1DHFjwGM9","id.orig_h":"141.142.220.202","id.orig_p":5353,` +
			`"id.resp_h":"224.0.0.251","id.resp_p":5353,"proto":"udp","service":"dns","duration":0.112400,` +
			`"local_orig":true,"local_resp":false,` +
			`"missed_bytes":7,"orig_pkts":10,"orig_ip_bytes":4319,"resp_pkts":12,` +
			`"resp_ip_bytes":12332,"ip_proto":17}` + "\n",
	},
	{
		name: "empty conn_state, rounding to microseconds",
		edit: func(r *tracker.Record) {
			r.TS = time.Unix(1, 999_999_500)
			r.Duration = 1500 * time.Nanosecond
			r.ConnState = ""
		},
		tsv: tsvLine("2.000000", "CHhAvVGS1DHFjwGM9", "141.142.220.202", "5353", "224.0.0.251", "5353",
			"udp", "dns", "0.000002", "4039", "11996", "(empty)", "T", "F", "7", "Dd", "10", "4319", "12", "12332", "-", "17"),
		json: `{"ts":2.000000,"uid":"CHhAvVGS1DHFjwGM9","id.orig_h":"141.142.220.202","id.orig_p":5353,` +
			`"id.resp_h":"224.0.0.251","id.resp_p":5353,"proto":"udp","service":"dns","duration":0.000002,` +
			`"orig_bytes":4039,"resp_bytes":11996,"conn_state":"","local_orig":true,"local_resp":false,` +
			`"missed_bytes":7,"history":"Dd","orig_pkts":10,"orig_ip_bytes":4319,"resp_pkts":12,` +
			`"resp_ip_bytes":12332,"ip_proto":17}` + "\n",
	},
	{
		name: "large counts and long duration",
		edit: func(r *tracker.Record) {
			r.TS = time.Unix(0, 0)
			r.Duration = 36*time.Hour + 7*time.Microsecond
			r.OrigBytes = 1<<64 - 1
			r.OrigP = 65535
		},
		tsv: tsvLine("0.000000", "CHhAvVGS1DHFjwGM9", "141.142.220.202", "65535", "224.0.0.251", "5353",
			"udp", "dns", "129600.000007", "18446744073709551615", "11996", "SF", "T", "F", "7", "Dd", "10", "4319", "12", "12332", "-", "17"),
		json: `{"ts":0.000000,"uid":"CHhAvVGS1DHFjwGM9","id.orig_h":"141.142.220.202","id.orig_p":65535,` +
			`"id.resp_h":"224.0.0.251","id.resp_p":5353,"proto":"udp","service":"dns","duration":129600.000007,` +
			`"orig_bytes":18446744073709551615,"resp_bytes":11996,"conn_state":"SF","local_orig":true,"local_resp":false,` +
			`"missed_bytes":7,"history":"Dd","orig_pkts":10,"orig_ip_bytes":4319,"resp_pkts":12,` +
			`"resp_ip_bytes":12332,"ip_proto":17}` + "\n",
	},
}

func TestTSVRecords(t *testing.T) {
	for _, tt := range recordTests {
		t.Run(tt.name, func(t *testing.T) {
			r := baseRecord()
			tt.edit(&r)
			got := string(appendTSV(nil, &r))
			if got != tt.tsv {
				t.Errorf("TSV line\n got: %q\nwant: %q", got, tt.tsv)
			}
			if n := strings.Count(got, "\t") + 1; n != len(fields) {
				t.Errorf("TSV line has %d columns, want %d", n, len(fields))
			}
		})
	}
}

func TestJSONRecords(t *testing.T) {
	for _, tt := range recordTests {
		t.Run(tt.name, func(t *testing.T) {
			r := baseRecord()
			tt.edit(&r)
			got := string(appendJSON(nil, &r))
			if got != tt.json {
				t.Errorf("JSON line\n got: %s\nwant: %s", got, tt.json)
			}
			checkJSONOrder(t, got)
		})
	}
}

// checkJSONOrder checks that line is one valid JSON object whose keys are conn.log
// fields in conn.log order.
func checkJSONOrder(t *testing.T, line string) {
	t.Helper()
	if !strings.HasSuffix(line, "\n") || strings.Count(line, "\n") != 1 {
		t.Fatalf("JSON output is not exactly one line: %q", line)
	}
	dec := json.NewDecoder(strings.NewReader(line))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("JSON line does not start an object: %v %v", tok, err)
	}
	next := 0
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("bad JSON %q: %v", line, err)
		}
		key := tok.(string)
		for next < len(fields) && fields[next] != key {
			next++
		}
		if next == len(fields) {
			t.Fatalf("JSON key %q is unknown or out of order in %s", key, line)
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("bad JSON value for %q: %v", key, err)
		}
	}
	if _, err := dec.Token(); err != nil {
		t.Fatalf("bad JSON end: %v", err)
	}
}

func TestAppendAddr(t *testing.T) {
	tests := []struct{ in, want string }{
		{"192.0.2.1", "192.0.2.1"},
		{"::ffff:192.0.2.1", "192.0.2.1"},
		{"::", "::"},
		{"::1", "::1"},
		{"::1.2.3.4", "::1.2.3.4"},
		{"::1:0", "::0.1.0.0"}, // glibc's inet_ntop prints the last 32 bits dotted here
		{"::1:0:0", "::1:0:0"},
		{"2001:db8::", "2001:db8::"},
		{"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},
		{"2001:0:0:1::1", "2001:0:0:1::1"},
		{"FE80::ABCD", "fe80::abcd"},
	}
	for _, tt := range tests {
		if got := string(appendAddr(nil, netip.MustParseAddr(tt.in))); got != tt.want {
			t.Errorf("appendAddr(%s) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

const wantTSVHeader = "#separator \\x09\n" +
	"#set_separator\t,\n" +
	"#empty_field\t(empty)\n" +
	"#unset_field\t-\n" +
	"#path\tconn\n" +
	"#open\t2026-11-25-20-02-00\n" +
	"#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\tip_proto\n" +
	"#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\tcount\n"

func TestWriterTSVFile(t *testing.T) {
	zone := time.FixedZone("X", 3600)
	var out bytes.Buffer
	w := NewWriter(&out, TSV)
	w.SetOpenTime(time.Date(2026, 11, 25, 20, 2, 0, 0, zone))
	r1 := baseRecord()
	r2 := baseRecord()
	r2.HasDuration = false
	for _, r := range []*tracker.Record{&r1, &r2} {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if out.Len() != 0 {
		t.Errorf("output reached the writer before Flush or Close: %q", out.String())
	}
	if err := w.Close(time.Date(2026, 11, 25, 21, 3, 4, 0, zone)); err != nil {
		t.Fatal(err)
	}
	want := wantTSVHeader + string(appendTSV(nil, &r1)) + string(appendTSV(nil, &r2)) + "#close\t2026-11-25-21-03-04\n"
	if got := out.String(); got != want {
		t.Errorf("TSV file\n got: %q\nwant: %q", got, want)
	}
	if err := w.Write(&r1); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close = %v, want ErrClosed", err)
	}
	if err := w.Close(time.Now()); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
}

func TestWriterDefaultOpenTime(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out, TSV)
	before := time.Now().Truncate(time.Second)
	r := baseRecord()
	if err := w.Write(&r); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	var open string
	for line := range strings.Lines(out.String()) {
		if v, ok := strings.CutPrefix(line, "#open\t"); ok {
			open = strings.TrimSuffix(v, "\n")
		}
	}
	ot, err := time.ParseInLocation(zeekTimeLayout, open, time.Local)
	if err != nil {
		t.Fatalf("#open %q: %v", open, err)
	}
	if ot.Before(before) || ot.After(after) {
		t.Errorf("#open %v is not between %v and %v", ot, before, after)
	}
}

func TestWriterEmpty(t *testing.T) {
	for _, f := range []Format{TSV, JSON} {
		var out bytes.Buffer
		w := NewWriter(&out, f)
		if err := w.Close(time.Now()); err != nil {
			t.Fatal(err)
		}
		if out.Len() != 0 {
			t.Errorf("%v: a log without records wrote %q", f, out.String())
		}
	}
}

func TestWriterJSONFile(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out, JSON)
	w.SetOpenTime(time.Unix(0, 0)) // no effect on JSON
	var want strings.Builder
	for _, tt := range recordTests {
		r := baseRecord()
		tt.edit(&r)
		if err := w.Write(&r); err != nil {
			t.Fatal(err)
		}
		want.WriteString(tt.json)
	}
	if err := w.Close(time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != want.String() {
		t.Errorf("JSON file\n got: %s\nwant: %s", got, want.String())
	}
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }

func TestWriterError(t *testing.T) {
	boom := errors.New("disk full")
	w := NewWriter(failWriter{boom}, TSV)
	r := baseRecord()
	if err := w.Write(&r); err != nil {
		t.Fatalf("buffered Write failed early: %v", err)
	}
	if err := w.Close(time.Now()); !errors.Is(err, boom) {
		t.Errorf("Close = %v, want %v", err, boom)
	}
}

func TestUnknownFormat(t *testing.T) {
	w := NewWriter(io.Discard, Format(9))
	r := baseRecord()
	if err := w.Write(&r); err == nil || err.Error() != "connlog: unknown format 9" {
		t.Errorf("Write = %v", err)
	}
}

func TestParseFormat(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    Format
		wantErr string
	}{
		{"tsv", TSV, ""},
		{"JSON", JSON, ""},
		{"xml", 0, `connlog: unknown format "xml": want tsv or json`},
	} {
		got, err := ParseFormat(tt.in)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("ParseFormat(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want || got.String() != strings.ToLower(tt.in) {
			t.Errorf("ParseFormat(%q) = %v, %v", tt.in, got, err)
		}
	}
}

func TestWriteAllocs(t *testing.T) {
	r := baseRecord()
	r.TunnelParents = []string{"CabC1"}
	r.RespH = netip.MustParseAddr("2001:db8::1")
	for _, f := range []Format{TSV, JSON} {
		w := NewWriter(io.Discard, f)
		if err := w.Write(&r); err != nil { // header, buffer growth
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(200, func() { _ = w.Write(&r) }); n != 0 {
			t.Errorf("%v: Write allocates %v times per record, want 0", f, n)
		}
	}
}

func BenchmarkWrite(b *testing.B) {
	r := baseRecord()
	r6 := baseRecord()
	r6.OrigH = netip.MustParseAddr("2001:db8::10")
	r6.RespH = netip.MustParseAddr("2001:db8:1::20")
	for _, f := range []Format{TSV, JSON} {
		for _, bc := range []struct {
			name string
			r    *tracker.Record
		}{{"ipv4", &r}, {"ipv6", &r6}} {
			b.Run(f.String()+"/"+bc.name, func(b *testing.B) {
				w := NewWriter(io.Discard, f)
				b.ReportAllocs()
				for b.Loop() {
					if err := w.Write(bc.r); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func TestExtraFields(t *testing.T) {
	r := tracker.Record{UID: "CabcdefghijklmnopQ", ConnState: "SF", Service: "ssl",
		Names: &tracker.Names{SNI: "example.com", DNSQuery: "x.org"}}
	none := r
	none.Names = nil
	for _, f := range []Format{TSV, JSON} {
		var b strings.Builder
		w := NewWriter(&b, f)
		w.SetOpenTime(time.Unix(0, 0).UTC())
		w.SetExtraFields(FieldServerName)
		if err := w.Write(&r); err != nil {
			t.Fatal(err)
		}
		if err := w.Write(&none); err != nil {
			t.Fatal(err)
		}
		w.Close(time.Unix(0, 0).UTC())
		out := b.String()
		switch f {
		case TSV:
			if !strings.Contains(out, "\tip_proto\tserver_name\n#types\t") || !strings.Contains(out, "\tcount\tstring\n") {
				t.Errorf("TSV header:\n%s", out)
			}
			lines := strings.Split(out, "\n")
			var recs []string
			for _, l := range lines {
				if l != "" && l[0] != '#' {
					recs = append(recs, l)
				}
			}
			if len(recs) != 2 || !strings.HasSuffix(recs[0], "\texample.com") || !strings.HasSuffix(recs[1], "\t-") {
				t.Errorf("TSV records: %q", recs)
			}
			if n := strings.Count(recs[0], "\t"); n != 22 {
				t.Errorf("TSV record has %d tabs, want 22", n)
			}
		case JSON:
			if !strings.Contains(out, `"ip_proto":0,"server_name":"example.com"}`) || strings.Count(out, "server_name") != 1 {
				t.Errorf("JSON:\n%s", out)
			}
		}
	}
	if _, err := ParseField("sni"); err == nil {
		t.Error("unknown field parsed")
	}
}

// The process fields: pids as counts (unquoted in JSON), commands and users as
// strings; unset where no process is known, and the pid and command unset (the
// user kept) where only the socket's owner is.
func TestProcessFields(t *testing.T) {
	r := tracker.Record{UID: "CabcdefghijklmnopQ", ConnState: "SF",
		OrigProc: &process.Process{PID: 4242, Comm: "curl", User: "alice"},
		RespProc: &process.Process{User: "www-data"}}
	fields := []Field{FieldOrigPID, FieldOrigComm, FieldOrigUser, FieldRespPID, FieldRespComm, FieldRespUser}
	for _, f := range []Format{TSV, JSON} {
		var b strings.Builder
		w := NewWriter(&b, f)
		w.SetOpenTime(time.Unix(0, 0).UTC())
		w.SetExtraFields(fields...)
		none := tracker.Record{UID: "Cnone", ConnState: "S0"}
		if err := w.Write(&r); err != nil {
			t.Fatal(err)
		}
		if err := w.Write(&none); err != nil {
			t.Fatal(err)
		}
		w.Close(time.Unix(0, 0).UTC())
		out := b.String()
		switch f {
		case TSV:
			if !strings.Contains(out, "\tip_proto\torig_pid\torig_comm\torig_user\tresp_pid\tresp_comm\tresp_user\n#types\t") ||
				!strings.Contains(out, "\tcount\tcount\tstring\tstring\tcount\tstring\tstring\n") {
				t.Errorf("TSV header:\n%s", out)
			}
			if !strings.Contains(out, "\t4242\tcurl\talice\t-\t-\twww-data\n") || !strings.Contains(out, "\t-\t-\t-\t-\t-\t-\n") {
				t.Errorf("TSV records:\n%s", out)
			}
		case JSON:
			if !strings.Contains(out, `,"orig_pid":4242,"orig_comm":"curl","orig_user":"alice","resp_user":"www-data"}`) ||
				strings.Count(out, "orig_pid") != 1 {
				t.Errorf("JSON:\n%s", out)
			}
		}
	}
	for _, name := range []string{"orig_pid", "resp_comm", "resp_user"} {
		if _, err := ParseField(name); err != nil {
			t.Error(err)
		}
	}
}
