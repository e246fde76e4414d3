package ui

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/muesli/termenv"

	"github.com/flowtop/flowtop/connlog"
	"github.com/flowtop/flowtop/themes"
	"github.com/flowtop/flowtop/tracker"
	"github.com/flowtop/flowtop/ui/filter"
	"github.com/flowtop/flowtop/ui/flows"
)

// Tracker is what the TUI asks of the tracker: calls run on its goroutine.
// *tracker.Tracker implements it.
type Tracker interface {
	Do(fn func()) bool
	SetDefaultThresholds(tracker.Thresholds)
}

// Pauser pauses a replay (tracker.Replay implements it).
type Pauser interface {
	Pause()
	Resume()
}

// Options configure the TUI.
type Options struct {
	Source     string        // what is captured: an interface or a file name
	Live       bool          // capturing from an interface
	Theme      *themes.Theme // nil: the built-in dark theme
	Keys       *KeyMap       // nil: the default bindings
	Columns    []string      // visible columns in order; nil: DefaultColumns
	ByteRates  bool          // rates in bytes/s rather than bits/s
	Linger     time.Duration // how long closed connections stay listed; 0: forever
	ShowClosed bool          // list closed connections from the start
	Defaults   tracker.Thresholds
	// MaxFlows bounds the connections the view holds: past it, the oldest closed
	// ones go first ([limits] memory); 0 is no bound.
	MaxFlows int
	// RecentBuffer says a ring of recent packets is kept ([capture]
	// recent_buffer), so that w writes a connection's packets from its first.
	RecentBuffer bool
	// CommunityIDSeed seeds the Community ID in the detail view and the filter's
	// cid ([connlog] community_id_seed).
	CommunityIDSeed uint16
	// SaveColumns writes the columns the chooser chose to the configuration file
	// ([ui] columns), on request; nil: saving is not offered.
	SaveColumns func([]string) error
	// Clipboard receives what y copies; nil writes it to the terminal as an OSC 52
	// sequence, which terminals (also over SSH, in tmux with set-clipboard on) put
	// on the clipboard.
	Clipboard func(string)
}

// mode is what the screen shows.
type mode int

const (
	modeTable mode = iota
	modeFilter
	modeDetail
	modeHelp
	modeDialog
	modeJump
	modeColumns
)

// Messages from other goroutines.
type (
	// doneMsg says the tracker stopped, with Run's error.
	doneMsg struct{ err error }
	// alertMsg is an error to show in the alerts pane.
	alertMsg struct {
		at   time.Time
		text string
	}
	// connMsg carries what the tracker alone knows of a connection: its pending
	// thresholds and where its content extraction started.
	connMsg struct {
		uid     string
		list    []threshold
		start   [2]uint64 // stream offsets where extraction started, orig and resp
		started [2]bool
	}
	// extractMsg reports the x key's result.
	extractMsg struct {
		uid string
		on  bool
	}
	// packetsMsg reports the w key's result: the file, and the packets the
	// connection had when marked (on) or the packets written (off).
	packetsMsg struct {
		uid             string
		on              bool
		file            string
		before, written uint64
	}
)

// Done returns the message that tells the TUI the tracker has stopped.
func Done(err error) tea.Msg { return doneMsg{err} }

// Alert returns the message that adds an error to the alerts pane.
func Alert(at time.Time, text string) tea.Msg { return alertMsg{at, text} }

// Bounds of the crossings kept for the detail view.
const (
	maxCrossedConns   = 10000
	maxCrossedPerConn = 32
)

