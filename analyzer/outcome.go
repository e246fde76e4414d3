package analyzer

import (
	"fmt"
	"strings"
)

// Outcome says what became of one analyzer on a connection: how it was attached
// and what it decided, for a person reading why a connection got its service.
type Outcome struct {
	Analyzer ID
	Via      Via
	Rule     string // the signature that attached it (ViaSignature)
	Parent   ID     // the analyzer that attached it (ViaParent), or whose tunnel held it
	Verdict  Verdict
	// Where the verdict was reached: in the originator's (Orig) or the
	// responder's stream, in the chunk that starts At bytes into it.
	Orig bool
	At   uint64
	// Partial: the connection was partial when data came, and the analyzer, which
	// reads no data of partial connections, ignored it.
	Partial bool
}

// Via is how an analyzer came to a connection.
type Via uint8

// Ways of attaching.
const (
	ViaPort      Via = iota // registered on the responder port
	ViaSignature            // a DPD signature enabled it
	ViaParent               // another analyzer attached it (STARTTLS, GSSAPI, ...)
)

// Verdict is an analyzer's decision.
type Verdict uint8

// Verdicts.
const (
	VerdictPending   Verdict = iota // still reading, or never decided
	VerdictConfirmed                // confirmed its protocol: the service
	VerdictViolation                // ruled out: the data broke its protocol
	VerdictGap                      // stopped at a content gap, undecided
	VerdictStopped                  // stopped reading, undecided
)

var verdictNames = [...]string{"undecided", "confirmed", "ruled out: protocol violation", "stopped at a content gap", "stopped"}

// String describes the verdict.
func (v Verdict) String() string {
	if int(v) < len(verdictNames) {
		return verdictNames[v]
	}
	return "unknown"
}

// String describes the outcome in one line, e.g. "http: confirmed (port), in the
// originator's data at byte 0".
func (o Outcome) String() string {
	var b strings.Builder
	b.WriteString(Name(o.Analyzer))
	b.WriteString(": ")
	b.WriteString(o.Verdict.String())
	switch o.Via {
	case ViaPort:
		b.WriteString(" (attached by port")
	case ViaSignature:
		fmt.Fprintf(&b, " (attached by signature %s", o.Rule)
	case ViaParent:
		fmt.Fprintf(&b, " (attached by %s", Name(o.Parent))
	}
	if o.Via != ViaParent && o.Parent != 0 {
		fmt.Fprintf(&b, " inside %s", Name(o.Parent))
	}
	b.WriteByte(')')
	if o.Verdict != VerdictPending {
		who := "responder"
		if o.Orig {
			who = "originator"
		}
		fmt.Fprintf(&b, ", on the %s's data at byte %d", who, o.At)
	}
	if o.Partial && o.Verdict == VerdictPending {
		b.WriteString(", ignored a partial connection")
	}
	return b.String()
}

// decide records i's verdict, reached on a direction's data. The first counts,
// but a violation overrides a confirmation: it removed the service.
func (i *instance) decide(v Verdict, isOrig bool) {
	if i.out.Verdict != VerdictPending && !(v == VerdictViolation && i.out.Verdict == VerdictConfirmed) {
		return
	}
	s := i.ctx.s
	i.out.Verdict, i.out.Orig, i.out.At = v, isOrig, s.off[dirIndex(isOrig)]
	s.changed = true
}

// maxSharedOutcomes bounds the single-analyzer outcomes an Inspector shares.
const maxSharedOutcomes = 1024

// Outcomes returns what became of each analyzer attached so far, parents before
// their children, in the order they were attached. The slice is never changed
// afterwards: it is rebuilt when something changes.
func (s *Session) Outcomes() []Outcome {
	if !s.changed {
		return s.outs
	}
	s.changed = false
	if in := s.in; len(s.root.insts) == 1 {
		if i := s.root.insts[0]; len(i.children) == 0 && len(i.tunnels) == 0 {
			// One analyzer, as on most connections: its few distinct outcomes
			// (a TLS port's "ruled out at byte 0 of the originator's data")
			// are shared, read-only like every slice Outcomes returns.
			if out, ok := in.outcomes[i.out]; ok {
				s.outs = out
				return out
			}
			out := []Outcome{i.out}
			if len(in.outcomes) < maxSharedOutcomes {
				if in.outcomes == nil {
					in.outcomes = make(map[Outcome][]Outcome)
				}
				in.outcomes[i.out] = out
			}
			s.outs = out
			return out
		}
	}
	var out []Outcome
	var walk func(insts []*instance)
	walk = func(insts []*instance) {
		for _, i := range insts {
			out = append(out, i.out)
			walk(i.children)
			for _, t := range i.tunnels {
				walk(t.insts)
			}
		}
	}
	walk(s.root.insts)
	s.outs = out
	return out
}
