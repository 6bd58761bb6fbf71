package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// The ceiling's own resources, configured like taxbridge's (file storage,
// same duplicate window, KV history, ack policy, AckWait, MaxAckPending).
const (
	ceilingStream = "BENCH_CEILING"
	ceilingPrefix = "bench.ceiling."
	ceilingBucket = "bench_ceiling"
)

// ceilingResult is raw JetStream doing taxbridge's work shape without its
// logic.
type ceilingResult struct {
	Messages      int     `json:"messages"`
	Seconds       float64 `json:"seconds"`
	PerSecond     float64 `json:"messages_per_second"`
	CASConflicts  int64   `json:"cas_conflicts"`
	CPUPerMsgMS   float64 `json:"process_cpu_ms_per_message"`
	CPUsBusy      float64 `json:"cpus_busy"`
	AllocsPerMsg  float64 `json:"process_allocs_per_message"`
	BytesPerMsg   float64 `json:"process_bytes_per_message"`
	PublishSecond float64 `json:"publish_seconds"`
}

// runCeiling publishes msgs to the ceiling stream, then consumes them with
// the worker's consumer shape (concurrency Consume calls of
// PullMaxMessages(pullMaxMessages) each, as the worker does) and for each message: KV get of
// the order's key, KV compare-and-swap update (create when absent) with the
// message as value, ack. It times the drain of the backlog.
func runCeiling(ctx context.Context, e *env, msgs []msg, concurrency int, run string) (*ceilingResult, error) {
	kv, cons, done, err := e.replayShape(ctx, ceilingStream, ceilingPrefix, ceilingBucket, "ceiling-"+run)
	if err != nil {
		return nil, err
	}
	defer done()

	pubStart := time.Now()
	if _, err := publishAll(ctx, e.gjs, msgs, ceilingPrefix); err != nil {
		return nil, err
	}
	pubSecs := time.Since(pubStart).Seconds()

	var conflicts atomic.Int64
	var failures atomic.Int64
	handle := func(m jetstream.Msg) {
		subj := m.Subject()
		key := subj[strings.LastIndexByte(subj, '.')+1:]
		rev, err := readRevision(ctx, kv, key)
		if err == nil {
			_, err = casWrite(ctx, kv, key, m.Data(), rev, &conflicts)
		}
		if err != nil {
			failures.Add(1)
			_ = m.Nak()
			return
		}
		_ = m.Ack()
	}

	allocs := startAllocs()
	secs, cpu, err := consumeAll(ctx, cons, concurrency, handle)
	if err != nil {
		return nil, fmt.Errorf("ceiling: %w", err)
	}
	if f := failures.Load(); f > 0 {
		return nil, fmt.Errorf("ceiling: %d KV operations failed", f)
	}
	a, b := allocs.per(len(msgs))
	perSec, cpuMS := float64(len(msgs))/secs, ms(cpu)/float64(len(msgs))
	return &ceilingResult{Messages: len(msgs), Seconds: secs, PerSecond: perSec, CPUPerMsgMS: cpuMS, CPUsBusy: busy(cpuMS, perSec),
		CASConflicts: conflicts.Load(), AllocsPerMsg: a, BytesPerMsg: b, PublishSecond: pubSecs}, nil
}

// busy is how many CPUs were busy on average when each of perSecond
// messages a second took cpuMS milliseconds of CPU.
func busy(cpuMS, perSecond float64) float64 { return cpuMS * perSecond / 1000 }

// casWrite writes value at revision rev (0: creates it), and when another
// writer got in between, at the revision read again, as taxbridge's
// store.Update does, counting the conflicts.
func casWrite(ctx context.Context, kv jetstream.KeyValue, key string, value []byte, rev uint64, conflicts *atomic.Int64) (uint64, error) {
	for attempt := 0; ; attempt++ {
		var n uint64
		var err error
		if rev == 0 {
			n, err = kv.Create(ctx, key, value)
		} else {
			n, err = kv.Update(ctx, key, value, rev)
		}
		if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) && !errors.Is(err, jetstream.ErrKeyExists) || attempt == 50 {
			return n, err
		}
		conflicts.Add(1)
		if rev, err = readRevision(ctx, kv, key); err != nil {
			return 0, err
		}
	}
}

// readRevision reads the key's value, as taxbridge reads the record, and
// returns its revision: 0 when absent.
func readRevision(ctx context.Context, kv jetstream.KeyValue, key string) (uint64, error) {
	en, err := kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	_ = en.Value()
	return en.Revision(), nil
}

// replayShape makes the resources of a run without taxbridge: a stream of
// the given subjects and a KV bucket, both configured like taxbridge's
// (file storage, same duplicate window, KV history), and a durable
// consumer like the worker's (ack policy, AckWait, MaxAckPending). The
// stream starts empty; done deletes the consumer.
func (e *env) replayShape(ctx context.Context, stream, prefix, bucket, consumer string) (jetstream.KeyValue, jetstream.Consumer, func(), error) {
	if err := e.emptyStream(ctx, stream, prefix); err != nil {
		return nil, nil, nil, err
	}
	kv, err := e.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: bucket, History: 5, Replicas: e.topo.Replicas, Storage: jetstream.FileStorage,
	})
	if err != nil {
		return nil, nil, nil, err
	}
	cons, err := e.js.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{
		Durable: consumer, FilterSubject: prefix + ">", AckPolicy: jetstream.AckExplicitPolicy,
		AckWait: e.topo.AckWait, MaxDeliver: e.topo.MaxDeliver, MaxAckPending: e.topo.MaxAckPending,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, nil, nil, err
	}
	return kv, cons, func() { _ = e.js.DeleteConsumer(context.Background(), stream, consumer) }, nil
}

// emptyStream creates (or purges) a stream of prefix.> configured like
// taxbridge's.
func (e *env) emptyStream(ctx context.Context, name, prefix string) error {
	s, err := e.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: name, Subjects: []string{prefix + ">"}, Storage: jetstream.FileStorage,
		Replicas: e.topo.Replicas, Duplicates: e.topo.DuplicateWindow, MaxAge: e.topo.EventsMaxAge,
	})
	if err != nil {
		return err
	}
	return s.Purge(ctx)
}

// consumeAll works off the consumer's backlog with the worker's consumer
// shape (concurrency Consume calls of PullMaxMessages(pullMaxMessages)
// each) and returns how long it took and the CPU this process spent.
func consumeAll(ctx context.Context, cons jetstream.Consumer, concurrency int, handle jetstream.MessageHandler) (float64, time.Duration, error) {
	cpu0 := processCPU()
	start := time.Now()
	var ccs []jetstream.ConsumeContext
	defer func() {
		for _, cc := range ccs {
			cc.Drain()
			<-cc.Closed()
		}
	}()
	for i := 0; i < concurrency; i++ {
		cc, err := cons.Consume(handle, jetstream.PullMaxMessages(pullMaxMessages))
		if err != nil {
			return 0, 0, err
		}
		ccs = append(ccs, cc)
	}
	end, err := waitIdle(ctx, cons, 5*time.Minute)
	return end.Sub(start).Seconds(), processCPU() - cpu0, err
}

// pullMaxMessages is the worker's prefetch per Consume (worker.Run).
const pullMaxMessages = 2
