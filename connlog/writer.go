package connlog

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/flowtop/flowtop/process"
	"github.com/flowtop/flowtop/tracker"
)

// Format selects the conn.log encoding.
type Format int

// The conn.log encodings.
const (
	TSV  Format = iota // Zeek's tab-separated ASCII log with '#' header lines
	JSON               // one JSON object per line, as Zeek's JSON writer
)

// String returns "tsv" or "json".
func (f Format) String() string {
	switch f {
	case TSV:
		return "tsv"
	case JSON:
		return "json"
	}
	return "Format(" + strconv.Itoa(int(f)) + ")"
}

// ParseFormat parses "tsv" or "json" (case-insensitive), for command-line flags.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "tsv":
		return TSV, nil
	case "json":
		return JSON, nil
	}
	return 0, fmt.Errorf("connlog: unknown format %q: want tsv or json", s)
}

// ErrClosed is returned by Write and Close after Close.
var ErrClosed = errors.New("connlog: writer is closed")

// zeekTimeLayout is how Zeek writes the #open and #close times.
const zeekTimeLayout = "2006-01-02-15-04-05"

// The fixed part of the TSV header, after #open.
const (
	tsvHeadTop = "#separator \\x09\n" +
		"#set_separator\t,\n" +
		"#empty_field\t(empty)\n" +
		"#unset_field\t-\n" +
		"#path\tconn\n"
	tsvHeadFields = "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\t" +
		"duration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\t" +
		"orig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\tip_proto\n" +
		"#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\t" +
		"bool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\tcount\n"
)

// Writer writes conn.log records to an io.Writer through a buffer. It is not safe for
// concurrent use.
type Writer struct {
	bw      *bufio.Writer
	format  Format
	buf     []byte // reused for every line
	open    time.Time
	openSet bool
	started bool // a record (and for TSV the header) has been written
	closed  bool
	extra   []Field // optional fields after Zeek's
	cidSeed uint16  // community_id's seed
}

// Field is an optional conn.log field, appended after Zeek's 22 columns as Zeek's
// policy scripts append theirs.
type Field uint8

// Optional fields.
const (
	// FieldServerName is the connection's name: the TLS SNI, else the HTTP Host,
	// else the DNS query; unset when none was seen.
	FieldServerName Field = iota + 1
	// FieldOrigPID and FieldRespPID are the pids of the local processes behind
	// the endpoints (unset where not local or unknown); FieldOrigComm and
	// FieldRespComm their command names; FieldOrigUser and FieldRespUser the
	// users owning the sockets.
	FieldOrigPID
	FieldOrigComm
	FieldOrigUser
	FieldRespPID
	FieldRespComm
	FieldRespUser
	// FieldCommunityID is the connection's Community ID v1 (package communityid),
	// seeded by SetCommunityIDSeed.
	FieldCommunityID
)

var fieldNames = map[Field]string{
	FieldServerName: "server_name",
	FieldOrigPID:    "orig_pid", FieldOrigComm: "orig_comm", FieldOrigUser: "orig_user",
	FieldRespPID: "resp_pid", FieldRespComm: "resp_comm", FieldRespUser: "resp_user",
	FieldCommunityID: "community_id",
}

// FieldNames lists the optional fields' names, in their order.
func FieldNames() []string {
	out := make([]string, 0, len(fieldNames))
	for f := FieldServerName; f <= FieldCommunityID; f++ {
		out = append(out, fieldNames[f])
	}
	return out
}

// ParseField returns the optional field of that name.
func ParseField(name string) (Field, error) {
	for f, n := range fieldNames {
		if n == name {
			return f, nil
		}
	}
	return 0, fmt.Errorf("connlog: unknown field %q: want one of %s", name, strings.Join(FieldNames(), ", "))
}

// count reports whether the field is a number (Zeek's count), written unquoted in
// JSON.
func (f Field) count() bool { return f == FieldOrigPID || f == FieldRespPID }

// String returns the field's conn.log name.
func (f Field) String() string { return fieldNames[f] }

// ExtraFields returns the optional fields set with SetExtraFields.
func (w *Writer) ExtraFields() []Field { return w.extra }

// SetExtraFields appends optional fields to every record, in the given order. It
// has an effect only before the first Write.
func (w *Writer) SetExtraFields(fs ...Field) {
	if !w.started {
		w.extra = append(w.extra[:0], fs...)
	}
}

// SetCommunityIDSeed sets the seed of the community_id field (default 0).
func (w *Writer) SetCommunityIDSeed(seed uint16) { w.cidSeed = seed }