// Model is the TUI's Bubble Tea model.
type Model struct {
	opts    Options
	keys    KeyMap
	styles  *themes.Theme
	tr      Tracker
	ex      *Extraction
	replay  Pauser
	pipe    *pipeline
	send    func(tea.Msg) // delivers a message from another goroutine
	replies chan tea.Msg  // replies from the tracker's goroutine, for send

	width, height int
	mode          mode

	// The latest frame and the status figures derived from it.
	frame            frameMsg
	pktRate, bitRate float64
	times            timeMode // how START gives times (the d key)
	rateWindow       int      // index in rateWindows (the r key)
	copied           int      // what the last y copied, when the key before was y too: 1 uid, 2 5-tuple, 3 record
	rateStats        tracker.Stats
	rateAt           time.Time
	ended, paused    bool
	endErr           error
	cols             []column
	cursor, offset   int
	selUID           string
	sort             flows.Column
	desc, showClosed bool
	byteRates        bool
	names            bool // endpoints as names where known (the n key)
	filter           *filter.Filter
	bar              filterBar       // the filter editor (the / key)
	narrow           []column        // the columns below narrowWidth; nil when [ui] columns chose them
	chooser          *chooser        // the column chooser while open
	jumpIn           textinput.Model // the uid or address to go to (the jump key)
	detail           detailPane
	helpPane         *helpPane
	help             help.Model // the footer's short help
	under            mode       // what the help or the dialog returns to: the table or the detail view
	dialog           *dialog
	alerts           alertList
	showAlerts       bool
	defaults         []threshold
	connInfo         connMsg                       // the latest details of a connection from the tracker
	crossed          map[string][]tracker.Crossing // crossings by uid, for the detail view
	message          string
	spark            *sampler
	sampledConn      tracker.Conn
}

// New returns the model. tr, ex and replay may be nil (no tracker control, no
// extraction, a live source); pipe may be nil in tests, which then send frames.
func newModel(opts Options, tr Tracker, ex *Extraction, replay Pauser, pipe *pipeline, send func(tea.Msg)) (*Model, error) {
	if opts.Theme == nil {
		th, err := themes.Load("dark", "")
		if err != nil {
			return nil, err
		}
		opts.Theme = th
	}
	if opts.Keys == nil {
		k, err := NewKeyMap(nil)
		if err != nil {
			return nil, err
		}
		opts.Keys = &k
	}
	names := opts.Columns
	if names == nil {
		names = DefaultColumns
	}
	cols, err := findColumns(names)
	if err != nil {
		return nil, err
	}
	var narrow []column
	if opts.Columns == nil {
		narrow, _ = findColumns(NarrowColumns)
	}
	m := &Model{
		opts: opts, keys: *opts.Keys, styles: opts.Theme, tr: tr, ex: ex, replay: replay, pipe: pipe, send: send,
		cols: cols, narrow: narrow, showClosed: opts.ShowClosed, byteRates: opts.ByteRates,
		bar: newFilterBar(filter.Options{CommunityIDSeed: opts.CommunityIDSeed}), jumpIn: newJumpInput(), help: help.New(), detail: newDetailPane(),
		defaults: defaultsList(opts.Defaults), crossed: map[string][]tracker.Crossing{},
		showAlerts: true,
	}
	if opts.Live {
		m.sort, m.desc = flows.ByRate, true // live, the busiest first: a new download shows at the top
	}
	m.replies = make(chan tea.Msg, maxReplies)
	if send != nil {
		go deliver(m.replies, send)
	}
	m.helpPane = newHelpPane(m.keys, m.style)
	m.help.Styles.ShortKey = m.styles.Style(themes.HelpKey)
	m.help.Styles.ShortDesc = m.styles.Style(themes.HelpDesc)
	m.help.Styles.FullKey = m.styles.Style(themes.HelpKey)
	m.help.Styles.FullDesc = m.styles.Style(themes.HelpDesc)
	m.help.Styles.ShortSeparator = m.styles.Style(themes.Footer)
	m.help.Styles.FullSeparator = m.styles.Style(themes.Footer)
	m.help.Styles.Ellipsis = m.styles.Style(themes.Footer)
	m.sendQuery()
	return m, nil
}

// Init implements tea.Model.
func (m *Model) Init() tea.Cmd { return nil }

// sendQuery hands the current query to the pipeline.
func (m *Model) sendQuery() {
	if m.pipe == nil {
		return
	}
	m.pipe.setQuery(m.query())
}

