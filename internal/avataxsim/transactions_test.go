package avataxsim

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestCreateLifecycle(t *testing.T) {
	tests := []struct {
		name       string
		first      map[string]any // optional earlier create
		req        map[string]any
		wantStatus int
		wantDoc    string // status of the answer
		wantID0    bool
		wantStored bool
		wantErr    string
	}{
		{name: "SalesOrder is temporary", req: invoice("O1", "SalesOrder", true, "92614"),
			wantStatus: 201, wantDoc: "Temporary", wantID0: true},
		{name: "ReturnOrder is temporary", req: invoice("O2", "ReturnOrder", false, "92614", "-10"),
			wantStatus: 201, wantDoc: "Temporary", wantID0: true},
		{name: "omitted type is SalesOrder", req: func() map[string]any { m := invoice("O3", "", false, "92614"); delete(m, "type"); return m }(),
			wantStatus: 201, wantDoc: "Temporary", wantID0: true},
		{name: "uncommitted invoice is Saved", req: invoice("I1", "SalesInvoice", false, "92614"),
			wantStatus: 201, wantDoc: "Saved", wantStored: true},
		{name: "committed invoice", req: invoice("I2", "SalesInvoice", true, "92614"),
			wantStatus: 201, wantDoc: "Committed", wantStored: true},
		{name: "create over Saved overwrites", first: invoice("I3", "SalesInvoice", false, "92614"),
			req: invoice("I3", "SalesInvoice", true, "92614", "50"), wantStatus: 201, wantDoc: "Committed", wantStored: true},
		{name: "create over Committed fails", first: invoice("I4", "SalesInvoice", true, "92614"),
			req: invoice("I4", "SalesInvoice", false, "92614"), wantStatus: 400, wantErr: "GetTaxError"},
		{name: "same code, other type is another document", first: invoice("I5", "SalesInvoice", true, "92614"),
			req: invoice("I5", "ReturnInvoice", true, "92614", "-100"), wantStatus: 201, wantDoc: "Committed", wantStored: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.first != nil {
				if r := e.call("POST", "/api/v2/transactions/create", tt.first); r.status != 201 {
					t.Fatalf("first create: %d %s", r.status, r.body)
				}
			}
			r := e.call("POST", "/api/v2/transactions/create", tt.req)
			if r.status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", r.status, tt.wantStatus, r.body)
			}
			if tt.wantErr != "" {
				er := r.err(t)
				if er.Code != tt.wantErr {
					t.Fatalf("error %s, want %s", er.Code, tt.wantErr)
				}
				d := er.Details[0]
				if d.FaultSubCode != "DocStatusError" || d.RefersTo != "DocStatus" || d.Message != "DocStatus is invalid for this operation." || d.Number != 300 {
					t.Errorf("detail = %+v", d)
				}
				return
			}
			tm := r.tx(t)
			if tm.Status != tt.wantDoc {
				t.Errorf("status %s, want %s", tm.Status, tt.wantDoc)
			}
			if (tm.ID == 0) != tt.wantID0 {
				t.Errorf("id %d", tm.ID)
			}
			if tm.AdjustmentReason != "NotAdjusted" || tm.Version != 1 {
				t.Errorf("adjustmentReason %q version %d", tm.AdjustmentReason, tm.Version)
			}
			stored, ok := e.sb.Document("DEFAULT", tm.Code, tm.Type)
			if ok != tt.wantStored {
				t.Fatalf("stored = %v, want %v", ok, tt.wantStored)
			}
			if ok && (stored.ID != tm.ID || !stored.TotalAmount.Equal(tm.TotalAmount)) {
				t.Errorf("stored %d/%s, answered %d/%s", stored.ID, stored.TotalAmount, tm.ID, tm.TotalAmount)
			}
		})
	}
}

