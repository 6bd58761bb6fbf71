package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The floor replays, for every event, the bus and AvaTax work taxbridge
// did for it (record writes, AvaTax requests, publishes), captured once per
// flow, without any of taxbridge's logic: no decoding, no validation, no
// state machine, no mapping, no telemetry. It is what taxbridge's guarantees
// cost on this machine (an intent written before each AvaTax call and the
// outcome after it, the result and the audit record published), so it
// bounds what taxbridge can reach here; the ceiling does less work per
// event than taxbridge must.
const (
	floorStream    = "BENCH_FLOOR"
	floorPrefix    = "bench.floor."
	floorOutStream = "BENCH_FLOOR_OUT"
	floorOutPrefix = "bench.floorout."
	floorBucket    = "bench_floor"
	// captureUnique stands for the order in the captured steps; each
	// replayed lifecycle puts its own in its place.
	captureUnique = "FLOORCAPTURE"
	captureMarker = "bench.capture.marker"
)

// stepKind is what one captured step does.
type stepKind int

const (
	stepKV      stepKind = iota // a compare-and-swap write of the record
	stepAvaTax                  // an HTTP request to AvaTax
	stepPublish                 // a publish to a stream (result, tax error, audit record)
)

// step is one thing taxbridge sent while it processed an event.
type step struct {
	kind    stepKind
	method  string // stepAvaTax
	path    string // stepAvaTax: path and query
	header  http.Header
	subject string // stepPublish: the subject taxbridge published on
	msgID   string // stepPublish
	data    []byte
}

// stamp returns the step with the captured order's unique part replaced.
func (s step) stamp(unique string) step {
	old, now := captureUnique, unique
	s.path = strings.ReplaceAll(s.path, old, now)
	s.subject = strings.ReplaceAll(s.subject, old, now)
	s.msgID = strings.ReplaceAll(s.msgID, old, now)
	s.data = bytes.ReplaceAll(s.data, []byte(old), []byte(now))
	return s
}

// recorder is an http.RoundTripper that keeps every request it passes on.
type recorder struct {
	next http.RoundTripper
	mu   *sync.Mutex
	out  *[]step
}

func (r recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.GetBody != nil {
		rc, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		body, err = io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, err
		}
	}
	// Address resolutions happen once per address and the probe once per
	// worker start, not per event.
	if !strings.Contains(req.URL.Path, "/addresses/resolve") && !strings.HasSuffix(req.URL.Path, "/utilities/ping") {
		h := req.Header.Clone()
		h.Del("Traceparent")
		h.Del("Tracestate")
		r.mu.Lock()
		*r.out = append(*r.out, step{kind: stepAvaTax, method: req.Method, path: req.URL.RequestURI(), header: h, data: body})
		r.mu.Unlock()
	}
	return r.next.RoundTrip(req)
}