// NewWriter returns a Writer that writes records to w in format f. Nothing is written
// until the first Write: like Zeek, a log without records has no header either.
func NewWriter(w io.Writer, f Format) *Writer {
	return &Writer{bw: bufio.NewWriterSize(w, 64<<10), format: f, buf: make([]byte, 0, 512)}
}

// SetOpenTime sets the time written in the TSV #open header line. It has an effect only
// before the first Write; by default the header takes time.Now() at the first Write.
// The time is printed in t's location (Zeek prints local time).
func (w *Writer) SetOpenTime(t time.Time) {
	w.open = t
	w.openSet = true
}

// Write formats r as one conn.log line. The line may stay in the buffer until Flush or
// Close. An error from the underlying writer is sticky: later calls return it too.
func (w *Writer) Write(r *tracker.Record) error {
	if w.closed {
		return ErrClosed
	}
	b := w.buf[:0]
	switch w.format {
	case TSV:
		if !w.started {
			b = w.appendHeader(b)
		}
		b = appendTSV(b, r)
		for _, f := range w.extra {
			b[len(b)-1] = '\t'
			b = appendTSVOptString(b, w.extraValue(f, r))
			b = append(b, '\n')
		}
	case JSON:
		b = appendJSON(b, r)
		for _, f := range w.extra {
			if v := w.extraValue(f, r); v != "" {
				b = b[:len(b)-2] // "}\n"
				b = append(b, ',', '"')
				b = append(b, f.String()...)
				b = append(b, '"', ':')
				if f.count() {
					b = append(b, v...)
				} else {
					b = appendJSONString(b, v)
				}
				b = append(b, "}\n"...)
			}
		}
	default:
		return fmt.Errorf("connlog: unknown format %d", int(w.format))
	}
	w.started = true
	w.buf = b
	_, err := w.bw.Write(b)
	return err
}

// Flush writes any buffered lines to the underlying writer.
func (w *Writer) Flush() error {
	if w.closed {
		return ErrClosed
	}
	return w.bw.Flush()
}

// Close writes the TSV "#close" line with closeTime (in closeTime's location) if any
// record was written, and flushes. It does not close the underlying writer. JSON output
// has no footer, so closeTime is then unused.
func (w *Writer) Close(closeTime time.Time) error {
	if w.closed {
		return ErrClosed
	}
	w.closed = true
	if w.format == TSV && w.started {
		b := append(w.buf[:0], "#close\t"...)
		b = closeTime.AppendFormat(b, zeekTimeLayout)
		b = append(b, '\n')
		w.buf = b
		if _, err := w.bw.Write(b); err != nil {
			return err
		}
	}
	return w.bw.Flush()
}

func (w *Writer) appendHeader(b []byte) []byte {
	open := w.open
	if !w.openSet {
		open = time.Now()
	}
	b = append(b, tsvHeadTop...)
	b = append(b, "#open\t"...)
	b = open.AppendFormat(b, zeekTimeLayout)
	b = append(b, '\n')
	if len(w.extra) == 0 {
		return append(b, tsvHeadFields...)
	}
	fields, types, _ := strings.Cut(tsvHeadFields, "\n#types")
	b = append(b, fields...)
	for _, f := range w.extra {
		b = append(b, '\t')
		b = append(b, f.String()...)
	}
	b = append(b, "\n#types"...)
	b = append(b, strings.TrimSuffix(types, "\n")...)
	for _, f := range w.extra {
		if f.count() {
			b = append(b, "\tcount"...)
		} else {
			b = append(b, "\tstring"...)
		}
	}
	return append(b, '\n')
}

// extraValue returns an optional field's value for r, "" when unset.
func (w *Writer) extraValue(f Field, r *tracker.Record) string {
	switch f {
	case FieldCommunityID:
		return r.CommunityID(w.cidSeed)
	case FieldServerName:
		return r.Names.ServerName()
	case FieldOrigPID, FieldOrigComm, FieldOrigUser:
		return procValue(f-FieldOrigPID, r.OrigProc)
	case FieldRespPID, FieldRespComm, FieldRespUser:
		return procValue(f-FieldRespPID, r.RespProc)
	}
	return ""
}

// procValue is the pid (k 0), command (1) or user (2) of p, "" when unknown.
func procValue(k Field, p *process.Process) string {
	switch {
	case p == nil:
		return ""
	case k == 2:
		return p.User
	case p.PID == 0:
		return "" // the socket's owner is known, its process not
	case k == 0:
		return strconv.Itoa(int(p.PID))
	}
	return p.Comm
}

