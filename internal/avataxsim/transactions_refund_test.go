package avataxsim

import "testing"

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
			e := newEnv(t)
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
	e := newEnv(t)
	e.call("POST", "/api/v2/transactions/create", invoice("R2", "SalesInvoice", true, "60601"))
	r := e.call("POST", "/api/v2/companies/DEFAULT/transactions/R2/refund", map[string]any{"refundDate": "2024-04-01", "refundType": 0})
	if r.status != 201 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if code := r.tx(t).Code; len(code) != 36 {
		t.Errorf("code %q", code)
	}
}