func TestCreateOrAdjust(t *testing.T) {
	e := newEnv(t)
	body := map[string]any{"createTransactionModel": invoice("CA1", "SalesInvoice", false, "98101")}
	r := e.call("POST", "/api/v2/transactions/createoradjust", body)
	if r.status != http.StatusCreated {
		t.Fatalf("first: %d %s", r.status, r.body)
	}
	v1 := r.tx(t)
	if v1.Version != 1 || v1.AdjustmentReason != "NotAdjusted" || v1.Status != "Saved" {
		t.Fatalf("v1 = %d %s %s", v1.Version, v1.AdjustmentReason, v1.Status)
	}

	body = map[string]any{"adjustmentReason": "PriceAdjusted", "adjustmentDescription": "new price",
		"createTransactionModel": invoice("CA1", "SalesInvoice", true, "98101", "200")}
	r = e.call("POST", "/api/v2/transactions/createoradjust", body)
	if r.status != http.StatusOK {
		t.Fatalf("adjust: %d %s", r.status, r.body)
	}
	v2 := r.tx(t)
	if v2.Version != 2 || v2.ID == v1.ID || v2.AdjustmentReason != "PriceAdjusted" || v2.Status != "Committed" {
		t.Fatalf("v2 = id %d v%d %s %s", v2.ID, v2.Version, v2.AdjustmentReason, v2.Status)
	}
	wantDec(t, "v2 totalAmount", v2.TotalAmount, "200")

	// Without a reason the adjustment says Other, as Avalara does.
	body = map[string]any{"createTransactionModel": invoice("CA1", "SalesInvoice", true, "98101", "300")}
	r = e.call("POST", "/api/v2/transactions/createoradjust", body)
	v3 := r.tx(t)
	if r.status != 200 || v3.Version != 3 || v3.AdjustmentReason != "Other" {
		t.Fatalf("v3 = %d v%d %s", r.status, v3.Version, v3.AdjustmentReason)
	}

	docs := e.sb.Documents("DEFAULT")
	if len(docs) != 1 || docs[0].ID != v3.ID {
		t.Fatalf("Documents = %d docs", len(docs))
	}
	e.sb.mu.Lock()
	rec := e.sb.docs[keyOf("DEFAULT", "CA1", "SalesInvoice")]
	statuses := []string{}
	for _, v := range rec.versions {
		statuses = append(statuses, v.tm.Status)
	}
	e.sb.mu.Unlock()
	if strings.Join(statuses, ",") != "Adjusted,Adjusted,Committed" {
		t.Errorf("history = %v", statuses)
	}
	if c := e.sb.Calls()["createoradjust"]; c != 3 {
		t.Errorf("Calls()[createoradjust] = %d", c)
	}

	// Orders through createoradjust are temporary too.
	r = e.call("POST", "/api/v2/transactions/createoradjust", map[string]any{"createTransactionModel": invoice("CA2", "SalesOrder", false, "98101")})
	if tm := r.tx(t); r.status != 201 || tm.Status != "Temporary" || tm.ID != 0 {
		t.Errorf("order via createoradjust: %d %s %d", r.status, tm.Status, tm.ID)
	}
}

