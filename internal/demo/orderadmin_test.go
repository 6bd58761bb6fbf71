package demo

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/internal/taxservice"
)

func money(s string) taxservice.Money { return taxservice.Money(decimal.RequireFromString(s)) }

// TestOAStepsRefuseWrongAnswers: each step's check fails an answer that
// breaks its promise, so that the demo cannot print [ok] for it.
func TestOAStepsRefuseWrongAnswers(t *testing.T) {
	steps := OASteps("2026-11-02")
	if len(steps) != 5 {
		t.Fatalf("%d steps, want 5", len(steps))
	}
	wrong := []*taxservice.Response{
		{DocumentType: "SalesOrder", Committed: true, TotalTax: money("6.67")},    // a quote that recorded
		{DocumentType: "SalesOrder", Estimated: true, TotalTax: money("6.67")},    // a quote from standard rates
		{DocumentType: "SalesInvoice", Committed: false, TotalTax: money("6.67")}, // an invoice left uncommitted
		{DocumentType: "ReturnInvoice", Committed: true, TotalTax: money("1.78")}, // a credit with positive tax
		{DocumentType: "SalesInvoice", Committed: true, TotalTax: money("6.22"), // the override recalculated
			Lines: []taxservice.LineTax{{LineNumber: 1, Tax: money("4.44")}, {LineNumber: 2, Tax: money("1.78")}}},
	}
	for i, r := range wrong {
		if p := steps[i].Check(r); p == "" {
			t.Errorf("step %d (%s at %s) accepts a wrong answer %+v", i, steps[i].Request.RequestType, steps[i].Request.Stage, r)
		}
	}
	right := &taxservice.Response{DocumentType: "SalesInvoice", Committed: true, TotalTax: money("5.55"),
		Lines: []taxservice.LineTax{{LineNumber: 1, Tax: money("4.44")}, {LineNumber: 2, Tax: money("1.11"), Overridden: true}}}
	if p := steps[4].Check(right); p != "" {
		t.Errorf("DISTRIBUTETAX keeping the override refused: %s", p)
	}
}

// TestOAStepsAreValidRequests: every request passes the CWTaxRequest schema
// and rules, as the service will check them.
func TestOAStepsAreValidRequests(t *testing.T) {
	for _, s := range OASteps("2026-11-02") {
		raw, err := jsonOf(s.Request)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := taxservice.DecodeRequest(raw); err != nil {
			t.Errorf("%s at %s: %v", s.Request.RequestType, s.Request.Stage, err)
		}
	}
}

func TestReportOAMarksAFailure(t *testing.T) {
	var b strings.Builder
	reportOA(&b, OAOutcome{Step: OASteps("2026-11-02")[3], Problem: "CREDIT refused (400): bad"})
	if !strings.Contains(b.String(), "[FAILED: CREDIT refused (400): bad]") {
		t.Errorf("report: %s", b.String())
	}
}

func jsonOf(r taxservice.Request) ([]byte, error) { return json.Marshal(r) }
