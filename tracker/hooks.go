package tracker

import "slices"

// RemovalHook is a function that runs once, with the final record, when a
// connection it is registered with is removed: after the record is final and before
// Handlers.Remove sees it (Zeek's Conn::register_removal_hook). Hooks are told apart
// by identity, so create one with NewRemovalHook and register that pointer.
//
// Only connections with hooks pay for them: removing any other connection
// dispatches nothing.
type RemovalHook struct {
	fn func(*Record)
}

// NewRemovalHook returns a hook that calls fn. The Record passed to fn is reused
// after fn returns: copy what you keep.
func NewRemovalHook(fn func(*Record)) *RemovalHook { return &RemovalHook{fn: fn} }

// RegisterRemovalHook registers hk on the connection. It reports false if hk was
// already registered (it still runs only once) or the handle is stale.
func (h Conn) RegisterRemovalHook(hk *RemovalHook) bool {
	c := h.conn()
	if c == nil || hk == nil {
		return false
	}
	x := h.t.extraOf(c)
	if slices.Contains(x.hooks, hk) {
		return false
	}
	x.hooks = append(x.hooks, hk)
	return true
}

// UnregisterRemovalHook removes hk from the connection; it reports whether hk was
// registered.
func (h Conn) UnregisterRemovalHook(hk *RemovalHook) bool {
	c := h.conn()
	if c == nil {
		return false
	}
	x := h.t.peekExtra(c)
	if x == nil {
		return false
	}
	i := slices.Index(x.hooks, hk)
	if i < 0 {
		return false
	}
	x.hooks = slices.Delete(x.hooks, i, i+1)
	return true
}

// runRemovalHooks runs the hooks registered on x's connection, in registration order.
func runRemovalHooks(x *connExtra, r *Record) {
	for _, hk := range x.hooks {
		hk.fn(r)
	}
}
