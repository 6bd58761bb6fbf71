package plexsim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/taxbridge/taxbridge/internal/plex"
	"github.com/taxbridge/taxbridge/internal/plexsim"
)

func do(t *testing.T, h http.Handler, method, path, body string, hdr map[string]string) (*http.Response, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	req.Header.Set(plex.HeaderAPIKey, plexsim.DefaultAPIKey)
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var m map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &m)
	return rec.Result(), m
}

func TestWire(t *testing.T) {
	sb := plexsim.New(plexsim.WithTenant("T-1"))
	sb.PutSalesOrder(plex.SalesOrder{ID: "SO-1", OrderDate: time.Date(2026, 11, 2, 10, 0, 0, 5, time.FixedZone("CET", 3600))})
	sb.PutPurchaseOrder(plex.PurchaseOrder{ID: "PO-1", Lines: []plex.PurchaseOrderLine{{ID: "PL-1"}}})
	sb.PutSupplier(plex.Supplier{ID: "S-1"})
	sb.PutSupplier(plex.Supplier{ID: "S-2"})
	sb.PutSupplierPurchasingDefaults(plex.SupplierPurchasingDefaults{SupplierID: "S-1", DefaultTaxCode: "PM010000"})
	tests := []struct {
		name, method, path, body string
		hdr                      map[string]string
		status                   int
		code                     string
		retryAfter               string
	}{
		{"no key", "GET", "/sales/v1/orders/SO-1", "", map[string]string{plex.HeaderAPIKey: ""}, 401, "UNAUTHORIZED", ""},
		{"bad key", "GET", "/sales/v1/orders/SO-1", "", map[string]string{plex.HeaderAPIKey: "nope"}, 401, "UNAUTHORIZED", ""},
		{"other tenant", "GET", "/sales/v1/orders/SO-1", "", map[string]string{plex.HeaderTenantID: "T-2"}, 403, "TENANT_FORBIDDEN", ""},
		{"tenant", "GET", "/sales/v1/orders/SO-1", "", map[string]string{plex.HeaderTenantID: "T-1"}, 200, "", ""},
		{"unknown order", "GET", "/sales/v1/orders/SO-2", "", nil, 404, "NOT_FOUND", ""},
		{"unknown route", "GET", "/nope", "", nil, 404, "NOT_FOUND", ""},
		{"unknown customer addresses", "GET", "/mdm/v1/customers/C-9/addresses", "", nil, 404, "NOT_FOUND", ""},
		{"forced 429", "GET", "/sales/v1/orders", "", map[string]string{plexsim.HeaderFault: "429", plexsim.HeaderRetryAfter: "7"}, 429, "TOO_MANY_REQUESTS", "7"},
		{"forced 503", "GET", "/sales/v1/orders", "", map[string]string{plexsim.HeaderFault: "503"}, 503, "SERVICE_UNAVAILABLE", ""},
		{"adjustment invalid", "POST", "/sales/v1/orders/SO-1/price-adjustments", `{"amount": 1}`, nil, 400, "VALIDATION_ERROR", ""},
		{"adjustment created", "POST", "/sales/v1/orders/SO-1/price-adjustments", `{"type":"Tax","description":"d","amount":"1.10"}`, nil, 201, "", ""},
		{"adjustment repeated", "POST", "/sales/v1/orders/SO-1/price-adjustments", `{"type":"Tax","description":"d","amount":1.1}`, nil, 200, "", ""},
		{"purchasing defaults", "GET", "/mdm/v1/suppliers/S-1/purchasing-defaults", "", nil, 200, "", ""},
		{"no purchasing defaults", "GET", "/mdm/v1/suppliers/S-2/purchasing-defaults", "", nil, 404, "NOT_FOUND", ""},
		{"unknown supplier addresses", "GET", "/mdm/v1/suppliers/S-9/addresses", "", nil, 404, "NOT_FOUND", ""},
		{"line tax not JSON", "PUT", "/purchasing/v1/purchase-orders/PO-1/line-items/PL-1", `nope`, nil, 400, "INVALID_REQUEST", ""},
		{"line tax missing", "PUT", "/purchasing/v1/purchase-orders/PO-1/line-items/PL-1", `{}`, nil, 400, "VALIDATION_ERROR", ""},
		{"line tax unknown line", "PUT", "/purchasing/v1/purchase-orders/PO-1/line-items/PL-9", `{"taxAmount":"1"}`, nil, 404, "NOT_FOUND", ""},
		{"line tax", "PUT", "/purchasing/v1/purchase-orders/PO-1/line-items/PL-1", `{"taxAmount":"1.20"}`, nil, 200, "", ""},
		{"line tax repeated", "PUT", "/purchasing/v1/purchase-orders/PO-1/line-items/PL-1", `{"taxAmount":1.2}`, nil, 200, "", ""},
		{"line tax POST", "POST", "/purchasing/v1/purchase-orders/PO-1/line-items/PL-1", `{"taxAmount":"1"}`, nil, 404, "NOT_FOUND", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, sb, tc.method, tc.path, tc.body, tc.hdr)
			if resp.StatusCode != tc.status || (tc.code != "" && body["code"] != tc.code) {
				t.Fatalf("got %d %v", resp.StatusCode, body)
			}
			if tc.code != "" && body["message"] == "" {
				t.Fatalf("no message: %v", body)
			}
			if got := resp.Header.Get("Retry-After"); got != tc.retryAfter {
				t.Fatalf("Retry-After = %q", got)
			}
		})
	}
	_, body := do(t, sb, "GET", "/sales/v1/orders/SO-1", "", nil)
	if body["orderDate"] != "2026-11-02T09:00:00Z" {
		t.Fatalf("date = %v: ISO 8601 in UTC, whole seconds", body["orderDate"])
	}
	if n := len(sb.PriceAdjustments("SO-1")); n != 1 {
		t.Fatalf("adjustments = %d", n)
	}
	if st := sb.Stats(); st.Injected["429"] != 1 || st.Injected["503"] != 1 || st.WritesChanged != 2 || st.WritesUnchanged != 2 || st.Writes() != 4 {
		t.Fatalf("stats = %+v", st)
	}
	_, body = do(t, sb, "GET", "/purchasing/v1/purchase-orders/PO-1", "", nil)
	if l := body["lineItems"].([]any)[0].(map[string]any); l["taxAmount"] != "1.2" {
		t.Fatalf("line = %v: the tax written is on the line", l)
	}
}

func TestBudgetWindow(t *testing.T) {
	sb := plexsim.New(plexsim.WithBudget(3, 100*time.Millisecond))
	for i := range 4 {
		resp, _ := do(t, sb, "GET", "/sales/v1/orders", "", nil)
		if want := map[bool]int{true: 429, false: 200}[i == 3]; resp.StatusCode != want {
			t.Fatalf("call %d: %d", i, resp.StatusCode)
		}
	}
	time.Sleep(120 * time.Millisecond)
	if resp, _ := do(t, sb, "GET", "/sales/v1/orders", "", nil); resp.StatusCode != 200 {
		t.Fatalf("a new window is a new budget: %d", resp.StatusCode)
	}
}

func TestLatencyHeader(t *testing.T) {
	sb := plexsim.New()
	start := time.Now()
	do(t, sb, "GET", "/sales/v1/orders", "", map[string]string{plexsim.HeaderLatency: "60ms"})
	if time.Since(start) < 60*time.Millisecond {
		t.Fatal("latency header ignored")
	}
}
