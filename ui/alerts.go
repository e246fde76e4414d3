package ui

import (
	"fmt"
	"time"

	"github.com/flowtop/flowtop/tracker"
	"github.com/flowtop/flowtop/units"
)

// alert is one line of the alerts pane.
type alert struct {
	at    time.Time
	text  string
	err   bool // an error (extraction fault, capture error) rather than a crossing
	count int  // how many times it was raised
}

// alertList holds the alerts, newest first, de-duplicated by text.
type alertList struct {
	items []alert
}

// maxAlerts bounds the list; the oldest go first.
const maxAlerts = 500

// add raises an alert; a repeat of one already listed moves it to the top with its
// count increased.
func (l *alertList) add(at time.Time, text string, isErr bool) {
	for i, a := range l.items {
		if a.text == text {
			a.at, a.count = at, a.count+1
			copy(l.items[1:i+1], l.items[:i])
			l.items[0] = a
			return
		}
	}
	l.items = append(l.items, alert{})
	copy(l.items[1:], l.items)
	l.items[0] = alert{at: at, text: text, err: isErr, count: 1}
	if len(l.items) > maxAlerts {
		l.items = l.items[:maxAlerts]
	}
}

// crossingText describes a threshold crossing.
func crossingText(x *tracker.Crossing) string {
	dir := "orig"
	if !x.IsOrig {
		dir = "resp"
	}
	var what string
	switch x.Metric {
	case tracker.MetricBytes:
		what = fmt.Sprintf("%s IP bytes reached %d (%s)", dir, x.Threshold, units.FormatBytes(x.Threshold))
	case tracker.MetricPackets:
		what = fmt.Sprintf("%s packets reached %d", dir, x.Threshold)
	default:
		what = fmt.Sprintf("duration passed %v", x.Duration())
	}
	return fmt.Sprintf("%s %s %s → %s: %s", x.UID, x.ID.Proto.Transport(), x.ID.Orig(), x.ID.Resp(), what)
}
