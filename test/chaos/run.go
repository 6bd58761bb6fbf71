//go:build unix

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/time/rate"

	"github.com/taxbridge/taxbridge/internal/avatax"
	"github.com/taxbridge/taxbridge/internal/bus"
	"github.com/taxbridge/taxbridge/internal/taxconfig"
)

// Run builds the binaries, runs the processes, publishes the load under
// faults, waits for it to drain and judges. It returns an error when the
// run could not be made at all; what the run found is in the report
// (Report.Failed). Every process and the work directory are removed before
// it returns, unless cfg.Keep.
func Run(ctx context.Context, cfg Config, progress io.Writer) (rep *Report, err error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	start := time.Now()
	seed := cfg.Seed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	logf := func(format string, a ...any) {
		fmt.Fprintf(progress, "chaos %s "+format+"\n", append([]any{time.Since(start).Round(100 * time.Millisecond)}, a...)...)
	}
	rep = &Report{Seed: seed, RunID: "CH" + strconv.FormatUint(seed%(36*36*36*36*36*36), 36), Flows: map[string]int{},
		Settings: settings(&cfg)}

	dir, err := os.MkdirTemp(cfg.WorkDir, "taxbridge-chaos-")
	if err != nil {
		return nil, fmt.Errorf("work directory: %w", err)
	}
	if cfg.Keep {
		rep.WorkDir = dir
		defer logf("work directory kept: %s", dir)
	} else {
		defer os.RemoveAll(dir)
	}

	// Read just before the build, so that it names what is compiled.
	rep.Build = revision(ctx)
	logf("building nats-server, taxbridge and avatax-sandbox from %s", rep.Build)
	bins, err := build(ctx, filepath.Join(dir, "bin"))
	if err != nil {
		return nil, err
	}
	rep.BuildSeconds = time.Since(start).Seconds()

	// Cleanup runs in reverse: replicas first (they drain against a live
	// NATS), then the sandbox, then NATS.
	nodes, err := startNATS(bins.natsServer, dir, cfg.Cluster)
	defer func() {
		for _, n := range nodes {
			if n != nil {
				n.kill()
			}
		}
	}()
	if err != nil {
		return nil, err
	}
	urls := natsURLs(nodes)
	sb, sbURL, err := startSandbox(bins.sandbox, dir, &cfg, seed)
	if sb != nil {
		defer sb.kill()
	}
	if err != nil {
		return nil, err
	}
	logf("nats-server at %s, AvaTax sandbox at %s", urls, sbURL)

	nc, js, err := connect(urls)
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	if err := waitJetStream(ctx, js, 30*time.Second); err != nil {
		return nil, err
	}

	replicas := make([]*replica, cfg.Replicas)
	env := replicaEnv(&cfg, urls, sbURL, dir)
	for i := range replicas {
		name := fmt.Sprintf("taxbridge-%d", i+1)
		replicas[i] = &replica{proc: &proc{name: name, bin: bins.taxbridge, env: env,
			log: filepath.Join(dir, name+".log"), marker: "taxbridge running"}}
	}
	superCtx, stopSupervisors := context.WithCancel(ctx)
	var superWG sync.WaitGroup
	defer func() {
		stopSupervisors()
		superWG.Wait()
		var wg sync.WaitGroup
		for _, r := range replicas {
			wg.Go(func() { r.stop(10 * time.Second) })
		}
		wg.Wait()
	}()
	// One at a time: concurrent first starts would race to provision the
	// streams, which is not what this suite is about.
	for _, r := range replicas {
		if err := r.start(); err != nil {
			return nil, err
		}
		if err := r.waitReady(60 * time.Second); err != nil {
			return nil, err
		}
	}
	for _, r := range replicas {
		superWG.Add(1)
		go r.supervise(superCtx, &superWG, logf)
	}
	if info, err := streamInfo(ctx, js, bus.EventsStream); err == nil {
		rep.StreamReplicas = info.Config.Replicas
	}
	logf("%d taxbridge replicas running; streams with %d replicas", len(replicas), rep.StreamReplicas)

	// The load.
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	orders := planOrders(&cfg, rep.RunID, rng)
	msgs := schedule(orders, cfg.Window, rng)
	rep.Orders, rep.Published = len(orders), len(msgs)
	for _, o := range orders {
		rep.Flows[o.flow.Name]++
		rep.Events += len(o.flow.Events)
		if o.earlyRefund {
			rep.EarlyRefunds++
		}
	}
	logf("publishing %d orders: %d events, %d messages at %g/s", rep.Orders, rep.Events, rep.Published, cfg.PublishRate)

	loadCtx, endFaults := context.WithCancel(ctx)
	var faultWG sync.WaitGroup
	var kills, restarts atomic.Int64
	if cfg.KillEvery > 0 {
		krng := rand.New(rand.NewPCG(seed^0xdead, seed))
		faultWG.Go(func() {
			t := time.NewTicker(cfg.KillEvery)
			defer t.Stop()
			for {
				select {
				case <-loadCtx.Done():
					return
				case <-t.C:
				}
				if replicas[krng.IntN(len(replicas))].kill() {
					kills.Add(1)
				}
			}
		})
	}
	restartAt := make(chan struct{}, cfg.NATSRestarts+1)
	var restartErr error
	var killedMu sync.Mutex
	var killed []string
	faultWG.Go(func() {
		nrng := rand.New(rand.NewPCG(seed^0xa75, seed))
		for range cfg.NATSRestarts {
			select {
			case <-loadCtx.Done():
				return
			case <-restartAt:
			}
			n, why := victim(ctx, js, nodes, nrng)
			logf("kill -9 %s (%s)", n.name, why)
			killedMu.Lock()
			killed = append(killed, n.name+" "+why)
			killedMu.Unlock()
			n.kill()
			time.Sleep(cfg.NATSDown)
			if err := n.start(); err != nil {
				restartErr = err
				return
			}
			if err := n.waitReady(30 * time.Second); err != nil {
				restartErr = err
				return
			}
			restarts.Add(1)
			logf("%s restarted", n.name)
		}
	})
	thresholds := make([]int, cfg.NATSRestarts)
	for i := range thresholds {
		thresholds[i] = len(msgs) * (i + 1) / (cfg.NATSRestarts + 1)
	}
	var published atomic.Int64
	pub := &publisher{js: js, limiter: rate.NewLimiter(rate.Limit(cfg.PublishRate), 1), onProgress: func(n int) {
		published.Store(int64(n))
		for len(thresholds) > 0 && n >= thresholds[0] {
			thresholds = thresholds[1:]
			restartAt <- struct{}{}
		}
	}}
	ticker := time.NewTicker(5 * time.Second)
	tickDone := make(chan struct{})
	go func() {
		defer close(tickDone)
		for {
			select {
			case <-loadCtx.Done():
				return
			case <-ticker.C:
				logf("published %d/%d messages, %d kills, %d nats restarts", published.Load(), len(msgs), kills.Load(), restarts.Load())
			}
		}
	}()
	loadStart := time.Now()
	rep.StartSeconds = loadStart.Sub(start).Seconds() - rep.BuildSeconds
	pubErr := pub.publishAll(ctx, msgs, 2*time.Minute)
	loadEnd := time.Now()
	endFaults()
	faultWG.Wait()
	ticker.Stop()
	<-tickDone
	rep.LoadSeconds = loadEnd.Sub(loadStart).Seconds()
	rep.PublishRetries = pub.retries
	rep.Kills, rep.NATSRestarts = int(kills.Load()), int(restarts.Load())
	killedMu.Lock()
	rep.KilledServers = killed
	killedMu.Unlock()
	if pubErr != nil {
		return rep, fmt.Errorf("publish: %w", pubErr)
	}
	if restartErr != nil {
		return rep, fmt.Errorf("restart nats-server: %w", restartErr)
	}
	logf("published in %s; %d kills, %d nats restarts; draining", loadEnd.Sub(loadStart).Round(time.Second), rep.Kills, rep.NATSRestarts)

	ids := make([]string, len(orders))
	for i, o := range orders {
		ids[i] = o.flow.OrderID
	}
	drainErr := waitDrained(ctx, js, ids, cfg.DrainTimeout, logf)
	rep.DrainSeconds = time.Since(loadEnd).Seconds()
	rep.Drained = drainErr == nil
	if drainErr != nil {
		rep.Problems = append(rep.Problems, drainErr.Error())
	}
	logf("drained in %s: %v", time.Since(loadEnd).Round(100*time.Millisecond), drainErr)

	// Nothing may change while the judge reads.
	stopSupervisors()
	superWG.Wait()
	for _, r := range replicas {
		rep.ReplicaCrashes += int(r.crashes.Load())
		rep.FailedStarts += int(r.failedStart.Load())
		r.stop(10 * time.Second)
	}
	if err := judge(ctx, rep, orders, js, sbURL, &cfg); err != nil {
		rep.Problems = append(rep.Problems, err.Error())
	}
	rep.TotalSeconds = time.Since(start).Seconds()
	return rep, nil
}

