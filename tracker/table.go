package tracker

import (
	"encoding/binary"
	"math/bits"
)

// flowTable maps flow keys to connection slots. It is an open-addressing hash table
// with linear probing whose slots are one word each: the key's 32-bit hash above the
// connection's slab index + 1 (0 marks an empty slot). Probing compares hashes
// without touching connections, only a matching hash costs a key comparison, and
// growing moves words without rehashing keys. Removal shifts the following entries
// back (no tombstones). Keys live in the connections themselves, so the table costs
// 8 bytes per slot, at a load factor between 3/8 and 3/4.
type flowTable struct {
	slots []uint64
	n     int       // entries
	key   [5]uint64 // hash keys, random per table
}

// flowTableMin is the initial number of slots (a power of two).
const flowTableMin = 1024

func newFlowTable(keys [5]uint64) flowTable {
	return flowTable{slots: make([]uint64, flowTableMin), key: keys}
}

// mum is the 64×64→128-bit multiply-and-fold mixer of wyhash.
func mum(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// hash returns the 32-bit hash of k, keyed by the table's random keys so that
// traffic cannot be crafted to collide.
func (ft *flowTable) hash(k *FlowKey) uint32 {
	rest := uint64(k.PA) | uint64(k.PB)<<16 | uint64(k.Proto)<<32
	if k.OneWay {
		rest |= 1 << 40
	}
	h := mum(binary.LittleEndian.Uint64(k.A[0:8])^ft.key[0], binary.LittleEndian.Uint64(k.A[8:16])^ft.key[1])
	h = mum(binary.LittleEndian.Uint64(k.B[0:8])^ft.key[2], binary.LittleEndian.Uint64(k.B[8:16])^h)
	h = mum(rest^ft.key[3], h^ft.key[4])
	return uint32(h ^ h>>32)
}

// equal reports whether k and o are the same key; it compares word by word where
// == on the struct would call memequal.
func (k *FlowKey) equal(o *FlowKey) bool {
	return k.A == o.A && k.B == o.B && k.PA == o.PA && k.PB == o.PB && k.Proto == o.Proto && k.OneWay == o.OneWay
}

func slotWord(h, idx uint32) uint64 { return uint64(h)<<32 | uint64(idx+1) }

// lookup returns the slot of the connection with key k and hash h.
func (t *Tracker) lookup(k *FlowKey, h uint32) (uint32, bool) {
	ft := &t.table
	mask := uint32(len(ft.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		w := ft.slots[i]
		if w == 0 {
			return 0, false
		}
		if uint32(w>>32) == h {
			idx := uint32(w) - 1
			if t.slot(idx).key.equal(k) {
				return idx, true
			}
		}
	}
}

// insert adds connection slot idx with hash h; its key must not be in the table.
func (ft *flowTable) insert(h, idx uint32) {
	if (ft.n+1)*4 > len(ft.slots)*3 {
		ft.grow()
	}
	ft.put(h, idx)
	ft.n++
}

func (ft *flowTable) put(h, idx uint32) {
	mask := uint32(len(ft.slots) - 1)
	i := h & mask
	for ft.slots[i] != 0 {
		i = (i + 1) & mask
	}
	ft.slots[i] = slotWord(h, idx)
}

// grow doubles the table.
func (ft *flowTable) grow() {
	old := ft.slots
	ft.slots = make([]uint64, 2*len(old))
	for _, w := range old {
		if w != 0 {
			ft.put(uint32(w>>32), uint32(w)-1)
		}
	}
}

// remove deletes connection slot idx with hash h, which must be in the table.
func (ft *flowTable) remove(h, idx uint32) {
	mask := uint32(len(ft.slots) - 1)
	want := slotWord(h, idx)
	i := h & mask
	for ft.slots[i] != want {
		i = (i + 1) & mask
	}
	// Shift back the entries after i that may not stay behind the hole (Knuth's
	// algorithm R): an entry stays where it is when its home slot is cyclically in
	// (i, j].
	for j := i; ; {
		j = (j + 1) & mask
		w := ft.slots[j]
		if w == 0 {
			break
		}
		home := uint32(w>>32) & mask
		if i <= j {
			if i < home && home <= j {
				continue
			}
		} else if i < home || home <= j {
			continue
		}
		ft.slots[i] = w
		i = j
	}
	ft.slots[i] = 0
	ft.n--
}
