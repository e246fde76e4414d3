#!/usr/bin/env bash
# Compares the decoder at another revision with the working tree's, side by side:
# BenchmarkDecode (link, IP and transport headers of one frame, checksum included)
# of both, alternately, BENCH_COUNT times each (default 8); prints each side's median
# ns/op per frame shape and the ratio.
#
# Usage: internal/bench/decode-compare.sh REV   (e.g. a commit before a change)
set -euo pipefail
BENCH_PKG=./tracker BENCH_FILTER="${BENCH_FILTER:-^BenchmarkDecode$}" BENCH_TIME=1s BENCH_UNIT=ns/op \
	BENCH_COUNT="${BENCH_COUNT:-8}" exec bash "$(dirname "$0")/compare.sh" "$@"
