package ui

import (
	"slices"
	"testing"
	"time"

	"github.com/flowtop/flowtop/tracker"
)

// The sparkline's history is a history: buckets on network time that do not move
// or rescale as time passes, the newest falling to 0 while the connection idles,
// and a one-packet flow with its bar.
func TestSamplerRates(t *testing.T) {
	t1 := t0.Add(100 * time.Millisecond)
	one := &sampler{samples: []tracker.Counters{{Start: t1, Last: t1, OrigPkts: 1, OrigIPBytes: 100}}}
	if o, _, top := one.rates(t1); len(o) != 1 || o[0] != 800 || top != 800 {
		t.Errorf("one packet: %v, scale %v; want [800], 800", o, top)
	}

	s := &sampler{samples: []tracker.Counters{
		{Start: t1, Last: t1, OrigIPBytes: 100},
		{Start: t1, Last: t1.Add(time.Second), OrigIPBytes: 600},
		{Start: t1, Last: t1.Add(2 * time.Second), OrigIPBytes: 700, RespIPBytes: 50},
	}}
	o1, r1, top1 := s.rates(t1.Add(2 * time.Second))
	o2, r2, top2 := s.rates(t1.Add(6 * time.Second)) // four seconds idle
	if top1 != top2 || top1 != 4000 {
		t.Errorf("scale %v then %v, want 4000 both", top1, top2)
	}
	if len(o2) != len(o1)+4 || !slices.Equal(o2[:len(o1)], o1) || !slices.Equal(r2[:len(r1)], r1) {
		t.Errorf("history moved: %v %v, then %v %v", o1, r1, o2, r2)
	}
	if o2[len(o2)-1] != 0 || r2[len(r2)-1] != 0 {
		t.Errorf("idle: newest %v %v, want 0", o2[len(o2)-1], r2[len(r2)-1])
	}
	if want := []float64{800, 4000, 800}; !slices.Equal(o1, want) {
		t.Errorf("orig→resp %v, want %v", o1, want)
	}
}
