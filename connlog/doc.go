// Package connlog writes tracker.Records as Zeek-compatible conn.log lines, either in
// Zeek's tab-separated ASCII format (with its '#' header and '#close' footer) or as
// JSON lines the way Zeek's JSON writer (LogAscii::use_json) emits them.
//
// TSV output follows Zeek's ASCII formatter (src/threading/formatters/Ascii.cc):
//   - time and interval fields are seconds with exactly six decimals;
//   - an unset field is "-", an empty string or set is "(empty)";
//   - bools are T and F;
//   - set elements are joined with ",";
//   - in strings, bytes outside printable ASCII (0x20-0x7e), the backslash and the
//     separators (tab, and "," inside a set) are written as \xNN with lower-case hex;
//     a string that is exactly "-" or "(empty)" gets its first byte escaped so that it
//     cannot be mistaken for the unset or empty marker.
//
// JSON output has one object per line with the same field order; unset fields are
// left out, as Zeek leaves them out.
//
// Addresses are printed like Zeek prints them: IPv4-mapped IPv6 addresses as plain
// IPv4, other IPv6 addresses in the compressed form of inet_ntop.
//
// A Writer is not safe for concurrent use; it is meant to be owned by the goroutine
// that receives removed connections. Formatting a record does not allocate once the
// Writer's internal buffer has grown to the size of a line.
//
// EventWriter is conn.log's companion for flowtop --events: threshold crossings and
// removals, with their reasons, as JSON lines in the same time and address formats.
package connlog
