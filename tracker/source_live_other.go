//go:build !linux

package tracker

import "errors"

// AnyInterface is the pseudo-interface that captures on every interface at once.
const AnyInterface = "any"

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
