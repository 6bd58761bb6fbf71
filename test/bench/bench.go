package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/taxbridge/taxbridge/internal/bus"
)

// Phases of a run, in the order they run.
var allPhases = []string{"ceiling", "floor", "e2e", "latency", "slow", "calls", "taxrequests", "plexpoll", "memory"}

// config is what the flags set.
type config struct {
	Concurrency []int `json:"concurrency"`
	// CPUs runs ceiling..slow once per count, with the process and the
	// sandbox limited to that many CPUs (limitCPUs); empty: as started.
	CPUs []int `json:"cpus,omitempty"`
	// Rounds repeats ceiling, floor and end to end, one after the other,
	// and reports the round of the median ratio: a machine shared with
	// others drifts by more than a tenth between runs.
	Rounds            int           `json:"rounds"`
	MaxAckPending     int           `json:"max_ack_pending"`
	Lifecycles        int           `json:"lifecycles"`
	LatencyLifecycles int           `json:"latency_lifecycles"`
	InFlight          []int         `json:"in_flight"`
	Latency           time.Duration `json:"-"`
	LatencyMS         float64       `json:"avatax_latency_ms"`
	SlowLifecycles    int           `json:"slow_lifecycles"`
	CallsLifecycles   int           `json:"calls_lifecycles_per_flow"`
	// TaxRequests is how many QUOTEs (and as many echoes) the taxrequests
	// phase sends.
	TaxRequests int `json:"tax_requests"`
	// PlexOrders and PlexCustomers are what the plexpoll phase seeds.
	PlexOrders       int      `json:"plex_orders"`
	PlexCustomers    int      `json:"plex_customers"`
	MemOrders        []int    `json:"memory_open_orders"`
	Phases           []string `json:"phases"`
	Scale            float64  `json:"scale"`
	JSON             string   `json:"-"`
	SlowMode         string   `json:"slow_mode"`
	SlowInFlight     int      `json:"slow_in_flight"`
	SandboxInProcess bool     `json:"sandbox_in_process"`
	// AvaTaxMaxConcurrency caps the AvaTax client's requests in flight
	// (avatax.WithMaxConcurrency); 0: no cap, as the app builds it.
	AvaTaxMaxConcurrency int `json:"avatax_max_concurrency,omitempty"`
	// MemUniqueAddresses gives every order of the memory phase its own
	// delivery address, as real customers have.
	MemUniqueAddresses bool `json:"memory_unique_addresses"`
	// Audit records every AvaTax exchange in the audit stream, as the app
	// does.
	Audit      bool   `json:"audit"`
	CPUProfile string `json:"-"`
	MemProfile string `json:"-"`
}

func (c *config) has(phase string) bool { return slices.Contains(c.Phases, phase) }

// Report is everything a run measured; it is also the JSON written.
type Report struct {
	Started time.Time `json:"started"`
	Seconds float64   `json:"seconds"`
	Machine machine   `json:"machine"`
	Config  config    `json:"config"`
	// Telemetry names the exporters taxbridge's telemetry ran with.
	Telemetry    string       `json:"telemetry"`
	Runs         []*runResult `json:"runs"`
	CallsPerFlow []flowCalls  `json:"calls_per_flow,omitempty"`
	// TaxRequests is Order Administration's QUOTE over NATS request-reply
	// beside the bus's own request-reply rate.
	TaxRequests *taxReqResult `json:"tax_requests,omitempty"`
	// PlexPoll is a Plex poll cycle over many orders: its duration and
	// the calls it spent against Plex's budget.
	PlexPoll *plexPollResult `json:"plex_poll,omitempty"`
	Memory   *memResult      `json:"memory,omitempty"`
	Targets  []target        `json:"targets"`
	Problems []string        `json:"problems"`
}

type machine struct {
	GoVersion    string `json:"go_version"`
	OS           string `json:"os"`
	Arch         string `json:"arch"`
	CPUs         int    `json:"cpus"`
	GOMAXPROCS   int    `json:"gomaxprocs"`
	LoadAvgStart string `json:"loadavg_start,omitempty"`
	LoadAvgEnd   string `json:"loadavg_end,omitempty"`
}

// runResult is one worker concurrency: ceiling, taxbridge at zero AvaTax
// latency (drain and closed loop), taxbridge at the configured latency.
type runResult struct {
	Concurrency int `json:"concurrency"`
	// CPUs is GOMAXPROCS during the run: the CPUs it had.
	CPUs            int            `json:"cpus"`
	PullMaxMessages int            `json:"pull_max_messages"`
	MaxAckPending   int            `json:"max_ack_pending"`
	Ceiling         *ceilingResult `json:"ceiling,omitempty"`
	// Floor is the bus and AvaTax work taxbridge's guarantees need per event without taxbridge's
	// logic: the most taxbridge could reach here.
	Floor               *floorResult `json:"floor,omitempty"`
	FloorRatioToCeiling float64      `json:"floor_ratio_to_ceiling,omitempty"`
	E2E                 *e2eResult   `json:"e2e,omitempty"`
	RatioToCeiling      float64      `json:"e2e_ratio_to_ceiling,omitempty"`
	RatioToFloor        float64      `json:"e2e_ratio_to_floor,omitempty"`
	// CPURatio is the ceiling's CPU per message over taxbridge's CPU per
	// event in this process (the sandbox's CPU left out when it runs in a
	// child): the ratio where CPU, not a shared AvaTax emulator, is the limit.
	CPURatio float64 `json:"e2e_cpu_ratio_to_ceiling,omitempty"`
	// Budget is what half the ceiling asks of taxbridge's CPU here.
	Budget *budget `json:"half_ceiling_budget,omitempty"`
	// Rounds are the ratios of every round when there were several; the
	// figures above are those of the median round.
	Rounds  []round          `json:"rounds,omitempty"`
	Latency []*latencyResult `json:"latency,omitempty"`
	Slow    *slowResult      `json:"slow,omitempty"`
}

