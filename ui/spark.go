package ui

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowtop/flowtop/tracker"
)

// sampleEvery is the polling interval of the selected connection (network time),
// and the width of one sparkline bar.
const sampleEvery = time.Second

// maxSamples bounds a sampler's history.
const maxSamples = 240

// sampler records one connection's byte counters through the tracker's polling API,
// for the detail view's sparkline. The poll callback runs on the tracker's
// goroutine; the UI reads under the mutex.
type sampler struct {
	uid  string
	stop atomic.Bool

	mu      sync.Mutex
	samples []tracker.Counters
}

// poll is the tracker.PollFunc: it records the counters and asks to be called
// again, until stopped.
func (s *sampler) poll(c tracker.Conn, _ int) time.Duration {
	if s.stop.Load() {
		return -1
	}
	cnt := c.Counters()
	s.mu.Lock()
	if n := len(s.samples); n == 0 || s.samples[n-1] != cnt {
		if n == maxSamples {
			s.samples = append(s.samples[:0], s.samples[1:]...)
		}
		s.samples = append(s.samples, cnt)
	}
	s.mu.Unlock()
	return sampleEvery
}

// rates returns the connection's rates in bits/s per sampleEvery bucket, oldest
// first, the last bucket being that of its latest packet: orig→resp and resp→orig.
// A bucket without traffic is 0.
func (s *sampler) rates() (orig, resp []float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.samples) < 2 {
		return nil, nil
	}
	first, last := s.samples[0].Last, s.samples[len(s.samples)-1].Last
	n := min(int(last.Sub(first)/sampleEvery)+1, maxSamples)
	orig, resp = make([]float64, n), make([]float64, n)
	for i := 1; i < len(s.samples); i++ {
		a, b := s.samples[i-1], s.samples[i]
		k := n - 1 - int(last.Sub(b.Last)/sampleEvery)
		if k < 0 {
			continue
		}
		perSec := 8 / sampleEvery.Seconds()
		orig[k] += float64(b.OrigIPBytes-a.OrigIPBytes) * perSec
		resp[k] += float64(b.RespIPBytes-a.RespIPBytes) * perSec
	}
	return orig, resp
}

var sparkLevels = []rune("▁▂▃▄▅▆▇█")

// sparkline draws the last width values scaled to top, one cell each.
func sparkline(v []float64, width int, top float64) string {
	if len(v) > width {
		v = v[len(v)-width:]
	}
	var b strings.Builder
	for _, x := range v {
		if top <= 0 || x <= 0 {
			b.WriteRune(' ')
			continue
		}
		i := int(x / top * float64(len(sparkLevels)-1))
		b.WriteRune(sparkLevels[min(max(i, 0), len(sparkLevels)-1)])
	}
	return b.String()
}
