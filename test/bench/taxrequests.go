package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/taxbridge/taxbridge/internal/avatax"
	"github.com/taxbridge/taxbridge/internal/avataxsim"
	"github.com/taxbridge/taxbridge/internal/demo"
	"github.com/taxbridge/taxbridge/internal/taxservice"
)

// echoSubject is the trivial responder's: the bus's own request-reply
// rate, the most the tax service could reach on this server.
const echoSubject = "bench.echo"

// taxReqResult is the taxrequests phase: Order Administration QUOTEs
// answered by the tax service over NATS request-reply with the sandbox at
// 0 ms, beside an echo micro service on the same server and connection,
// driven the same way.
type taxReqResult struct {
	Concurrency int         `json:"concurrency"`
	RequestSize int         `json:"request_bytes"`
	Quote       reqRateStat `json:"quote"`
	Echo        reqRateStat `json:"echo"`
	// RatioToEcho is the QUOTE rate over the echo rate.
	RatioToEcho float64 `json:"quote_ratio_to_echo"`
	AvaTaxCalls int     `json:"avatax_calls"`
}

// reqRateStat is one closed loop of requests.
type reqRateStat struct {
	Requests          int     `json:"requests"`
	Errors            int     `json:"errors"`
	Seconds           float64 `json:"seconds"`
	RequestsPerSecond float64 `json:"requests_per_second"`
	P50               float64 `json:"p50_ms"`
	P95               float64 `json:"p95_ms"`
	P99               float64 `json:"p99_ms"`
	Max               float64 `json:"max_ms"`
	CPUPerRequestMS   float64 `json:"cpu_ms_per_request"`
}

