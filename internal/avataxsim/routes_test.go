package avataxsim

import (
	"strings"
	"testing"
)

func TestAuthentication(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name       string
		path       string
		user, pass string
		wantStatus int
		wantCode   string
	}{
		{"no credentials", "/api/v2/companies/DEFAULT/transactions/X", "", "", 401, "AuthenticationException"},
		{"wrong license", "/api/v2/companies/DEFAULT/transactions/X", DefaultAccountID, "nope", 401, "AuthenticationException"},
		{"wrong account", "/api/v2/companies/DEFAULT/transactions/X", "42", DefaultLicenseKey, 401, "AuthenticationException"},
		{"right credentials reach the handler", "/api/v2/companies/DEFAULT/transactions/X", DefaultAccountID, DefaultLicenseKey, 404, "EntityNotFoundError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.callAuth("GET", tt.path, nil, tt.user, tt.pass)
			if r.status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", r.status, tt.wantStatus, r.body)
			}
			if r.header.Get("x-correlation-id") == "" {
				t.Error("no x-correlation-id")
			}
			if !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
				t.Errorf("content type %q", r.header.Get("Content-Type"))
			}
			er := r.err(t)
			if er.Code != tt.wantCode {
				t.Errorf("code %s, want %s", er.Code, tt.wantCode)
			}
			if tt.wantStatus == 401 && (er.Target != "HttpRequestHeaders" || len(er.Details) != 1 || er.Details[0].Number != 30) {
				t.Errorf("401 envelope = %+v", er)
			}
		})
	}
}

func TestRouteMissIsEmpty404(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/api/v2/companies/DEFAULT/transactions//void", "/api/v2/companies/transactions/x", "/nothing"} {
		r := e.call("POST", p, `{"code":"DocVoided"}`)
		if r.status != 404 || len(r.body) != 0 {
			t.Errorf("%s: status %d body %q", p, r.status, r.body)
		}
		if r.header.Get("x-correlation-id") == "" {
			t.Errorf("%s: no x-correlation-id", p)
		}
	}
}

func TestStrictCompanies(t *testing.T) {
	e := newEnv(t, WithStrict(true), WithCompanies("ACME"))
	req := invoice("S1", "SalesInvoice", false, "92614")
	req["companyCode"] = "OTHER"
	r := e.call("POST", "/api/v2/transactions/create", req)
	if r.status != 404 || r.err(t).Code != "EntityNotFoundError" {
		t.Fatalf("unknown company: %d %s", r.status, r.body)
	}
	if r := e.call("GET", "/api/v2/companies/OTHER/transactions/S1", nil); r.status != 404 {
		t.Errorf("get in unknown company: %d", r.status)
	}
	req["companyCode"] = "acme"
	if r := e.call("POST", "/api/v2/transactions/create", req); r.status != 201 {
		t.Fatalf("known company: %d %s", r.status, r.body)
	}
	// An omitted company code means the first configured company.
	delete(req, "companyCode")
	req["code"] = "S2"
	if r := e.call("POST", "/api/v2/transactions/create", req); r.status != 201 {
		t.Fatalf("default company: %d %s", r.status, r.body)
	}
	if docs := e.sb.Documents("ACME"); len(docs) != 2 || docs[0].Code != "S1" || docs[1].Code != "S2" {
		t.Errorf("Documents(ACME) = %d", len(docs))
	}

	// Outside strict mode every company exists.
	e2 := newEnv(t)
	req["companyCode"] = "ANYTHING"
	if r := e2.call("POST", "/api/v2/transactions/create", req); r.status != 201 {
		t.Errorf("non-strict: %d", r.status)
	}
}
