package avataxsim

import (
	"testing"
)

func TestUncommitAndUnvoid(t *testing.T) {
	e := newEnv(t)
	e.call("POST", "/api/v2/transactions/create", invoice("U1", "SalesInvoice", true, "98101"))
	r := e.call("POST", "/api/v2/companies/DEFAULT/transactions/U1/uncommit", nil)
	if r.status != 200 || r.tx(t).Status != "Saved" {
		t.Fatalf("uncommit: %d %s", r.status, r.body)
	}
	if r := e.call("POST", "/api/v2/companies/DEFAULT/transactions/U1/uncommit", nil); r.status != 400 || r.err(t).Code != "DocumentNotCommitted" {
		t.Errorf("uncommit Saved: %d %s", r.status, r.body)
	}
	// Saved again, so create may overwrite it now.
	if r := e.call("POST", "/api/v2/transactions/create", invoice("U1", "SalesInvoice", true, "98101", "5")); r.status != 201 {
		t.Errorf("create over uncommitted: %d", r.status)
	}
	e.call("POST", "/api/v2/companies/DEFAULT/transactions/U1/void", map[string]any{"code": "DocVoided"})
	r = e.call("POST", "/api/v2/companies/DEFAULT/transactions/U1/unvoid", nil)
	if r.status != 200 || r.tx(t).Status != "Committed" {
		t.Errorf("unvoid: %d %s", r.status, r.body)
	}
	if c := e.sb.Calls(); c["uncommit"] != 2 || c["unvoid"] != 1 {
		t.Errorf("calls %v", c)
	}
}

func TestLockedDocumentRefusesChanges(t *testing.T) {
	e := newEnv(t)
	e.call("POST", "/api/v2/transactions/create", invoice("K1", "SalesInvoice", false, "98101"))
	if r := e.call("POST", "/api/v2/companies/DEFAULT/transactions/K1/lock", map[string]any{"isLocked": true}); r.status != 400 || r.err(t).Code != "DocumentNotCommitted" {
		t.Fatalf("lock Saved: %d %s", r.status, r.body)
	}
	e.call("POST", "/api/v2/companies/DEFAULT/transactions/K1/commit", map[string]any{"commit": true})
	r := e.call("POST", "/api/v2/companies/DEFAULT/transactions/K1/lock", map[string]any{"isLocked": true})
	if r.status != 200 || !r.tx(t).Locked {
		t.Fatalf("lock: %d %s", r.status, r.body)
	}
	calls := []struct {
		name, path string
		body       any
	}{
		{"void", "/api/v2/companies/DEFAULT/transactions/K1/void", map[string]any{"code": "DocVoided"}},
		{"uncommit", "/api/v2/companies/DEFAULT/transactions/K1/uncommit", nil},
		{"commit", "/api/v2/companies/DEFAULT/transactions/K1/commit", map[string]any{"commit": true}},
		{"adjust", "/api/v2/companies/DEFAULT/transactions/K1/adjust", map[string]any{"adjustmentReason": "PriceAdjusted", "newTransaction": invoice("K1", "SalesInvoice", true, "98101")}},
		{"createoradjust", "/api/v2/transactions/createoradjust", map[string]any{"createTransactionModel": invoice("K1", "SalesInvoice", true, "98101")}},
		{"create", "/api/v2/transactions/create", invoice("K1", "SalesInvoice", true, "98101")},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			r := e.call("POST", c.path, c.body)
			if r.status != 400 {
				t.Fatalf("%d %s", r.status, r.body)
			}
			er := r.err(t)
			if er.Code != "CannotModifyLockedTransaction" || er.Details[0].Number != 1100 || er.Message != "Modifying a locked document is not allowed." {
				t.Errorf("error = %+v", er)
			}
		})
	}
	// A refund is how a locked document is corrected.
	if r := e.call("POST", "/api/v2/companies/DEFAULT/transactions/K1/refund", map[string]any{"refundDate": "2024-05-01", "refundTransactionCode": "K1-R"}); r.status != 201 {
		t.Errorf("refund of a locked document: %d %s", r.status, r.body)
	}
	e.sb.Lock("DEFAULT", "K1", "SalesInvoice", false)
	if r := e.call("POST", "/api/v2/companies/DEFAULT/transactions/K1/void", map[string]any{"code": "DocVoided"}); r.status != 200 {
		t.Errorf("void after unlock: %d", r.status)
	}
}

