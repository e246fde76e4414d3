package connlog

import (
	"io"
	"strconv"
	"time"

	"github.com/flowtop/flowtop/tracker"
)

// EventWriter writes tracker events as JSON lines, one object per event:
//
//	{"ts":1320279567.181431,"event":"threshold","uid":"C…","proto":"tcp","id":{"orig_h":"10.0.0.7","orig_p":59069,"resp_h":"10.0.0.22","resp_p":6667},"metric":"bytes","threshold":2500,"is_orig":true}
//	{"ts":1320279600.000000,"event":"remove","uid":"C…","proto":"tcp","id":{…},"reason":"inactivity"}
//
// ts is network time, in seconds with six decimals as in conn.log. A duration
// threshold is in seconds. It is not safe for concurrent use.
type EventWriter struct {
	w   io.Writer
	buf []byte
	err error
}

// eventFlushAt is the buffered size at which the EventWriter writes through.
const eventFlushAt = 32 << 10

// NewEventWriter returns an EventWriter that writes to w through a buffer.
func NewEventWriter(w io.Writer) *EventWriter {
	return &EventWriter{w: w, buf: make([]byte, 0, eventFlushAt+1024)}
}

// WriteCrossing writes a threshold crossing.
func (w *EventWriter) WriteCrossing(x *tracker.Crossing) error {
	b := appendEventHead(w.buf, x.Time, "threshold", x.UID, &x.ID)
	b = append(b, `,"metric":"`...)
	b = append(b, x.Metric.String()...)
	b = append(b, `","threshold":`...)
	if x.Metric == tracker.MetricDuration {
		b = appendMicros(b, durationMicros(x.Duration()))
	} else {
		b = strconv.AppendUint(b, x.Threshold, 10)
	}
	b = append(b, `,"is_orig":`...)
	b = strconv.AppendBool(b, x.IsOrig)
	return w.end(b)
}

// WriteRemoval writes the removal of the connection whose final record is r.
func (w *EventWriter) WriteRemoval(r *tracker.Record) error {
	b := appendEventHead(w.buf, r.Removed, "remove", r.UID, &r.ConnID)
	b = append(b, `,"reason":"`...)
	b = append(b, r.Reason.String()...)
	b = append(b, '"')
	return w.end(b)
}

// end closes the object in b and writes through when the buffer is full.
func (w *EventWriter) end(b []byte) error {
	w.buf = append(b, "}\n"...)
	if w.err != nil {
		return w.err
	}
	if len(w.buf) >= eventFlushAt {
		return w.Flush()
	}
	return nil
}

// Flush writes the buffered events. An error from the underlying writer is sticky.
func (w *EventWriter) Flush() error {
	if w.err == nil && len(w.buf) > 0 {
		_, w.err = w.w.Write(w.buf)
	}
	w.buf = w.buf[:0]
	return w.err
}

// appendEventHead appends the fields every event starts with.
func appendEventHead(b []byte, ts time.Time, event, uid string, id *tracker.ConnID) []byte {
	b = append(b, `{"ts":`...)
	b = appendMicros(b, timeMicros(ts))
	b = append(b, `,"event":"`...)
	b = append(b, event...)
	b = append(b, `","uid":`...)
	b = appendJSONString(b, uid)
	b = append(b, `,"proto":"`...)
	b = append(b, id.Proto.Transport()...)
	b = append(b, `","id":{"orig_h":"`...)
	b = appendAddr(b, id.OrigH)
	b = append(b, `","orig_p":`...)
	b = strconv.AppendUint(b, uint64(id.OrigP), 10)
	b = append(b, `,"resp_h":"`...)
	b = appendAddr(b, id.RespH)
	b = append(b, `","resp_p":`...)
	b = strconv.AppendUint(b, uint64(id.RespP), 10)
	return append(b, '}')
}

// WriteAlert writes an alert about one connection, such as an extraction that
// stopped: {"ts":…,"event":"alert","uid":"C…","file":"…","message":"…"}. ts is when it
// happened (alerts from the extraction writer carry wall-clock time); file is left out
// when empty.
func (w *EventWriter) WriteAlert(ts time.Time, uid, file, message string) error {
	b := append(w.buf, `{"ts":`...)
	b = appendMicros(b, timeMicros(ts))
	b = append(b, `,"event":"alert","uid":`...)
	b = appendJSONString(b, uid)
	if file != "" {
		b = append(b, `,"file":`...)
		b = appendJSONString(b, file)
	}
	b = append(b, `,"message":`...)
	b = appendJSONString(b, message)
	return w.end(b)
}

// WriteDrops writes a live capture's kernel counters after the kernel dropped
// packets: {"ts":…,"event":"drops","received":N,"dropped":M}, totals since the
// capture started (as tcpdump counts them at exit). ts is network time.
func (w *EventWriter) WriteDrops(ts time.Time, st tracker.CaptureStats) error {
	b := append(w.buf, `{"ts":`...)
	b = appendMicros(b, timeMicros(ts))
	b = append(b, `,"event":"drops","received":`...)
	b = strconv.AppendUint(b, st.Received, 10)
	b = append(b, `,"dropped":`...)
	b = strconv.AppendUint(b, st.Dropped, 10)
	return w.end(b)
}