func TestForceTimeout(t *testing.T) {
	e := newEnv(t, WithForceTimeoutDelay(-1))
	r := e.call("POST", "/api/v2/transactions/create?$include=ForceTimeout", invoice("T1", "SalesOrder", false, "92614"))
	if r.status != 400 || r.err(t).Code != "TimeoutRequested" {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

func TestConcurrentCreateOrAdjust(t *testing.T) {
	e := newEnv(t)
	const n = 20
	done := make(chan int, n)
	for i := 0; i < n; i++ {
		go func() {
			r := e.call("POST", "/api/v2/transactions/createoradjust", map[string]any{"createTransactionModel": invoice("CC", "SalesInvoice", true, "98101")})
			done <- r.status
		}()
	}
	created := 0
	for i := 0; i < n; i++ {
		switch <-done {
		case 201:
			created++
		case 200:
		default:
			t.Error("unexpected status")
		}
	}
	if created != 1 {
		t.Errorf("%d creates, want exactly 1", created)
	}
	d, _ := e.sb.Document("DEFAULT", "CC", "SalesInvoice")
	if d.Version != n || len(e.sb.Documents("DEFAULT")) != 1 {
		t.Errorf("version %d, %d documents", d.Version, len(e.sb.Documents("DEFAULT")))
	}
}

func TestAdjust(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(e *env)
		body       any
		wantStatus int
		wantErr    string
	}{
		{"adjusts", nil, map[string]any{"adjustmentReason": "PriceAdjusted", "newTransaction": invoice("J1", "SalesInvoice", true, "98101", "50")}, 200, ""},
		{"numeric reason", nil, map[string]any{"adjustmentReason": 4, "newTransaction": invoice("J1", "SalesInvoice", true, "98101", "50")}, 200, ""},
		{"empty reason", nil, map[string]any{"adjustmentReason": "", "newTransaction": invoice("J1", "SalesInvoice", true, "98101")}, 400, "ModelStateInvalid"},
		{"Other needs a description", nil, map[string]any{"adjustmentReason": "Other", "newTransaction": invoice("J1", "SalesInvoice", true, "98101")}, 400, "ValidationException"},
		{"no new transaction", nil, map[string]any{"adjustmentReason": "PriceAdjusted"}, 400, "ValidationException"},
		{"type is immutable", nil, map[string]any{"adjustmentReason": "PriceAdjusted", "newTransaction": invoice("J1", "ReturnInvoice", true, "98101")}, 400, "CannotAdjustDocumentType"},
		{"cancelled", func(e *env) {
			e.call("POST", "/api/v2/companies/DEFAULT/transactions/J1/void", map[string]any{"code": "DocVoided"})
		}, map[string]any{"adjustmentReason": "PriceAdjusted", "newTransaction": invoice("J1", "SalesInvoice", true, "98101")}, 400, "InvalidDocumentStatus"},
		{"locked", func(e *env) { e.sb.Lock("DEFAULT", "J1", "", true) },
			map[string]any{"adjustmentReason": "PriceAdjusted", "newTransaction": invoice("J1", "SalesInvoice", true, "98101")}, 400, "CannotModifyLockedTransaction"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			v1 := e.call("POST", "/api/v2/transactions/create", invoice("J1", "SalesInvoice", true, "98101")).tx(t)
			if tt.setup != nil {
				tt.setup(e)
			}
			r := e.call("POST", "/api/v2/companies/DEFAULT/transactions/J1/adjust", tt.body)
			if r.status != tt.wantStatus {
				t.Fatalf("%d %s", r.status, r.body)
			}
			if tt.wantErr != "" {
				if er := r.err(t); er.Code != tt.wantErr {
					t.Errorf("error %s", er.Code)
				}
				return
			}
			v2 := r.tx(t)
			if v2.Version != 2 || v2.ID == v1.ID || v2.AdjustmentReason != "PriceAdjusted" || v2.Status != "Committed" {
				t.Errorf("v2 = %d v%d %s %s", v2.ID, v2.Version, v2.AdjustmentReason, v2.Status)
			}
			wantDec(t, "adjusted amount", v2.TotalAmount, "50")
			// GET answers the current version, with the history.
			g := e.call("GET", "/api/v2/companies/DEFAULT/transactions/J1", nil)
			var m map[string]any
			mustJSON(t, g.body, &m)
			if h, _ := m["history"].([]any); len(h) != 2 {
				t.Errorf("history has %d versions", len(h))
			}
			// By id, the old version is Adjusted.
			old := e.call("GET", fmt.Sprintf("/api/v2/transactions/%d", v1.ID), nil)
			if old.status != 200 || old.tx(t).Status != "Adjusted" {
				t.Errorf("old version: %d %s", old.status, old.body)
			}
		})
	}
}