// budget is what reaching half the ceiling asks of taxbridge's CPU on this
// machine, from the figures of one run. Taxbridge is limited by CPU where
// the ceiling is not, so the target comes down to a CPU time per event. It
// is generous to taxbridge: it counts every CPU as busy, more than it
// keeps busy. The floor's share is the I/O the guarantees need, which no code change
// removes; the rest is what taxbridge's own logic (decoding, validation,
// the state machine, mapping, telemetry) may take.
type budget struct {
	// CPUPerEventMS is every CPU's time ÷ half the ceiling's rate.
	CPUPerEventMS float64 `json:"cpu_ms_per_event"`
	// FloorMS is the floor's CPU per event, the sandbox's included.
	FloorMS float64 `json:"floor_cpu_ms_per_event"`
	// LogicBudgetMS is CPUPerEventMS less FloorMS; LogicMS is what
	// taxbridge takes beyond the floor now, the sandbox's included.
	LogicBudgetMS float64 `json:"logic_budget_ms_per_event"`
	LogicMS       float64 `json:"logic_cpu_ms_per_event"`
}

// newBudget is the budget of r, nil unless its ceiling, floor and end to
// end all ran.
func newBudget(r *runResult) *budget {
	if r.Ceiling == nil || r.Floor == nil || r.E2E == nil || r.Ceiling.PerSecond <= 0 || r.CPUs <= 0 {
		return nil
	}
	x := &budget{
		CPUPerEventMS: float64(r.CPUs) * 1000 / (r.Ceiling.PerSecond / 2),
		FloorMS:       r.Floor.CPUPerMsgMS + r.Floor.SandboxCPUPerEventMS,
	}
	x.LogicBudgetMS = x.CPUPerEventMS - x.FloorMS
	x.LogicMS = r.E2E.CPUPerEventMS + r.E2E.SandboxCPUPerEventMS - x.FloorMS
	return x
}

// round is one pass of ceiling, floor and end to end.
type round struct {
	CeilingPerSecond    float64 `json:"ceiling_msgs_per_second,omitempty"`
	FloorPerSecond      float64 `json:"floor_msgs_per_second,omitempty"`
	EventsPerSecond     float64 `json:"e2e_events_per_second,omitempty"`
	FloorRatioToCeiling float64 `json:"floor_ratio_to_ceiling,omitempty"`
	RatioToCeiling      float64 `json:"e2e_ratio_to_ceiling,omitempty"`
	RatioToFloor        float64 `json:"e2e_ratio_to_floor,omitempty"`
	CPUPerEventMS       float64 `json:"process_cpu_ms_per_event,omitempty"`
}

type e2eResult struct {
	Lifecycles      int     `json:"lifecycles"`
	Events          int     `json:"events"`
	Actions         int     `json:"actions"`
	Seconds         float64 `json:"seconds"`
	EventsPerSecond float64 `json:"events_per_second"`
	AllocsPerEvent  float64 `json:"process_allocs_per_event"`
	BytesPerEvent   float64 `json:"process_bytes_per_event"`
	AvaTaxCalls     int     `json:"avatax_document_calls"`
	MinimumCalls    int     `json:"minimum_avatax_calls"`
	Resolutions     int     `json:"address_resolutions"`
	// CPU per event in milliseconds: this process (worker, nats-server,
	// load generator) and the sandbox's child process.
	CPUPerEventMS        float64 `json:"process_cpu_ms_per_event"`
	SandboxCPUPerEventMS float64 `json:"sandbox_cpu_ms_per_event,omitempty"`
	// CPUsBusy counts this process and the sandbox's.
	CPUsBusy float64 `json:"cpus_busy"`
	// RecordBytes is the size of an order's record in KV at the end of its
	// lifecycle: what every event reads, decodes, encodes and writes.
	RecordBytesMean int            `json:"record_bytes_mean"`
	RecordBytesMax  int            `json:"record_bytes_max"`
	Results         int64          `json:"results"`
	TaxErrors       int64          `json:"tax_errors"`
	DeadLetters     int            `json:"dead_letters"`
	WrongFinal      int            `json:"orders_not_in_final_state"`
	PublishSeconds  float64        `json:"publish_seconds"`
	WorkerLog       map[string]int `json:"worker_log,omitempty"`
}

type latencyResult struct {
	Lifecycles      int     `json:"lifecycles"`
	InFlight        int     `json:"in_flight"`
	Events          int     `json:"events"`
	Seconds         float64 `json:"seconds"`
	EventsPerSecond float64 `json:"events_per_second"`
	Samples         int     `json:"samples"`
	Timeouts        int     `json:"timeouts"`
	P50             float64 `json:"p50_ms"`
	P95             float64 `json:"p95_ms"`
	P99             float64 `json:"p99_ms"`
	Max             float64 `json:"max_ms"`
	Mean            float64 `json:"mean_ms"`
	WrongFinal      int     `json:"orders_not_in_final_state"`
}

type slowResult struct {
	Mode           string  `json:"mode"` // closed (loop) or backlog
	InFlight       int     `json:"in_flight,omitempty"`
	LatencyMS      float64 `json:"avatax_latency_ms"`
	Lifecycles     int     `json:"lifecycles"`
	Events         int     `json:"events"`
	Seconds        float64 `json:"seconds"`
	AvaTaxCalls    int     `json:"avatax_calls"`
	Resolutions    int     `json:"address_resolutions"`
	CallsPerSecond float64 `json:"avatax_calls_per_second"`
	// SteadyCallsPerSecond leaves out ramp-up and tail (closed loop only).
	SteadyCallsPerSecond float64        `json:"steady_avatax_calls_per_second,omitempty"`
	BoundCallsPerSecond  float64        `json:"bound_calls_per_second"`
	RatioToBound         float64        `json:"ratio_to_bound"` // steady calls/s when measured
	EventsPerSecond      float64        `json:"events_per_second"`
	WrongFinal           int            `json:"orders_not_in_final_state"`
	WorkerLog            map[string]int `json:"worker_log,omitempty"`
}

