// Package soak holds the soak test's load generator (cmd load) and script
// (soak.sh, run by `make soak`): a long live capture on a veth pair with
// steady churn, watched from outside for flat memory and goroutines, no
// drops, and every connection in conn.log.
package soak
