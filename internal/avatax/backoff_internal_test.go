package avatax

import (
	"net/http"
	"testing"
	"time"
)

// TestBackoffFullJitter: waits are drawn between 0 and a cap that doubles
// per failure up to MaxBackoff; Retry-After sets a floor.
func TestBackoffFullJitter(t *testing.T) {
	t.Parallel()
	p := RetryPolicy{InitialBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}.withDefaults()
	for _, tt := range []struct {
		failures int
		ceiling  time.Duration
	}{{1, 100 * time.Millisecond}, {2, 200 * time.Millisecond}, {3, 400 * time.Millisecond}, {4, 800 * time.Millisecond}, {5, time.Second}, {30, time.Second}} {
		var lo, hi time.Duration = time.Hour, 0
		for range 2000 {
			d := p.backoff(tt.failures, "")
			lo, hi = min(lo, d), max(hi, d)
		}
		if lo < 0 || hi > tt.ceiling || hi < tt.ceiling*8/10 || lo > tt.ceiling/10 {
			t.Errorf("failures %d: waits in [%s, %s], want spread over [0, %s]", tt.failures, lo, hi, tt.ceiling)
		}
	}
	if d := p.backoff(1, "2"); d < 2*time.Second || d > 2*time.Second+p.InitialBackoff {
		t.Errorf("Retry-After 2: wait %s", d)
	}
	date := time.Now().Add(3 * time.Second).UTC().Format(http.TimeFormat)
	if d := p.backoff(1, date); d < time.Second || d > 3*time.Second+p.InitialBackoff {
		t.Errorf("Retry-After %s: wait %s", date, d)
	}
}

func TestRetryPolicyDefaults(t *testing.T) {
	t.Parallel()
	got := RetryPolicy{}.withDefaults()
	if got != DefaultRetryPolicy() {
		t.Errorf("zero policy = %+v, want %+v", got, DefaultRetryPolicy())
	}
	got = RetryPolicy{MaxAttempts: 1, InitialBackoff: 10 * time.Second}.withDefaults()
	if got.MaxAttempts != 1 || got.MaxBackoff != 10*time.Second {
		t.Errorf("policy %+v", got)
	}
}
