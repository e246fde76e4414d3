package tracker

import (
	"math/rand/v2"
	"testing"
)

// checkFlowTable verifies the linear-probing invariant (every entry is reachable
// from its home slot without crossing an empty slot) and that the table holds
// exactly the entries of model (slot index → hash).
func checkFlowTable(t *testing.T, ft *flowTable, model map[uint32]uint32) {
	t.Helper()
	mask := uint32(len(ft.slots) - 1)
	seen := 0
	for i, w := range ft.slots {
		if w == 0 {
			continue
		}
		seen++
		h, idx := uint32(w>>32), uint32(w)-1
		if mh, ok := model[idx]; !ok || mh != h {
			t.Fatalf("slot %d holds %d (hash %#x), model has %#x, %v", i, idx, h, mh, ok)
		}
		for j := h & mask; j != uint32(i); j = (j + 1) & mask {
			if ft.slots[j] == 0 {
				t.Fatalf("entry %d at slot %d is cut off from its home slot %d by an empty slot %d", idx, i, h&mask, j)
			}
		}
	}
	if seen != len(model) || ft.n != len(model) {
		t.Fatalf("%d entries in the slots, n = %d, model %d", seen, ft.n, len(model))
	}
}

// TestFlowTable inserts and removes entries with clustered hashes (long probe runs
// that wrap around the end) and checks the table after every change.
func TestFlowTable(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	ft := newFlowTable([5]uint64{})
	model := map[uint32]uint32{}
	var live []uint32
	next := uint32(0)
	for step := range 20000 {
		if len(live) > 0 && (r.IntN(3) == 0 || len(live) > 3000) {
			k := r.IntN(len(live))
			idx := live[k]
			live[k] = live[len(live)-1]
			live = live[:len(live)-1]
			ft.remove(model[idx], idx)
			delete(model, idx)
		} else {
			// Hashes near the end of the table and in a few clusters.
			h := uint32(r.IntN(16)) + uint32(len(ft.slots)-8) + uint32(r.IntN(4))<<20
			if r.IntN(2) == 0 {
				h = r.Uint32()
			}
			ft.insert(h, next)
			model[next] = h
			live = append(live, next)
			next++
		}
		if step%97 == 0 || len(live) < 50 {
			checkFlowTable(t, &ft, model)
		}
	}
	checkFlowTable(t, &ft, model)
}

// TestFlowTableLookup checks lookups through a tracker: every connection is found
// by its key, in both directions, until it is removed.
func TestFlowTableLookup(t *testing.T) {
	tr := New(Config{UIDSeed: 1}, Handlers{})
	ts := testEpoch
	var keys []FlowKey
	for i := range 5000 {
		f := testSeg{src: testCli4, dst: testSrv4, sport: uint16(i + 1), dport: 53, udp: true}.build(t)
		tr.Packet(f, testCI(f, ts), 1)
		var p packet
		tr.dec.decode(f, len(f), 1, &p)
		k, _ := makeKey(&p.src, &p.dst, uint16(i+1), 53, ProtoUDP, false)
		keys = append(keys, k)
	}
	for i, k := range keys {
		idx, ok := tr.lookup(&k, tr.table.hash(&k))
		if !ok || tr.slot(idx).key != k {
			t.Fatalf("connection %d not found", i)
		}
		if i%2 == 0 {
			tr.removeConn(tr.slot(idx), ReasonEndOfInput)
		}
	}
	for i, k := range keys {
		if _, ok := tr.lookup(&k, tr.table.hash(&k)); ok != (i%2 == 1) {
			t.Fatalf("connection %d: found %v after removing the even ones", i, ok)
		}
	}
	if n := tr.Stats().Active; n != len(keys)/2 {
		t.Fatalf("%d active, want %d", n, len(keys)/2)
	}
}