// appendTSV appends r as one TSV line, newline included.
func appendTSV(b []byte, r *tracker.Record) []byte {
	const tab = '\t'
	b = appendMicros(b, timeMicros(r.TS))
	b = append(b, tab)
	b = appendTSVString(b, r.UID, false)
	b = append(b, tab)
	b = appendTSVAddr(b, r.OrigH)
	b = append(b, tab)
	b = strconv.AppendUint(b, uint64(r.OrigP), 10)
	b = append(b, tab)
	b = appendTSVAddr(b, r.RespH)
	b = append(b, tab)
	b = strconv.AppendUint(b, uint64(r.RespP), 10)
	b = append(b, tab)
	b = append(b, r.Proto.Transport()...)
	b = append(b, tab)
	b = appendTSVOptString(b, r.Service)
	b = append(b, tab)
	switch {
	case r.HasDuration && r.FromFlows: // flow records do not count payload
		b = appendMicros(b, durationMicros(r.Duration))
		b = append(b, "\t-\t-"...)
	case r.HasDuration:
		b = appendMicros(b, durationMicros(r.Duration))
		b = append(b, tab)
		b = strconv.AppendUint(b, r.OrigBytes, 10)
		b = append(b, tab)
		b = strconv.AppendUint(b, r.RespBytes, 10)
	default:
		b = append(b, "-\t-\t-"...)
	}
	b = append(b, tab)
	if r.FromFlows && r.ConnState == "" {
		b = append(b, '-') // flow records that do not say
	} else {
		b = appendTSVString(b, r.ConnState, false)
	}
	b = append(b, tab)
	if r.HasLocal {
		b = appendTSVBool(b, r.LocalOrig)
		b = append(b, tab)
		b = appendTSVBool(b, r.LocalResp)
	} else {
		b = append(b, "-\t-"...)
	}
	b = append(b, tab)
	b = strconv.AppendUint(b, r.MissedBytes, 10)
	b = append(b, tab)
	b = appendTSVOptString(b, r.History)
	b = append(b, tab)
	b = strconv.AppendUint(b, r.OrigPkts, 10)
	b = append(b, tab)
	b = strconv.AppendUint(b, r.OrigIPBytes, 10)
	b = append(b, tab)
	b = strconv.AppendUint(b, r.RespPkts, 10)
	b = append(b, tab)
	b = strconv.AppendUint(b, r.RespIPBytes, 10)
	b = append(b, tab)
	switch {
	case r.TunnelParents == nil:
		b = append(b, '-')
	case len(r.TunnelParents) == 0:
		b = append(b, "(empty)"...)
	default:
		for i, p := range r.TunnelParents {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendTSVString(b, p, true)
		}
	}
	b = append(b, tab)
	b = strconv.AppendUint(b, uint64(r.Proto), 10)
	return append(b, '\n')
}

func appendTSVBool(b []byte, v bool) []byte {
	if v {
		return append(b, 'T')
	}
	return append(b, 'F')
}

// appendTSVOptString appends s, or the unset marker when s is empty.
func appendTSVOptString(b []byte, s string) []byte {
	if s == "" {
		return append(b, '-')
	}
	return appendTSVString(b, s, false)
}

// appendTSVString appends a set string value the way Zeek's ASCII formatter does. inSet
// reports whether s is a set element, where the set separator must be escaped too.
func appendTSVString(b []byte, s string, inSet bool) []byte {
	switch s {
	case "":
		return append(b, "(empty)"...)
	case "-", "(empty)":
		// A value equal to a marker gets its first byte escaped.
		b = appendHexEscape(b, s[0])
		return append(b, s[1:]...)
	}
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '\\' || (inSet && c == ',') {
			b = append(b, s[start:i]...)
			b = appendHexEscape(b, c)
			start = i + 1
		}
	}
	return append(b, s[start:]...)
}

const hexDigits = "0123456789abcdef"

