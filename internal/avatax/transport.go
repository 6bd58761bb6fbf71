package avatax

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/taxbridge/taxbridge/internal/bufpool"
	"github.com/taxbridge/taxbridge/internal/fastjson"
)

// maxAnswer bounds the size of an answer the client reads.
const maxAnswer = 32 << 20

// callKey carries the *call a request is made for, for the span name and
// DocumentCode.
type callKey struct{}

// DocumentCode returns the code of the document the answer to a request
// made by a Client carries, for transports below the client (the audit
// trail) that would otherwise decode the bodies to find it. ok is false
// when the client does not know it beforehand (AvaTax picks the code of a
// document created without one) or did not make the request; code is ""
// for requests about no document (ping, address resolution).
func DocumentCode(ctx context.Context) (code string, ok bool) {
	k, _ := ctx.Value(callKey{}).(*call)
	if k == nil {
		return "", false
	}
	return k.answerCode()
}

// answerCode is the code of the document AvaTax answers k with, when the
// client knows it: the request's own code, or for a refund the code of the
// ReturnInvoice it creates.
func (k *call) answerCode() (string, bool) {
	switch {
	case k.doc.refundCode != "":
		return k.doc.refundCode, true
	case k.op == "refund":
		return "", false
	case k.doc == docAttrs{}:
		return "", true
	}
	return k.doc.code, k.doc.code != ""
}

// newTransport wraps base (default: a clone of http.DefaultTransport that
// keeps enough idle connections for the concurrency cap) with otelhttp.
// otelhttp records method, URL, status and sizes; it records no request
// headers, so the Authorization header never reaches a span.
func newTransport(base http.RoundTripper, maxConc int, tp trace.TracerProvider, mp metric.MeterProvider) http.RoundTripper {
	if base == nil {
		if dt, ok := http.DefaultTransport.(*http.Transport); ok {
			t := dt.Clone()
			t.MaxIdleConnsPerHost = max(maxConc, 16)
			base = t
		} else {
			base = http.DefaultTransport
		}
	}
	return otelhttp.NewTransport(base,
		otelhttp.WithTracerProvider(tp),
		otelhttp.WithMeterProvider(mp),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			if k, ok := r.Context().Value(callKey{}).(*call); ok && k.route != "" {
				return r.Method + " " + k.route
			}
			return r.Method
		}))
}

// send makes one request of k, within the concurrency cap, the rate limit
// and the per-attempt timeout, and decodes a successful answer into k.out.
func (c *Client) send(b *budget, k *call, body []byte) *failure {
	if c.sem != nil {
		if !c.takeSlot(b) {
			ctx := b.context()
			select {
			case c.sem <- struct{}{}:
			case <-ctx.Done():
				return &failure{local: true, err: &Error{Op: k.op, Err: fmt.Errorf("waiting for a free request slot: %w", ctx.Err())}}
			}
		}
		defer func() { <-c.sem }()
	}
	if c.limiter != nil {
		ctx := b.context()
		if err := c.limiter.Wait(ctx); err != nil {
			if ctx.Err() != nil {
				err = ctx.Err()
			} else {
				// The wait would outlast the deadline.
				err = fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
			}
			return &failure{local: true, err: &Error{Op: k.op, Err: fmt.Errorf("waiting for the client rate limit: %w", err)}}
		}
	}

	actx, cancel := b.attempt(c.timeout)
	defer cancel()
	w := new(wroteRequest)
	w.trace.WroteRequest = func(i httptrace.WroteRequestInfo) {
		if i.Err == nil {
			w.wrote.Store(true)
		}
	}
	actx = httptrace.WithClientTrace(actx, &w.trace)
	actx = context.WithValue(actx, callKey{}, k)
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(actx, k.method, c.baseURL+k.path, rd)
	if err != nil {
		return &failure{err: &Error{Op: k.op, Err: fmt.Errorf("build request: %w", err), kind: KindAuth}}
	}
	req.Header.Set("Authorization", c.auth.header)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Avalara-Client", c.clientHdr)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.httpClient.Do(req)
	if err != nil {
		// url.Error repeats the method and URL, which carry no secret:
		// credentials travel only in the Authorization header.
		if errors.Is(actx.Err(), context.DeadlineExceeded) && b.err() == nil {
			err = fmt.Errorf("no answer within %s: %w", c.timeout, err)
		}
		return &failure{err: &Error{Op: k.op, Err: err}, sent: w.wrote.Load()}
	}
	defer resp.Body.Close()
	buf := bufpool.Get(resp.ContentLength)
	defer bufpool.Put(buf) // the answer is decoded before send returns; nothing decoded aliases it
	_, err = buf.ReadFrom(io.LimitReader(resp.Body, maxAnswer))
	raw := buf.Bytes()
	if err != nil {
		return &failure{sent: true, err: &Error{Op: k.op, StatusCode: resp.StatusCode,
			CorrelationID: resp.Header.Get("X-Correlation-Id"), Err: fmt.Errorf("read answer: %w", err), kind: KindTransient}}
	}
	if resp.StatusCode >= 300 {
		e := decodeError(k.op, resp, raw)
		e.Message, e.Target = c.auth.scrub(e.Message), c.auth.scrub(e.Target)
		for i := range e.Details {
			d := &e.Details[i]
			d.Message, d.Description, d.RefersTo = c.auth.scrub(d.Message), c.auth.scrub(d.Description), c.auth.scrub(d.RefersTo)
		}
		return &failure{sent: true, err: e}
	}
	if k.out == nil {
		return nil
	}
	if err := fastjson.Unmarshal(raw, k.out); err != nil {
		return &failure{sent: true, err: &Error{Op: k.op, StatusCode: resp.StatusCode, Code: "UnexpectedAnswer",
			CorrelationID: resp.Header.Get("X-Correlation-Id"),
			Message:       fmt.Sprintf("cannot decode the %d answer: %v", resp.StatusCode, err),
			// The call went through; only its answer is unreadable.
			Uncertain: k.safety != repeatable}}
	}
	return nil
}

// takeSlot takes a free request slot, if there is one, for the first
// request of a call (no budget context yet), which then does not need the
// budget's context to wait on. Once the parent context has ended, it
// leaves the choice between a free slot and the end to send's select.
func (c *Client) takeSlot(b *budget) bool {
	if b.ctx != nil || b.parent.Err() != nil {
		return false
	}
	select {
	case c.sem <- struct{}{}:
		return true
	default:
		return false
	}
}

// wroteRequest learns whether a request was written.
type wroteRequest struct {
	wrote atomic.Bool
	trace httptrace.ClientTrace
}

func decodeError(op string, resp *http.Response, raw []byte) *Error {
	e := &Error{Op: op, StatusCode: resp.StatusCode, RetryAfter: resp.Header.Get("Retry-After"),
		CorrelationID: resp.Header.Get("X-Correlation-Id")}
	var env ErrorResult
	if json.Unmarshal(raw, &env) == nil && env.Error != nil {
		e.Code, e.Message, e.Target, e.Details = env.Error.Code, env.Error.Message, env.Error.Target, env.Error.Details
		return e
	}
	// Route misses and gateways answer with empty or non-JSON bodies.
	e.Message = strings.TrimSpace(string(raw))
	if len(e.Message) > 200 {
		// Cut between characters: the message ends up in logs and
		// tax_error events, where half a character is not text.
		cut := 200
		for cut > 0 && !utf8.RuneStart(e.Message[cut]) {
			cut--
		}
		e.Message = e.Message[:cut]
	}
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return e
}
