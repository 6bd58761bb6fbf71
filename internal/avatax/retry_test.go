package avatax_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/taxbridge/taxbridge/internal/avatax"
)

// TestRetryTransient: a transient answer is retried until the call
// succeeds; Retry-After (seconds or HTTP date) is honoured.
func TestRetryTransient(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		status   int
		code     string
		header   []string
		minWait  time.Duration
		failures int
	}{
		{"429 Retry-After seconds", 429, "RequestLimitExceeded", []string{"Retry-After", "1"}, time.Second, 1},
		{"429 Retry-After HTTP date", 429, "ConcurrentRequestLimitExceeded",
			[]string{"Retry-After", "date+2s"}, 500 * time.Millisecond, 1},
		{"429 without Retry-After", 429, "RateLimitExceeded", nil, 0, 3},
		{"503 Retry-After", 503, "ServerUnreachable", []string{"Retry-After", "1"}, time.Second, 1},
		{"500", 500, "InternalServerError", nil, 0, 2},
		{"502 from a gateway", 502, "", nil, 0, 1},
		{"504", 504, "ServiceTimeout", nil, 0, 1},
		{"408", 408, "TimeoutRequested", nil, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
				if n <= tt.failures {
					if tt.code == "" {
						w.WriteHeader(tt.status)
						w.Write([]byte("<html>Bad Gateway</html>"))
						return
					}
					h := tt.header
					if len(h) == 2 && h[1] == "date+2s" {
						// Whole seconds: 1 to 2 seconds from now.
						h = []string{h[0], time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat)}
					}
					fail(w, tt.status, tt.code, h...)
					return
				}
				ok(w, doc("SO-1", avatax.SalesInvoice, avatax.StatusSaved))
			})
			var info avatax.CallInfo
			start := time.Now()
			got, err := f.client().Get(avatax.WithCallInfo(context.Background(), &info), "DEFAULT", "SO-1", avatax.SalesInvoice)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if got.Code != "SO-1" || info.Attempts != tt.failures+1 || f.count("GET /api/v2/companies/DEFAULT/transactions/SO-1") != tt.failures+1 {
				t.Fatalf("code %q, attempts %d, server saw %d; want %d", got.Code, info.Attempts,
					f.count("GET /api/v2/companies/DEFAULT/transactions/SO-1"), tt.failures+1)
			}
			if e := time.Since(start); e < tt.minWait {
				t.Fatalf("took %s, want at least %s (Retry-After)", e, tt.minWait)
			}
		})
	}
}

// TestGiveUpAfterMaxAttempts: a persistent 503 ends after MaxAttempts with
// a transient error that says how many attempts were made.
func TestGiveUpAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) { fail(w, 503, "ServerUnreachable") })
	_, err := f.client().CreateOrAdjust(context.Background(), saleModel("SO-2"))
	var ae *avatax.Error
	if !errors.As(err, &ae) || ae.Kind() != avatax.KindTransient || ae.Attempts != 4 || avatax.AttemptsOf(err) != 4 {
		t.Fatalf("err %v (%#v), want a transient error after 4 attempts", err, ae)
	}
	if n := f.count("POST /api/v2/transactions/createoradjust"); n != 4 {
		t.Fatalf("server saw %d requests, want 4", n)
	}
	if ae.StatusCode != 503 || ae.Code != "ServerUnreachable" || ae.Uncertain {
		t.Fatalf("last failure not kept: %+v", ae)
	}
}

// TestNoRetryOnPermanentErrors: data, auth, not-found and conflict errors
// come back after one request, classified.
func TestNoRetryOnPermanentErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status int
		code   string
		want   avatax.Kind
	}{
		{400, "InvalidAddress", avatax.KindData},
		{400, "ModelStateInvalid", avatax.KindData},
		{401, "AuthenticationException", avatax.KindAuth},
		{403, "PermissionRequired", avatax.KindAuth},
		{404, "EntityNotFoundError", avatax.KindNotFound},
		{400, "CannotModifyLockedTransaction", avatax.KindConflict},
		{400, "TransactionAlreadyCancelled", avatax.KindConflict},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) { fail(w, tt.status, tt.code) })
			_, err := f.client().CreateOrAdjust(context.Background(), saleModel("SO-3"))
			if avatax.KindOf(err) != tt.want || avatax.AttemptsOf(err) != 1 {
				t.Fatalf("err %v: kind %s attempts %d, want %s after 1", err, avatax.KindOf(err), avatax.AttemptsOf(err), tt.want)
			}
			if n := f.count("POST /api/v2/transactions/createoradjust"); n != 1 {
				t.Fatalf("server saw %d requests, want 1", n)
			}
		})
	}
}