// query is the pipeline's query for the model's current order, filter, closed
// rows and rate window.
func (m *Model) query() flows.Query {
	q := flows.Query{Sort: m.sort, Desc: m.desc, ShowClosed: m.showClosed, RateWindow: rateWindows[m.rateWindow]}
	if m.filter != nil {
		q.Match = m.filter.Match
	}
	return q
}

// maxReplies bounds the replies waiting for the UI.
const maxReplies = 256

// Update implements tea.Model.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.clampCursor()
		return m, nil
	case frameMsg:
		m.applyFrame(msg)
		return m, nil
	case doneMsg:
		m.ended, m.endErr = true, msg.err
		if msg.err != nil {
			m.alerts.add(time.Now(), "capture stopped: "+msg.err.Error(), true)
		}
		return m, nil
	case alertMsg:
		m.alerts.add(msg.at, msg.text, true)
		return m, nil
	case connMsg:
		m.connInfo = msg
		if m.dialog != nil && m.dialog.uid == msg.uid {
			m.dialog.list = msg.list
			m.dialog.sel = min(m.dialog.sel, max(len(msg.list)-1, 0))
		}
		return m, nil
	case packetsMsg:
		switch {
		case msg.on && m.opts.RecentBuffer:
			m.message = fmt.Sprintf("writing the packets of %s into %s%s, from the first still in the recent buffer", msg.uid, m.ex.Dir(), msg.file)
		case msg.on:
			m.message = fmt.Sprintf("writing the packets of %s into %s%s from now on (its first %d are not kept; [capture] recent_buffer keeps them)", msg.uid, m.ex.Dir(), msg.file, msg.before)
		default:
			m.message = fmt.Sprintf("stopped writing the packets of %s: %d in %s", msg.uid, msg.written, msg.file)
		}
		return m, nil
	case extractMsg:
		if msg.on {
			m.message = "extracting " + msg.uid + " into " + m.ex.Dir()
		} else {
			m.message = "stopped extracting " + msg.uid + "; its files are in " + m.ex.Dir()
		}
		return m, nil
	case tea.MouseMsg:
		return m, m.mouse(msg)
	case tea.KeyMsg:
		if msg.Type == tea.KeyRunes && len(msg.Runes) > 1 && !msg.Paste && m.mode != modeFilter && m.mode != modeDialog && m.mode != modeJump {
			// Keys typed faster than the terminal is read arrive together: one each.
			var cmds []tea.Cmd
			for _, r := range msg.Runes {
				_, cmd := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}, Alt: msg.Alt})
				cmds = append(cmds, cmd)
			}
			return m, tea.Batch(cmds...)
		}
		return m, m.key(msg)
	}
	return m, nil
}

// applyFrame takes a new frame, keeping the cursor on its connection.
func (m *Model) applyFrame(f frameMsg) {
	switch {
	case f.final:
		// The input ended: nothing flows any more, though network time stopped
		// with the last packet.
		m.pktRate, m.bitRate = 0, 0
	case !m.rateAt.IsZero():
		if dt := f.now.Sub(m.rateAt).Seconds(); dt >= 0.5 {
			m.pktRate = float64(f.stats.Packets-m.rateStats.Packets) / dt
			m.bitRate = float64(f.stats.Bytes-m.rateStats.Bytes) * 8 / dt
			m.rateStats, m.rateAt = f.stats, f.now
		}
	default:
		m.rateStats, m.rateAt = f.stats, f.now
	}
	for i := range f.crossings {
		x := &f.crossings[i]
		m.alerts.add(x.Time, crossingText(x), false)
		if len(m.crossed) >= maxCrossedConns {
			clear(m.crossed)
		}
		if l := m.crossed[x.UID]; len(l) < maxCrossedPerConn {
			m.crossed[x.UID] = append(l, *x)
		}
	}
	line := m.cursor - m.offset // keep the selected row on the same screen line
	m.frame = f
	i := f.keep
	if i < 0 || i >= len(f.rows) || f.rows[i].UID != m.selUID {
		i = flows.Index(f.rows, m.selUID) // the cursor moved since the frame was made
	}
	if i >= 0 {
		m.cursor = i
		m.offset = i - line
	}
	m.clampCursor()
	m.follow()
	if m.mode == modeDetail {
		m.refreshDetail()
	}
}

