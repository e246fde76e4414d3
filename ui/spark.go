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

// rates returns the connection's rates in bits/s per sampleEvery bucket of network
// time, oldest first, up to the bucket of end (now for an open connection, its
// last packet for a closed one), and the largest bucket of the whole history, the
// scale: a bar keeps its height as the window moves on. Buckets are aligned to
// network time, so a past bar never changes; a bucket without traffic is 0. A
// connection young at its first sample counts its bytes from its start, so that a
// one-packet flow has its bar.
func (s *sampler) rates(end time.Time) (orig, resp []float64, top float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.samples) == 0 {
		return nil, nil, 0
	}
	bucket := func(t time.Time) int64 { return t.UnixNano() / int64(sampleEvery) }
	samples := s.samples
	if first := samples[0]; first.Last.Sub(first.Start) < sampleEvery {
		zero := tracker.Counters{Start: first.Start, Last: first.Start}
		samples = append([]tracker.Counters{zero}, samples...)
	}
	last := max(bucket(end), bucket(samples[len(samples)-1].Last))
	firstB := max(bucket(samples[0].Last), last-maxSamples+1)
	n := int(last - firstB + 1)
	orig, resp = make([]float64, n), make([]float64, n)
	perSec := 8 / sampleEvery.Seconds()
	all := map[int64][2]float64{}
	for i := 1; i < len(samples); i++ {
		a, b := samples[i-1], samples[i]
		k := bucket(b.Last)
		v := all[k]
		v[0] += float64(b.OrigIPBytes-a.OrigIPBytes) * perSec
		v[1] += float64(b.RespIPBytes-a.RespIPBytes) * perSec
		all[k] = v
	}
	for k, v := range all {
		top = max(top, v[0], v[1])
		if i := int(k - firstB); i >= 0 && i < n {
			orig[i], resp[i] = v[0], v[1]
		}
	}
	return orig, resp, top
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
