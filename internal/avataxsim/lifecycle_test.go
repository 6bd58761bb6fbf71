package avataxsim

import (
	"net/http"
	"strings"
	"testing"

	"github.com/taxbridge/taxbridge/internal/avatax"
)

func TestAuthentication(t *testing.T) {
	e := newEnv(t, Options{})
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

func TestPing(t *testing.T) {
	e := newEnv(t, Options{AccountID: "123456", LicenseKey: "secret"})
	tests := []struct {
		name       string
		user, pass string
		wantAuth   bool
		wantType   string
	}{
		{"anonymous", "", "", false, "None"},
		{"wrong key", "123456", "bad", false, "None"},
		{"account and key", "123456", "secret", true, "AccountIdLicenseKey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.callAuth("GET", "/api/v2/utilities/ping", nil, tt.user, tt.pass)
			if r.status != 200 {
				t.Fatalf("status %d", r.status)
			}
			var p avatax.PingResultModel
			mustJSON(t, r.body, &p)
			if p.Authenticated != tt.wantAuth || p.AuthenticationType != tt.wantType {
				t.Errorf("ping = %+v", p)
			}
			if tt.wantAuth && p.AuthenticatedAccountID != 123456 {
				t.Errorf("account id %d", p.AuthenticatedAccountID)
			}
		})
	}
	if got := e.sb.Calls()["ping"]; got != 3 {
		t.Errorf("Calls()[ping] = %d, want 3", got)
	}
}