// TestRetryAfterBeyondBudget: a Retry-After longer than the call's budget
// ends the call at once, keeping Retry-After for the caller.
func TestRetryAfterBeyondBudget(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		fail(w, 429, "RequestLimitExceeded", "Retry-After", "120")
	})
	start := time.Now()
	_, err := f.client().Ping(context.Background())
	var ae *avatax.Error
	if !errors.As(err, &ae) || ae.RetryAfter != "120" || ae.Attempts != 1 || time.Since(start) > time.Second {
		t.Fatalf("err %v after %s, want the 429 at once", err, time.Since(start))
	}
	if d, ok := ae.RetryAfterDelay(); !ok || d != 120*time.Second {
		t.Fatalf("RetryAfterDelay = %s %v", d, ok)
	}
}

// TestContextCancellationStopsRetries: cancelling the caller's context
// ends the retries at once with an error that wraps context.Canceled.
func TestContextCancellationStopsRetries(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) { fail(w, 500, "InternalServerError") })
	c := f.client(avatax.WithRetry(avatax.RetryPolicy{MaxAttempts: 50, InitialBackoff: 200 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}))
	const route = "GET /api/v2/companies/DEFAULT/transactions/SO-4"
	ctx, cancel := context.WithCancel(context.Background())
	atCancel := make(chan int, 1)
	time.AfterFunc(150*time.Millisecond, func() { atCancel <- f.count(route); cancel() })
	start := time.Now()
	_, err := c.Get(ctx, "DEFAULT", "SO-4", "")
	if !errors.Is(err, context.Canceled) || avatax.KindOf(err) != avatax.KindTransient {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if e := time.Since(start); e > time.Second {
		t.Fatalf("took %s after cancel", e)
	}
	// How many requests fit before the cancel depends on the jitter; none
	// may start after it (one may have been on its way at that instant).
	before := <-atCancel
	time.Sleep(300 * time.Millisecond) // longer than any backoff: a retry would show
	if n := f.count(route); n > before+1 {
		t.Fatalf("server saw %d requests, %d of them after the cancel", n, n-before)
	}
}

// TestDeadlines: the per-attempt timeout makes a hanging exchange a
// transient failure that is retried; the caller's deadline bounds the
// whole call.
func TestDeadlines(t *testing.T) {
	t.Parallel()
	t.Run("attempt timeout then success", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
			if n == 1 {
				hang(r)
				return
			}
			ok(w, doc("SO-5", avatax.SalesInvoice, avatax.StatusSaved))
		})
		var info avatax.CallInfo
		_, err := f.client(avatax.WithTimeout(100*time.Millisecond)).Get(avatax.WithCallInfo(context.Background(), &info), "DEFAULT", "SO-5", "")
		if err != nil || info.Attempts != 2 {
			t.Fatalf("err %v attempts %d", err, info.Attempts)
		}
	})
	t.Run("caller deadline", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) { hang(r) })
		ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := f.client(avatax.WithTimeout(5*time.Second)).Get(ctx, "DEFAULT", "SO-6", "")
		if !errors.Is(err, context.DeadlineExceeded) || avatax.KindOf(err) != avatax.KindTransient {
			t.Fatalf("err %v", err)
		}
		if e := time.Since(start); e > time.Second {
			t.Fatalf("took %s", e)
		}
	})
	t.Run("MaxElapsed bounds the call", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) { hang(r) })
		start := time.Now()
		_, err := f.client(avatax.WithTimeout(5*time.Second),
			avatax.WithRetry(avatax.RetryPolicy{MaxElapsed: 200 * time.Millisecond})).Get(context.Background(), "DEFAULT", "SO-6", "")
		if avatax.KindOf(err) != avatax.KindTransient || time.Since(start) > 2*time.Second {
			t.Fatalf("err %v after %s", err, time.Since(start))
		}
	})
}

// refusingDialer refuses the first n connections, as a server that is not
// listening does.
func refusingDialer(n int32) *http.Client {
	var dials atomic.Int32
	d := &net.Dialer{}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if dials.Add(1) <= n {
			return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("connect: connection refused")}
		}
		return d.DialContext(ctx, network, addr)
	}}
	return &http.Client{Transport: tr}
}

