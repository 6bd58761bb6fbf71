package taxconfig

import (
	"strings"
	"testing"
)

func TestExampleLoads(t *testing.T) {
	c, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if !c.Channel("ois").OrderInStore || c.Channel("web").OrderInStore {
		t.Fatalf("channels: %+v", c.SalesChannels)
	}
	if got := c.Channel("ois").EstimationStockLocation; got != "STORE-SEATTLE" {
		t.Fatalf("ois estimation location = %q, want the channel override", got)
	}
	if got := c.Channel("unknown").EstimationStockLocation; got != "WH-IRVINE" {
		t.Fatalf("unknown channel estimation location = %q, want the global one", got)
	}
}

func TestParseNamesTheBadField(t *testing.T) {
	tests := []struct {
		name, from, to, want string
	}{
		{"missing company", `"company_code": "DEFAULT",`, ``, "/provider: missing property 'company_code'"},
		{"unknown setting", `"disable_tax_recording": false,`, `"disable_tax_recordings": false,`, "/provider: additional properties 'disable_tax_recordings' not allowed"},
		{"wrong type", `"taxes_included_in_price": false`, `"taxes_included_in_price": "no"`, "/global/taxes_included_in_price: got string, want boolean"},
		{"undefined location", `"estimation_stock_location": "WH-IRVINE"`, `"estimation_stock_location": "WH-NOWHERE"`, `/global/estimation_stock_location: stock location "WH-NOWHERE" is not defined`},
		{"no commitable states", `"commitable_parcel_states": ["dispatched", "delivered"]`, `"commitable_parcel_states": []`, "/global/commitable_parcel_states: minItems"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := strings.Replace(string(Example), tt.from, tt.to, 1)
			if raw == string(Example) {
				t.Fatalf("test edit %q did not apply", tt.from)
			}
			_, err := Parse([]byte(raw))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
