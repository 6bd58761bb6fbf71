package main

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/taxbridge/taxbridge/internal/money"
)

func TestMain(m *testing.M) {
	// As main does, before the sandbox child serves anything.
	money.EncodeAmountsAsNumbers()
	if serveSandboxRole() { // the sandbox child re-executes this binary
		return
	}
	os.Exit(m.Run())
}

// TestSmoke runs every phase at a tiny size: the load command works, the
// flows end where they must with exactly the minimum AvaTax calls, and the
// JSON has the figures.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nats-server and the sandbox; skipped with -short")
	}
	out := filepath.Join(t.TempDir(), "bench.json")
	args := []string{"-concurrency", "4", "-lifecycles", "60", "-latency-lifecycles", "12",
		"-latency", "20ms", "-slow-lifecycles", "12", "-calls-lifecycles", "2", "-tax-requests", "40", "-plex-orders", "200", "-plex-customers", "10", "-mem-orders", "30", "-rounds", "2", "-json", out}
	ncpu := 0
	if runtime.GOOS == "linux" {
		ncpu = runtime.NumCPU() // every CPU: limitCPUs runs, and nothing slows down
		args = append(args, "-cpus", strconv.Itoa(ncpu))
	}
	cfg, err := parseFlags(args, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := Run(ctx, cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) > 0 {
		t.Fatalf("problems: %s", strings.Join(rep.Problems, "; "))
	}
	var table strings.Builder
	printTable(&table, rep)
	if err := writeJSON(cfg.JSON, rep); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	r := back.Runs[0]
	if r.Ceiling == nil || r.Ceiling.PerSecond <= 0 || r.E2E == nil || r.E2E.EventsPerSecond <= 0 ||
		len(r.Latency) != 2 || r.Latency[1].Samples == 0 || r.Slow == nil || r.Slow.CallsPerSecond <= 0 {
		t.Fatalf("missing figures:\n%s", raw)
	}
	if len(r.Rounds) != 2 || !slices.ContainsFunc(r.Rounds, func(x round) bool { return x.RatioToCeiling == r.RatioToCeiling }) {
		t.Errorf("rounds %+v do not hold the reported ratio %.3f", r.Rounds, r.RatioToCeiling)
	}
	if ncpu > 0 && (r.CPUs != ncpu || !strings.Contains(table.String(), "4 on "+cpus(ncpu))) {
		t.Errorf("run on %d CPUs, want %d, and the table to say so:\n%s", r.CPUs, ncpu, table.String())
	}
	if r.Ceiling.CPUsBusy <= 0 || r.E2E.CPUsBusy <= 0 {
		t.Errorf("CPUs busy: ceiling %.2f, end to end %.2f", r.Ceiling.CPUsBusy, r.E2E.CPUsBusy)
	}
	if b := r.Budget; b == nil || b.CPUPerEventMS <= 0 || b.FloorMS <= 0 || !strings.Contains(table.String(), "CPU per event that half the ceiling allows") {
		t.Errorf("budget %+v, or not in the table:\n%s", b, table.String())
	}
	if r.E2E.AvaTaxCalls != r.E2E.MinimumCalls {
		t.Errorf("end to end: %d AvaTax document calls, want %d", r.E2E.AvaTaxCalls, r.E2E.MinimumCalls)
	}
	// The floor replays what taxbridge sent: the same AvaTax calls, a
	// result and an audit record for each, the intent and the outcome of
	// each call written, and a record write for each state change that
	// brings a newer snapshot (some bring none).
	calls := r.E2E.MinimumCalls
	if f := r.Floor; f == nil || f.PerSecond <= 0 || f.AvaTaxCalls != calls || f.Publishes != 2*calls ||
		f.KVWrites <= 2*calls || f.KVWrites >= r.E2E.Events+calls {
		t.Errorf("floor %+v, want %d AvaTax calls, %d publishes and between %d and %d KV writes",
			f, calls, 2*calls, 2*calls, r.E2E.Events+calls)
	}
	if len(back.CallsPerFlow) < 4 {
		t.Fatalf("calls per flow: %d flows", len(back.CallsPerFlow))
	}
	for _, fc := range back.CallsPerFlow {
		if fc.CallsPerLifecycle != float64(fc.Minimum) {
			t.Errorf("%s: %.2f AvaTax calls per lifecycle, want %d", fc.Flow, fc.CallsPerLifecycle, fc.Minimum)
		}
	}
	if x := back.TaxRequests; x == nil || x.Quote.Requests != 40 || x.Quote.RequestsPerSecond <= 0 || x.Quote.P99 <= 0 ||
		x.Echo.RequestsPerSecond <= 0 || x.Echo.P99 <= 0 || x.AvaTaxCalls != 40 || x.Concurrency != 4 {
		t.Errorf("tax requests: %+v", x)
	}
	if !strings.Contains(table.String(), "Order Administration QUOTE over NATS request-reply") || !strings.Contains(table.String(), "of the bus's echo") {
		t.Errorf("table lacks the tax requests row:\n%s", table.String())
	}
	if x := back.PlexPoll; x == nil || x.First.Published != x.Orders || x.First.Calls != 2+2*x.Customers ||
		x.Second.Published != 0 || x.Second.Calls != 2 || x.First.BudgetMinutes <= 0 {
		t.Errorf("plex poll: %+v, want every order published by the first cycle, none by the second, which reads no customer", x)
	}
	if !strings.Contains(table.String(), "Plex poll cycle over") {
		t.Errorf("table lacks the Plex poll rows:\n%s", table.String())
	}
	if back.Memory == nil || len(back.Memory.Points) != 2 || back.Memory.Points[1].OpenOrders != 30 {
		t.Errorf("memory points: %+v", back.Memory)
	}
	for _, want := range []string{"ceiling", "floor", "backlog", "latency", "AvaTax calls/s", "calls per lifecycle", "worker heap", "targets", "(2 rounds: "} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
}

