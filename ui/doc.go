// Package ui is flowtop's terminal interface: a Bubble Tea program that shows the
// tracker's connections as a sortable, filterable table, with a detail view, an
// alerts pane, a thresholds dialog and content extraction controls.
//
// It reads the tracker's Feed and never touches the connection table: snapshots go
// through a pipeline goroutine that keeps the TUI's own copy of the flows (package
// flows), sorts and filters it, and hands the Bubble Tea model immutable frames, so
// neither the capture nor the event loop waits for that work. The model formats
// only the rows on screen. Calls that change the tracker (thresholds, extraction)
// go through Tracker.Do and come back as messages.
//
// Its contract: View has no side effects (it draws from the model and the latest
// frame only); only the visible rows are formatted, and column widths follow
// them; network time is the snapshots' (a paused or ended input freezes it, and
// the status bar's rates then fall to zero); closed rows follow one rule whatever
// removed them (dimmed, their reason in IDLE, hidden by c).
package ui
