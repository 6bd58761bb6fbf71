package avatax_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/taxbridge/taxbridge/internal/avatax"
)

// TestMaxConcurrency: however many goroutines call, no more than the cap
// are in flight at once.
func TestMaxConcurrency(t *testing.T) {
	t.Parallel()
	var inFlight, peak atomic.Int32
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		cur := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			p := peak.Load()
			if cur <= p || peak.CompareAndSwap(p, cur) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
		ok(w, avatax.PingResultModel{Authenticated: true})
	})
	c := f.client(avatax.WithMaxConcurrency(3))
	pingAtOnce(t, c, 24)
	if p := peak.Load(); p != 3 {
		t.Fatalf("peak in flight %d, want 3 (the cap, reached)", p)
	}
}

// TestConcurrencyCapHonoursContext: a call waiting for a slot gives up
// when its context ends.
func TestConcurrencyCapHonoursContext(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		ok(w, avatax.PingResultModel{})
	})
	defer close(release)
	c := f.client(avatax.WithMaxConcurrency(1))
	go c.Ping(context.Background())
	for f.count("GET /api/v2/utilities/ping") == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Ping(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Second {
		t.Fatalf("err %v after %s", err, time.Since(start))
	}
	if n := f.count("GET /api/v2/utilities/ping"); n != 1 {
		t.Fatalf("server saw %d pings, want 1", n)
	}
}

// TestRateLimit: requests are spaced by the limit, after the burst.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var times []time.Time
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		mu.Lock()
		times = append(times, time.Now())
		mu.Unlock()
		ok(w, avatax.PingResultModel{})
	})
	c := f.client(avatax.WithRateLimit(20, 2))
	start := time.Now()
	pingAtOnce(t, c, 10)
	// 2 at once, then 8 more at 50ms intervals: at least 400ms.
	if e := time.Since(start); e < 380*time.Millisecond {
		t.Fatalf("10 calls at 20/s with burst 2 took %s", e)
	}
	mu.Lock()
	defer mu.Unlock()
	// No window of 100ms holds more than burst + 100ms*rate = 4 requests.
	for i := range times {
		n := 0
		for _, u := range times {
			if !u.Before(times[i]) && u.Sub(times[i]) < 100*time.Millisecond {
				n++
			}
		}
		if n > 4 {
			t.Fatalf("%d requests within 100ms of %s", n, times[i].Sub(start))
		}
	}
}

// TestRateLimitHonoursContext: a call that would wait past its deadline
// for its turn fails at once, without sending anything.
func TestRateLimitHonoursContext(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) { ok(w, avatax.PingResultModel{}) })
	c := f.client(avatax.WithRateLimit(0.2, 1)) // one request per 5s
	if _, err := c.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Ping(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Second {
		t.Fatalf("err %v after %s", err, time.Since(start))
	}
	if n := f.count("GET /api/v2/utilities/ping"); n != 1 {
		t.Fatalf("server saw %d pings", n)
	}
}

// pingAtOnce makes n pings at once and waits for them all.
func pingAtOnce(t *testing.T, c *avatax.Client, n int) {
	t.Helper()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if _, err := c.Ping(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}
