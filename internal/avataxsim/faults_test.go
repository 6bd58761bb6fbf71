package avataxsim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"
)

func (e *env) callHeaders(method, path string, body any, headers map[string]string) reply {
	e.t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(raw))
	req.SetBasicAuth(DefaultAccountID, DefaultLicenseKey)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: b.Bytes()}
}

func TestFaultHeaders(t *testing.T) {
	tests := []struct {
		name       string
		headers    map[string]string
		wantStatus int
		wantCode   string
		wantStored bool
		retryAfter string
	}{
		{"forced 429", map[string]string{HeaderFault: "429", HeaderRetryAfter: "3"}, 429, "RequestLimitExceeded", false, "3"},
		{"forced 500", map[string]string{HeaderFault: "500"}, 500, "InternalServerError", false, ""},
		{"forced 503", map[string]string{HeaderFault: "503"}, 503, "ServerUnreachable", false, ""},
		{"500 after the effect", map[string]string{HeaderFault: "500-after"}, 500, "InternalServerError", true, ""},
		{"timeout", map[string]string{HeaderFault: "timeout"}, 400, "TimeoutRequested", false, ""},
		{"unknown value is ignored", map[string]string{HeaderFault: "bogus"}, 201, "", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, WithForceTimeoutDelay(10*time.Millisecond))
			r := e.callHeaders("POST", "/api/v2/transactions/createoradjust",
				map[string]any{"createTransactionModel": invoice("F1", "SalesInvoice", true, "98101")}, tt.headers)
			if r.status != tt.wantStatus {
				t.Fatalf("%d %s", r.status, r.body)
			}
			if tt.wantCode != "" {
				if er := r.err(t); er.Code != tt.wantCode || len(er.Details) == 0 {
					t.Errorf("error %+v", er)
				}
			}
			if got := r.header.Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tt.retryAfter)
			}
			if _, ok := e.sb.Document("DEFAULT", "F1", "SalesInvoice"); ok != tt.wantStored {
				t.Errorf("stored = %v", ok)
			}
			if r.header.Get("x-correlation-id") == "" {
				t.Error("no x-correlation-id")
			}
		})
	}
}

func TestRateLimitQuota(t *testing.T) {
	e := newEnv(t, WithFaults(Faults{RateLimit: 2, RateWindow: time.Minute}))
	var statuses []int
	var last reply
	for i := 0; i < 4; i++ {
		last = e.call("GET", "/api/v2/companies/DEFAULT/transactions/NOPE", nil)
		statuses = append(statuses, last.status)
	}
	if statuses[0] != 404 || statuses[1] != 404 || statuses[2] != 429 || statuses[3] != 429 {
		t.Fatalf("statuses %v", statuses)
	}
	ra, err := strconv.Atoi(last.header.Get("Retry-After"))
	if err != nil || ra < 1 || ra > 60 {
		t.Errorf("Retry-After %q", last.header.Get("Retry-After"))
	}
	if last.err(t).Code != "RequestLimitExceeded" {
		t.Errorf("code %s", last.err(t).Code)
	}
	// Ping is never rate limited.
	if r := e.call("GET", "/api/v2/utilities/ping", nil); r.status != 200 {
		t.Errorf("ping: %d", r.status)
	}
	// Another account has its own quota.
	if r := e.callAuth("GET", "/api/v2/companies/DEFAULT/transactions/NOPE", nil, "other", "x"); r.status != 401 {
		t.Errorf("other account: %d", r.status)
	}
	e.sb.SetFaults(Faults{})
	if r := e.call("GET", "/api/v2/companies/DEFAULT/transactions/NOPE", nil); r.status != 404 {
		t.Errorf("after SetFaults: %d", r.status)
	}
	if got := e.sb.Faults()["429"]; got != 2 {
		t.Errorf("Faults()[429] = %d", got)
	}
	// A negative RetryAfter asks clients to retry at once.
	e.sb.SetFaults(Faults{TooManyRequestsRate: 1, RetryAfter: -1})
	if r := e.call("GET", "/api/v2/companies/DEFAULT/transactions/NOPE", nil); r.status != 429 || r.header.Get("Retry-After") != "0" {
		t.Errorf("storm: %d Retry-After %q", r.status, r.header.Get("Retry-After"))
	}
}

func TestRandomFaultShares(t *testing.T) {
	e := newEnv(t, WithFaults(Faults{ErrorRate: 0.3, TooManyRequestsRate: 0.2, Seed: 42}))
	counts := map[int]int{}
	const n = 400
	for i := 0; i < n; i++ {
		counts[e.call("GET", "/api/v2/companies/DEFAULT/transactions/NOPE", nil).status]++
	}
	// 20% 429; of the rest 30% 5xx split between 500 and 503.
	if c := counts[429]; c < n*12/100 || c > n*28/100 {
		t.Errorf("429: %d of %d", c, n)
	}
	if c := counts[500] + counts[503]; c < n*15/100 || c > n*33/100 || counts[500] == 0 || counts[503] == 0 {
		t.Errorf("5xx: %d/%d of %d", counts[500], counts[503], n)
	}
	if counts[404] == 0 {
		t.Error("no request went through")
	}
	if r := e.call("GET", "/api/v2/utilities/ping", nil); r.status != 200 {
		t.Errorf("ping: %d", r.status)
	}
}

func TestAfterEffectFaults(t *testing.T) {
	e := newEnv(t, WithFaults(Faults{ErrorRate: 1, AfterEffectRate: 1, Seed: 1}))
	r := e.call("POST", "/api/v2/transactions/createoradjust", map[string]any{"createTransactionModel": invoice("AE", "SalesInvoice", true, "98101")})
	if r.status != 500 && r.status != 503 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if _, ok := e.sb.Document("DEFAULT", "AE", ""); !ok {
		t.Error("the request did not take effect")
	}
	f := e.sb.Faults()
	if f["500-after"]+f["503-after"] != 1 {
		t.Errorf("Faults() = %v", f)
	}
}

func TestLatencyAndHang(t *testing.T) {
	e := newEnv(t, WithFaults(Faults{Latency: 20 * time.Millisecond}))
	start := time.Now()
	r := e.callHeaders("GET", "/api/v2/utilities/ping", nil, map[string]string{HeaderLatency: "30ms"})
	if el := time.Since(start); r.status != 200 || el < 50*time.Millisecond {
		t.Errorf("latency: %d after %v", r.status, el)
	}

	e2 := newEnv(t, WithFaults(Faults{HangRate: 1}))
	client := &http.Client{Timeout: 100 * time.Millisecond}
	req, _ := http.NewRequest("GET", e2.srv.URL+"/api/v2/companies/DEFAULT/transactions/X", nil)
	req.SetBasicAuth(DefaultAccountID, DefaultLicenseKey)
	start = time.Now()
	_, err := client.Do(req)
	if err == nil {
		t.Fatal("hanging request answered")
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("client waited %v", el)
	}
	if e2.sb.Faults()["hang"] != 1 {
		t.Errorf("Faults() = %v", e2.sb.Faults())
	}

	// A hang that outlives HangMax ends with 504.
	e3 := newEnv(t, WithFaults(Faults{HangMax: 20 * time.Millisecond}))
	if r := e3.callHeaders("GET", "/api/v2/companies/DEFAULT/transactions/X", nil, map[string]string{HeaderFault: "hang"}); r.status != 504 {
		t.Errorf("HangMax: %d", r.status)
	}
}
