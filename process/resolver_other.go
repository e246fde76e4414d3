//go:build !linux

package process

import (
	"net/netip"
	"time"
)

// FullScanEvery is how often, at most, a Resolver reads every process's fds.
const FullScanEvery = 5 * time.Second

// Resolver finds the process behind a socket; there is none off Linux.
type Resolver struct {
	// Stats count the Resolver's work.
	Stats Stats
}

// Stats are a Resolver's counters.
type Stats struct {
	Lookups, Found, Owned, FDScans, FullScans uint64
	ScanTime                                  time.Duration
}

// New returns ErrUnsupported off Linux.
func New() (*Resolver, error) { return nil, ErrUnsupported }

// Warnings says what this Resolver cannot see.
func (r *Resolver) Warnings() []string { return nil }

// Close releases the Resolver.
func (r *Resolver) Close() {}

// Prime reads every process's fds once.
func (r *Resolver) Prime() {}

// LookupListener returns the process listening on local.
func (r *Resolver) LookupListener(netip.AddrPort) (*Process, error) { return nil, nil }

// Lookup returns the process behind s.
func (r *Resolver) Lookup(Socket) (*Process, error) { return nil, nil }