// victim picks the nats-server to kill: in a cluster the leader of the
// OMS stream, so that the stream must elect another; else any.
func victim(ctx context.Context, js jetstream.JetStream, nodes []*natsNode, rng *rand.Rand) (*natsNode, string) {
	if len(nodes) == 1 {
		return nodes[0], "the server"
	}
	if info, err := streamInfo(ctx, js, bus.EventsStream); err == nil && info.Cluster != nil {
		for _, n := range nodes {
			if n.name == info.Cluster.Leader {
				return n, "leader of stream " + bus.EventsStream
			}
		}
	}
	return nodes[rng.IntN(len(nodes))], "a random node"
}

// settings describes the knobs in one line.
func settings(c *Config) string {
	topo := "1 nats-server"
	if c.Cluster {
		topo = "3-node NATS cluster"
	}
	return fmt.Sprintf("%d replicas, %s; AvaTax latency %s+0..%s, 429 %g, 5xx %g (after effect %g), hang %g (%s); kill every %s, %d nats restarts (down %s); ack wait %s, AvaTax timeout %s; %g msg/s",
		c.Replicas, topo, c.Latency, c.LatencyJitter, c.Rate429, c.ErrorRate, c.AfterEffectRate, c.HangRate, c.hangMax(),
		c.KillEvery, c.NATSRestarts, c.NATSDown, c.AckWait, c.AvaTaxTimeout, c.PublishRate)
}

