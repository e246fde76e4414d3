package tsharkcheck

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
)

// Record is the subset of a flowtop JSON conn.log line that the check uses.
// Field names are Zeek's.
type Record struct {
	OrigH       string `json:"id.orig_h"`
	OrigP       uint16 `json:"id.orig_p"`
	RespH       string `json:"id.resp_h"`
	RespP       uint16 `json:"id.resp_p"`
	Proto       string `json:"proto"`
	OrigPkts    uint64 `json:"orig_pkts"`
	OrigIPBytes uint64 `json:"orig_ip_bytes"`
	RespPkts    uint64 `json:"resp_pkts"`
	RespIPBytes uint64 `json:"resp_ip_bytes"`
	ConnState   string `json:"conn_state"`
	History     string `json:"history"`

	Orig, Resp netip.AddrPort `json:"-"` // parsed from the id fields
}

// Key returns the direction-free key of the record's connection.
func (r *Record) Key() Key {
	return MakeKey(r.Proto, r.Orig, r.Resp)
}

// String formats the record's id, proto and counters on one line.
func (r *Record) String() string {
	return fmt.Sprintf("%s %s -> %s state=%s history=%q orig=%d/%d resp=%d/%d",
		r.Proto, r.Orig, r.Resp, r.ConnState, r.History,
		r.OrigPkts, r.OrigIPBytes, r.RespPkts, r.RespIPBytes)
}

// ReadRecords decodes flowtop's JSON output: one object per line; blank lines
// are skipped.
func ReadRecords(r io.Reader) ([]*Record, error) {
	var recs []*Record
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(b) == 0 {
			continue
		}
		rec := &Record{}
		if err := json.Unmarshal(b, rec); err != nil {
			return nil, fmt.Errorf("flowtop line %d: %v", line, err)
		}
		oh, err := netip.ParseAddr(rec.OrigH)
		if err != nil {
			return nil, fmt.Errorf("flowtop line %d: id.orig_h: %v", line, err)
		}
		rh, err := netip.ParseAddr(rec.RespH)
		if err != nil {
			return nil, fmt.Errorf("flowtop line %d: id.resp_h: %v", line, err)
		}
		rec.Orig = netip.AddrPortFrom(oh.Unmap(), rec.OrigP)
		rec.Resp = netip.AddrPortFrom(rh.Unmap(), rec.RespP)
		recs = append(recs, rec)
	}
	return recs, sc.Err()
}

// Pair is a flowtop record matched to its tshark conversation.
type Pair struct {
	Rec  *Record
	Conv *Conversation
}

// Match pairs every record with the tshark conversation of the same key and
// compares packets and IP bytes per direction, mapping the record's orig side
// onto the conversation. It reports as problems: counter mismatches, records
// without a conversation, conversations without a record, and conversations
// claimed by more than one record.
func Match(s *Summary, recs []*Record) (pairs []Pair, problems []string) {
	claimed := map[*Conversation]*Record{}
	for _, r := range recs {
		c := s.Find(r.Key())
		if c == nil {
			problems = append(problems, fmt.Sprintf("flowtop record with no tshark conversation: %s", r))
			continue
		}
		if prev := claimed[c]; prev != nil {
			problems = append(problems, fmt.Sprintf("tshark conversation %s claimed by two records:\n\t%s\n\t%s", c.Key, prev, r))
			continue
		}
		claimed[c] = r
		pairs = append(pairs, Pair{Rec: r, Conv: c})
		op, ob, _ := c.From(r.Orig)
		rp, rb, _ := c.From(r.Resp)
		if r.OrigPkts != op || r.OrigIPBytes != ob || r.RespPkts != rp || r.RespIPBytes != rb {
			problems = append(problems, fmt.Sprintf(
				"%s: flowtop orig %d pkts/%d ip_bytes, resp %d/%d; tshark orig %d/%d, resp %d/%d",
				c.Key, r.OrigPkts, r.OrigIPBytes, r.RespPkts, r.RespIPBytes, op, ob, rp, rb))
		}
	}
	for _, c := range s.Conversations {
		if claimed[c] == nil {
			problems = append(problems, fmt.Sprintf("tshark conversation missing from flowtop: %s (frame %d)", c.Key, c.FirstFrame))
		}
	}
	return pairs, problems
}