// captureSteps runs one lifecycle of each template through taxbridge, one
// event at a time, and returns what it sent for each event: by template,
// then by event id. It runs once per bench run: its order ids are fixed.
func (b *bench) captureSteps(ctx context.Context, templates []*template) (map[*template]map[string][]step, error) {
	var mu sync.Mutex
	var seen []step
	cc := b.clientConfig(1)
	cc.wrap = func(next http.RoundTripper) http.RoundTripper { return recorder{next: next, mu: &mu, out: &seen} }
	be, err := newBackend(0, b.cfg.SandboxInProcess, cc)
	if err != nil {
		return nil, err
	}
	defer be.close()
	// One subscription to everything, so that a marker sent after the
	// worker went idle arrives after all the worker sent before.
	kvPrefix := "$KV." + b.e.res.Orders.Bucket() + "."
	marker := make(chan struct{})
	sub, err := b.e.gen.Subscribe(">", func(m *nats.Msg) {
		var st step
		switch {
		case m.Subject == captureMarker:
			marker <- struct{}{}
			return
		case !strings.Contains(m.Subject, captureUnique):
			return
		case strings.HasPrefix(m.Subject, kvPrefix):
			st = step{kind: stepKV, data: m.Data}
		case strings.HasPrefix(m.Subject, "tax."):
			if bytes.Contains(m.Data, []byte("/addresses/resolve")) {
				return // the audit of an address resolution: once per address
			}
			st = step{kind: stepPublish, subject: m.Subject, msgID: m.Header.Get(jetstream.MsgIDHeader), data: m.Data}
		default:
			return
		}
		mu.Lock()
		seen = append(seen, st)
		mu.Unlock()
	})
	if err != nil {
		return nil, err
	}
	defer sub.Unsubscribe()
	w, err := b.e.startWorker(be, 1)
	if err != nil {
		return nil, err
	}
	defer w.stop()
	out := map[*template]map[string][]step{}
	for _, t := range templates {
		if _, ok := out[t]; ok {
			continue
		}
		lc := t.instance(captureUnique)
		perEvent := make(map[string][]step, len(lc.msgs))
		for _, m := range lc.msgs {
			ack, err := b.e.gjs.PublishMsg(ctx, natsMsg(m.subject, m.data), jetstream.WithMsgID(m.id))
			if err != nil {
				return nil, fmt.Errorf("floor capture: publish %s: %w", m.id, err)
			}
			if err := waitAcked(ctx, b.e.res.Consumer, ack.Sequence, time.Minute); err != nil {
				return nil, fmt.Errorf("floor capture %s: %w", m.id, err)
			}
			if err := b.e.gen.Publish(captureMarker, nil); err != nil {
				return nil, err
			}
			select {
			case <-marker:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			mu.Lock()
			perEvent[m.id], seen = inOrder(seen), nil
			mu.Unlock()
		}
		out[t] = perEvent
	}
	return out, nil
}

// inOrder puts an event's steps in the order taxbridge takes them (the
// requests are seen as they are sent, the rest when the server passes it
// on): the intent write, the AvaTax requests, the publishes, the outcome
// write. Steps of an event without a request keep their order.
func inOrder(steps []step) []step {
	if !slices.ContainsFunc(steps, func(s step) bool { return s.kind == stepAvaTax }) {
		return steps
	}
	var kv, calls, pubs []step
	for _, s := range steps {
		switch s.kind {
		case stepKV:
			kv = append(kv, s)
		case stepAvaTax:
			calls = append(calls, s)
		default:
			pubs = append(pubs, s)
		}
	}
	out := append(kv[:min(1, len(kv)):min(1, len(kv))], calls...)
	out = append(out, pubs...)
	return append(out, kv[min(1, len(kv)):]...)
}

// waitAcked waits until the consumer has acknowledged every message up to
// the stream sequence seq.
func waitAcked(ctx context.Context, cons jetstream.Consumer, seq uint64, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		info, err := cons.Info(ctx)
		if err == nil && info.AckFloor.Stream >= seq && info.NumAckPending == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("stream sequence %d not acknowledged within %s (last error: %v)", seq, timeout, err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// floorResult is the bus and AvaTax work of taxbridge's guarantees without taxbridge's logic.
type floorResult struct {
	Messages             int     `json:"messages"`
	Seconds              float64 `json:"seconds"`
	PerSecond            float64 `json:"messages_per_second"`
	KVWrites             int     `json:"kv_writes"`
	AvaTaxCalls          int     `json:"avatax_calls"`
	Publishes            int     `json:"publishes"`
	CASConflicts         int64   `json:"cas_conflicts"`
	CPUPerMsgMS          float64 `json:"process_cpu_ms_per_message"`
	SandboxCPUPerEventMS float64 `json:"sandbox_cpu_ms_per_message,omitempty"`
	// CPUsBusy counts this process and the sandbox's.
	CPUsBusy float64 `json:"cpus_busy"`
}

// runFloor replays the captured steps of every event of lcs, in the order
// of msgs, with the worker's consumer shape: for each message a KV get,
// then its steps in the order taxbridge took them, then the ack. AvaTax
// requests go to a fresh sandbox through the pooled transport, at most
// the AvaTax client's cap at once; publishes go to a stream configured
// like taxbridge's; every write is a compare-and-swap on a bucket like
// taxbridge's.
func (b *bench) runFloor(ctx context.Context, c int, lcs []lifecycleT, msgs []msg) (*floorResult, error) {
	if b.captured == nil {
		var err error
		if b.captured, err = b.captureSteps(ctx, b.ts.mix); err != nil {
			return nil, err
		}
	}
	captured := b.captured
	res := &floorResult{Messages: len(msgs)}
	steps := make(map[string][]step, len(msgs)) // by event id
	for _, lc := range lcs {
		for _, m := range lc.msgs {
			for _, s := range captured[lc.tpl][strings.Replace(m.id, lc.unique, captureUnique, 1)] {
				steps[m.id] = append(steps[m.id], s.stamp(lc.unique))
				switch s.kind {
				case stepKV:
					res.KVWrites++
				case stepAvaTax:
					res.AvaTaxCalls++
				case stepPublish:
					res.Publishes++
				}
			}
		}
	}

	e := b.e
	if err := e.emptyStream(ctx, floorOutStream, floorOutPrefix); err != nil {
		return nil, err
	}
	kv, cons, done, err := e.replayShape(ctx, floorStream, floorPrefix, floorBucket, fmt.Sprintf("floor-c%d", c))
	if err != nil {
		return nil, err
	}
	defer done()
	defer func() { // its messages are of no use to the phases after it
		bg := context.Background()
		_ = e.js.DeleteKeyValue(bg, floorBucket)
		_ = e.js.DeleteStream(bg, floorOutStream)
		_ = e.js.DeleteStream(bg, floorStream)
	}()
	if _, err := publishAll(ctx, e.gjs, msgs, floorPrefix); err != nil {
		return nil, err
	}

	be, err := b.newBackend(0, c)
	if err != nil {
		return nil, err
	}
	defer be.close()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = max(c, 16)
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	defer tr.CloseIdleConnections()
	inFlight := b.cfg.AvaTaxMaxConcurrency
	if inFlight <= 0 {
		inFlight = c
	}
	calls := make(chan struct{}, inFlight)

	var failures atomic.Int64
	var firstErr atomic.Value
	fail := func(m jetstream.Msg, err error) {
		if failures.Add(1) == 1 {
			firstErr.Store(err)
		}
		_ = m.Nak()
	}
	do := func(s *step) error {
		calls <- struct{}{}
		defer func() { <-calls }()
		req, err := http.NewRequestWithContext(ctx, s.method, be.url+s.path, bytes.NewReader(s.data))
		if err != nil {
			return err
		}
		req.Header = s.header
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("AvaTax %s %s: status %d", s.method, s.path, resp.StatusCode)
		}
		return err
	}
	var conflicts atomic.Int64
	handle := func(m jetstream.Msg) {
		subj := m.Subject()
		key := subj[strings.LastIndexByte(subj, '.')+1:]
		rev, err := readRevision(ctx, kv, key)
		if err != nil {
			fail(m, err)
			return
		}
		for i, s := range steps[m.Headers().Get(jetstream.MsgIDHeader)] {
			switch s.kind {
			case stepKV:
				rev, err = casWrite(ctx, kv, key, s.data, rev, &conflicts)
			case stepAvaTax:
				err = do(&s)
			case stepPublish:
				out := nats.NewMsg(floorOutPrefix + s.subject)
				out.Data = s.data
				_, err = e.js.PublishMsg(ctx, out, jetstream.WithMsgID(s.msgID))
			}
			if err != nil {
				fail(m, fmt.Errorf("event %s step %d: %w", m.Headers().Get(jetstream.MsgIDHeader), i, err))
				return
			}
		}
		_ = m.Ack()
	}

	sb0 := be.cpu()
	secs, cpu, err := consumeAll(ctx, cons, c, handle)
	if err != nil {
		return nil, fmt.Errorf("floor: %w", err)
	}
	if f := failures.Load(); f > 0 {
		return nil, fmt.Errorf("floor: %d events failed, the first: %v", f, firstErr.Load())
	}
	res.CASConflicts = conflicts.Load()
	res.Seconds, res.PerSecond = secs, float64(len(msgs))/secs
	res.CPUPerMsgMS = ms(cpu) / float64(len(msgs))
	res.SandboxCPUPerEventMS = ms(be.cpu()-sb0) / float64(len(msgs))
	res.CPUsBusy = busy(res.CPUPerMsgMS+res.SandboxCPUPerEventMS, res.PerSecond)
	return res, nil
}
