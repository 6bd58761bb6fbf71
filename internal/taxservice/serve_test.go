package taxservice

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandlerStatuses(t *testing.T) {
	s, _ := sandboxService(t, testConfig())
	raw, _ := json.Marshal(example(t, func(m map[string]any) { m["request_type"] = "QUOTE" }))
	expired, _ := json.Marshal(example(t, func(m map[string]any) {
		m["customer"] = map[string]any{"number": 1, "exemption_tax_id": "X", "exemption_expiry_date": "2000-01-01"}
	}))
	tests := map[string]struct {
		method, body string
		status       int
		field        string
	}{
		"a quote":              {http.MethodPost, string(raw), http.StatusOK, ""},
		"not JSON":             {http.MethodPost, "{", http.StatusBadRequest, "/"},
		"a bad member":         {http.MethodPost, strings.Replace(string(raw), `"stage":"billing"`, `"stage":"packing"`, 1), http.StatusBadRequest, "/stage"},
		"an expired exemption": {http.MethodPost, string(expired), http.StatusUnprocessableEntity, "/customer/exemption_expiry_date"},
		"GET":                  {http.MethodGet, "", http.StatusMethodNotAllowed, ""},
		"too large":            {http.MethodPost, `{"x": "` + strings.Repeat("a", maxBody) + `"}`, http.StatusRequestEntityTooLarge, "/"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := httptest.NewRecorder()
			s.Handler().ServeHTTP(w, httptest.NewRequest(tc.method, HTTPPath, strings.NewReader(tc.body)))
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if w.Header().Get("Content-Type") != "application/json" {
				t.Errorf("content type %q", w.Header().Get("Content-Type"))
			}
			if tc.status == http.StatusOK {
				return
			}
			var e ErrorBody
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Field != tc.field || e.Code == "" {
				t.Errorf("error body %s (%v), want field %q", w.Body, err, tc.field)
			}
		})
	}
}
