package analyzer

import (
	"net/netip"
)

// maxExpectations bounds the expected connections kept (Zeek's FTP script keeps at
// most 100000, IRC's 5000); past it the entry that expires first goes.
const maxExpectations = 100_000

// expectKey is what an expected connection is found by: the responder and the
// transport (the originator's port is not part of it).
type expectKey struct {
	resp      netip.AddrPort
	transport Transport
}

// expectEntry is one expected originator (the zero Addr for any) with its label.
type expectEntry struct {
	orig    netip.Addr
	label   ID
	expires int64
}

// expectations is the table of expected connections.
type expectations struct {
	m map[expectKey][]expectEntry
	n int
}

func (t *expectations) add(e Expectation, now int64) {
	a := Lookup(e.Label)
	if a == nil || !e.Resp.IsValid() {
		return
	}
	if t.m == nil {
		t.m = make(map[expectKey][]expectEntry)
	}
	k := expectKey{netip.AddrPortFrom(e.Resp.Addr().Unmap(), e.Resp.Port()), e.Transport}
	orig := e.Orig.Unmap()
	exp := now + ExpectTimeout.Nanoseconds()
	es := t.m[k]
	for i := range es {
		if es[i].orig == orig && es[i].label == a.id {
			es[i].expires = exp
			return
		}
	}
	if t.n >= maxExpectations {
		t.expire(now, true)
	}
	t.m[k] = append(es, expectEntry{orig: orig, label: a.id, expires: exp})
	t.n++
}

// expire drops the entries expired by now; with force, at least the one that
// expires first.
func (t *expectations) expire(now int64, force bool) {
	var first *expectKey
	var firstAt int64
	for k, es := range t.m {
		kept := es[:0]
		for _, e := range es {
			if e.expires > now {
				kept = append(kept, e)
				if first == nil || e.expires < firstAt {
					kk := k
					first, firstAt = &kk, e.expires
				}
			}
		}
		t.n -= len(es) - len(kept)
		if len(kept) == 0 {
			delete(t.m, k)
		} else {
			t.m[k] = kept
		}
	}
	if force && t.n >= maxExpectations && first != nil {
		t.expire(firstAt, false)
	}
}

func (t *expectations) lookup(id ConnID, now int64) (labels []ID, matched bool) {
	if t.n == 0 {
		return nil, false
	}
	k := expectKey{netip.AddrPortFrom(id.Resp.Addr().Unmap(), id.Resp.Port()), id.Transport}
	es, ok := t.m[k]
	if !ok {
		return nil, false
	}
	orig := id.Orig.Addr().Unmap()
	for _, e := range es {
		if e.expires <= now {
			continue
		}
		if !e.orig.IsValid() || e.orig.IsUnspecified() || e.orig == orig {
			matched = true
			labels = append(labels, e.label)
		}
	}
	return labels, matched
}