type flowCalls struct {
	Flow               string  `json:"flow"`
	Lifecycles         int     `json:"lifecycles"`
	EventsPerLifecycle int     `json:"events_per_lifecycle"`
	CallsPerLifecycle  float64 `json:"avatax_calls_per_lifecycle"`
	Minimum            int     `json:"minimum"`
	// AddressResolutions are the resolve requests of the whole batch:
	// once per distinct address and process, not per lifecycle.
	AddressResolutions int                `json:"address_resolutions"`
	ByOperation        map[string]float64 `json:"by_operation"`
	WrongFinal         int                `json:"orders_not_in_final_state"`
}

type memResult struct {
	Concurrency int        `json:"concurrency"`
	Points      []memPoint `json:"points"`
	// SandboxHeapBytes is what the in-process AvaTax sandbox held at the
	// last point (its documents), measured by releasing it.
	SandboxHeapBytes int64 `json:"sandbox_heap_bytes"`
	// WorkerBytesPerOrder is the slope of the worker's heap between the
	// first and the last point.
	WorkerBytesPerOrder float64 `json:"worker_bytes_per_open_order"`
	// ProcessBytesPerOrder is the slope of the whole process's heap:
	// nats-server and sandbox, in process here, separate in production.
	ProcessBytesPerOrder float64 `json:"process_bytes_per_open_order"`
}

// slopeEnds are the points the slope is taken between: the first with
// open orders (the worker's lazily built caches, such as encoding/json's,
// exist by then) and the last; from no orders when there is one such point.
func (m *memResult) slopeEnds() (first, last memPoint) {
	first, last = m.Points[0], m.Points[len(m.Points)-1]
	if len(m.Points) > 2 {
		first = m.Points[1]
	}
	return first, last
}

type memPoint struct {
	OpenOrders       int     `json:"open_orders"`
	SecondsToOpen    float64 `json:"seconds_to_open"`
	EventsPerSecond  float64 `json:"events_per_second,omitempty"`
	ProcessHeapAlloc uint64  `json:"process_heap_alloc_bytes"`
	ProcessHeapInuse uint64  `json:"process_heap_inuse_bytes"`
	// WorkerHeapBytes is the live heap allocated with the worker's code on
	// the stack (sampled memory profile, scaled): what the worker holds.
	WorkerHeapBytes int64 `json:"worker_heap_bytes"`
	// WorkerHeapDeltaBytes is the process heap with the worker running
	// minus after it stopped: a cross-check that the embedded nats-server
	// freeing its own buffers in between makes noisy.
	WorkerHeapDeltaBytes int64 `json:"worker_heap_delta_bytes"`
	WorkerGoroutines     int   `json:"worker_goroutines"`
}

type target struct {
	Name     string `json:"name"`
	Measured string `json:"measured"`
	Target   string `json:"target"`
	Met      bool   `json:"met"`
}

// bench runs the phases against one nats-server.
type bench struct {
	cfg    *config
	e      *env
	ts     *templates
	rep    *Report
	start  time.Time
	log    io.Writer
	cpuOut string
	memOut string
	// captured is what taxbridge sent for each event of each template
	// (captureSteps), once per run: the capture's ids are fixed.
	captured map[*template]map[string][]step
	// rounds counts the rounds run so far.
	rounds int
}

func (b *bench) progress(format string, args ...any) {
	fmt.Fprintf(b.log, "[%6.1fs] %s\n", time.Since(b.start).Seconds(), fmt.Sprintf(format, args...))
}

func (b *bench) problem(format string, args ...any) {
	p := fmt.Sprintf(format, args...)
	b.rep.Problems = append(b.rep.Problems, p)
	b.progress("PROBLEM: %s", p)
}

// Run measures everything the configuration asks for.
func Run(ctx context.Context, cfg *config, log io.Writer) (*Report, error) {
	rep := &Report{Started: time.Now().UTC(), Config: *cfg, Problems: []string{}, Machine: machine{
		GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0), LoadAvgStart: loadavg(),
	}}
	rep.Config.LatencyMS = ms(cfg.Latency)
	ts, err := newTemplates()
	if err != nil {
		return nil, err
	}
	if err := ts.check(); err != nil {
		return nil, err
	}
	e, err := newEnv(ctx, cfg.MaxAckPending)
	if err != nil {
		return nil, err
	}
	defer e.close()
	b := &bench{cfg: cfg, e: e, ts: ts, rep: rep, start: time.Now(), log: log, cpuOut: cfg.CPUProfile, memOut: cfg.MemProfile}
	counts := cfg.CPUs
	if len(counts) == 0 {
		counts = []int{0} // as started
	}
	for _, c := range cfg.Concurrency {
		for _, n := range counts {
			r, err := b.runOn(ctx, c, n)
			if err != nil {
				return nil, err
			}
			rep.Runs = append(rep.Runs, r)
		}
	}
	if cfg.has("calls") {
		if err := b.callsPerFlow(ctx, cfg.Concurrency[0]); err != nil {
			return nil, err
		}
	}
	if cfg.has("taxrequests") {
		if err := b.taxRequests(ctx, cfg.Concurrency[0], cfg.TaxRequests); err != nil {
			return nil, err
		}
	}
	if cfg.has("plexpoll") {
		if err := b.plexPoll(ctx, cfg.PlexOrders, cfg.PlexCustomers); err != nil {
			return nil, err
		}
	}
	if cfg.has("memory") && len(cfg.MemOrders) > 0 {
		if err := b.memory(ctx, cfg.Concurrency[0]); err != nil {
			return nil, err
		}
	}
	rep.Seconds = time.Since(b.start).Seconds()
	rep.Machine.LoadAvgEnd = loadavg()
	rep.Targets = targets(rep)
	return rep, nil
}