// taxRequests serves the tax service as the app does (a micro service on
// taxbridge's connection, the AvaTax client asking for details, the audit
// trail as -audit says) and an echo micro service beside it; then it
// sends n QUOTEs, and 10n echoes of the same body, from c clients in a
// closed loop on the load generator's connection.
func (b *bench) taxRequests(ctx context.Context, c, n int) error {
	cc := b.clientConfig(c)
	cc.opts = []avatax.Option{avatax.WithDetails()}
	be, err := newBackend(0, b.cfg.SandboxInProcess, cc)
	if err != nil {
		return err
	}
	defer be.close()
	var opts []taxservice.Option
	if b.cfg.Audit {
		opts = append(opts, taxservice.WithAudit(b.e.js))
	}
	svc, err := taxservice.New(taxservice.Config{Default: &taxservice.CompanyConfig{AvaTaxCompany: avataxsim.DefaultCompany}},
		be.client, opts...)
	if err != nil {
		return fmt.Errorf("tax service: %w", err)
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ms1, err := svc.Serve(sctx, b.e.nc, taxservice.WithConcurrency(c))
	if err != nil {
		return fmt.Errorf("serve the tax service: %w", err)
	}
	defer ms1.Stop()
	echo, err := micro.AddService(b.e.nc, micro.Config{Name: "bench-echo", Version: "1.0.0"})
	if err != nil {
		return fmt.Errorf("echo service: %w", err)
	}
	defer echo.Stop()
	// The echo answers in the subscription's goroutine: it has nothing to
	// wait for, so that is the fastest a micro handler can be.
	if err := echo.AddEndpoint("echo", micro.HandlerFunc(func(r micro.Request) { _ = r.Respond(r.Data()) }),
		micro.WithEndpointSubject(echoSubject)); err != nil {
		return fmt.Errorf("echo endpoint: %w", err)
	}
	body, err := json.Marshal(demo.OASteps(time.Now().UTC().Format(time.DateOnly))[0].Request)
	if err != nil {
		return fmt.Errorf("encode the QUOTE: %w", err)
	}
	res := &taxReqResult{Concurrency: c, RequestSize: len(body)}
	quoteOK := func(m *nats.Msg) bool {
		if m.Header.Get(micro.ErrorCodeHeader) != "" {
			return false
		}
		var r taxservice.Response
		return json.Unmarshal(m.Data, &r) == nil && r.DocumentType == "SalesOrder" && r.TotalTax.Decimal().IsPositive()
	}
	// Warm up both: connections to the sandbox, address resolution,
	// schema compilation.
	if _, err := requestLoop(ctx, b.e.gen, taxservice.Subject, body, c, 2*c, quoteOK); err != nil {
		return err
	}
	if _, err := requestLoop(ctx, b.e.gen, echoSubject, body, c, 2*c, nil); err != nil {
		return err
	}
	_, ops0, err := be.calls()
	if err != nil {
		return err
	}
	// Ten times as many echoes: at a hundred times the rate, n of them
	// would be over too soon to be timed.
	if res.Echo, err = requestLoop(ctx, b.e.gen, echoSubject, body, c, 10*n, nil); err != nil {
		return err
	}
	if res.Quote, err = requestLoop(ctx, b.e.gen, taxservice.Subject, body, c, n, quoteOK); err != nil {
		return err
	}
	_, ops1, err := be.calls()
	if err != nil {
		return err
	}
	res.AvaTaxCalls, _ = documentCalls(ops0, ops1)
	if res.Echo.RequestsPerSecond > 0 {
		res.RatioToEcho = res.Quote.RequestsPerSecond / res.Echo.RequestsPerSecond
	}
	if res.Quote.Errors > 0 || res.Echo.Errors > 0 {
		b.problem("taxrequests: %d QUOTEs and %d echoes not answered as expected", res.Quote.Errors, res.Echo.Errors)
	}
	if res.AvaTaxCalls != n {
		b.problem("taxrequests: %d AvaTax document calls for %d QUOTEs", res.AvaTaxCalls, n)
	}
	b.rep.TaxRequests = res
	b.progress("taxrequests  c=%-3d %6d QUOTEs   in %6.2fs: %8.0f req/s p50 %.2f ms p99 %.2f ms; echo %.0f req/s p50 %.2f ms p99 %.2f ms",
		c, n, res.Quote.Seconds, res.Quote.RequestsPerSecond, res.Quote.P50, res.Quote.P99,
		res.Echo.RequestsPerSecond, res.Echo.P50, res.Echo.P99)
	return nil
}

// requestLoop sends n requests from c clients, each waiting for its answer
// before the next (Order Administration waits for its tax), and times
// them. ok, when set, says whether an answer is right.
func requestLoop(ctx context.Context, nc *nats.Conn, subject string, body []byte, c, n int, ok func(*nats.Msg) bool) (reqRateStat, error) {
	var (
		next   atomic.Int64
		errs   atomic.Int64
		mu     sync.Mutex
		lat    = make([]time.Duration, 0, n)
		wg     sync.WaitGroup
		fatal  error
		fatalM sync.Once
	)
	cpu0 := processCPU()
	start := time.Now()
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]time.Duration, 0, n/c+1)
			for next.Add(1) <= int64(n) {
				t := time.Now()
				rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				m, err := nc.RequestWithContext(rctx, subject, body)
				cancel()
				if err != nil {
					if ctx.Err() != nil {
						fatalM.Do(func() { fatal = fmt.Errorf("request on %s: %w", subject, err) })
						return
					}
					errs.Add(1)
					continue
				}
				mine = append(mine, time.Since(t))
				if ok != nil && !ok(m) {
					errs.Add(1)
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if fatal != nil {
		return reqRateStat{}, fatal
	}
	s := reqRateStat{Requests: n, Errors: int(errs.Load()), Seconds: elapsed.Seconds()}
	s.RequestsPerSecond = float64(len(lat)) / s.Seconds
	s.CPUPerRequestMS = ms(processCPU()-cpu0) / float64(n)
	s.P50, s.P95, s.P99, s.Max, _ = percentiles(lat)
	return s, nil
}