func TestRouteMissIsEmpty404(t *testing.T) {
	e := newEnv(t, Options{})
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
			e := newEnv(t, Options{})
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
	e := newEnv(t, Options{})
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

func TestGetByCode(t *testing.T) {
	e := newEnv(t, Options{})
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

func TestCommit(t *testing.T) {
	e := newEnv(t, Options{})
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
			e := newEnv(t, Options{})
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

func TestRefund(t *testing.T) {
	type want struct {
		status   int
		errCode  string
		amount   string
		tax      string
		lines    int
		overType string
	}
	tests := []struct {
		name   string
		commit bool
		body   map[string]any
		want   want
	}{
		{"full", true, map[string]any{"refundTransactionCode": "R1-1", "refundDate": "2024-04-01", "refundType": "Full"},
			want{201, "", "-300", "-30.75", 2, "TaxAmount"}},
		{"partial", true, map[string]any{"refundTransactionCode": "R1-1", "refundDate": "2024-04-01", "refundType": "Partial", "refundLines": []string{"2"}},
			want{201, "", "-200", "-20.50", 1, "TaxAmount"}},
		{"percentage", true, map[string]any{"refundTransactionCode": "R1-1", "refundDate": "2024-04-01", "refundType": "Percentage", "refundPercentage": "50"},
			want{201, "", "-150", "-15.39", 2, "TaxAmount"}},
		{"tax only", true, map[string]any{"refundTransactionCode": "R1-1", "refundDate": "2024-04-01", "refundType": "TaxOnly"},
			want{201, "", "0", "-30.75", 2, "TaxAmount"}},
		{"not committed", false, map[string]any{"refundTransactionCode": "R1-1", "refundDate": "2024-04-01", "refundType": "Full"},
			want{status: 400, errCode: "InvalidDocumentStatusForRefund"}},
		{"full with percentage", true, map[string]any{"refundDate": "2024-04-01", "refundType": "Full", "refundPercentage": 10},
			want{status: 400, errCode: "RefundTypeAndPercentageMismatch"}},
		{"full with lines", true, map[string]any{"refundDate": "2024-04-01", "refundType": "Full", "refundLines": []string{"1"}},
			want{status: 400, errCode: "RefundTypeAndLineMismatch"}},
		{"partial without lines", true, map[string]any{"refundDate": "2024-04-01", "refundType": "Partial"},
			want{status: 400, errCode: "RefundLinesRequired"}},
		{"bad type", true, map[string]any{"refundDate": "2024-04-01", "refundType": "Sideways"},
			want{status: 400, errCode: "InvalidRefundType"}},
		{"tax only with percentage", true, map[string]any{"refundDate": "2024-04-01", "refundType": "TaxOnly", "refundPercentage": 5},
			want{status: 400, errCode: "RefundPercentageForTaxOnly"}},
		{"unknown line", true, map[string]any{"refundDate": "2024-04-01", "refundType": "Partial", "refundLines": []string{"9"}},
			want{status: 400, errCode: "LineNoOutOfRange"}},
		{"percentage out of range", true, map[string]any{"refundDate": "2024-04-01", "refundType": "Percentage", "refundPercentage": 120},
			want{status: 400, errCode: "RefundPercentageOutOfRange"}},
		{"percentage missing", true, map[string]any{"refundDate": "2024-04-01", "refundType": "Percentage"},
			want{status: 400, errCode: "RefundPercentageMissing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			// Chicago: 10.25%; lines 100 and 200 → tax 10.25 + 20.50.
			if r := e.call("POST", "/api/v2/transactions/create", invoice("R1", "SalesInvoice", tt.commit, "60601", "100", "200")); r.status != 201 {
				t.Fatalf("create: %d %s", r.status, r.body)
			}
			r := e.call("POST", "/api/v2/companies/DEFAULT/transactions/R1/refund", tt.body)
			if r.status != tt.want.status {
				t.Fatalf("refund: %d %s", r.status, r.body)
			}
			if tt.want.errCode != "" {
				if er := r.err(t); er.Code != tt.want.errCode || er.Details[0].Number == 0 {
					t.Errorf("error = %+v", er)
				}
				return
			}
			tm := r.tx(t)
			if tm.Type != "ReturnInvoice" || tm.Status != "Committed" || tm.Code != "R1-1" || tm.Date != "2024-04-01" {
				t.Errorf("refund doc %s %s %s %s", tm.Type, tm.Status, tm.Code, tm.Date)
			}
			wantDec(t, "totalAmount", tm.TotalAmount, tt.want.amount)
			wantDec(t, "totalTax", tm.TotalTax, tt.want.tax)
			if len(tm.Lines) != tt.want.lines {
				t.Fatalf("lines %d", len(tm.Lines))
			}
			for _, l := range tm.Lines {
				if l.Quantity.IsNegative() || l.TaxOverrideType != tt.want.overType || l.TaxOverrideAmount == nil || !l.TaxOverrideAmount.Equal(l.Tax) {
					t.Errorf("line %s: qty %s override %s %v tax %s", l.LineNumber, l.Quantity, l.TaxOverrideType, l.TaxOverrideAmount, l.Tax)
				}
			}
			if _, ok := e.sb.Document("DEFAULT", "R1-1", "ReturnInvoice"); !ok {
				t.Error("refund not stored")
			}
			if orig, _ := e.sb.Document("DEFAULT", "R1", "SalesInvoice"); orig.Status != "Committed" {
				t.Errorf("original now %s", orig.Status)
			}
		})
	}
}

func TestRefundWithoutCodeGetsGUID(t *testing.T) {
	e := newEnv(t, Options{})
	e.call("POST", "/api/v2/transactions/create", invoice("R2", "SalesInvoice", true, "60601"))
	r := e.call("POST", "/api/v2/companies/DEFAULT/transactions/R2/refund", map[string]any{"refundDate": "2024-04-01", "refundType": 0})
	if r.status != 201 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if code := r.tx(t).Code; len(code) != 36 {
		t.Errorf("code %q", code)
	}
}

func TestStrictCompanies(t *testing.T) {
	e := newEnv(t, Options{Strict: true, Companies: []string{"ACME"}})
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
	e2 := newEnv(t, Options{})
	req["companyCode"] = "ANYTHING"
	if r := e2.call("POST", "/api/v2/transactions/create", req); r.status != 201 {
		t.Errorf("non-strict: %d", r.status)
	}
}

func TestLenientInput(t *testing.T) {
	e := newEnv(t, Options{})
	body := `{"Type": 1, "CODE": "L1", "companyCode": null, "date": "2024-03-01", "customerCode": 0, "commit": "true",
	  "discount": null,
	  "addresses": {"ShipFrom": {"Line1": "1 Main St", "postalCode": "98101", "country": "USA"},
	                "ShipTo": {"line1": "2 Park", "postalCode": "92614-8201", "region": "ca", "country": "us"}},
	  "lines": [{"number": 1, "quantity": "2", "amount": "30.00", "taxIncluded": "false"}]}`
	r := e.call("POST", "/api/v2/transactions/create", body)
	if r.status != 201 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	tm := r.tx(t)
	if tm.Type != "SalesInvoice" || tm.Status != "Committed" || tm.CustomerCode != "0" || tm.Lines[0].LineNumber != "1" {
		t.Errorf("decoded %s %s %q %q", tm.Type, tm.Status, tm.CustomerCode, tm.Lines[0].LineNumber)
	}
	wantDec(t, "tax", tm.TotalTax, "2.33") // 30 × 7.75% = 2.325 → 2.33

	if r := e.call("POST", "/api/v2/transactions/create", `{"lines": [`); r.status != 400 || r.err(t).Code != "ModelStateInvalid" {
		t.Errorf("bad JSON: %d %s", r.status, r.body)
	}
	if r := e.call("POST", "/api/v2/transactions/createoradjust", ``); r.status != 400 || r.err(t).Code != "ModelRequiredException" {
		t.Errorf("empty body: %d %s", r.status, r.body)
	}
	if r := e.call("POST", "/api/v2/transactions/createoradjust", `{}`); r.status != 400 || r.err(t).Code != "ValueRequiredError" {
		t.Errorf("no model: %d %s", r.status, r.body)
	}
	noLines := invoice("L2", "SalesInvoice", false, "92614")
	noLines["lines"] = []any{}
	if r := e.call("POST", "/api/v2/transactions/create", noLines); r.status != 400 || r.err(t).Code != "MissingLine" {
		t.Errorf("no lines: %d %s", r.status, r.body)
	}
	// Case-insensitive paths, as on Avalara's servers.
	if r := e.call("GET", "/API/V2/Companies/DEFAULT/Transactions/L1", nil); r.status != 200 {
		t.Errorf("mixed-case path: %d", r.status)
	}
}

func TestForceTimeout(t *testing.T) {
	e := newEnv(t, Options{ForceTimeoutDelay: -1})
	r := e.call("POST", "/api/v2/transactions/create?$include=ForceTimeout", invoice("T1", "SalesOrder", false, "92614"))
	if r.status != 400 || r.err(t).Code != "TimeoutRequested" {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

func mustJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := jsonUnmarshal(b, v); err != nil {
		t.Fatalf("decode: %v\n%s", err, b)
	}
}

func TestConcurrentCreateOrAdjust(t *testing.T) {
	e := newEnv(t, Options{})
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
