package connlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/flowtop/flowtop/tracker"
)

var testID = tracker.ConnID{
	OrigH: netip.MustParseAddr("10.0.0.7"), OrigP: 59069,
	RespH: netip.MustParseAddr("2001:db8::22"), RespP: 6667, Proto: tracker.ProtoTCP,
}

func TestEventWriter(t *testing.T) {
	var out bytes.Buffer
	w := NewEventWriter(&out)
	ts := time.Unix(1320279567, 181431400)
	for _, x := range []tracker.Crossing{
		{ID: testID, UID: "CabC", Time: ts, Metric: tracker.MetricBytes, Threshold: 2500, IsOrig: true},
		{ID: testID, UID: "CabC", Time: ts, Metric: tracker.MetricDuration, Threshold: uint64(200 * time.Millisecond)},
	} {
		if err := w.WriteCrossing(&x); err != nil {
			t.Fatal(err)
		}
	}
	r := tracker.Record{UID: "CabC", ConnID: testID, Reason: tracker.ReasonInactivity, Removed: ts.Add(time.Minute)}
	if err := w.WriteRemoval(&r); err != nil {
		t.Fatal(err)
	}
	if out.Len() != 0 {
		t.Error("wrote before Flush")
	}
	if err := w.WriteAlert(ts, "CabC", "d/contents_x_orig.dat", "no space left on device"); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteDrops(ts, tracker.CaptureStats{Received: 123456, Dropped: 789}); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := `{"ts":1320279567.181431,"event":"threshold","uid":"CabC","proto":"tcp","id":{"orig_h":"10.0.0.7","orig_p":59069,"resp_h":"2001:db8::22","resp_p":6667},"metric":"bytes","threshold":2500,"is_orig":true}
{"ts":1320279567.181431,"event":"threshold","uid":"CabC","proto":"tcp","id":{"orig_h":"10.0.0.7","orig_p":59069,"resp_h":"2001:db8::22","resp_p":6667},"metric":"duration","threshold":0.200000,"is_orig":false}
{"ts":1320279627.181431,"event":"remove","uid":"CabC","proto":"tcp","id":{"orig_h":"10.0.0.7","orig_p":59069,"resp_h":"2001:db8::22","resp_p":6667},"reason":"inactivity"}
{"ts":1320279567.181431,"event":"alert","uid":"CabC","file":"d/contents_x_orig.dat","message":"no space left on device"}
{"ts":1320279567.181431,"event":"drops","received":123456,"dropped":789}
`
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
	for _, line := range bytes.Split(bytes.TrimSpace(out.Bytes()), []byte("\n")) {
		var v map[string]any
		if err := json.Unmarshal(line, &v); err != nil {
			t.Errorf("not JSON: %s: %v", line, err)
		}
	}
}

func TestEventWriterError(t *testing.T) {
	w := NewEventWriter(failWriter{errors.New("disk full")})
	r := tracker.Record{ConnID: testID}
	w.WriteRemoval(&r)
	if err := w.Flush(); err == nil {
		t.Fatal("Flush hid the write error")
	}
	if err := w.WriteRemoval(&r); err == nil {
		t.Error("the error is not sticky")
	}
}