// TestCreateRepeats: Create is sent again only when AvaTax cannot have
// acted on it.
func TestCreateRepeats(t *testing.T) {
	t.Parallel()
	m := avatax.CreateTransactionModel{Code: "INV-1", Type: avatax.SalesInvoice, CompanyCode: "DEFAULT", Commit: true}
	const route = "POST /api/v2/transactions/create"
	t.Run("connection refused: resent", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
			w.WriteHeader(201)
			writeJSON(w, doc("INV-1", avatax.SalesInvoice, avatax.StatusCommitted))
		})
		var info avatax.CallInfo
		got, err := f.client(avatax.WithHTTPClient(refusingDialer(2))).Create(avatax.WithCallInfo(context.Background(), &info), m)
		if err != nil || got.Status != avatax.StatusCommitted || info.Attempts != 3 || f.count(route) != 1 {
			t.Fatalf("err %v, attempts %d, server saw %d", err, info.Attempts, f.count(route))
		}
	})
	t.Run("429: resent", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
			if n == 1 {
				fail(w, 429, "RequestLimitExceeded")
				return
			}
			w.WriteHeader(201)
			writeJSON(w, doc("INV-1", avatax.SalesInvoice, avatax.StatusCommitted))
		})
		if _, err := f.client().Create(context.Background(), m); err != nil || f.count(route) != 2 {
			t.Fatalf("err %v, server saw %d", err, f.count(route))
		}
	})
	for _, tt := range []struct {
		name    string
		handle  func(w http.ResponseWriter, r *http.Request)
		timeout time.Duration
	}{
		{"500: not resent", func(w http.ResponseWriter, r *http.Request) { fail(w, 500, "InternalServerError") }, time.Second},
		{"timeout: not resent", func(w http.ResponseWriter, r *http.Request) { hang(r) }, 100 * time.Millisecond},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) { tt.handle(w, r) })
			_, err := f.client(avatax.WithTimeout(tt.timeout)).Create(context.Background(), m)
			var ae *avatax.Error
			if !errors.As(err, &ae) || !ae.Uncertain || ae.Kind() != avatax.KindTransient || f.count(route) != 1 {
				t.Fatalf("err %v (%+v), server saw %d; want one request and an uncertain error", err, ae, f.count(route))
			}
		})
	}
}

// TestRefundLooksUpBeforeResending: after an ambiguous failure the refund
// is looked up by its code; found, it is returned; not found, it is sent
// again. Without a refund code it is not sent again.
func TestRefundLooksUpBeforeResending(t *testing.T) {
	t.Parallel()
	const refundRoute = "POST /api/v2/companies/DEFAULT/transactions/SO-9/refund"
	const lookRoute = "GET /api/v2/companies/DEFAULT/transactions/SO-9-R1"
	req := avatax.RefundTransactionModel{RefundTransactionCode: "SO-9-R1", RefundDate: "2026-05-02", RefundType: avatax.RefundFull}
	tests := []struct {
		name              string
		applyFirst        bool // the first refund takes effect before its answer is lost
		lostBy            string
		code              string
		wantRefunds       int
		wantLooks         int
		wantRecovered     bool
		wantUncertainFail bool
	}{
		{name: "applied, answer 500", applyFirst: true, lostBy: "500", code: "SO-9-R1", wantRefunds: 1, wantLooks: 1, wantRecovered: true},
		{name: "applied, timeout", applyFirst: true, lostBy: "timeout", code: "SO-9-R1", wantRefunds: 1, wantLooks: 1, wantRecovered: true},
		{name: "not applied, 502", lostBy: "502", code: "SO-9-R1", wantRefunds: 2, wantLooks: 1},
		{name: "429 is resent without a look-up", lostBy: "429", code: "SO-9-R1", wantRefunds: 2},
		{name: "no refund code: not resent", lostBy: "500", wantRefunds: 1, wantUncertainFail: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var applied atomic.Bool
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
				switch {
				case r.Method == http.MethodPost && n == 1:
					if tt.applyFirst {
						applied.Store(true)
					}
					switch tt.lostBy {
					case "timeout":
						hang(r)
					case "429":
						fail(w, 429, "RequestLimitExceeded")
					case "502":
						w.WriteHeader(502)
					default:
						fail(w, 500, "InternalServerError")
					}
				case r.Method == http.MethodPost:
					applied.Store(true)
					ok(w, doc("SO-9-R1", avatax.ReturnInvoice, avatax.StatusCommitted))
				case r.URL.Query().Get("documentType") != avatax.ReturnInvoice:
					t.Errorf("look-up without documentType=ReturnInvoice: %s", r.URL)
				case applied.Load():
					ok(w, doc("SO-9-R1", avatax.ReturnInvoice, avatax.StatusCommitted))
				default:
					fail(w, 404, "EntityNotFoundError")
				}
			})
			rq := req
			rq.RefundTransactionCode = tt.code
			var info avatax.CallInfo
			got, err := f.client(avatax.WithTimeout(200*time.Millisecond)).Refund(avatax.WithCallInfo(context.Background(), &info), "DEFAULT", "SO-9", rq)
			if tt.wantUncertainFail {
				var ae *avatax.Error
				if !errors.As(err, &ae) || !ae.Uncertain {
					t.Fatalf("err %v, want an uncertain error", err)
				}
			} else if err != nil || got.Code != "SO-9-R1" || got.Type != avatax.ReturnInvoice {
				t.Fatalf("err %v, doc %+v", err, got)
			}
			if f.count(refundRoute) != tt.wantRefunds || f.count(lookRoute) != tt.wantLooks || info.Recovered != tt.wantRecovered {
				t.Fatalf("refunds sent %d, look-ups %d, recovered %v; want %d, %d, %v",
					f.count(refundRoute), f.count(lookRoute), info.Recovered, tt.wantRefunds, tt.wantLooks, tt.wantRecovered)
			}
		})
	}
}

