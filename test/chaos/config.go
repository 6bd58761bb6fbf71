//go:build unix

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"
)

// Config holds the knobs of a chaos run.
type Config struct {
	// Load.
	Orders       int     // orders, the five OneStock flows in turn
	PublishRate  float64 // messages per second
	Window       int     // orders whose events are being published at once
	EarlyRefunds float64 // share of returned orders whose return is published before the commit

	// Topology.
	Replicas int  // taxbridge processes
	Cluster  bool // three nats-server nodes in a cluster instead of one server

	// Faults.
	KillEvery    time.Duration // SIGKILL a random replica this often (0: never)
	NATSRestarts int           // kill -9 and restart of nats-server (a node in -cluster) during the load
	NATSDown     time.Duration // how long the killed server stays down

	// AvaTax sandbox.
	Latency         time.Duration
	LatencyJitter   time.Duration
	Rate429         float64
	ErrorRate       float64
	AfterEffectRate float64
	HangRate        float64
	HangMax         time.Duration // 0: AvaTaxTimeout + 1s

	// taxbridge settings.
	AvaTaxTimeout time.Duration // TAXBRIDGE_AVATAX_TIMEOUT
	AckWait       time.Duration // TAXBRIDGE_ACK_WAIT, also the intent lease
	NATSReplicas  int           // TAXBRIDGE_NATS_REPLICAS (0: not set)

	DrainTimeout time.Duration
	Seed         uint64 // 0: from the clock
	Keep         bool   // keep the work directory (logs, stores)
	WorkDir      string // parent of the work directory ("": the system's temp dir)
	JSON         string // where to write the figures as JSON ("-": stdout instead of the table)
	Verbose      bool   // progress lines on stderr
}

// DefaultConfig is the full run of the README.
func DefaultConfig() Config {
	return Config{
		Orders: 300, PublishRate: 50, Window: 30, EarlyRefunds: 0.5,
		Replicas: 3, KillEvery: 2 * time.Second, NATSRestarts: 1, NATSDown: time.Second,
		Latency: 200 * time.Millisecond, LatencyJitter: 100 * time.Millisecond,
		Rate429: 0.2, ErrorRate: 0.05, AfterEffectRate: 0.5, HangRate: 0.02,
		AvaTaxTimeout: 3 * time.Second, AckWait: 10 * time.Second,
		DrainTimeout: 5 * time.Minute,
	}
}

// ShortConfig is the variant TestChaos runs inside go test: about a
// minute on 2 cores.
func ShortConfig() Config {
	c := DefaultConfig()
	c.Orders, c.Replicas, c.KillEvery, c.Latency, c.LatencyJitter = 40, 2, 3*time.Second, 50*time.Millisecond, 25*time.Millisecond
	c.PublishRate, c.Window = 25, 12
	c.AvaTaxTimeout, c.AckWait = 2*time.Second, 5*time.Second
	// It drains in seconds; the margin is for a machine busy with the
	// other packages' tests, whose redeliveries back off up to a minute.
	c.DrainTimeout = 90 * time.Second
	return c
}

// applyCluster sets what a cluster run needs, unless given: streams
// replicated on the three nodes, and a node down long enough for the
// streams it led to elect new leaders and go on without it.
func (c *Config) applyCluster(set map[string]bool) {
	c.Cluster = true
	if !set["nats-replicas"] {
		c.NATSReplicas = 3
	}
	if !set["nats-down"] {
		c.NATSDown = 10 * time.Second
	}
}