// runOn is run with the process limited to n CPUs (0: as started).
func (b *bench) runOn(ctx context.Context, c, n int) (*runResult, error) {
	if n > 0 {
		restore, err := limitCPUs(n)
		if err != nil {
			return nil, err
		}
		defer restore()
		b.progress("limited to %s (the sandbox child too), GOMAXPROCS %d", cpus(n), n)
	}
	r, err := b.run(ctx, c)
	if err != nil {
		return nil, err
	}
	r.CPUs = runtime.GOMAXPROCS(0)
	r.Budget = newBudget(r)
	return r, nil
}

func (b *bench) run(ctx context.Context, c int) (*runResult, error) {
	var rounds []*runResult
	for i := range max(1, b.cfg.Rounds) {
		x, err := b.round(ctx, c, i)
		if err != nil {
			return nil, err
		}
		rounds = append(rounds, x)
	}
	r := median(rounds)
	if len(rounds) > 1 {
		for _, x := range rounds {
			r.Rounds = append(r.Rounds, x.round())
		}
	}
	if b.cfg.has("latency") {
		// Light load (a quarter as many orders as slots: service time) and
		// saturation (twice as many: queueing included), unless set.
		inFlight := b.cfg.InFlight
		if len(inFlight) == 0 {
			inFlight = []int{max(1, c/4), 2 * c}
		}
		for i, n := range inFlight {
			lifecycles := b.cfg.LatencyLifecycles
			if n < c {
				lifecycles = max(1, lifecycles*n/c) // fewer: it runs slower
			}
			res, err := b.closedLoop(ctx, c, n, lifecycles, fmt.Sprintf("LAT-c%d-%d", c, i))
			if err != nil {
				return nil, err
			}
			r.Latency = append(r.Latency, res)
			b.progress("e2e latency  c=%-3d %6d events     in %6.2fs: %8.0f events/s, %d orders in flight, action→result p50 %.1f ms p95 %.1f ms p99 %.1f ms",
				c, res.Events, res.Seconds, res.EventsPerSecond, n, res.P50, res.P95, res.P99)
		}
	}
	if b.cfg.has("slow") {
		res, err := b.slow(ctx, c)
		if err != nil {
			return nil, err
		}
		r.Slow = res
		b.progress("slow AvaTax  c=%-3d %6d events     in %6.2fs: %8.1f calls/s (steady %.1f) of %.0f bound (%.0f%%), %.0f events/s",
			c, res.Events, res.Seconds, res.CallsPerSecond, res.SteadyCallsPerSecond, res.BoundCallsPerSecond, 100*res.RatioToBound, res.EventsPerSecond)
	}
	return r, nil
}

// round measures the ceiling, the floor and taxbridge end to end once, the
// i-th time at concurrency c.
func (b *bench) round(ctx context.Context, c, i int) (*runResult, error) {
	r := &runResult{Concurrency: c, PullMaxMessages: pullMaxMessages, MaxAckPending: b.e.topo.MaxAckPending}
	at := ""
	if b.cfg.Rounds > 1 {
		at = fmt.Sprintf("round %d: ", i+1)
	}
	prefix := fmt.Sprintf("E2E-c%d", c)
	if b.rounds > 0 {
		// New orders and event ids: the records of earlier rounds stay,
		// and the stream would drop their ids as duplicates.
		prefix += fmt.Sprintf("-r%d", b.rounds)
	}
	b.rounds++
	lcs := b.ts.mixed(prefix, b.cfg.Lifecycles)
	msgs := interleave(lcs)
	// In flight at once: a message in each slot and a buffer per Consume.
	if window := c + c*(1+c/4); i == 0 && (b.cfg.has("ceiling") || b.cfg.has("e2e")) && minRound(lcs) <= window {
		b.progress("warning: with %d lifecycles two events of one order can be in flight at once (%d apart, %d in flight): use more -lifecycles",
			len(lcs), minRound(lcs), window)
	}
	if b.cfg.has("ceiling") {
		res, err := runCeiling(ctx, b.e, msgs, c, fmt.Sprintf("c%d", c))
		if err != nil {
			return nil, err
		}
		r.Ceiling = res
		b.progress(at+"ceiling      c=%-3d %6d messages in %6.2fs: %8.0f msg/s", c, res.Messages, res.Seconds, res.PerSecond)
	}
	if b.cfg.has("floor") {
		res, err := b.runFloor(ctx, c, lcs, msgs)
		if err != nil {
			return nil, err
		}
		r.Floor = res
		if r.Ceiling != nil {
			r.FloorRatioToCeiling = res.PerSecond / r.Ceiling.PerSecond
		}
		b.progress(at+"floor        c=%-3d %6d messages in %6.2fs: %8.0f msg/s", c, res.Messages, res.Seconds, res.PerSecond)
	}
	if b.cfg.has("e2e") {
		res, err := b.drain(ctx, c, lcs, msgs)
		if err != nil {
			return nil, err
		}
		r.E2E = res
		if r.Ceiling != nil {
			r.RatioToCeiling = res.EventsPerSecond / r.Ceiling.PerSecond
			if res.CPUPerEventMS > 0 {
				r.CPURatio = r.Ceiling.CPUPerMsgMS / res.CPUPerEventMS
			}
		}
		if r.Floor != nil {
			r.RatioToFloor = res.EventsPerSecond / r.Floor.PerSecond
		}
		b.progress(at+"e2e drain    c=%-3d %6d events     in %6.2fs: %8.0f events/s, %d AvaTax calls (minimum %d)",
			c, res.Events, res.Seconds, res.EventsPerSecond, res.AvaTaxCalls, res.MinimumCalls)
	}
	return r, nil
}

