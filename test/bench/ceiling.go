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
	stream, err := e.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: ceilingStream, Subjects: []string{ceilingPrefix + ">"}, Storage: jetstream.FileStorage,
		Replicas: e.topo.Replicas, Duplicates: e.topo.DuplicateWindow, MaxAge: e.topo.EventsMaxAge,
	})
	if err != nil {
		return nil, err
	}
	if err := stream.Purge(ctx); err != nil {
		return nil, err
	}
	kv, err := e.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: ceilingBucket, History: 5, Replicas: e.topo.Replicas, Storage: jetstream.FileStorage,
	})
	if err != nil {
		return nil, err
	}
	name := "ceiling-" + run
	cons, err := e.js.CreateOrUpdateConsumer(ctx, ceilingStream, jetstream.ConsumerConfig{
		Durable: name, FilterSubject: ceilingPrefix + ">", AckPolicy: jetstream.AckExplicitPolicy,
		AckWait: e.topo.AckWait, MaxDeliver: e.topo.MaxDeliver, MaxAckPending: e.topo.MaxAckPending,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, err
	}
	defer func() { _ = e.js.DeleteConsumer(context.Background(), ceilingStream, name) }()

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
		for attempt := 0; ; attempt++ {
			var rev uint64
			en, err := kv.Get(ctx, key)
			switch {
			case errors.Is(err, jetstream.ErrKeyNotFound):
			case err != nil:
				failures.Add(1)
				_ = m.Nak()
				return
			default:
				rev = en.Revision()
				_ = en.Value()
			}
			if rev == 0 {
				_, err = kv.Create(ctx, key, m.Data())
			} else {
				_, err = kv.Update(ctx, key, m.Data(), rev)
			}
			if (errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists)) && attempt < 50 {
				conflicts.Add(1)
				continue
			}
			if err != nil {
				failures.Add(1)
				_ = m.Nak()
				return
			}
			break
		}
		_ = m.Ack()
	}

	allocs := startAllocs()
	cpu0 := processCPU()
	start := time.Now()
	var ccs []jetstream.ConsumeContext
	for i := 0; i < concurrency; i++ {
		cc, err := cons.Consume(handle, jetstream.PullMaxMessages(pullMaxMessages))
		if err != nil {
			return nil, err
		}
		ccs = append(ccs, cc)
	}
	end, err := waitIdle(ctx, cons, 5*time.Minute)
	cpuEnd := processCPU()
	for _, cc := range ccs {
		cc.Drain()
		<-cc.Closed()
	}
	if err != nil {
		return nil, fmt.Errorf("ceiling: %w", err)
	}
	if f := failures.Load(); f > 0 {
		return nil, fmt.Errorf("ceiling: %d KV operations failed", f)
	}
	secs := end.Sub(start).Seconds()
	a, b := allocs.per(len(msgs))
	cpu := ms(cpuEnd-cpu0) / float64(len(msgs))
	return &ceilingResult{Messages: len(msgs), Seconds: secs, PerSecond: float64(len(msgs)) / secs, CPUPerMsgMS: cpu,
		CASConflicts: conflicts.Load(), AllocsPerMsg: a, BytesPerMsg: b, PublishSecond: pubSecs}, nil
}

// pullMaxMessages is the worker's prefetch per Consume (worker.Run).
const pullMaxMessages = 2
