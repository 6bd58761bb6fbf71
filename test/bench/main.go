// Command bench measures how close taxbridge comes to what the machine
// allows, in one run against one embedded nats-server (file storage in a
// temporary directory, as taxbridge runs by default):
//
//  1. ceiling: raw JetStream doing taxbridge's work shape without its logic
//     (consume, KV get, KV compare-and-swap, ack) with the worker's consumer
//     shape and concurrency, working off a backlog; floor: the record
//     writes, AvaTax requests and publishes taxbridge made for each event,
//     captured once per flow and replayed without any of its logic (see
//     floor.go): what taxbridge's guarantees cost here;
//  2. e2e: taxbridge working off the same backlog of order lifecycles (the
//     OneStock flows, about eight events each) with the AvaTax sandbox at
//     zero latency; latency: action → result (tax.results / tax.errors,
//     matched by cause_event_id) with orders driven in a closed loop;
//  3. slow: the sandbox answering after -latency (100ms): AvaTax calls per
//     second against concurrency ÷ latency;
//  4. calls: AvaTax calls per lifecycle of each flow against Flow.Calls;
//  5. memory: allocations per event (phase 2), and what the worker holds
//     as open orders grow (-mem-orders);
//  6. taxrequests: Order Administration QUOTEs answered by the tax service
//     over NATS request-reply, the sandbox at 0 ms, by as many clients as
//     the first concurrency in a closed loop, beside an echo micro service
//     on the same server and connection driven the same way: the bus's own
//     request-reply rate (-tax-requests; about 5 s on 2 cores).
//  7. plexpoll: two Plex poll cycles over -plex-orders sales orders of
//     -plex-customers customers in the Plex sandbox over HTTP: a cold one
//     and an unchanged one, their duration and the Plex calls they spent
//     against Plex's 200 calls per minute.
//
// It prints a table, writes the same figures as JSON (-json), and exits 1
// when an order did not end where its flow says (the figures are then not
// to be trusted). The AvaTax sandbox runs in a child process (this binary
// again), as AvaTax is remote in production, so that its CPU is counted
// apart; -sandbox inproc keeps it in process.
//
//	go run ./test/bench                          # about 1.5 minutes on 2 cores
//	go run ./test/bench -scale 0.2               # a quick look
//	go run ./test/bench -phases memory -mem-orders 10000,100000
//	go run ./test/bench -concurrency 8,16,32,64 -phases ceiling,e2e,slow
//	go run ./test/bench -cpuprofile cpu.out -phases ceiling,e2e
//	go run ./test/bench -cpus 1,2 -phases ceiling,floor,e2e -rounds 5   # how the ratios move with CPUs
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/taxbridge/taxbridge/internal/app"
	"github.com/taxbridge/taxbridge/internal/money"
	"github.com/taxbridge/taxbridge/internal/telemetry"
	"github.com/taxbridge/taxbridge/internal/worker"
)