// round is the ratios of a pass.
func (r *runResult) round() round {
	x := round{FloorRatioToCeiling: r.FloorRatioToCeiling, RatioToCeiling: r.RatioToCeiling, RatioToFloor: r.RatioToFloor}
	if r.Ceiling != nil {
		x.CeilingPerSecond = r.Ceiling.PerSecond
	}
	if r.Floor != nil {
		x.FloorPerSecond = r.Floor.PerSecond
	}
	if r.E2E != nil {
		x.EventsPerSecond, x.CPUPerEventMS = r.E2E.EventsPerSecond, r.E2E.CPUPerEventMS
	}
	return x
}

// median is the round of the median end-to-end ratio to the ceiling (of
// the median of what was measured, when not both were): the lower middle
// one of an even count.
func median(rounds []*runResult) *runResult {
	key := func(r *runResult) float64 {
		switch {
		case r.RatioToCeiling > 0:
			return r.RatioToCeiling
		case r.E2E != nil:
			return r.E2E.EventsPerSecond
		case r.Floor != nil:
			return r.Floor.PerSecond
		case r.Ceiling != nil:
			return r.Ceiling.PerSecond
		}
		return 0
	}
	sorted := slices.Clone(rounds)
	slices.SortStableFunc(sorted, func(a, b *runResult) int { return cmp.Compare(key(a), key(b)) })
	return sorted[(len(sorted)-1)/2]
}

func (b *bench) dlq(ctx context.Context) int {
	s, err := b.e.js.Stream(ctx, bus.DLQStream)
	if err != nil {
		return 0
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0
	}
	return int(info.State.Msgs)
}

// drain publishes a backlog of lifecycles with the worker stopped, then
// starts it and times how long it takes to work the backlog off.
func (b *bench) drain(ctx context.Context, c int, lcs []lifecycleT, msgs []msg) (*e2eResult, error) {
	be, err := b.newBackend(0, c)
	if err != nil {
		return nil, err
	}
	defer be.close()
	evs, actions, minCalls := countEvents(lcs)
	res := &e2eResult{Lifecycles: len(lcs), Events: evs, Actions: actions, MinimumCalls: minCalls}
	_, ops0, err := be.calls()
	if err != nil {
		return nil, err
	}
	r0, e0 := b.e.results.counts()
	dlq0 := b.dlq(ctx)

	pub := time.Now()
	dups, err := publishAll(ctx, b.e.gjs, msgs, "")
	if err != nil {
		return nil, err
	}
	if dups > 0 {
		b.problem("e2e: %d events were dropped as duplicates by the stream", dups)
	}
	res.PublishSeconds = time.Since(pub).Seconds()

	if b.cpuOut != "" {
		f, err := os.Create(b.cpuOut)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
		b.cpuOut = "" // the first run only
		defer pprof.StopCPUProfile()
	}
	memOut := b.memOut
	if memOut != "" {
		b.memOut = ""
		runtime.GC()
	}
	allocs := startAllocs()
	cpu0, sbCPU0 := processCPU(), be.cpu()
	start := time.Now()
	w, err := b.e.startWorker(be, c)
	if err != nil {
		return nil, err
	}
	end, idleErr := waitIdle(ctx, b.e.res.Consumer, 10*time.Minute)
	res.AllocsPerEvent, res.BytesPerEvent = allocs.per(evs)
	res.CPUPerEventMS = ms(processCPU()-cpu0) / float64(evs)
	res.SandboxCPUPerEventMS = ms(be.cpu()-sbCPU0) / float64(evs)
	if memOut != "" {
		if err := writeHeapProfile(memOut); err != nil {
			return nil, err
		}
	}
	if err := w.stop(); err != nil {
		return nil, err
	}
	if idleErr != nil {
		return nil, fmt.Errorf("e2e drain: %w", idleErr)
	}
	res.Seconds = end.Sub(start).Seconds()
	res.EventsPerSecond = float64(evs) / res.Seconds
	res.CPUsBusy = busy(res.CPUPerEventMS+res.SandboxCPUPerEventMS, res.EventsPerSecond)
	res.WorkerLog = w.logs.snapshot()
	b.e.results.settle()
	r1, e1 := b.e.results.counts()
	res.Results, res.TaxErrors = r1-r0, e1-e0
	res.DeadLetters = b.dlq(ctx) - dlq0
	_, ops1, err := be.calls()
	if err != nil {
		return nil, err
	}
	res.AvaTaxCalls, res.Resolutions = documentCalls(ops0, ops1)
	if res.AvaTaxCalls != minCalls {
		b.problem("e2e drain: %d AvaTax document calls, the flows need %d", res.AvaTaxCalls, minCalls)
	}
	bad, example, err := verify(ctx, w.store, lcs)
	if err != nil {
		return nil, err
	}
	res.WrongFinal = bad
	res.RecordBytesMean, res.RecordBytesMax = recordSizes(ctx, b.e.res.Orders, lcs)
	b.checkRun("e2e drain", bad, example, res.TaxErrors, res.DeadLetters)
	if res.Results != int64(actions) {
		b.problem("e2e drain: %d results for %d workflow actions", res.Results, actions)
	}
	return res, nil
}

// writeHeapProfile writes the allocations since the rate was raised
// (go tool pprof -sample_index=alloc_space).
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	runtime.GC()
	return pprof.Lookup("allocs").WriteTo(f, 0)
}

// recordSizes reads the KV records of the orders (at most 500 of them).
func recordSizes(ctx context.Context, kv jetstream.KeyValue, lcs []lifecycleT) (mean, most int) {
	n, sum := 0, 0
	for i, lc := range lcs {
		if i >= 500 {
			break
		}
		e, err := kv.Get(ctx, bus.Token(lc.orderID))
		if err != nil {
			continue
		}
		n, sum, most = n+1, sum+len(e.Value()), max(most, len(e.Value()))
	}
	if n == 0 {
		return 0, 0
	}
	return sum / n, most
}