// selected returns the flow under the cursor, or nil.
func (m *Model) selected() *flows.Flow {
	if m.cursor < 0 || m.cursor >= len(m.frame.rows) {
		return nil
	}
	return m.frame.rows[m.cursor]
}

// tableHeight is the number of rows the table shows.
func (m *Model) tableHeight() int {
	h := m.height - 3 // status, header, footer
	if m.alertsShown() {
		h -= m.alertsHeight()
	}
	return max(h, 1)
}

// clampCursor keeps the cursor and the viewport within the rows, and remembers the
// selected uid.
func (m *Model) clampCursor() {
	n := len(m.frame.rows)
	m.cursor = min(max(m.cursor, 0), max(n-1, 0))
	h := m.tableHeight()
	m.offset = min(max(m.offset, m.cursor-h+1, 0), m.cursor)
	m.offset = max(min(m.offset, n-h), 0)
	if f := m.selected(); f != nil && f.UID != m.selUID {
		m.selUID = f.UID
		if m.pipe != nil {
			m.pipe.selectUID(f.UID)
		}
	}
}

// move moves the cursor by delta rows.
func (m *Model) move(delta int) {
	m.cursor += delta
	m.clampCursor()
	m.follow()
}

// key handles a key press.
func (m *Model) key(k tea.KeyMsg) tea.Cmd {
	m.message = ""
	if !key.Matches(k, m.keys.Copy) {
		m.copied = 0
	}
	switch m.mode {
	case modeFilter:
		return m.filterKey(k)
	case modeJump:
		return m.jumpKey(k)
	case modeColumns:
		return m.chooserKey(k)
	case modeDialog:
		return m.dialogKey(k)
	case modeHelp:
		switch m.helpPane.Update(k, m.width, m.bodyHeight()) {
		case helpQuit:
			return tea.Quit
		case helpClose:
			m.closeOverlay()
		}
		return nil
	case modeDetail:
		cmd, act := m.detail.Update(k, m.keys)
		switch act {
		case detailQuit:
			return tea.Quit
		case detailClose:
			m.mode = modeTable
		case detailTable:
			cmd = m.tableKey(k)
			if m.mode == modeDetail {
				m.refreshDetail() // b, n, d and r change how it reads
			}
		}
		return cmd
	}
	return m.tableKey(k)
}