func main() {
	money.EncodeAmountsAsNumbers() // as cmd/taxbridge: amounts are JSON numbers
	if serveSandboxRole() {
		return
	}
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if err == flag.ErrHelp {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if cfg.MemProfile != "" || cfg.has("memory") {
		// Fine enough to see what the worker holds (heldBy), cheap enough
		// not to slow the other phases measurably.
		runtime.MemProfileRate = 4 << 10
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	// Telemetry as cmd/taxbridge sets it up, from OTEL_* (unset: spans and
	// metrics made, nothing exported), so taxbridge is measured as shipped.
	tel, err := telemetry.Setup(ctx, telemetry.WithServiceVersion(app.Version))
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	tel.SetGlobal()
	defer tel.ShutdownWithin(5 * time.Second)
	rep, err := Run(ctx, cfg, os.Stderr)
	if rep != nil {
		rep.Telemetry = tel.TracesExporter + " traces, " + tel.MetricsExporter + " metrics"
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	printTable(os.Stdout, rep)
	if cfg.JSON != "" {
		if err := writeJSON(cfg.JSON, rep); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		fmt.Printf("\nJSON: %s\n", cfg.JSON)
	}
	if len(rep.Problems) > 0 {
		os.Exit(1) // correctness, not speed: the figures cannot be trusted
	}
}

func parseFlags(args []string, out io.Writer) (*config, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(out)
	conc := fs.String("concurrency", strconv.Itoa(worker.DefaultConcurrency),
		"worker concurrency (TAXBRIDGE_CONCURRENCY); a comma-separated list runs phases ceiling..slow for each")
	cpuList := fs.String("cpus", "", "run phases ceiling..slow once for each of these CPU counts, comma-separated, as if the machine had that many: the process and the sandbox child pinned to the first N CPUs, GOMAXPROCS N (Linux; default: as started)")
	rounds := fs.Int("rounds", 1, "measure ceiling, floor and end to end this many times in turn and report the round of the median ratio, with the range")
	mapFlag := fs.Int("max-ack-pending", 1000, "MaxAckPending of the worker's consumer (and the ceiling's)")
	lifecycles := fs.Int("lifecycles", 2000, "order lifecycles in the ceiling and end-to-end backlog (8 events each on average)")
	latLC := fs.Int("latency-lifecycles", 600, "order lifecycles driven in the closed loop that measures latency")
	inFlight := fs.String("in-flight", "", "orders driven at once in the latency closed loop, comma-separated (default: a quarter of the concurrency, and twice it)")
	latency := fs.Duration("latency", 100*time.Millisecond, "AvaTax latency of the slow phase")
	slowLC := fs.Int("slow-lifecycles", 400, "order lifecycles of the slow-AvaTax phase")
	slowMode := fs.String("slow-mode", "closed", "slow phase: closed (orders driven in a closed loop) or backlog (work off a published backlog)")
	slowInFlight := fs.Int("slow-in-flight", 0, "orders in flight in the closed-loop slow phase (0: four times the concurrency)")
	callsLC := fs.Int("calls-lifecycles", 50, "lifecycles per flow when counting AvaTax calls")
	taxReqs := fs.Int("tax-requests", 4000, "QUOTEs sent to the tax service over NATS request-reply in the taxrequests phase, by as many clients as the first concurrency (ten times as many echoes)")
	plexOrders := fs.Int("plex-orders", 10000, "sales orders in the Plex sandbox of the plexpoll phase")
	plexCustomers := fs.Int("plex-customers", 500, "customers those orders belong to (each costs two calls when read)")
	memOrders := fs.String("mem-orders", "1000,10000", "open-order checkpoints of the memory phase (cumulative; e.g. 10000,100000)")
	uniqueAddr := fs.Bool("mem-unique-addresses", true, "give every order of the memory phase its own delivery address (false: all share one)")
	phases := fs.String("phases", strings.Join(allPhases, ","), "phases to run: "+strings.Join(allPhases, ","))
	scale := fs.Float64("scale", 1, "multiply every size above (0.1 for a quick look)")
	jsonOut := fs.String("json", filepath.Join(os.TempDir(), "taxbridge-bench-results.json"), "where to write the JSON (empty: nowhere)")
	cpu := fs.String("cpuprofile", "", "write a CPU profile of the first end-to-end drain to this file")
	sbMode := fs.String("sandbox", "process", "where the AvaTax sandbox runs: process (a child process, as AvaTax is remote) or inproc")
	avaConc := fs.Int("avatax-max-concurrency", 16, "cap the AvaTax client's requests in flight (avatax.WithMaxConcurrency; default: TAXBRIDGE_AVATAX_MAX_CONCURRENCY's; 0: the worker's concurrency); the bound of phase 3 is then this ÷ latency")
	auditFlag := fs.Bool("audit", true, "record every AvaTax exchange in the audit stream, as the app does (false: measure without)")
	memp := fs.String("memprofile", "", "write an allocation profile of the first end-to-end drain to this file, and live-heap profiles with the worker running and stopped at the last memory point to <file>.worker-running and <file>.worker-stopped")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *rounds < 1 {
		return nil, fmt.Errorf("-rounds %d: want 1 or more", *rounds)
	}
	cfg := &config{Rounds: *rounds, MaxAckPending: *mapFlag, Latency: *latency, JSON: *jsonOut, CPUProfile: *cpu, MemProfile: *memp, Scale: *scale}
	cfg.MemUniqueAddresses, cfg.Audit = *uniqueAddr, *auditFlag
	cfg.SlowMode, cfg.SlowInFlight, cfg.AvaTaxMaxConcurrency = *slowMode, *slowInFlight, *avaConc
	if cfg.SlowMode != "closed" && cfg.SlowMode != "backlog" {
		return nil, fmt.Errorf("-slow-mode %q: want closed or backlog", cfg.SlowMode)
	}
	switch *sbMode {
	case "process":
	case "inproc":
		cfg.SandboxInProcess = true
	default:
		return nil, fmt.Errorf("-sandbox %q: want process or inproc", *sbMode)
	}
	var err error
	if cfg.Concurrency, err = intList(*conc); err != nil || len(cfg.Concurrency) == 0 {
		return nil, fmt.Errorf("-concurrency %q: want positive integers separated by commas", *conc)
	}
	if *cpuList != "" {
		if cfg.CPUs, err = intList(*cpuList); err != nil {
			return nil, fmt.Errorf("-cpus %q: want positive integers separated by commas", *cpuList)
		}
		for _, n := range cfg.CPUs {
			if n > runtime.NumCPU() {
				return nil, fmt.Errorf("-cpus %d: this machine has %d CPUs", n, runtime.NumCPU())
			}
		}
	}
	if *inFlight != "" {
		if cfg.InFlight, err = intList(*inFlight); err != nil {
			return nil, fmt.Errorf("-in-flight %q: want positive integers separated by commas", *inFlight)
		}
	}
	if *memOrders != "" {
		if cfg.MemOrders, err = intList(*memOrders); err != nil {
			return nil, fmt.Errorf("-mem-orders %q: want positive integers separated by commas", *memOrders)
		}
	}
	for _, p := range strings.Split(*phases, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if p == "all" {
			cfg.Phases = append(cfg.Phases, allPhases...)
			continue
		}
		if !slices.Contains(allPhases, p) {
			return nil, fmt.Errorf("-phases: unknown phase %q (know %s)", p, strings.Join(allPhases, ","))
		}
		cfg.Phases = append(cfg.Phases, p)
	}
	if *scale <= 0 || *latency <= 0 {
		return nil, fmt.Errorf("-scale and -latency must be positive")
	}
	scaled := func(n int) int { return max(1, int(float64(n)**scale+0.5)) }
	cfg.Lifecycles, cfg.LatencyLifecycles = scaled(*lifecycles), scaled(*latLC)
	cfg.SlowLifecycles, cfg.CallsLifecycles = scaled(*slowLC), scaled(*callsLC)
	cfg.TaxRequests = scaled(*taxReqs)
	cfg.PlexOrders, cfg.PlexCustomers = scaled(*plexOrders), scaled(*plexCustomers)
	prev := 0
	for i, n := range cfg.MemOrders {
		cfg.MemOrders[i] = scaled(n)
		if cfg.MemOrders[i] <= prev {
			return nil, fmt.Errorf("-mem-orders must increase")
		}
		prev = cfg.MemOrders[i]
	}
	return cfg, nil
}

func intList(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("bad number %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// budgetDetail says how the CPU budget of half the ceiling divides.
func budgetDetail(b *budget, r *runResult) string {
	s := fmt.Sprintf("%s fully busy at %.0f events/s (half the ceiling); the floor's I/O takes %.3f ms of it", cpus(r.CPUs), r.Ceiling.PerSecond/2, b.FloorMS)
	if b.LogicBudgetMS <= 0 {
		return s + fmt.Sprintf(", more than all: no logic fits; taxbridge's own logic takes %.3f ms now", b.LogicMS)
	}
	return s + fmt.Sprintf(", leaving %.3f ms for taxbridge's own logic, which takes %.3f ms now (%.1f× that)",
		b.LogicBudgetMS, b.LogicMS, b.LogicMS/b.LogicBudgetMS)
}

func writeJSON(path string, rep *Report) error {
	raw, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(raw, '\n'), 0o644)
}

func printTable(out io.Writer, rep *Report) {
	m := rep.Machine
	fmt.Fprintf(out, "taxbridge benchmark: %s %s/%s, %d CPUs (GOMAXPROCS %d), load average %s at start, %s at end; %.0fs in all\n",
		m.GoVersion, m.OS, m.Arch, m.CPUs, m.GOMAXPROCS, m.LoadAvgStart, m.LoadAvgEnd, rep.Seconds)
	where := "in a child process"
	if rep.Config.SandboxInProcess {
		where = "in this process"
	}
	fmt.Fprintf(out, "one embedded nats-server (file storage) in this process; AvaTax sandbox over HTTP on loopback, %s; telemetry as shipped, exporting %s\n", where, rep.Telemetry)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	row := func(cols ...string) { fmt.Fprintln(tw, strings.Join(cols, "\t")+"\t") }
	fmt.Fprintln(out)
	row("#", "measure", "concurrency", "value", "detail")
	for _, r := range rep.Runs {
		c := strconv.Itoa(r.Concurrency)
		if len(rep.Config.CPUs) > 0 {
			c += " on " + cpus(r.CPUs)
		}
		if x := r.Ceiling; x != nil {
			row("1", "ceiling: consume + KV get + KV CAS + ack", c, fmt.Sprintf("%.0f msg/s", x.PerSecond),
				fmt.Sprintf("%d messages in %.2fs; %.3f ms CPU per message, %.2f of %s busy; PullMaxMessages %d × %d Consume, MaxAckPending %d",
					x.Messages, x.Seconds, x.CPUPerMsgMS, x.CPUsBusy, cpus(r.CPUs), r.PullMaxMessages, r.Concurrency, r.MaxAckPending))
		}
		if x := r.Floor; x != nil {
			ratio := ""
			if r.Ceiling != nil {
				ratio = fmt.Sprintf("%.2f of the ceiling%s; ", r.FloorRatioToCeiling, spread(r.Rounds, func(x round) float64 { return x.FloorRatioToCeiling }))
			}
			sbCPU := ""
			if x.SandboxCPUPerEventMS > 0 {
				sbCPU = fmt.Sprintf(", sandbox process %.3f ms more", x.SandboxCPUPerEventMS)
			}
			row("1", "floor: taxbridge's KV writes, AvaTax calls and publishes replayed, no logic", c, fmt.Sprintf("%.0f msg/s", x.PerSecond),
				fmt.Sprintf("%s%d messages in %.2fs; %d KV writes, %d AvaTax calls, %d publishes; %.3f ms CPU per message%s; %.2f of %s busy",
					ratio, x.Messages, x.Seconds, x.KVWrites, x.AvaTaxCalls, x.Publishes, x.CPUPerMsgMS, sbCPU, x.CPUsBusy, cpus(r.CPUs)))
		}
		if x := r.E2E; x != nil {
			ratio := ""
			if r.Ceiling != nil {
				ratio = fmt.Sprintf("%.2f of the ceiling%s; ", r.RatioToCeiling, spread(r.Rounds, func(x round) float64 { return x.RatioToCeiling }))
			}
			if r.Floor != nil {
				ratio += fmt.Sprintf("%.2f of the floor%s; ", r.RatioToFloor, spread(r.Rounds, func(x round) float64 { return x.RatioToFloor }))
			}
			row("2", "taxbridge, AvaTax 0 ms: backlog", c, fmt.Sprintf("%.0f events/s", x.EventsPerSecond),
				fmt.Sprintf("%s%d lifecycles, %d events (%d actions) in %.2fs; %d AvaTax document calls (min %d), %d address resolutions",
					ratio, x.Lifecycles, x.Events, x.Actions, x.Seconds, x.AvaTaxCalls, x.MinimumCalls, x.Resolutions))
			sbCPU := "sandbox in process, included"
			if x.SandboxCPUPerEventMS > 0 {
				sbCPU = fmt.Sprintf("sandbox process %.3f ms more", x.SandboxCPUPerEventMS)
			}
			cpuRatio := ""
			if r.CPURatio > 0 {
				cpuRatio = fmt.Sprintf("; ceiling %.3f ms per message: CPU ratio %.2f", r.Ceiling.CPUPerMsgMS, r.CPURatio)
			}
			row("2", "taxbridge CPU per event (worker + nats-server)", c, fmt.Sprintf("%.3f ms", x.CPUPerEventMS),
				fmt.Sprintf("%s%s; %.2f of %s busy", sbCPU, cpuRatio, x.CPUsBusy, cpus(r.CPUs)))
			if b := r.Budget; b != nil {
				row("2", "CPU per event that half the ceiling allows", c, fmt.Sprintf("%.3f ms", b.CPUPerEventMS), budgetDetail(b, r))
			}
			row("5", "allocations per event (whole process)", c, fmt.Sprintf("%.0f allocs", x.AllocsPerEvent),
				fmt.Sprintf("%.1f KiB per event (ceiling: %s); order record in KV %d B on average, %d B at most",
					x.BytesPerEvent/1024, ceilAllocs(r.Ceiling), x.RecordBytesMean, x.RecordBytesMax))
		}
		for _, x := range r.Latency {
			row("2", fmt.Sprintf("taxbridge, AvaTax 0 ms: action → result, %d orders in flight", x.InFlight), c,
				fmt.Sprintf("p50 %.1f ms", x.P50),
				fmt.Sprintf("p95 %.1f ms, p99 %.1f ms, max %.1f ms over %d actions; closed loop: %.0f events/s",
					x.P95, x.P99, x.Max, x.Samples, x.EventsPerSecond))
		}
		if x := r.Slow; x != nil {
			v, how := x.CallsPerSecond, "overall"
			if x.SteadyCallsPerSecond > 0 {
				v, how = x.SteadyCallsPerSecond, fmt.Sprintf("steady (10th–90th percentile of orders; %.1f overall)", x.CallsPerSecond)
			}
			mode := "backlog"
			if x.Mode == "closed" {
				mode = fmt.Sprintf("closed loop, %d orders in flight", x.InFlight)
			}
			row("3", fmt.Sprintf("taxbridge, AvaTax %.0f ms: AvaTax calls/s", x.LatencyMS), c,
				fmt.Sprintf("%.1f calls/s", v),
				fmt.Sprintf("%s; %.2f of concurrency ÷ latency = %.0f; %.0f events/s; %d calls (%d address resolutions), %d events in %.2fs; %s",
					how, x.RatioToBound, x.BoundCallsPerSecond, x.EventsPerSecond, x.AvaTaxCalls, x.Resolutions, x.Events, x.Seconds, mode))
		}
	}
	for _, fc := range rep.CallsPerFlow {
		ops := make([]string, 0, len(fc.ByOperation))
		for op, n := range fc.ByOperation {
			if op != "resolve" {
				ops = append(ops, fmt.Sprintf("%s %.2f", op, n))
			}
		}
		row("4", "AvaTax document calls per lifecycle: "+fc.Flow, "", fmt.Sprintf("%.2f (min %d)", fc.CallsPerLifecycle, fc.Minimum),
			fmt.Sprintf("%s per lifecycle; %d events per lifecycle, %d lifecycles; address resolutions (once per address) %d",
				strings.Join(slices.Sorted(slices.Values(ops)), ", "), fc.EventsPerLifecycle, fc.Lifecycles, fc.AddressResolutions))
	}
	if x := rep.TaxRequests; x != nil {
		q, e := x.Quote, x.Echo
		row("6", "Order Administration QUOTE over NATS request-reply, AvaTax 0 ms", strconv.Itoa(x.Concurrency),
			fmt.Sprintf("%.0f req/s", q.RequestsPerSecond),
			fmt.Sprintf("p50 %.2f ms, p99 %.2f ms; %.2f of the bus's echo: %.0f req/s, p50 %.2f ms, p99 %.2f ms; %d requests of %d B each, %d clients in a closed loop; %.3f ms CPU per QUOTE (sandbox apart), %.3f per echo",
				q.P50, q.P99, x.RatioToEcho, e.RequestsPerSecond, e.P50, e.P99, q.Requests, x.RequestSize, x.Concurrency, q.CPUPerRequestMS, e.CPUPerRequestMS))
	}
	if x := rep.PlexPoll; x != nil {
		for _, c := range []struct {
			name string
			c    plexCycle
		}{{"first (all new)", x.First}, {"second (unchanged, customers reused)", x.Second}} {
			row("7", fmt.Sprintf("Plex poll cycle over %d sales orders of %d customers: %s", x.Orders, x.Customers, c.name), "1",
				fmt.Sprintf("%.2fs", c.c.Seconds),
				fmt.Sprintf("%d Plex calls = %.2f min of the 200 calls/min budget; %d events published", c.c.Calls, c.c.BudgetMinutes, c.c.Published))
		}
	}
	if mem := rep.Memory; mem != nil {
		for _, p := range mem.Points {
			speed := ""
			if p.EventsPerSecond > 0 {
				speed = fmt.Sprintf(", opened in %.1fs (%.0f events/s)", p.SecondsToOpen, p.EventsPerSecond)
			}
			row("5", fmt.Sprintf("worker heap at %d open orders", p.OpenOrders), strconv.Itoa(mem.Concurrency), kib(p.WorkerHeapBytes),
				fmt.Sprintf("process heap %s in use (embedded nats-server included)%s", mib(int64(p.ProcessHeapInuse)), speed))
		}
		sb := ""
		if mem.SandboxHeapBytes != 0 {
			sb = fmt.Sprintf("; the in-process sandbox held %s of it", mib(mem.SandboxHeapBytes))
		}
		row("5", "heap per open order", "", fmt.Sprintf("worker %.1f B", mem.WorkerBytesPerOrder),
			fmt.Sprintf("whole process %.0f B (the embedded nats-server's KV and stream state%s)", mem.ProcessBytesPerOrder, sb))
	}
	tw.Flush()
	if len(rep.Targets) > 0 {
		fmt.Fprintln(out, "\ntargets")
		tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		for _, t := range rep.Targets {
			status := "MET"
			if !t.Met {
				status = "NOT MET"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t\n", status, t.Name, t.Measured, t.Target)
		}
		tw.Flush()
	}
	for _, p := range rep.Problems {
		fmt.Fprintln(out, "PROBLEM:", p)
	}
}

// cpus says "1 CPU" or "n CPUs".
func cpus(n int) string {
	if n == 1 {
		return "1 CPU"
	}
	return fmt.Sprintf("%d CPUs", n)
}

func ceilAllocs(c *ceilingResult) string {
	if c == nil {
		return "not run"
	}
	return fmt.Sprintf("%.0f allocs, %.1f KiB", c.AllocsPerMsg, c.BytesPerMsg/1024)
}

// spread says over how many rounds a ratio was measured and its range,
// when there were several.
func spread(rounds []round, ratio func(round) float64) string {
	if len(rounds) < 2 {
		return ""
	}
	lo, hi := ratio(rounds[0]), ratio(rounds[0])
	for _, x := range rounds[1:] {
		lo, hi = min(lo, ratio(x)), max(hi, ratio(x))
	}
	return fmt.Sprintf(" (%d rounds: %.2f–%.2f)", len(rounds), lo, hi)
}