// newBackend starts a sandbox and builds the client for concurrency c.
func (b *bench) newBackend(latency time.Duration, c int) (*backend, error) {
	return newBackend(latency, b.cfg.SandboxInProcess, b.clientConfig(c))
}

// clientConfig is the AvaTax client as the app builds it for concurrency c.
func (b *bench) clientConfig(c int) clientConfig {
	cc := clientConfig{concurrency: c, maxConc: b.cfg.AvaTaxMaxConcurrency, ackWait: b.e.topo.AckWait}
	if b.cfg.Audit {
		cc.audit = b.e.js
	}
	return cc
}

// documentCalls splits the sandbox's requests between two snapshots into
// the calls on documents and the address resolutions.
func documentCalls(before, after map[string]int) (docs, resolutions int) {
	for op, n := range after {
		d := n - before[op]
		switch op {
		case "resolve":
			resolutions += d
		case "ping": // the worker's probe at start, no document
		default:
			docs += d
		}
	}
	return docs, resolutions
}

// writeInuseProfile writes the live heap (go tool pprof -sample_index=inuse_space
// -base <stopped> <running> shows what the worker holds).
func writeInuseProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	runtime.GC()
	return pprof.Lookup("heap").WriteTo(f, 0)
}

func (b *bench) checkRun(what string, bad int, example string, taxErrors int64, deadLetters int) {
	if bad > 0 {
		b.problem("%s: %d orders did not end in their flow's final state, e.g. %s", what, bad, example)
	}
	if taxErrors > 0 {
		b.problem("%s: %d tax errors (the flows expect none), e.g. %s", what, taxErrors, b.e.results.sample())
	}
	if deadLetters > 0 {
		b.problem("%s: %d events dead-lettered", what, deadLetters)
	}
}

// closedLoop measures latency: inFlight orders driven at once, each waiting
// for its action's result before its next step.
func (b *bench) closedLoop(ctx context.Context, c, inFlight, lifecycles int, prefix string) (*latencyResult, error) {
	be, err := b.newBackend(0, c)
	if err != nil {
		return nil, err
	}
	defer be.close()
	lcs := b.ts.mixed(prefix, lifecycles)
	evs, _, _ := countEvents(lcs)
	e0 := b.e.results.errors.Load()
	dlq0 := b.dlq(ctx)
	w, err := b.e.startWorker(be, c)
	if err != nil {
		return nil, err
	}
	lat, timeouts, elapsed, runErr := closedLoop(ctx, b.e.gjs, b.e.results, lcs, inFlight, 30*time.Second, nil)
	_, idleErr := waitIdle(ctx, b.e.res.Consumer, 5*time.Minute)
	if err := w.stop(); err != nil {
		return nil, err
	}
	if runErr != nil {
		return nil, runErr
	}
	if idleErr != nil {
		return nil, fmt.Errorf("e2e latency: %w", idleErr)
	}
	res := &latencyResult{Lifecycles: len(lcs), InFlight: inFlight, Events: evs, Seconds: elapsed.Seconds(),
		EventsPerSecond: float64(evs) / elapsed.Seconds(), Samples: len(lat), Timeouts: timeouts}
	res.P50, res.P95, res.P99, res.Max, res.Mean = percentiles(lat)
	if timeouts > 0 {
		b.problem("e2e latency: %d actions got no result within 30s", timeouts)
	}
	b.e.results.settle()
	bad, example, err := verify(ctx, w.store, lcs)
	if err != nil {
		return nil, err
	}
	res.WrongFinal = bad
	b.checkRun("e2e latency", bad, example, b.e.results.errors.Load()-e0, b.dlq(ctx)-dlq0)
	return res, nil
}

