package health

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestEndpoints(t *testing.T) {
	var calls atomic.Int32
	fail := atomic.Bool{}
	h := New([]Check{
		{Name: "nats", Run: func(context.Context) error { return nil }},
		{Name: "avatax", CacheOK: time.Hour, Run: func(context.Context) error {
			calls.Add(1)
			if fail.Load() {
				return errors.New("down")
			}
			return nil
		}},
	}, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("m 1\n")) }), time.Second)

	get := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec.Code, rec.Body.String()
	}
	if code, body := get("/healthz"); code != 200 || !strings.Contains(body, "ok") {
		t.Errorf("/healthz %d %s", code, body)
	}
	if code, body := get("/readyz"); code != 200 || !strings.Contains(body, `"avatax":"ok"`) {
		t.Errorf("/readyz %d %s", code, body)
	}
	if code, body := get("/metrics"); code != 200 || body != "m 1\n" {
		t.Errorf("/metrics %d %s", code, body)
	}
	fail.Store(true)
	get("/readyz")
	if calls.Load() != 1 {
		t.Errorf("cached check ran %d times", calls.Load())
	}

	h2 := New([]Check{{Name: "avatax", Run: func(context.Context) error { return errors.New("down") }}}, nil, time.Second)
	rec := httptest.NewRecorder()
	h2.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), `"avatax":"down"`) {
		t.Errorf("failing /readyz %d %s", rec.Code, rec.Body.String())
	}
	rec = httptest.NewRecorder()
	h2.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 404 {
		t.Errorf("/metrics without a handler: %d", rec.Code)
	}
}

func TestSetChecksReplacesTheConditions(t *testing.T) {
	h := New([]Check{{Name: "nats", CacheFail: time.Hour, Run: func(context.Context) error { return errors.New("connecting") }}}, nil, time.Second)
	ready := func() (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		return rec.Code, rec.Body.String()
	}
	if code, body := ready(); code != 503 || !strings.Contains(body, `"nats":"connecting"`) {
		t.Errorf("while starting: /readyz %d %s", code, body)
	}
	// The failure cached for an hour goes with the check it came from.
	h.SetChecks([]Check{
		{Name: "nats", Run: func(context.Context) error { return nil }},
		{Name: "streams", Run: func(context.Context) error { return nil }},
	})
	if code, body := ready(); code != 200 || !strings.Contains(body, `"streams":"ok"`) || !strings.Contains(body, `"nats":"ok"`) {
		t.Errorf("after SetChecks: /readyz %d %s", code, body)
	}
}
