package avataxsim

import (
	"testing"

	"github.com/taxbridge/taxbridge/internal/avatax"
)

func TestResolve(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name        string
		method      string
		path        string
		body        any
		wantStatus  int
		wantQuality string
		wantPostal  string
		wantMessage string
		wantErr     string
	}{
		{"GET known", "GET", "/api/v2/addresses/resolve?line1=915%20S%20Jackson%20St&city=Montgomery&region=AL&postalCode=36104&country=US", nil,
			200, "Intersection", "36104-3804", "", ""},
		{"POST known, keys in any case", "POST", "/api/v2/addresses/resolve",
			`{"Line1": "1 Main St", "City": "Seattle", "Region": "WA", "PostalCode": "98101", "Country": "US"}`,
			200, "Intersection", "98101-2503", "", ""},
		{"line1 + city + region", "POST", "/api/v2/addresses/resolve",
			map[string]any{"line1": "1 Main St", "city": "Chicago", "region": "IL", "country": "US"},
			200, "Intersection", "60601-7501", "", ""},
		{"Canada", "GET", "/api/v2/addresses/resolve?line1=298%20Pinetree&city=Beaconsfield&region=QC&postalCode=H9W%205E1&country=CA", nil,
			200, "Intersection", "H9W 5E1", "", ""},
		{"ZIP code of an unassigned prefix", "POST", "/api/v2/addresses/resolve",
			map[string]any{"line1": "1 Main St", "city": "Somewhere", "region": "KY", "postalCode": "42801", "country": "US"},
			200, "External", "", "Address not geocoded.", ""},
		{"Canadian postal code of no province", "GET", "/api/v2/addresses/resolve?line1=1%20Main%20St&city=X&postalCode=D1A%201A1&country=CA", nil,
			200, "NotCoded", "", "The address is not deliverable.", ""},
		{"malformed postal code", "GET", "/api/v2/addresses/resolve?line1=915%20S%20Jackson%20St&city=X&region=AL&postalCode=42&country=US", nil,
			200, "External", "", "Address not geocoded.", ""},
		{"incomplete", "POST", "/api/v2/addresses/resolve",
			map[string]any{"line1": "915 S Jackson St", "region": "AL", "country": "US"},
			400, "", "", "", "InvalidAddress"},
		{"postal code too long", "GET", "/api/v2/addresses/resolve?line1=822%20Reed%20St&city=Philadelphia&region=PA&postalCode=too_long_zipcode&country=US", nil,
			400, "", "", "", "StringLengthError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.call(tt.method, tt.path, tt.body)
			if r.status != tt.wantStatus {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if tt.wantErr != "" {
				if er := r.err(t); er.Code != tt.wantErr {
					t.Errorf("error %s", er.Code)
				}
				return
			}
			var res avatax.AddressResolutionModel
			mustJSON(t, r.body, &res)
			if res.ResolutionQuality != tt.wantQuality {
				t.Errorf("quality %s", res.ResolutionQuality)
			}
			if tt.wantPostal != "" {
				if len(res.ValidatedAddresses) != 1 || res.ValidatedAddresses[0].PostalCode != tt.wantPostal || res.Coordinates == nil {
					t.Errorf("validated = %+v", res.ValidatedAddresses)
				}
				if len(res.TaxAuthorities) == 0 {
					t.Error("no tax authorities")
				}
			}
			if tt.wantMessage != "" {
				if len(res.Messages) == 0 || res.Messages[0].Summary != tt.wantMessage || res.Messages[0].Severity != "Error" {
					t.Errorf("messages = %+v", res.Messages)
				}
			}
		})
	}
	if c := e.sb.Calls()["resolve"]; c != len(tests) {
		t.Errorf("Calls()[resolve] = %d", c)
	}
}