// slow runs orders with the sandbox answering after the configured
// latency: AvaTax calls per second against concurrency ÷ latency. Orders
// are driven in a closed loop (each step after the previous result) with
// enough of them in flight to keep every slot busy; -slow-mode backlog
// works off a published backlog instead, where the later steps of an order
// are already queued while its AvaTax call runs.
func (b *bench) slow(ctx context.Context, c int) (*slowResult, error) {
	be, err := b.newBackend(b.cfg.Latency, c)
	if err != nil {
		return nil, err
	}
	defer be.close()
	lcs := b.ts.mixed(fmt.Sprintf("SLOW-c%d", c), b.cfg.SlowLifecycles)
	evs, _, minCalls := countEvents(lcs)
	e0 := b.e.results.errors.Load()
	dlq0 := b.dlq(ctx)
	backlog := b.cfg.SlowMode == "backlog"
	if backlog {
		if _, err := publishAll(ctx, b.e.gjs, interleave(lcs), ""); err != nil {
			return nil, err
		}
	}
	_, ops0, err := be.calls()
	if err != nil {
		return nil, err
	}
	inFlight := b.cfg.SlowInFlight
	if inFlight <= 0 {
		inFlight = 4 * c
	}
	res := &slowResult{Mode: b.cfg.SlowMode, LatencyMS: ms(b.cfg.Latency), Lifecycles: len(lcs), Events: evs}
	w, err := b.e.startWorker(be, c)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	var end time.Time
	var runErr error
	if backlog {
		end, runErr = waitIdle(ctx, b.e.res.Consumer, 10*time.Minute)
	} else {
		// The steady window runs from the 10th to the 90th percentile of
		// finished orders: no ramp-up, no tail with fewer orders than slots.
		type mark struct {
			at    time.Time
			calls int
		}
		var mu sync.Mutex
		var done int
		var marks []mark
		lo, hi := len(lcs)/10, len(lcs)-len(lcs)/10
		onDone := func() {
			mu.Lock()
			defer mu.Unlock()
			done++
			if lo > 0 && (done == lo || done == hi) {
				if n, _, err := be.calls(); err == nil {
					marks = append(marks, mark{time.Now(), n})
				}
			}
		}
		res.InFlight = inFlight
		var timeouts int
		_, timeouts, _, runErr = closedLoop(ctx, b.e.gjs, b.e.results, lcs, inFlight, time.Minute, onDone)
		end = time.Now()
		if timeouts > 0 {
			b.problem("slow: %d actions got no result within a minute", timeouts)
		}
		if runErr == nil {
			_, runErr = waitIdle(ctx, b.e.res.Consumer, 5*time.Minute)
		}
		if len(marks) == 2 && marks[1].at.After(marks[0].at) {
			res.SteadyCallsPerSecond = float64(marks[1].calls-marks[0].calls) / marks[1].at.Sub(marks[0].at).Seconds()
		}
	}
	if err := w.stop(); err != nil {
		return nil, err
	}
	if runErr != nil {
		return nil, fmt.Errorf("slow: %w", runErr)
	}
	_, ops1, err := be.calls()
	if err != nil {
		return nil, err
	}
	secs := end.Sub(start).Seconds()
	docCalls, resolutions := documentCalls(ops0, ops1)
	res.Seconds, res.WorkerLog = secs, w.logs.snapshot()
	// Every request holds a slot for the latency: resolutions count too.
	res.AvaTaxCalls, res.Resolutions = docCalls+resolutions, resolutions
	res.CallsPerSecond = float64(res.AvaTaxCalls) / secs
	bound := c
	if m := b.cfg.AvaTaxMaxConcurrency; m > 0 && m < bound {
		bound = m
	}
	res.BoundCallsPerSecond = float64(bound) / b.cfg.Latency.Seconds()
	res.EventsPerSecond = float64(evs) / secs
	res.RatioToBound = res.CallsPerSecond / res.BoundCallsPerSecond
	if res.SteadyCallsPerSecond > 0 {
		res.RatioToBound = res.SteadyCallsPerSecond / res.BoundCallsPerSecond
	}
	if docCalls != minCalls {
		b.problem("slow: %d AvaTax document calls, the flows need %d", docCalls, minCalls)
	}
	b.e.results.settle()
	bad, example, err := verify(ctx, w.store, lcs)
	if err != nil {
		return nil, err
	}
	res.WrongFinal = bad
	b.checkRun("slow", bad, example, b.e.results.errors.Load()-e0, b.dlq(ctx)-dlq0)
	return res, nil
}

// callsPerFlow runs each flow on its own, its orders driven in a closed
// loop as an OMS publishes them (each step after the previous result), and
// counts the sandbox's requests per lifecycle. Address resolutions are
// counted apart: the worker resolves each distinct address once per
// process, so they are not a per-lifecycle cost of the state machine.
func (b *bench) callsPerFlow(ctx context.Context, c int) error {
	be, err := b.newBackend(0, c)
	if err != nil {
		return err
	}
	defer be.close()
	w, err := b.e.startWorker(be, c)
	if err != nil {
		return err
	}
	defer w.stop()
	k := b.cfg.CallsLifecycles
	for _, name := range b.ts.names {
		t := b.ts.byName[name]
		lcs := t.of("CALLS-"+name, k)
		_, ops0, err := be.calls()
		if err != nil {
			return err
		}
		e0 := b.e.results.errors.Load()
		_, timeouts, _, err := closedLoop(ctx, b.e.gjs, b.e.results, lcs, 2*c, 30*time.Second, nil)
		if err != nil {
			return err
		}
		if timeouts > 0 {
			b.problem("calls %s: %d actions got no result within 30s", name, timeouts)
		}
		if _, err := waitIdle(ctx, b.e.res.Consumer, 5*time.Minute); err != nil {
			return fmt.Errorf("calls %s: %w", name, err)
		}
		_, ops1, err := be.calls()
		if err != nil {
			return err
		}
		fc := flowCalls{Flow: name, Lifecycles: k, EventsPerLifecycle: len(t.msgs), Minimum: t.calls, ByOperation: map[string]float64{}}
		for op, n := range ops1 {
			if d := n - ops0[op]; d > 0 {
				fc.ByOperation[op] = float64(d) / float64(k)
			}
		}
		total, resolutions := documentCalls(ops0, ops1)
		fc.AddressResolutions = resolutions
		fc.CallsPerLifecycle = float64(total) / float64(k)
		bad, example, err := verify(ctx, w.store, lcs)
		if err != nil {
			return err
		}
		fc.WrongFinal = bad
		b.e.results.settle()
		b.checkRun("calls "+name, bad, example, b.e.results.errors.Load()-e0, 0)
		b.rep.CallsPerFlow = append(b.rep.CallsPerFlow, fc)
		b.progress("calls        %-16s %.2f AvaTax calls per lifecycle (minimum %d), %d address resolutions for %d orders",
			name, fc.CallsPerLifecycle, fc.Minimum, fc.AddressResolutions, k)
	}
	return nil
}

