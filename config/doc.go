// Package config reads flowtop's configuration file, a TOML file found by default at
// $XDG_CONFIG_HOME/flowtop/config.toml (see DefaultPath).
//
// # Format
//
// The file is made of sections (TOML tables). Every key is optional; a key that is left
// out keeps flowtop's default, which for the tracker is Zeek's. The sections are
// [tracker], [thresholds], [extract], [service], [connlog], [ui] and [keys]:
//
//	[tracker]
//	# Do not verify IP, TCP, UDP and ICMP checksums (zeek -C).
//	ignore_checksums = true
//
//	# Ports that identify the responder of a connection. Replaces Zeek's set;
//	# [] means none.
//	likely_server_ports = ["22/tcp", "80/tcp", "443/tcp", "53/udp", "8443/tcp"]
//
//	# Networks whose addresses are local (local_orig, local_resp). Replaces Zeek's
//	# private address space; a bare address is a /32 or /128; [] leaves both fields unset.
//	local_nets = ["10.0.0.0/8", "192.168.0.0/16", "2001:db8::/32", "203.0.113.7"]
//
//	# Connection timers, named after Zeek's options. A duration is a string such as
//	# "90s", "1h30m" or "500ms", or a number of seconds (90, 1.5 or "90").
//	tcp_inactivity_timeout = "10m"
//	udp_inactivity_timeout = 120
//	icmp_inactivity_timeout = "1m"
//	unknown_inactivity_timeout = "1m"
//	tcp_attempt_delay = "5s"
//	tcp_close_delay = "5s"
//	tcp_reset_delay = "5s"
//	tcp_partial_close_delay = "3s"
//	tcp_session_timer = "6s"
//	tcp_connection_linger = "5s"
//
//	# At most this many connections (0, the default: no bound). When the table is
//	# full, a new connection evicts the one closest to its timeout.
//	max_connections = 1000000
//
//	# Inactivity timeouts per service port, merged over Zeek's table (one hour for
//	# 21, 22, 23 and 513/tcp); 0 removes a port from it.
//	[tracker.port_inactivity]
//	"22/tcp" = "2h"
//	"3389/tcp" = "30m"
//	"23/tcp" = 0
//
//	# Thresholds set on every TCP connection when it becomes established and on
//	# every UDP and ICMP connection when it is created; each crossing is an event
//	# (flowtop --events, the TUI's alerts). Bytes are IP-level bytes of one direction
//	# (as orig_ip_bytes and resp_ip_bytes count them): integers, or strings with an
//	# SI (k, M, G: x1000) or IEC (Ki, Mi, Gi: x1024) prefix. Packets likewise.
//	[thresholds]
//	orig_bytes = [1, 2500, "10MB"]
//	resp_bytes = ["1.5GiB", "500k"]
//	orig_packets = []
//	resp_packets = [50, 52]
//	duration = ["200ms", "1h"]
//
//	# Content extraction (flowtop --extract): where files go and byte caps; reaching
//	# a cap stops that extraction with an alert, capture goes on. 0: no cap.
//	[extract]
//	dir = "/var/tmp/flowtop-contents"
//	max_bytes_per_conn = "100MB"
//	max_bytes_total = "10GB"
//
//	# The memory budget of the whole process (default 1GiB; 0: unbounded): the Go
//	# runtime's soft limit; half of it is the connection table's (unless
//	# [tracker] max_connections is set), a quarter the view's.
//	[limits]
//	memory = "1GiB"
//
//	# Connections' packets as pcapng files (w in the TUI, --pcap-dir headless):
//	# a ring of the latest frames, so that a file starts from the connection's
//	# first packet while it is still in the ring. Every frame is copied into it.
//	# Default 0: none, and a file starts when the connection is marked.
//	[capture]
//	recent_buffer = "64MiB"
//
//	# Service identification (conn.log's service, and the names seen on the
//	# wire): the analyzers that run, by name. Default: every one, as a plain
//	# `zeek -r`; [] turns identification off. Their side effects on other fields
//	# (DNS and NTP role flips, the DNS session timer, an hour of inactivity after
//	# SSH or FTP confirmation) follow the same switch.
//	[service]
//	analyzers = ["http", "ssl", "dns", "ssh"]
//
//	# Ports added to analyzers' registrations, as a site's `redef Redis::ports`.
//	[service.ports]
//	redis = ["10625/tcp"]
//	http = ["8081/tcp"]
//
//	# conn.log: optional fields appended after Zeek's 22 columns, as Zeek's policy
//	# scripts append theirs. server_name is the connection's name: the TLS SNI,
//	# else the HTTP Host, else the DNS query. orig_pid, orig_comm, orig_user,
//	# resp_pid, resp_comm and resp_user are the local processes behind the
//	# endpoints (live captures), unset where not local or unknown. community_id is
//	# the Community ID v1 flow hash (as Zeek's community-id-logging, Suricata and
//	# Arkime compute it), seeded by community_id_seed (0 to 65535, default 0).
//	[connlog]
//	extra_fields = ["server_name", "orig_pid", "orig_comm", "community_id"]
//	community_id_seed = 0
//
//	# The TUI.
//	[ui]
//	# Colour theme: a built-in one (dark, light, high-contrast, mono) or NAME for
//	# $XDG_CONFIG_HOME/flowtop/themes/NAME.toml.
//	theme = "dark"
//
//	# How often the display gets a new snapshot, from 20ms to 10s.
//	refresh = "500ms"
//
//	# The flow table's columns, in order. Columns are proto, orig, resp, process,
//	# service, name, state, history, orig_bytes, resp_bytes, orig_pkts, resp_pkts,
//	# orig_rate, resp_rate, duration, idle, start, uid, missed, orig_short, resp_short,
//	# bytes, rate and idle_short (process: the local side's process, as curl/4242;
//	# the narrow table's: shortened endpoints, both byte counts in one cell, the rate
//	# both ways, a short IDLE).
//	columns = ["proto", "orig", "resp", "service", "state", "orig_rate", "resp_rate", "duration"]
//
//	# Rates in "bits" or "bytes" per second.
//	units = "bits"
//
//	# How long closed connections stay visible; 0: until flowtop exits.
//	linger = "30s"
//	show_closed = true
//
//	# Replay speed when reading a file (-r): a multiple of real time (1, 10, 0.5)
//	# or "max" for no delay.
//	speed = 10
//
//	# Keys, replacing the default keys of each action listed. A key is a
//	# character ("q", "?", "G"), "space", or a name: enter, esc, tab, shift+tab,
//	# backspace, delete, insert, up, down, left, right, home, end, pgup, pgdown,
//	# f1 to f20, ctrl+a to ctrl+z, ctrl+@; any of them may follow "alt+". A key
//	# can serve only one of the actions listed here. The actions are quit, help,
//	# filter, sort_next, sort_reverse, up, down, top, bottom, page_up, page_down,
//	# detail, back, pause, thresholds, default_thresholds, extract, packets, extract_all,
//	# closed, units, names, rate_window, columns, jump, copy, time and
//	# alerts.
//	[keys]
//	quit = ["q", "ctrl+c"]
//	pause = "space"
//	down = ["j", "down"]
//	up = ["k", "up"]
//	page_down = ["ctrl+f", "pgdown"]
//
// Ports are written PORT/PROTO with PROTO one of tcp, udp and icmp. Timer values must
// be positive; in [tracker.port_inactivity], 0 removes the port. Any TOML spelling of
// the same structure works too (dotted keys such as tracker.ignore_checksums = true,
// inline tables).
//
// # Errors
//
// Decoding is strict. A misspelled key, an unknown section, a value of the wrong type
// and a value that does not parse are all errors, never silently ignored. Every error
// is an *Error whose message is one line naming the file, the line and the key:
//
//	config.toml:7: tracker.likely_server_ports: port "80/tcpx": protocol must be tcp, udp or icmp
//	config.toml:3: display: unknown section
//	config.toml:12: expected value but found '\n' instead
//
// # Using the configuration
//
// Config holds what the file says; Config.TrackerConfig lays the [tracker] and
// [thresholds] keys that the file set over a tracker.Config built from defaults and
// command-line flags, so a key the file leaves out never overrides anything. The UI
// reads Config.UI and Config.Keys itself; where a zero value is also a setting (linger
// = 0, show_closed = false, speed = "max"), Config.Defined tells it from a key left out.
package config
