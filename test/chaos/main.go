//go:build unix

// Command chaos checks taxbridge's promises (no duplicate AvaTax document,
// exactly-once effects, nothing lost, every action answered) under faults,
// with everything in separate processes built from this module: a
// nats-server with JetStream (or a 3-node cluster with -cluster), N
// taxbridge replicas and the AvaTax sandbox injecting 429s, 5xx (half of
// them after the effect), hung requests and latency.
//
// It publishes the five OneStock flows (internal/scenario) for -orders
// orders, every event twice (the copy under another Nats-Msg-Id, so that
// the broker keeps both and the worker must drop one), a share of the
// returns before the commit, at a bounded rate. Meanwhile it SIGKILLs a
// random replica every -kill-every and restarts it, and kills -9 and
// restarts nats-server mid-run. Once the worker's consumer has nothing
// pending or awaiting acknowledgement and no record holds an intent, it
// judges from outside: the sandbox's documents over HTTP, the TAX stream's
// results and errors, the TAXBRIDGE_DLQ stream, and the tax_orders records.
// An order is right when its final state is the flow's (in the record and
// in its last tax_result) and AvaTax holds exactly the expected documents
// (the sale Committed, or Cancelled for the cancelled flow, with the
// expected total; one committed ReturnInvoice per return), which the last
// tax_result also lists.
//
//	go run ./test/chaos -orders 300 -latency 300ms -kill-every 2s   # the full run, a few minutes
//	go run ./test/chaos -short                                       # TestChaos's variant
//	go run ./test/chaos -cluster                                     # 3-node NATS cluster, one node killed
//	go run ./test/chaos -json figures.json -keep                     # figures as JSON; keep the logs
//
// It prints a table of figures (or JSON with -json -) and exits 1 when any
// order is wrong, a document is duplicated, an event is lost, an action is
// unanswered or an event is dead-lettered; 2 when the run could not be made.
// An action answered more than once (consistently) is reported, not failed.
//
// TestChaos runs the short variant inside go test ./... (skipped under
// -short); TestChaosCluster the short cluster variant when CHAOS_CLUSTER is
// set. CHAOS_KEEP=1 keeps a test run's work directory.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/taxbridge/taxbridge/internal/money"
)

func main() {
	money.EncodeAmountsAsNumbers() // as cmd/taxbridge: amounts are JSON numbers
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, cfg)
	stop()
	os.Exit(code)
}

// run is main without the exit, so that deferred cleanups run.
func run(ctx context.Context, cfg Config) int {
	var progress io.Writer = os.Stderr
	if !cfg.Verbose {
		progress = io.Discard
	}
	rep, err := Run(ctx, cfg, progress)
	if rep != nil {
		if cfg.JSON != "" {
			raw, jerr := json.MarshalIndent(rep, "", "  ")
			if jerr == nil && cfg.JSON == "-" {
				_, jerr = os.Stdout.Write(append(raw, '\n'))
			} else if jerr == nil {
				jerr = os.WriteFile(cfg.JSON, append(raw, '\n'), 0o644)
			}
			if jerr != nil {
				fmt.Fprintln(os.Stderr, "chaos: json:", jerr)
			}
		}
		if cfg.JSON != "-" {
			rep.WriteTable(os.Stdout)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		return 2
	}
	if rep.Failed() {
		return 1
	}
	return 0
}