// memory opens orders (paid and estimated: an uncommitted document each)
// up to every checkpoint and measures the heap after GC, with the worker
// running and again once it is stopped and released: the difference is
// what the worker holds.
func (b *bench) memory(ctx context.Context, c int) error {
	be, err := b.newBackend(0, c)
	if err != nil {
		return err
	}
	released := false
	defer func() {
		if !released {
			be.close()
		}
	}()
	m := &memResult{Concurrency: c}
	opened := 0
	points := append([]int{0}, b.cfg.MemOrders...)
	const chunk = 5000
	for _, target := range points {
		w, err := b.e.startWorker(be, c)
		if err != nil {
			return err
		}
		start := time.Now()
		events := 0
		for opened < target {
			n := min(chunk, target-opened)
			lcs := make([]lifecycleT, n)
			for i := range lcs {
				lcs[i] = b.ts.open.instance(fmt.Sprintf("MEM-%07d", opened+i))
				if b.cfg.MemUniqueAddresses {
					lcs[i].setStreet(fmt.Sprintf("%d 5th Ave", opened+i+1))
				}
			}
			msgs := interleave(lcs)
			if _, err := publishAll(ctx, b.e.gjs, msgs, ""); err != nil {
				return err
			}
			if _, err := waitIdle(ctx, b.e.res.Consumer, 10*time.Minute); err != nil {
				return fmt.Errorf("memory: %w", err)
			}
			events += len(msgs)
			opened += n
		}
		secs := time.Since(start).Seconds()
		if _, err := waitIdle(ctx, b.e.res.Consumer, 10*time.Minute); err != nil {
			return fmt.Errorf("memory: %w", err)
		}
		with := heapStable()
		held := heldBy(workerPackage)
		last := target == points[len(points)-1]
		if last && b.cfg.MemProfile != "" {
			if err := writeInuseProfile(b.cfg.MemProfile + ".worker-running"); err != nil {
				return err
			}
		}
		if err := w.stop(); err != nil {
			return err
		}
		w = nil
		without := heapStable()
		if last && b.cfg.MemProfile != "" {
			if err := writeInuseProfile(b.cfg.MemProfile + ".worker-stopped"); err != nil {
				return err
			}
		}
		p := memPoint{OpenOrders: opened, SecondsToOpen: secs, ProcessHeapAlloc: with.HeapAlloc, ProcessHeapInuse: with.HeapInuse,
			WorkerHeapBytes: held, WorkerHeapDeltaBytes: int64(with.HeapAlloc) - int64(without.HeapAlloc),
			WorkerGoroutines: with.Goroutines - without.Goroutines}
		if events > 0 {
			p.EventsPerSecond = float64(events) / secs
		}
		m.Points = append(m.Points, p)
		b.progress("memory       %7d open orders (opened in %.1fs): process heap %s in use, worker %s, %d goroutines",
			opened, secs, mib(int64(with.HeapInuse)), kib(p.WorkerHeapBytes), p.WorkerGoroutines)
	}
	before := heapAfterGC()
	be.close()
	be = nil
	released = true
	after := heapAfterGC()
	if b.cfg.SandboxInProcess {
		m.SandboxHeapBytes = int64(before.HeapAlloc) - int64(after.HeapAlloc)
	}
	first, last := m.slopeEnds()
	if n := last.OpenOrders - first.OpenOrders; n > 0 {
		m.WorkerBytesPerOrder = float64(last.WorkerHeapBytes-first.WorkerHeapBytes) / float64(n)
		m.ProcessBytesPerOrder = (float64(last.ProcessHeapAlloc) - float64(first.ProcessHeapAlloc)) / float64(n)
	}
	b.rep.Memory = m
	return nil
}

// workerPackage is the import path prefix of the worker's code.
const workerPackage = "github.com/taxbridge/taxbridge/internal/worker."

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func kib(n int64) string { return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10)) }

func loadavg() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(raw))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// memFlatBytesPerOrder is the worker heap slope under which memory counts
// as flat: anything the worker kept per order (a map entry keyed by the
// order id, a cached record) would cost more.
const memFlatBytesPerOrder = 32

func targets(rep *Report) []target {
	var out []target
	for _, r := range rep.Runs {
		on := ""
		if len(rep.Config.CPUs) > 0 {
			on = ", " + cpus(r.CPUs)
		}
		if r.E2E != nil && r.Ceiling != nil {
			out = append(out, target{
				Name:     fmt.Sprintf("end to end ≥ half the ceiling (concurrency %d%s)", r.Concurrency, on),
				Measured: fmt.Sprintf("%.0f / %.0f = %.2f", r.E2E.EventsPerSecond, r.Ceiling.PerSecond, r.RatioToCeiling),
				Target:   "≥ 0.50", Met: r.RatioToCeiling >= 0.5,
			})
		}
		if r.Slow != nil {
			out = append(out, target{
				Name:     fmt.Sprintf("AvaTax calls/s at %.0f ms ≥ 90%% of concurrency ÷ latency (concurrency %d%s)", r.Slow.LatencyMS, r.Concurrency, on),
				Measured: fmt.Sprintf("%.1f / %.0f = %.2f", r.Slow.RatioToBound*r.Slow.BoundCallsPerSecond, r.Slow.BoundCallsPerSecond, r.Slow.RatioToBound),
				Target:   "≥ 0.90", Met: r.Slow.RatioToBound >= 0.9,
			})
		}
	}
	if len(rep.CallsPerFlow) > 0 {
		var parts []string
		met := true
		for _, fc := range rep.CallsPerFlow {
			parts = append(parts, fmt.Sprintf("%s %.2f/%d", fc.Flow, fc.CallsPerLifecycle, fc.Minimum))
			met = met && fc.CallsPerLifecycle == float64(fc.Minimum)
		}
		out = append(out, target{Name: "AvaTax calls per lifecycle = the state machine's minimum",
			Measured: strings.Join(parts, ", "), Target: "equal", Met: met})
	}
	if m := rep.Memory; m != nil && len(m.Points) > 1 {
		first, last := m.slopeEnds()
		out = append(out, target{Name: "worker memory flat in open orders",
			Measured: fmt.Sprintf("%s at %d → %s at %d open orders (%.1f B/order)", kib(first.WorkerHeapBytes), first.OpenOrders,
				kib(last.WorkerHeapBytes), last.OpenOrders, m.WorkerBytesPerOrder),
			Target: fmt.Sprintf("< %d B/order", memFlatBytesPerOrder), Met: m.WorkerBytesPerOrder < memFlatBytesPerOrder})
	}
	return out
}
