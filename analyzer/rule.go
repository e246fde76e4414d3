package analyzer

// Result is what a signature's matcher says of the data seen so far.
type Result uint8

// Matcher results.
const (
	More  Result = iota // no prefix matches yet; more data may still match
	Match               // a prefix of the data matches the pattern
	Fail                // no continuation of the data can match
)

// Dir is a rule's tcp-state condition: which role must have sent the data.
type Dir uint8

// Directions.
const (
	Any  Dir = iota // either role (no tcp-state condition)
	Orig            // tcp-state originator
	Resp            // tcp-state responder
)

// Rule is one DPD signature (service-detection.md §7). Its pattern is anchored at
// the start of the direction's stream (TCP) or of each datagram (UDP) and matches
// when some prefix of the data does; Match implements it on raw bytes, without a
// regular-expression engine, and is checked against the pattern written as a
// regular expression in Pattern (rule_test.go).
type Rule struct {
	Name      string
	Transport Transport // 0: TCP and UDP
	Dir       Dir       // tcp-state; on UDP a rule with a tcp-state never fires
	// Pattern is the signature's regular expression, as service-detection.md
	// writes it (bytes as \xNN). It documents Match and is its test oracle.
	Pattern string
	// Match tests the data of one direction seen so far (TCP) or one datagram (UDP).
	Match func(data []byte) Result
	// AtLine, for a pattern of the form `(|.*[\r\n])P`, matches P alone at the
	// start of its argument. On TCP the PIA then tries it only at the line starts
	// a chunk adds and at those still waiting for data, instead of running Match
	// over the whole stream for every chunk (rule_test.go holds the two to agree).
	AtLine func(data []byte) Result
	// Resume, when set, is Match on a TCP direction's data after Match said More
	// on its first old bytes: an unanchored pattern then looks at the new bytes
	// only, instead of the whole stream at every chunk (rule_test.go holds the two
	// to agree).
	Resume func(data []byte, old int) Result
	// MinSize and MaxSize bound the datagram's payload size (payload-size); 0 is
	// no bound.
	MinSize, MaxSize int
	// Needs is the rule that must have fired in the other direction first
	// (requires-reverse-signature), "" for none.
	Needs string
	// Enables is the analyzer the rule attaches, "" for a rule that is only another
	// rule's precondition.
	Enables string

	index    int
	needs    int   // index of Needs, -1 for none
	neededBy []int // the rules whose Needs this is
	line     int   // for a line rule, its index among them
	// first is the set of bytes data may start with for Match not to fail, and
	// lineFirst for AtLine: a byte outside it settles the rule at once.
	first, lineFirst class
	enables          *Analyzer
	owner            *Analyzer
}
