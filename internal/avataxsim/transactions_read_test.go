package avataxsim

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestGetByCode(t *testing.T) {
	e := newEnv(t)
	for _, req := range []map[string]any{
		invoice("G1", "ReturnInvoice", true, "92614", "-10"),
		invoice("G1", "SalesInvoice", true, "92614"),
		invoice("G2", "ReturnInvoice", false, "92614", "-10"),
	} {
		if r := e.call("POST", "/api/v2/transactions/create", req); r.status != 201 {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
	}
	tests := []struct {
		path       string
		wantStatus int
		wantType   string
	}{
		{"/api/v2/companies/DEFAULT/transactions/G1", 200, "SalesInvoice"},
		{"/api/v2/companies/default/transactions/G1?documentType=ReturnInvoice", 200, "ReturnInvoice"},
		{"/api/v2/companies/DEFAULT/transactions/G1?documentType=5", 200, "ReturnInvoice"},
		{"/api/v2/companies/DEFAULT/transactions/G1/types/ReturnInvoice", 200, "ReturnInvoice"},
		{"/api/v2/companies/DEFAULT/transactions/G2", 200, "ReturnInvoice"},
		{"/api/v2/companies/DEFAULT/transactions/G2?documentType=SalesInvoice", 404, ""},
		{"/api/v2/companies/DEFAULT/transactions/NOPE", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			r := e.call("GET", tt.path, nil)
			if r.status != tt.wantStatus {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if tt.wantStatus == 404 {
				if er := r.err(t); er.Code != "EntityNotFoundError" || er.Details[0].Number != 4 || er.Target != "HttpRequest" {
					t.Errorf("404 = %+v", er)
				}
				return
			}
			if tm := r.tx(t); tm.Type != tt.wantType {
				t.Errorf("type %s, want %s", tm.Type, tt.wantType)
			}
		})
	}
}

func TestListTransactions(t *testing.T) {
	clk := &clock{t: time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)}
	e := newEnv(t, WithClock(clk.now))
	mk := func(code string, commit bool, date string) {
		req := invoice(code, "SalesInvoice", commit, "98101")
		req["date"] = date
		if r := e.call("POST", "/api/v2/transactions/createoradjust", map[string]any{"createTransactionModel": req}); r.status >= 300 {
			t.Fatalf("create %s: %d %s", code, r.status, r.body)
		}
	}
	mk("A", false, "2024-02-01")
	mk("B", true, "2024-02-10")
	mk("C", false, "2024-02-20")
	mk("A", true, "2024-02-01") // adjusts A: its first version is Adjusted
	e.call("POST", "/api/v2/transactions/create", invoice("O", "SalesOrder", false, "98101"))

	list := func(query string) fetchResult {
		t.Helper()
		r := e.call("GET", "/api/v2/companies/DEFAULT/transactions"+query, nil)
		if r.status != 200 {
			t.Fatalf("list %s: %d %s", query, r.status, r.body)
		}
		var fr fetchResult
		mustJSON(t, r.body, &fr)
		return fr
	}
	codes := func(fr fetchResult) string {
		var out []string
		for _, v := range fr.Value {
			out = append(out, v.Code+":"+v.Status)
		}
		return strings.Join(out, ",")
	}
	tests := []struct {
		query     string
		wantCount int
		want      string
		wantNext  bool
	}{
		{"", 4, "A:Adjusted,B:Committed,C:Saved,A:Committed", false},
		{"?$filter=" + url.QueryEscape("status eq Saved"), 1, "C:Saved", false},
		{"?$filter=" + url.QueryEscape("status eq Committed and date ge '2024-02-05'"), 1, "B:Committed", false},
		{"?$filter=" + url.QueryEscape("status ne Adjusted") + "&$orderBy=" + url.QueryEscape("code desc"), 3, "C:Saved,B:Committed,A:Committed", false},
		{"?$top=2", 4, "A:Adjusted,B:Committed", true},
		{"?$top=2&$skip=2", 4, "C:Saved,A:Committed", false},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			fr := list(tt.query)
			if fr.RecordsetCount != tt.wantCount || codes(fr) != tt.want || (fr.NextLink != "") != tt.wantNext {
				t.Errorf("got %d %q next %q", fr.RecordsetCount, codes(fr), fr.NextLink)
			}
		})
	}
	// @nextLink leads to the next page.
	fr := list("?$top=3")
	r := e.call("GET", fr.NextLink, nil)
	var next fetchResult
	mustJSON(t, r.body, &next)
	if codes(next) != "A:Committed" {
		t.Errorf("next page %q", codes(next))
	}
	// Without a date criterion only the last 30 days are listed.
	clk.add(40 * 24 * time.Hour)
	if fr := list(""); fr.RecordsetCount != 0 {
		t.Errorf("after 40 days: %d documents", fr.RecordsetCount)
	}
	if fr := list("?$filter=" + url.QueryEscape("date ge '2024-01-01'")); fr.RecordsetCount != 4 {
		t.Errorf("with a date filter: %d documents", fr.RecordsetCount)
	}
	if r := e.call("GET", "/api/v2/companies/DEFAULT/transactions?$filter="+url.QueryEscape("status eq"), nil); r.status != 400 {
		t.Errorf("bad filter: %d", r.status)
	}
}

func TestInclude(t *testing.T) {
	e := newEnv(t)
	e.call("POST", "/api/v2/transactions/create", invoice("N1", "SalesInvoice", true, "98101", "10", "20"))
	tests := []struct {
		path                               string
		lines, details, summary, addresses bool
	}{
		{"/api/v2/companies/DEFAULT/transactions/N1", true, true, true, true},
		{"/api/v2/companies/DEFAULT/transactions/N1?$include=Lines", true, false, false, false},
		{"/api/v2/companies/DEFAULT/transactions/N1?$include=Details", true, true, false, false},
		{"/api/v2/companies/DEFAULT/transactions/N1?$include=Summary,Addresses", true, true, true, true},
		{"/api/v2/companies/DEFAULT/transactions/N1?$include=SummaryOnly", false, false, true, false},
		{"/api/v2/companies/DEFAULT/transactions/N1?$include=linesonly,addresses", true, false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			r := e.call("GET", tt.path, nil)
			var m map[string]any
			mustJSON(t, r.body, &m)
			lines, _ := m["lines"].([]any)
			if (len(lines) > 0) != tt.lines {
				t.Errorf("lines %d", len(lines))
			}
			hasDetails := false
			for _, l := range lines {
				if ds, _ := l.(map[string]any)["details"].([]any); len(ds) > 0 {
					hasDetails = true
				}
			}
			if hasDetails != tt.details {
				t.Errorf("details %v", hasDetails)
			}
			if s, _ := m["summary"].([]any); (len(s) > 0) != tt.summary {
				t.Errorf("summary %d", len(s))
			}
			if a, _ := m["addresses"].([]any); (len(a) > 0) != tt.addresses {
				t.Errorf("addresses %d", len(a))
			}
		})
	}
}
