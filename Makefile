# flowtop: see README.md. Every target works on a fresh Debian machine with Go.
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
BIN      := bin/flowtop
FUZZTIME ?= 20s
ARGS     ?=

.PHONY: build run demo test race vet lint oracle oracle-ratchet bench bench-compare bench-decode bench-live bench-process bench-memory soak fuzz setcap clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/flowtop

## run: flowtop on the default interface (needs root or `make setcap`); ARGS="-i eth0" to choose.
run: build
	./$(BIN) $(ARGS)

## demo: the interactive view on the project's own capture, at a quarter of real time (no privileges).
demo: build
	./$(BIN) -r testdata/ordinary/ordinary.pcap --speed 0.25 $(ARGS)

## test: vet, the race-enabled test suite (with the oracle ratchet), and the oracle score.
test: vet
	CGO_ENABLED=1 $(GO) test -race -count=1 ./...
	@$(GO) run ./internal/oracle/cmd/oracle -q -skip-missing

race: test

vet:
	$(GO) vet ./...

lint: vet
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	@if command -v staticcheck >/dev/null; then staticcheck ./...; else echo "lint: staticcheck not installed, skipped"; fi

## oracle: run every case of ../shared/oracle and print PASS/FAIL and `exact N/55`.
oracle:
	$(GO) run ./internal/oracle/cmd/oracle

oracle-ratchet:
	$(GO) run ./internal/oracle/cmd/oracle -q -update-ratchet testdata/oracle-passing.txt -update-service-ratchet testdata/oracle-service-passing.txt

## bench: flowtop against a minimal read+decode+count loop on generated captures, side by side.
bench:
	bash internal/bench/report.sh
	$(GO) test -run '^$$' -bench . -benchmem ./tracker
	$(GO) test -run '^$$' -bench 'Frame|Attached' -benchmem ./ui/ ./ui/flows/

## bench-compare: the tracker's throughput at REV against the working tree, alternating runs (REV=commit).
bench-compare:
	bash internal/bench/compare.sh $(REV)

## bench-decode: the decoder (BenchmarkDecode) at REV against the working tree, alternating runs (REV=commit).
bench-decode:
	bash internal/bench/decode-compare.sh $(REV)

## bench-live: replay the many-flows capture at top speed onto a veth pair while flowtop, then tcpdump,
## capture it; packets per second and kernel drops for both (root, tcpreplay, tcpdump).
bench-live: build
	bash internal/bench/live.sh

## bench-process: the CPU cost of process attribution, with 20,000 sockets open and 10 new connections a second (as root).
bench-process:
	bash internal/bench/process.sh

## bench-memory: peak RSS on a flood of 3M unique SYNs, headless, with the default memory budget and unbounded.
bench-memory:
	bash internal/bench/memory.sh

## soak: a 10-minute live capture on a veth pair with steady churn; RSS, goroutines, drops and conn.log checked (as root; DURATION=S).
soak:
	bash internal/soak/soak.sh

## ndpi-compare: service and server names against nDPI's ndpiReader (libndpi-bin) on the oracle traces and a loopback capture; both tools' packets/s.
ndpi-compare: build
	$(GO) run ./internal/ndpicompare -flowtop $(BIN) -cases ../shared/oracle/cases -bench many -C internal/ndpicompare/testdata/loopback.pcap

## fuzz: each fuzz target for FUZZTIME (default 20s).
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

## setcap: let the built binary capture without root.
setcap: build
	setcap cap_net_raw,cap_net_admin=eip $(BIN)

clean:
	rm -rf bin
