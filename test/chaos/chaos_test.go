//go:build unix

package main

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"
)

// TestChaos is the short variant of the suite: 40 orders, 2 replicas, a
// replica killed every 3 s, AvaTax at 50 ms with the default faults, one
// nats-server restart. About a minute on 2 cores.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("runs nats-server, taxbridge and the sandbox as processes for about a minute")
	}
	runChaos(t, ShortConfig())
}

// TestChaosCluster is the short variant on a 3-node NATS cluster, the
// streams replicated on all three (TAXBRIDGE_NATS_REPLICAS=3), with the
// leader of the OMS stream killed -9 mid-run and restarted 5 s later. It
// takes about a minute more than TestChaos, so it runs when CHAOS_CLUSTER
// is set: CHAOS_CLUSTER=1 go test ./test/chaos -run Cluster -v.
func TestChaosCluster(t *testing.T) {
	if testing.Short() || os.Getenv("CHAOS_CLUSTER") == "" {
		t.Skip("a minute more than TestChaos: set CHAOS_CLUSTER=1 to run it")
	}
	runChaos(t, ShortClusterConfig())
}

func runChaos(t *testing.T, cfg Config) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cfg.WorkDir = t.TempDir()
	if os.Getenv("CHAOS_KEEP") != "" {
		cfg.Keep, cfg.WorkDir = true, "" // the logs outlive the test
	}
	var progress bytes.Buffer
	rep, err := Run(ctx, cfg, &progress)
	var table bytes.Buffer
	if rep != nil {
		rep.WriteTable(&table)
	}
	if err != nil {
		t.Fatalf("chaos run: %v\n%s\n%s", err, progress.String(), table.String())
	}
	t.Logf("\n%s\n%s", progress.String(), table.String())
	if rep.Failed() {
		t.Fatalf("%s\nprogress:\n%s", rep.Summary(), progress.String())
	}
}