// tableKey handles a key of the table (some of which the detail view shares).
func (m *Model) tableKey(k tea.KeyMsg) tea.Cmd {
	switch {
	case key.Matches(k, m.keys.Quit):
		return tea.Quit
	case key.Matches(k, m.keys.Help):
		m.helpPane.offset = 0
		m.openOverlay(modeHelp)
	case key.Matches(k, m.keys.Back):
		if m.mode == modeTable && m.filter != nil {
			m.filter = nil
			m.message = "filter cleared"
			m.sendQuery()
		}
		m.mode = modeTable
	case key.Matches(k, m.keys.Filter):
		m.mode = modeFilter
		return m.bar.Open(m.filter)
	case key.Matches(k, m.keys.SortNext):
		m.sort = m.sort.Next()
		m.sendQuery()
	case key.Matches(k, m.keys.SortReverse):
		m.desc = !m.desc
		m.sendQuery()
	case key.Matches(k, m.keys.Up):
		m.move(-1)
	case key.Matches(k, m.keys.Down):
		m.move(1)
	case key.Matches(k, m.keys.PageUp):
		m.move(-m.tableHeight())
	case key.Matches(k, m.keys.PageDown):
		m.move(m.tableHeight())
	case key.Matches(k, m.keys.Top):
		m.move(-len(m.frame.rows))
	case key.Matches(k, m.keys.Bottom):
		m.move(len(m.frame.rows))
	case key.Matches(k, m.keys.Detail):
		if m.selected() != nil {
			m.mode = modeDetail
			m.detail.vp.GotoTop()
			m.refreshDetail()
		}
	case key.Matches(k, m.keys.Pause):
		m.togglePause()
		m.message = pick(m.paused, "display paused (p resumes)", "display resumed")
	case key.Matches(k, m.keys.Closed):
		m.showClosed = !m.showClosed
		m.message = pick(m.showClosed, "showing closed connections", "hiding closed connections")
		m.sendQuery()
	case key.Matches(k, m.keys.Units):
		m.byteRates = !m.byteRates
		m.message = pick(m.byteRates, "rates in bytes/s", "rates in bits/s")
	case key.Matches(k, m.keys.Names):
		m.names = !m.names
		m.message = pick(m.names, "showing names", "showing addresses")
	case key.Matches(k, m.keys.Columns):
		// The columns in use: the narrow set when it shows, without a PROCESS
		// column that waits for a process.
		m.chooser, m.mode = newChooser(m.visibleColumns()), modeColumns
	case key.Matches(k, m.keys.Jump):
		m.mode = modeJump
		m.jumpIn.SetValue("")
		return m.jumpIn.Focus()
	case key.Matches(k, m.keys.Copy):
		return m.copySelected()
	case key.Matches(k, m.keys.RateWindow):
		m.rateWindow = (m.rateWindow + 1) % len(rateWindows)
		m.message = fmt.Sprintf("rates averaged over %v (then %v)", rateWindows[m.rateWindow], rateWindows[(m.rateWindow+1)%len(rateWindows)])
		m.sendQuery()
	case key.Matches(k, m.keys.Time):
		m.times = (m.times + 1) % numTimeModes
		m.message = "START: " + m.times.String()
	case key.Matches(k, m.keys.Alerts):
		m.showAlerts = !m.showAlerts
		m.message = pick(m.showAlerts, "alerts pane shown", "alerts pane hidden")
		m.clampCursor()
	case key.Matches(k, m.keys.Thresholds):
		m.openThresholds()
	case key.Matches(k, m.keys.Defaults):
		m.dialog = newDialog("", tracker.Conn{}, "Default thresholds for new connections", slices.Clone(m.defaults))
		m.openOverlay(modeDialog)
	case key.Matches(k, m.keys.Extract):
		m.toggleExtract()
	case key.Matches(k, m.keys.Packets):
		m.togglePackets()
	case key.Matches(k, m.keys.ExtractAll):
		if m.ex == nil {
			m.message = "extraction is not available"
			break
		}
		m.ex.setAll(!m.ex.All())
		if m.ex.All() {
			m.message = "extracting all new connections into " + m.ex.Dir()
		} else {
			m.message = "no longer extracting new connections"
		}
	}
	return nil
}

func newJumpInput() textinput.Model {
	in := textinput.New()
	in.Prompt = "go to: "
	in.Placeholder = "a uid (its start will do), an address or an address:port"
	return in
}

// jumpKey edits the jump input: Enter moves the cursor to the first row whose uid
// starts with the text or whose endpoints contain it, without filtering; Esc
// cancels.
func (m *Model) jumpKey(k tea.KeyMsg) tea.Cmd {
	switch k.Type {
	case tea.KeyEnter:
		text := strings.TrimSpace(m.jumpIn.Value())
		m.jumpIn.Blur()
		m.mode = modeTable
		if text == "" {
			return nil
		}
		for i, f := range m.frame.rows {
			if strings.HasPrefix(f.UID, text) || strings.Contains(f.ConnID.Orig(), text) || strings.Contains(f.ConnID.Resp(), text) {
				m.cursor = i
				m.clampCursor()
				m.follow()
				return nil
			}
		}
		m.message = "no listed connection matches " + text
		return nil
	case tea.KeyEsc:
		m.jumpIn.Blur()
		m.mode = modeTable
		return nil
	case tea.KeyCtrlC:
		return tea.Quit
	}
	var cmd tea.Cmd
	m.jumpIn, cmd = m.jumpIn.Update(k)
	return cmd
}