func TestVerifyChangeCodeSettle(t *testing.T) {
	e := newEnv(t)
	e.call("POST", "/api/v2/transactions/create", invoice("S1", "SalesInvoice", false, "60601"))
	if r := e.call("POST", "/api/v2/companies/DEFAULT/transactions/S1/verify", map[string]any{"verifyTransactionDate": "2024-03-01", "verifyTotalAmount": 100, "verifyTotalTax": "9.99"}); r.status != 400 || r.err(t).Code != "TotalTaxMismatch" {
		t.Errorf("verify wrong tax: %d %s", r.status, r.body)
	}
	r := e.call("POST", "/api/v2/companies/DEFAULT/transactions/S1/verify", map[string]any{"verifyTransactionDate": "2024-03-01", "verifyTotalAmount": 100, "verifyTotalTax": "10.25"})
	if r.status != 200 || r.tx(t).Status != "Posted" {
		t.Fatalf("verify: %d %s", r.status, r.body)
	}
	r = e.call("POST", "/api/v2/companies/DEFAULT/transactions/S1/changecode", map[string]any{"newCode": "S2"})
	if r.status != 200 || r.tx(t).Code != "S2" {
		t.Fatalf("changecode: %d %s", r.status, r.body)
	}
	if _, ok := e.sb.Document("DEFAULT", "S1", ""); ok {
		t.Error("old code still there")
	}
	r = e.call("POST", "/api/v2/companies/DEFAULT/transactions/S2/settle", map[string]any{"changeCode": map[string]any{"newCode": "S3"}, "commit": map[string]any{"commit": true}})
	if r.status != 200 || r.tx(t).Status != "Committed" || r.tx(t).Code != "S3" {
		t.Fatalf("settle: %d %s", r.status, r.body)
	}
	if r := e.call("POST", "/api/v2/companies/DEFAULT/transactions/S3/settle", map[string]any{"commit": map[string]any{"commit": true}}); r.status != 400 || r.err(t).Details[0].FaultSubCode != "DocStatusError" {
		t.Errorf("settle committed: %d %s", r.status, r.body)
	}
	if r := e.call("POST", "/api/v2/companies/DEFAULT/transactions/S3/changecode", map[string]any{"newCode": "S4"}); r.status != 400 || r.err(t).Code != "TransactionIsCommitted" {
		t.Errorf("changecode committed: %d %s", r.status, r.body)
	}
}

func TestCommit(t *testing.T) {
	e := newEnv(t)
	e.call("POST", "/api/v2/transactions/create", invoice("C1", "SalesInvoice", false, "60601"))
	r := e.call("POST", "/api/v2/companies/DEFAULT/transactions/C1/commit", `{"commit": "true"}`)
	if r.status != 200 || r.tx(t).Status != "Committed" {
		t.Fatalf("commit: %d %s", r.status, r.body)
	}
	if d, _ := e.sb.Document("DEFAULT", "C1", ""); d.Status != "Committed" {
		t.Errorf("stored status %s", d.Status)
	}
	// Committing again is harmless.
	if r := e.call("POST", "/api/v2/companies/DEFAULT/transactions/C1/commit", map[string]any{"commit": true}); r.status != 200 {
		t.Errorf("second commit: %d", r.status)
	}
	if r := e.call("POST", "/api/v2/companies/DEFAULT/transactions/NOPE/commit", map[string]any{"commit": true}); r.status != 404 {
		t.Errorf("commit unknown: %d", r.status)
	}
	if c := e.sb.Calls()["commit"]; c != 3 {
		t.Errorf("Calls()[commit] = %d", c)
	}
}

func TestVoid(t *testing.T) {
	tests := []struct {
		name       string
		commit     bool
		code       any
		wantStatus int
		wantDoc    string
		wantStored bool
	}{
		{"DocVoided on committed", true, "DocVoided", 200, "Cancelled", true},
		{"DocVoided on saved", false, "docVoided", 200, "Cancelled", true},
		{"numeric reason", true, 3, 200, "Cancelled", true},
		{"DocDeleted on uncommitted deletes", false, "DocDeleted", 200, "Cancelled", false},
		{"DocDeleted on committed cancels", true, "DocDeleted", 200, "Cancelled", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.call("POST", "/api/v2/transactions/create", invoice("V1", "SalesInvoice", tt.commit, "10118"))
			r := e.call("POST", "/api/v2/companies/DEFAULT/transactions/V1/void", map[string]any{"code": tt.code})
			if r.status != tt.wantStatus {
				t.Fatalf("void: %d %s", r.status, r.body)
			}
			if tm := r.tx(t); tm.Status != tt.wantDoc {
				t.Errorf("status %s", tm.Status)
			}
			_, stored := e.sb.Document("DEFAULT", "V1", "SalesInvoice")
			if stored != tt.wantStored {
				t.Errorf("stored = %v", stored)
			}
			second := e.call("POST", "/api/v2/companies/DEFAULT/transactions/V1/void", map[string]any{"code": "DocVoided"})
			if tt.wantStored {
				if second.status != 400 || second.err(t).Code != "TransactionAlreadyCancelled" {
					t.Errorf("second void: %d %s", second.status, second.body)
				}
			} else if second.status != 404 || second.err(t).Code != "EntityNotFoundError" {
				t.Errorf("void after delete: %d %s", second.status, second.body)
			}
		})
	}
}