func streamInfo(ctx context.Context, js jetstream.JetStream, name string) (*jetstream.StreamInfo, error) {
	c, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, err := js.Stream(c, name)
	if err != nil {
		return nil, err
	}
	return s.Info(c)
}

// waitDrained waits until the worker's consumer has nothing pending and
// nothing awaiting acknowledgement, and no record of the run's orders
// holds an intent, twice in a row a second apart.
func waitDrained(ctx context.Context, js jetstream.JetStream, orderIDs []string, timeout time.Duration, logf func(string, ...any)) error {
	deadline := time.Now().Add(timeout)
	stable := 0
	var status string
	lastLog := time.Now()
	for {
		idle, st, err := drainStatus(ctx, js, orderIDs)
		if err != nil {
			st = err.Error() // NATS may still be settling after a restart
		}
		status = st
		if idle {
			stable++
			if stable >= 2 {
				return nil
			}
		} else {
			stable = 0
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not drained within %s: %s", timeout, status)
		}
		if time.Since(lastLog) > 10*time.Second {
			logf("draining: %s", status)
			lastLog = time.Now()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func drainStatus(ctx context.Context, js jetstream.JetStream, orderIDs []string) (bool, string, error) {
	c, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cons, err := js.Consumer(c, bus.EventsStream, bus.WorkerName)
	if err != nil {
		return false, "", fmt.Errorf("consumer %s: %w", bus.WorkerName, err)
	}
	info, err := cons.Info(c)
	if err != nil {
		return false, "", fmt.Errorf("consumer %s: %w", bus.WorkerName, err)
	}
	st := fmt.Sprintf("consumer %s: %d pending, %d awaiting ack (%d redelivered)", bus.WorkerName, info.NumPending, info.NumAckPending, info.NumRedelivered)
	if info.NumPending > 0 || info.NumAckPending > 0 {
		return false, st, nil
	}
	kv, err := js.KeyValue(c, bus.OrdersBucket)
	if err != nil {
		return false, st, fmt.Errorf("bucket %s: %w", bus.OrdersBucket, err)
	}
	recs, err := readRecords(c, kv, orderIDs)
	if err != nil {
		return false, st, err
	}
	var holding []string
	for id, r := range recs {
		if r.Intent != nil {
			holding = append(holding, id)
		}
	}
	if len(holding) > 0 {
		sort.Strings(holding)
		return false, fmt.Sprintf("%s; %d records hold an intent (%s)", st, len(holding), strings.Join(firstN(holding, 3), ", ")), nil
	}
	return true, st + "; no intent", nil
}

// judge reads every source and fills the verdict into rep.
func judge(ctx context.Context, rep *Report, orders []*order, js jetstream.JetStream, sbURL string, cfg *Config) error {
	tc, err := taxconfig.Parse(taxconfig.Example)
	if err != nil {
		return fmt.Errorf("tax configuration: %w", err)
	}
	known := map[string]bool{}
	for _, o := range orders {
		known[o.flow.OrderID] = true
	}
	ev := map[string]*evidence{}
	for id := range known {
		ev[id] = &evidence{}
	}

	var problems []error
	docs, err := listDocuments(ctx, sbURL, tc.Provider.CompanyCode, cfg.hangMax()+cfg.Latency+cfg.LatencyJitter+10*time.Second)
	if err != nil {
		problems = append(problems, err)
	}
	rep.DocumentVersions = len(docs)
	for _, d := range docs {
		if d.Status == avatax.StatusAdjusted {
			continue // an earlier version of a current document
		}
		rep.Documents++
		if id, ok := docOrder(d.Code, known); ok {
			ev[id].docs = append(ev[id].docs, d)
		} else {
			rep.ForeignDocuments++
			rep.Duplicates = append(rep.Duplicates, fmt.Sprintf("%s %s %s of no order of the run", d.Type, d.Code, d.Status))
		}
	}
	answers, err := readAnswers(ctx, js)
	if err != nil {
		problems = append(problems, err)
	}
	for _, a := range answers {
		if e := ev[a.Data.OrderID]; e != nil {
			e.answers = append(e.answers, a)
		}
	}
	dead, err := readDeadLetters(ctx, js)
	if err != nil {
		problems = append(problems, err)
	}
	rep.DeadLetters = len(dead)
	for _, d := range dead {
		rep.DeadLetterList = append(rep.DeadLetterList, fmt.Sprintf("%s (%s): %s", d.EventID, d.Subject, d.Reason))
		if e := ev[d.Order]; e != nil {
			e.dead = append(e.dead, d)
		}
	}
	rep.DeadLetterList = firstN(rep.DeadLetterList, 10)
	kv, err := js.KeyValue(ctx, bus.OrdersBucket)
	if err != nil {
		problems = append(problems, err)
	} else {
		ids := make([]string, 0, len(known))
		for id := range known {
			ids = append(ids, id)
		}
		recs, err := readRecords(ctx, kv, ids)
		if err != nil {
			problems = append(problems, err)
		}
		for id, r := range recs {
			ev[id].rec = r
		}
	}
	if len(problems) > 0 {
		// A verdict on partial evidence would be wrong both ways.
		return errors.Join(problems...)
	}

	for _, o := range orders {
		exp, err := expect(flowInfo{orderID: o.flow.OrderID, name: o.flow.Name, final: o.flow.Final, events: o.flow.Events}, tc)
		if err != nil {
			return err
		}
		v := judgeOrder(exp, *ev[o.flow.OrderID])
		if v.right {
			rep.Right++
		} else {
			rep.Wrong++
			if len(rep.WrongOrders) < 10 {
				rep.WrongOrders = append(rep.WrongOrders, v.finding)
			}
		}
		if v.voidedEarly {
			rep.VoidedBeforeCreate++
		}
		rep.DuplicateDocuments += len(v.duplicates)
		for _, d := range v.duplicates {
			rep.Duplicates = append(rep.Duplicates, o.flow.OrderID+": "+d)
		}
		rep.LostEvents += len(v.lost)
		rep.Lost = append(rep.Lost, v.lost...)
		rep.UnansweredActions += len(v.unanswered)
		rep.Unanswered = append(rep.Unanswered, v.unanswered...)
		rep.ActionsAnsweredMore += len(v.extra)
		rep.AnsweredMore = append(rep.AnsweredMore, v.extra...)
	}
	rep.Duplicates = firstN(rep.Duplicates, 10)
	rep.Lost = firstN(rep.Lost, 10)
	rep.Unanswered = firstN(rep.Unanswered, 10)
	rep.AnsweredMore = firstN(rep.AnsweredMore, 10)
	return nil
}