// chooserKey hands a key to the column chooser and carries out what it asks.
func (m *Model) chooserKey(k tea.KeyMsg) tea.Cmd {
	cmd, act := m.chooser.Update(k)
	switch act.kind {
	case chooseClose:
		m.chooser, m.mode = nil, modeTable
	case chooseApply, chooseSave:
		cols, err := findColumns(act.cols)
		if err != nil {
			m.message = err.Error()
			return nil
		}
		m.cols, m.narrow = cols, nil // chosen columns hold at every width
		m.chooser, m.mode = nil, modeTable
		switch {
		case act.kind == chooseApply:
			m.message = "columns applied"
		case m.opts.SaveColumns == nil:
			m.message = "columns applied; saving is not available"
		default:
			if err := m.opts.SaveColumns(act.cols); err != nil {
				m.message = "columns applied, not saved: " + err.Error()
			} else {
				m.message = "columns applied and saved to the config file"
			}
		}
		m.clampCursor()
	}
	return cmd
}

// copySelected copies the selected connection's uid; pressed again, its 5-tuple,
// then its record as a conn.log JSON line, then the uid again.
func (m *Model) copySelected() tea.Cmd {
	f := m.selected()
	if f == nil {
		m.message = "nothing to copy: no connection selected"
		return nil
	}
	m.copied = m.copied%3 + 1
	var what, text string
	switch m.copied {
	case 1:
		what, text = "uid", f.UID
	case 2:
		what, text = "5-tuple", f.Proto.Transport()+" "+f.ConnID.Orig()+" → "+f.ConnID.Resp()
	case 3:
		var b bytes.Buffer
		w := connlog.NewWriter(&b, connlog.JSON)
		rec := f.Record
		if w.Write(&rec) != nil || w.Flush() != nil {
			m.message = "could not format the record"
			return nil
		}
		what, text = "conn.log line", strings.TrimRight(b.String(), "\n")
	}
	next := [...]string{"5-tuple", "conn.log line", "uid"}[m.copied-1]
	m.message = "copied " + what + " (y again: " + next + ")"
	if m.opts.Clipboard != nil {
		m.opts.Clipboard(text)
		return nil
	}
	return func() tea.Msg {
		termenv.NewOutput(os.Stdout).Copy(text)
		return nil
	}
}

// rateWindows are the spans the r key chooses between for the table's rates:
// iftop's 2 s, 10 s and 40 s averages.
var rateWindows = []time.Duration{flows.RateWindow, 10 * time.Second, 40 * time.Second}

// headerLine is the screen line of the table header, under the status bar.
const headerLine = 1

// pick is a if cond, else b.
func pick(cond bool, a, b string) string {
	if cond {
		return a
	}
	return b
}

// openOverlay shows the help or the dialog over the table or the detail view,
// which closeOverlay returns to.
func (m *Model) openOverlay(md mode) {
	if m.mode == modeDetail || m.mode == modeTable {
		m.under = m.mode
	}
	m.mode = md
}

// closeOverlay returns from the help or the dialog to what it was opened over.
func (m *Model) closeOverlay() {
	m.mode, m.under = m.under, modeTable
	if m.mode == modeDetail {
		m.refreshDetail()
	}
}

// togglePause freezes or resumes the display; a replayed file is paused instead,
// and the display keeps following it, so that it shows exactly where the replay
// stopped (a live capture cannot be paused: only the display is).
func (m *Model) togglePause() {
	m.paused = !m.paused
	switch {
	case m.replay != nil && m.paused:
		m.replay.Pause()
	case m.replay != nil:
		m.replay.Resume()
	case m.pipe != nil:
		m.pipe.setPaused(m.paused)
	}
}

// filterKey hands a key to the filter bar and carries out what it asks.
func (m *Model) filterKey(k tea.KeyMsg) tea.Cmd {
	cmd, act := m.bar.Update(k)
	switch act.kind {
	case barApply:
		m.filter, m.mode = act.f, modeTable
		m.sendQuery()
	case barCancel:
		// Esc cancels the edit and keeps the applied filter; Esc again, at the
		// table, clears it.
		m.mode = modeTable
		if m.filter != nil {
			m.message = "edit cancelled, filter kept: esc clears it"
		}
	}
	return cmd
}

