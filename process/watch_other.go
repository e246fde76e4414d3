//go:build !linux

package process

import "golang.org/x/net/bpf"

// WatchSnaplen is how much of each packet a Watcher reads.
const WatchSnaplen = 128

// Watcher sees the first packet of each new connection; there is none off Linux.
type Watcher struct{}

// WatchFilters are a Watcher's kernel filters.
type WatchFilters struct {
	All, SYN []bpf.RawInstruction
}

// NewWatcher returns ErrUnsupported off Linux.
func NewWatcher(int, WatchFilters) (*Watcher, error) { return nil, ErrUnsupported }

func (w *Watcher) start(func(Ends)) {}

// Close stops the Watcher.
func (w *Watcher) Close() {}
