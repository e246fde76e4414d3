//go:build !linux

package tracker

import "errors"

// DefaultSnaplen is the capture length used when LiveOptions.Snaplen is zero.
const DefaultSnaplen = 262144

// LiveOptions configures a live capture.
type LiveOptions struct {
	// Snaplen is the number of bytes kept of each packet; zero means DefaultSnaplen.
	Snaplen int
	// Promisc puts the interface into promiscuous mode while capturing.
	Promisc bool
}

var errLiveUnsupported = errors.New("live capture is only supported on Linux")

// OpenLive starts a live capture on iface. Live capture is only implemented on
// Linux; elsewhere OpenLive always fails (read a capture file instead).
func OpenLive(iface string, opt LiveOptions) (Source, error) {
	return nil, errLiveUnsupported
}

// DefaultInterface returns the interface to capture on when none is given. Live
// capture is only implemented on Linux; elsewhere it always fails.
func DefaultInterface() (string, error) {
	return "", errLiveUnsupported
}