func appendHexEscape(b []byte, c byte) []byte {
	return append(b, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
}

// appendTSVAddr appends a, or the unset marker for the zero Addr.
func appendTSVAddr(b []byte, a netip.Addr) []byte {
	if !a.IsValid() {
		return append(b, '-')
	}
	return appendAddr(b, a)
}

// appendAddr appends a as Zeek prints it: IPv4 (also when IPv4-mapped) in dotted
// decimal, IPv6 as glibc's inet_ntop does. That is RFC 5952 form, which is what
// netip.Addr produces, except that an address whose first 96 bits are zero (and whose
// next 16 are not) ends in dotted decimal: "::1.2.3.4".
func appendAddr(b []byte, a netip.Addr) []byte {
	a = a.Unmap()
	if a.Is6() && a.Zone() == "" {
		x := a.As16()
		if [12]byte(x[:12]) == [12]byte{} && x[12]|x[13] != 0 {
			b = append(b, "::"...)
			return netip.AddrFrom4([4]byte(x[12:])).AppendTo(b)
		}
	}
	return a.AppendTo(b)
}

// timeMicros returns t in microseconds since the Unix epoch, rounded to the nearest.
func timeMicros(t time.Time) int64 {
	return t.Unix()*1e6 + int64((t.Nanosecond()+500)/1000)
}

// durationMicros returns d in microseconds, rounded half away from zero.
func durationMicros(d time.Duration) int64 {
	us, rem := int64(d/time.Microsecond), d%time.Microsecond
	switch {
	case rem >= 500:
		us++
	case rem <= -500:
		us--
	}
	return us
}

// appendMicros appends us/1e6 with exactly six decimals, as Zeek prints time and
// interval values.
func appendMicros(b []byte, us int64) []byte {
	u := uint64(us)
	if us < 0 {
		b = append(b, '-')
		u = -u
	}
	b = strconv.AppendUint(b, u/1e6, 10)
	frac := u % 1e6
	var d [7]byte
	d[0] = '.'
	for i := 6; i > 0; i-- {
		d[i] = byte('0' + frac%10)
		frac /= 10
	}
	return append(b, d[:]...)
}

// appendJSON appends r as one JSON object line, newline included. Unset fields are
// left out.
func appendJSON(b []byte, r *tracker.Record) []byte {
	b = append(b, `{"ts":`...)
	b = appendMicros(b, timeMicros(r.TS))
	b = append(b, `,"uid":`...)
	b = appendJSONString(b, r.UID)
	if r.OrigH.IsValid() {
		b = append(b, `,"id.orig_h":"`...)
		b = appendAddr(b, r.OrigH)
		b = append(b, '"')
	}
	b = append(b, `,"id.orig_p":`...)
	b = strconv.AppendUint(b, uint64(r.OrigP), 10)
	if r.RespH.IsValid() {
		b = append(b, `,"id.resp_h":"`...)
		b = appendAddr(b, r.RespH)
		b = append(b, '"')
	}
	b = append(b, `,"id.resp_p":`...)
	b = strconv.AppendUint(b, uint64(r.RespP), 10)
	b = append(b, `,"proto":"`...)
	b = append(b, r.Proto.Transport()...)
	b = append(b, '"')
	if r.Service != "" {
		b = append(b, `,"service":`...)
		b = appendJSONString(b, r.Service)
	}
	if r.HasDuration {
		b = append(b, `,"duration":`...)
		b = appendMicros(b, durationMicros(r.Duration))
		if !r.FromFlows {
			b = append(b, `,"orig_bytes":`...)
			b = strconv.AppendUint(b, r.OrigBytes, 10)
			b = append(b, `,"resp_bytes":`...)
			b = strconv.AppendUint(b, r.RespBytes, 10)
		}
	}
	if !r.FromFlows || r.ConnState != "" {
		b = append(b, `,"conn_state":`...)
		b = appendJSONString(b, r.ConnState)
	}
	if r.HasLocal {
		b = append(b, `,"local_orig":`...)
		b = strconv.AppendBool(b, r.LocalOrig)
		b = append(b, `,"local_resp":`...)
		b = strconv.AppendBool(b, r.LocalResp)
	}
	b = append(b, `,"missed_bytes":`...)
	b = strconv.AppendUint(b, r.MissedBytes, 10)
	if r.History != "" {
		b = append(b, `,"history":`...)
		b = appendJSONString(b, r.History)
	}
	b = append(b, `,"orig_pkts":`...)
	b = strconv.AppendUint(b, r.OrigPkts, 10)
	b = append(b, `,"orig_ip_bytes":`...)
	b = strconv.AppendUint(b, r.OrigIPBytes, 10)
	b = append(b, `,"resp_pkts":`...)
	b = strconv.AppendUint(b, r.RespPkts, 10)
	b = append(b, `,"resp_ip_bytes":`...)
	b = strconv.AppendUint(b, r.RespIPBytes, 10)
	if r.TunnelParents != nil {
		b = append(b, `,"tunnel_parents":[`...)
		for i, p := range r.TunnelParents {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, p)
		}
		b = append(b, ']')
	}
	b = append(b, `,"ip_proto":`...)
	b = strconv.AppendUint(b, uint64(r.Proto), 10)
	return append(b, "}\n"...)
}

// appendJSONString appends s as a quoted JSON string. Valid UTF-8 is kept; control
// characters become \u00NN; bytes that are not valid UTF-8 become the text \xNN, as
// Zeek's JSON writer does, since JSON cannot carry raw bytes.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < utf8.RuneSelf && c != '"' && c != '\\' && c != 0x7f {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
		}
		b = append(b, s[start:i]...)
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c >= utf8.RuneSelf:
			b = append(b, '\\')
			b = appendHexEscape(b, c)
		default:
			b = append(b, `\u00`...)
			b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