// openThresholds opens the dialog for the selected connection and asks the tracker
// for its thresholds.
func (m *Model) openThresholds() {
	f := m.selected()
	switch {
	case f == nil:
		return
	case f.Closed:
		m.message = "connection closed: no thresholds to set"
		return
	}
	m.dialog = newDialog(f.UID, f.Conn, "Thresholds of "+f.UID, nil)
	m.openOverlay(modeDialog)
	m.refreshThresholds()
}

// refreshThresholds asks the tracker for the dialog connection's thresholds.
func (m *Model) refreshThresholds() {
	conn, uid := m.dialog.conn, m.dialog.uid
	m.do(func() { m.reply(connInfo(uid, conn)) })
}

// connInfo gathers a connection's tracker-side details, on the tracker's goroutine.
func connInfo(uid string, conn tracker.Conn) connMsg {
	msg := connMsg{uid: uid, list: thresholdList(conn.Thresholds())}
	msg.start[0], msg.started[0] = conn.ContentStart(true)
	msg.start[1], msg.started[1] = conn.ContentStart(false)
	return msg
}

// dialogClosed reports whether the thresholds dialog is a connection's that has
// closed since it opened.
func (m *Model) dialogClosed() bool {
	d := m.dialog
	if d == nil || d.uid == "" {
		return false
	}
	i := flows.Index(m.frame.rows, d.uid)
	return i >= 0 && m.frame.rows[i].Closed
}

// dialogKey hands a key to the thresholds dialog and carries out what it asks.
func (m *Model) dialogKey(k tea.KeyMsg) tea.Cmd {
	cmd, act := m.dialog.Update(k, m.dialogClosed())
	switch act.kind {
	case dialogClose:
		m.dialog = nil
		m.closeOverlay()
	case dialogAdd:
		m.addThreshold(act.t)
	case dialogRemove:
		m.removeThreshold(act.t)
	}
	return cmd
}

// addThreshold sets t on the dialog's connection, or on the defaults.
func (m *Model) addThreshold(t threshold) { m.changeThreshold(t, true) }

// removeThreshold deletes t from the dialog's connection, or from the defaults.
func (m *Model) removeThreshold(t threshold) { m.changeThreshold(t, false) }

// isExtracting reports whether the flow is being extracted.
func (m *Model) isExtracting(f *flows.Flow) bool {
	return m.ex != nil && !f.Closed && m.ex.active(f.UID)
}

// mouse handles the wheel, clicks on rows and clicks on headers.
func (m *Model) mouse(msg tea.MouseMsg) tea.Cmd {
	if m.mode != modeTable {
		if m.mode == modeDetail {
			cmd, _ := m.detail.Update(msg, m.keys)
			return cmd
		}
		return nil
	}
	switch {
	case msg.Button == tea.MouseButtonWheelUp:
		m.move(-3)
	case msg.Button == tea.MouseButtonWheelDown:
		m.move(3)
	case msg.Action == tea.MouseActionPress && msg.Button == tea.MouseButtonLeft:
		switch {
		case msg.Y == headerLine:
			m.clickHeader(msg.X)
		case msg.Y > headerLine && msg.Y <= headerLine+m.tableHeight():
			m.cursor = m.offset + msg.Y - headerLine - 1
			m.clampCursor()
			m.follow()
		}
	}
	return nil
}

// clickHeader sorts by the clicked column; a second click reverses the order.
func (m *Model) clickHeader(x int) {
	cols, widths := m.tableLayout()
	pos := marksWidth
	for i, c := range cols {
		if x >= pos && x < pos+widths[i]+1 {
			if c.sort < 0 {
				return
			}
			if m.sort == c.sort {
				m.desc = !m.desc
			} else {
				m.sort, m.desc = c.sort, false
			}
			m.sendQuery()
			return
		}
		pos += widths[i] + 1
	}
}

// String describes the sort order: "rate ↓".
func (m *Model) sortText() string {
	if m.desc {
		return m.sort.String() + " ↓"
	}
	return m.sort.String() + " ↑"
}

var _ tea.Model = (*Model)(nil)