// TestCommitVoidCheckBeforeResending: after an ambiguous failure Commit
// and Void look the document up and return it when the first attempt took
// effect, instead of repeating it and getting a conflict.
func TestCommitVoidCheckBeforeResending(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		op         string // commit, void, delete
		applyFirst bool
		getStatus  string // status the look-up sees when applied; "" = 404
		wantSends  int
		wantStatus string
	}{
		{"commit applied", "commit", true, avatax.StatusCommitted, 1, avatax.StatusCommitted},
		{"commit not applied", "commit", false, "", 2, avatax.StatusCommitted},
		{"void applied", "void", true, avatax.StatusCancelled, 1, avatax.StatusCancelled},
		{"void not applied", "void", false, "", 2, avatax.StatusCancelled},
		{"DocDeleted applied: document gone", "delete", true, "", 1, avatax.StatusCancelled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var applied atomic.Bool
			final := avatax.StatusCommitted
			if tt.op != "commit" {
				final = avatax.StatusCancelled
			}
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
				switch {
				case r.Method == http.MethodPost && n == 1:
					applied.Store(tt.applyFirst)
					fail(w, 500, "InternalServerError")
				case r.Method == http.MethodPost && applied.Load():
					fail(w, 400, "TransactionAlreadyCancelled") // what a blind repeat would get
				case r.Method == http.MethodPost:
					applied.Store(true)
					ok(w, doc("SO-7", avatax.SalesInvoice, final))
				case applied.Load() && tt.getStatus != "":
					ok(w, doc("SO-7", avatax.SalesInvoice, tt.getStatus))
				case applied.Load():
					fail(w, 404, "EntityNotFoundError")
				default:
					ok(w, doc("SO-7", avatax.SalesInvoice, avatax.StatusSaved))
				}
			})
			c := f.client()
			var (
				got  *avatax.TransactionModel
				err  error
				info avatax.CallInfo
				ctx  = avatax.WithCallInfo(context.Background(), &info)
			)
			switch tt.op {
			case "commit":
				got, err = c.Commit(ctx, "DEFAULT", "SO-7", avatax.SalesInvoice)
			case "void":
				got, err = c.Void(ctx, "DEFAULT", "SO-7", avatax.SalesInvoice, avatax.VoidDocVoided)
			case "delete":
				got, err = c.Void(ctx, "DEFAULT", "SO-7", avatax.SalesInvoice, avatax.VoidDocDeleted)
			}
			if err != nil || got.Status != tt.wantStatus || got.Code != "SO-7" {
				t.Fatalf("err %v, doc %+v", err, got)
			}
			if info.Attempts != tt.wantSends || info.Checks != 1 || info.Recovered != tt.applyFirst {
				t.Fatalf("info %+v, want %d sends, 1 check, recovered %v", info, tt.wantSends, tt.applyFirst)
			}
		})
	}
}

// TestNonIdempotentGiveUpIsUncertain: when the look-up cannot settle
// whether a commit took effect, the error says so.
func TestNonIdempotentGiveUpIsUncertain(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) { fail(w, 503, "ServerUnreachable") })
	_, err := f.client().Commit(context.Background(), "DEFAULT", "SO-8", avatax.SalesInvoice)
	var ae *avatax.Error
	if !errors.As(err, &ae) || !ae.Uncertain || ae.Attempts != 1 {
		t.Fatalf("err %v (%+v)", err, ae)
	}
	if n := f.count("POST /api/v2/companies/DEFAULT/transactions/SO-8/commit"); n != 1 {
		t.Fatalf("commit sent %d times while its outcome was unknown", n)
	}
}