// setFlags lists the flags given on the command line.
func setFlags(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// ShortClusterConfig is the variant TestChaosCluster runs: the short
// variant on a 3-node NATS cluster with replicated streams, the OMS
// stream's leader killed mid-run and kept down for 5 s.
func ShortClusterConfig() Config {
	c := ShortConfig()
	c.applyCluster(nil)
	c.Orders, c.NATSDown = 30, 5*time.Second
	return c
}

func (c *Config) hangMax() time.Duration {
	if c.HangMax > 0 {
		return c.HangMax
	}
	// A bit above taxbridge's timeout, so that a hung request is always
	// abandoned by the client first, as a real hang would be.
	return c.AvaTaxTimeout + time.Second
}

func (c *Config) validate() error {
	var errs []error
	if c.Orders < 1 || c.Replicas < 1 || c.Window < 1 || c.PublishRate <= 0 {
		errs = append(errs, errors.New("-orders, -replicas, -window and -rate must be positive"))
	}
	for name, p := range map[string]float64{"-429-rate": c.Rate429, "-error-rate": c.ErrorRate,
		"-after-effect-rate": c.AfterEffectRate, "-hang-rate": c.HangRate, "-early-refunds": c.EarlyRefunds} {
		if p < 0 || p > 1 {
			errs = append(errs, fmt.Errorf("%s %g: want 0..1", name, p))
		}
	}
	if c.AvaTaxTimeout <= 0 || c.AvaTaxTimeout >= c.AckWait {
		errs = append(errs, fmt.Errorf("-avatax-timeout %s: want more than 0 and less than -ack-wait %s", c.AvaTaxTimeout, c.AckWait))
	}
	if c.AckWait < time.Second {
		errs = append(errs, fmt.Errorf("-ack-wait %s: taxbridge wants at least 1s", c.AckWait))
	}
	if c.NATSRestarts < 0 || c.KillEvery < 0 || c.DrainTimeout <= 0 {
		errs = append(errs, errors.New("-nats-restarts and -kill-every must not be negative, -drain-timeout must be positive"))
	}
	return errors.Join(errs...)
}

// parseFlags reads the command line into a Config.
func parseFlags(args []string, out io.Writer) (Config, error) {
	c := DefaultConfig()
	fs := flag.NewFlagSet("chaos", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintln(out, "usage: go run ./test/chaos [flags]\n\n"+
			"Runs nats-server, N taxbridge replicas and the AvaTax sandbox as processes, publishes the OneStock\n"+
			"flows (every event twice), kills replicas and restarts nats-server, then judges the outcome from\n"+
			"the sandbox's documents, the TAX and TAXBRIDGE_DLQ streams and the records. Exits 1 on any wrong\n"+
			"order, duplicate document, lost event, unanswered action or dead letter.\n\nFlags:")
		fs.PrintDefaults()
	}
	short := fs.Bool("short", false, "start from the short variant of TestChaos instead of the full run (other flags still apply)")
	fs.IntVar(&c.Orders, "orders", c.Orders, "orders (the five OneStock flows in turn)")
	fs.Float64Var(&c.PublishRate, "rate", c.PublishRate, "messages published per second")
	fs.IntVar(&c.Window, "window", c.Window, "orders whose events are published interleaved at any time")
	fs.Float64Var(&c.EarlyRefunds, "early-refunds", c.EarlyRefunds, "share of returned orders whose return is published before the commit")
	fs.IntVar(&c.Replicas, "replicas", c.Replicas, "taxbridge processes")
	fs.BoolVar(&c.Cluster, "cluster", c.Cluster, "a 3-node NATS cluster with TAXBRIDGE_NATS_REPLICAS=3; -nats-restarts then kills the OMS stream's leader, down 10s unless -nats-down")
	fs.DurationVar(&c.KillEvery, "kill-every", c.KillEvery, "SIGKILL a random replica this often, then restart it (0: never)")
	fs.IntVar(&c.NATSRestarts, "nats-restarts", c.NATSRestarts, "kill -9 and restarts of nats-server during the load")
	fs.DurationVar(&c.NATSDown, "nats-down", c.NATSDown, "how long a killed nats-server stays down")
	fs.DurationVar(&c.Latency, "latency", c.Latency, "AvaTax sandbox latency")
	fs.DurationVar(&c.LatencyJitter, "latency-jitter", c.LatencyJitter, "extra random AvaTax latency, 0..this")
	fs.Float64Var(&c.Rate429, "429-rate", c.Rate429, "share of AvaTax requests refused with 429")
	fs.Float64Var(&c.ErrorRate, "error-rate", c.ErrorRate, "share of AvaTax requests answered 500/503")
	fs.Float64Var(&c.AfterEffectRate, "after-effect-rate", c.AfterEffectRate, "share of those 5xx sent after the request took effect")
	fs.Float64Var(&c.HangRate, "hang-rate", c.HangRate, "share of AvaTax requests that hang")
	fs.DurationVar(&c.HangMax, "hang-max", c.HangMax, "how long a hung request is held (0: -avatax-timeout + 1s)")
	fs.DurationVar(&c.AvaTaxTimeout, "avatax-timeout", c.AvaTaxTimeout, "TAXBRIDGE_AVATAX_TIMEOUT")
	fs.DurationVar(&c.AckWait, "ack-wait", c.AckWait, "TAXBRIDGE_ACK_WAIT (the intent lease)")
	fs.IntVar(&c.NATSReplicas, "nats-replicas", c.NATSReplicas, "TAXBRIDGE_NATS_REPLICAS (0: not set; -cluster sets 3)")
	fs.DurationVar(&c.DrainTimeout, "drain-timeout", c.DrainTimeout, "how long to wait for the load to drain")
	fs.Uint64Var(&c.Seed, "seed", c.Seed, "random seed of the load, the kills and the sandbox's faults (0: from the clock)")
	fs.BoolVar(&c.Keep, "keep", c.Keep, "keep the work directory (process logs, JetStream stores)")
	fs.StringVar(&c.WorkDir, "workdir", c.WorkDir, "parent of the work directory (default: the system's temp dir)")
	fs.StringVar(&c.JSON, "json", c.JSON, "write the figures as JSON to this file (-: to stdout instead of the table)")
	fs.BoolVar(&c.Verbose, "v", true, "progress on stderr")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *short {
		// The short variant's values, except for the flags given.
		s := ShortConfig()
		set := setFlags(fs)
		keep := func(name string, dst, src any) {
			if set[name] {
				return
			}
			switch d := dst.(type) {
			case *int:
				*d = *src.(*int)
			case *float64:
				*d = *src.(*float64)
			case *time.Duration:
				*d = *src.(*time.Duration)
			}
		}
		keep("orders", &c.Orders, &s.Orders)
		keep("replicas", &c.Replicas, &s.Replicas)
		keep("kill-every", &c.KillEvery, &s.KillEvery)
		keep("latency", &c.Latency, &s.Latency)
		keep("latency-jitter", &c.LatencyJitter, &s.LatencyJitter)
		keep("rate", &c.PublishRate, &s.PublishRate)
		keep("window", &c.Window, &s.Window)
		keep("avatax-timeout", &c.AvaTaxTimeout, &s.AvaTaxTimeout)
		keep("ack-wait", &c.AckWait, &s.AckWait)
		keep("drain-timeout", &c.DrainTimeout, &s.DrainTimeout)
	}
	if c.Cluster {
		c.applyCluster(setFlags(fs))
	}
	return c, c.validate()
}