func TestFlags(t *testing.T) {
	cfg, err := parseFlags([]string{"-scale", "0.1", "-concurrency", "8,16", "-mem-orders", "10000,100000", "-phases", "e2e,memory"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Lifecycles != 200 || len(cfg.Concurrency) != 2 || cfg.MemOrders[1] != 10000 || !cfg.has("memory") || cfg.has("ceiling") {
		t.Errorf("config %+v", cfg)
	}
	for _, bad := range [][]string{{"-concurrency", "0"}, {"-phases", "nope"}, {"-mem-orders", "10,5"}, {"-sandbox", "x"}, {"-rounds", "0"}, {"-cpus", "0"}, {"-cpus", "100000"}, {"extra"}} {
		if _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestMedian(t *testing.T) {
	run := func(ratio float64) *runResult {
		return &runResult{RatioToCeiling: ratio, Ceiling: &ceilingResult{}, E2E: &e2eResult{}}
	}
	for _, tc := range []struct {
		ratios []float64
		want   float64
	}{
		{[]float64{0.4}, 0.4},
		{[]float64{0.41, 0.32, 0.40}, 0.40},
		{[]float64{0.5, 0.3, 0.4, 0.2}, 0.3}, // the lower middle one
		{[]float64{0.3, 0.3, 0.9}, 0.3},
	} {
		var rounds []*runResult
		for _, x := range tc.ratios {
			rounds = append(rounds, run(x))
		}
		if got := median(rounds).RatioToCeiling; got != tc.want {
			t.Errorf("median of %v = %v, want %v", tc.ratios, got, tc.want)
		}
	}
}

// TestBudget checks the CPU budget of half the ceiling against figures of
// a real run (session 7: 2 CPUs, sandbox in a child process), and that it
// is reported only when the ceiling, the floor and end to end all ran.
func TestBudget(t *testing.T) {
	full := func() *runResult {
		return &runResult{CPUs: 2, Ceiling: &ceilingResult{PerSecond: 16465},
			Floor: &floorResult{CPUPerMsgMS: 0.129, SandboxCPUPerEventMS: 0.052},
			E2E:   &e2eResult{CPUPerEventMS: 0.279, SandboxCPUPerEventMS: 0.066}}
	}
	near := func(got, want float64) bool { return math.Abs(got-want) < 0.0005 }
	r := full()
	b := newBudget(r)
	if b == nil || !near(b.CPUPerEventMS, 0.243) || !near(b.FloorMS, 0.181) || !near(b.LogicBudgetMS, 0.062) || !near(b.LogicMS, 0.164) {
		t.Fatalf("budget %+v, want 0.243 ms per event, 0.181 of it the floor's, 0.062 left for logic that takes 0.164", b)
	}
	if got := budgetDetail(b, r); !strings.Contains(got, "2 CPUs fully busy at 8232 events/s (half the ceiling)") || !strings.Contains(got, "(2.6× that)") {
		t.Errorf("detail %q", got)
	}
	// A floor heavier than the whole budget leaves no room for logic.
	r.Floor.CPUPerMsgMS = 0.3
	if got := budgetDetail(newBudget(r), r); !strings.Contains(got, "no logic fits") {
		t.Errorf("detail %q", got)
	}
	for name, drop := range map[string]func(*runResult){
		"no ceiling": func(r *runResult) { r.Ceiling = nil },
		"no floor":   func(r *runResult) { r.Floor = nil },
		"no e2e":     func(r *runResult) { r.E2E = nil },
	} {
		r := full()
		drop(r)
		if b := newBudget(r); b != nil {
			t.Errorf("%s: budget %+v, want none", name, b)
		}
	}
}

func TestPadded(t *testing.T) {
	ts, err := newTemplates()
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.check(); err != nil {
		t.Fatal(err)
	}
	evs, actions, calls := countEvents(ts.mixed("T", len(ts.mix)))
	if avg := float64(evs) / float64(len(ts.mix)); avg < 7 || avg > 9 {
		t.Errorf("%.1f events per lifecycle, want about eight", avg)
	}
	if actions == 0 || calls < actions {
		t.Errorf("%d actions, %d calls", actions, calls)
	}
}
