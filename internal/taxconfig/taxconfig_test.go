package taxconfig

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"go.yaml.in/yaml/v3"
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
		// encoding/json took COUNTRY, unknown to the schema, as the country.
		{"name in another case", `"country": "US"}`, `"country": "US", "COUNTRY": "X"}`, "/stock_locations/STORE-SEATTLE/address/COUNTRY: "},
		{"unknown address member", `"country": "US"}`, `"country": "US", "county": "King"}`, "/stock_locations/STORE-SEATTLE/address/county: "},
		{"name given twice", `"company_code": "DEFAULT",`, `"company_code": "DEFAULT", "company_code": "OTHER",`, "/provider/company_code: "},
		{"number out of range", `"removed_line_item_states": [`, `"removed_line_item_states": [1e1000001, `, "/global/removed_line_item_states/0: number out of range"},
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

// oslo is a YAML configuration written by hand: comments, flow and block
// style, a Norwegian stock location (country NO, which YAML 1.1 reads as
// false) and a delivery option named 1 (a number key in YAML).
const oslo = `# taxbridge tax configuration
global:
  removed_line_item_states: [removed, cancelled]
  commitable_parcel_states:
    - dispatched
  estimation_stock_location: WH-OSLO
  taxes_included_in_price: true
sales_channels:
  web: {tax_provider: avalara}
provider:
  company_code: DEFAULT
  shipping_fees:
    1: {tax_code: FR020100, item_code: SHIPPING}
stock_locations:
  WH-OSLO:
    location_code: OSL
    address: {lines: [Karl Johans gate 1], city: Oslo, zip_code: "0154", country: NO}
`

func TestYAMLIsReadLikeJSON(t *testing.T) {
	// The example written as YAML loads as the same configuration.
	var doc any
	if err := json.Unmarshal(Example, &doc); err != nil {
		t.Fatal(err)
	}
	asYAML, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Parse(Example)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(asYAML)
	if err != nil {
		t.Fatalf("example as YAML: %v\n%s", err, asYAML)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("example as YAML loads as\n%+v\nwant\n%+v", got, want)
	}

	c, err := Parse([]byte(oslo))
	if err != nil {
		t.Fatal(err)
	}
	if a := c.StockLocations["WH-OSLO"].Address; a.Country != "NO" || a.ZipCode != "0154" {
		t.Errorf("Oslo address %+v, want country NO and zip code 0154", a)
	}
	if f := c.Provider.ShippingFees["1"]; f.TaxCode != "FR020100" || !c.Global.TaxesIncludedInPrice {
		t.Errorf("shipping fee of option 1 %+v, taxes included %v", f, c.Global.TaxesIncludedInPrice)
	}
}

func TestYAMLErrorsNameTheField(t *testing.T) {
	tests := []struct {
		name, from, to, want string
	}{
		{"no is not false", "taxes_included_in_price: true", "taxes_included_in_price: no", "/global/taxes_included_in_price: got string, want boolean"},
		{"zip code as a number", `zip_code: "0154"`, "zip_code: 154", "/stock_locations/WH-OSLO/address/zip_code: got number, want string"},
		{"unknown setting", "company_code: DEFAULT", "company_code: DEFAULT\n  disable_tax_recordings: true", "/provider: additional properties 'disable_tax_recordings' not allowed"},
		{"syntax", "commitable_parcel_states:\n    - dispatched", "commitable_parcel_states: [dispatched", "read as YAML: yaml: line"},
		{"infinity", "location_code: OSL", "location_code: .inf", "/stock_locations/WH-OSLO/location_code: +Inf is not a number JSON can hold"},
		{"not a number", "company_code: DEFAULT", "company_code: .nan", "/provider/company_code: NaN is not a number JSON can hold"},
		{"keys alike", "    1: {tax_code: FR020100, item_code: SHIPPING}", "    1: {tax_code: FR020100}\n    1.0: {tax_code: FR020100}", `/provider/shipping_fees/1: two YAML keys both read as "1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := strings.Replace(oslo, tt.from, tt.to, 1)
			if raw == oslo {
				t.Fatalf("test edit %q did not apply", tt.from)
			}
			_, err := Parse([]byte(raw))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestLoadYAMLFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tax.yaml")
	if err := os.WriteFile(path, []byte(oslo), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil || c.Global.EstimationStockLocation != "WH-OSLO" {
		t.Fatalf("Load(%s) = %+v, %v", path, c, err)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(oslo, "company_code: DEFAULT", "company_code: ''", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "/provider/company_code") {
		t.Fatalf("Load of an empty company code: %v, want the file and the field named", err)
	}
}

func TestKnowsChannel(t *testing.T) {
	c, err := Parse(Example)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		channel string
		want    bool
	}{{"web", true}, {"ois", true}, {"wbe", false}, {"", false}} {
		if got := c.KnowsChannel(tt.channel); got != tt.want {
			t.Errorf("KnowsChannel(%q) = %v, want %v", tt.channel, got, tt.want)
		}
	}
	c.SalesChannels = nil
	if !c.KnowsChannel("anything") {
		t.Error("with no sales_channels listed, every channel takes the global settings")
	}
}

func TestOrderAdministrationSection(t *testing.T) {
	doc := `{"global": {"removed_line_item_states": [], "commitable_parcel_states": ["dispatched"]},
	  "sales_channels": {}, "provider": {"company_code": "DEFAULT"}, "stock_locations": {},
	  "order_administration": {
	    "companies": {"7": {"avatax_company": "ACME", "send_quote_not_invoice": true,
	      "fallback_to_standard_rates": true, "standard_rates": {"US-WA": 0.101, "US": "0.07"}}},
	    "serve_unlisted_companies": false,
	    "charge_tax_codes": {"handling": "OH010000"},
	    "default_tax_code": "P0000000",
	    "cross_reference": [{"item_class": "APP", "division": "1", "tax_code": "PC040100"}]}}`
	c, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	oa := c.OrderAdministration
	if oa == nil || oa.Companies["7"].AvaTaxCompany != "ACME" || !oa.Companies["7"].SendQuoteNotInvoice ||
		!oa.Companies["7"].StandardRates["US-WA"].Equal(decimal.RequireFromString("0.101")) ||
		oa.ServeUnlistedCompanies == nil || *oa.ServeUnlistedCompanies || oa.ChargeTaxCodes["handling"] != "OH010000" ||
		len(oa.CrossReference) != 1 || oa.CrossReference[0].TaxCode != "PC040100" {
		t.Fatalf("order_administration read as %+v", oa)
	}
	for _, tt := range []struct{ edit, field string }{
		{`"companies": {"seven": {}}`, "'seven' does not match"},
		{`"charge_tax_codes": {"freigth": "FR"}`, "/order_administration/charge_tax_codes"},
		{`"cross_reference": [{"item_class": "APP"}]`, "/order_administration/cross_reference/0"},
	} {
		bad := `{"global": {"removed_line_item_states": [], "commitable_parcel_states": ["dispatched"]},
		  "sales_channels": {}, "provider": {"company_code": "DEFAULT"}, "stock_locations": {},
		  "order_administration": {` + tt.edit + `}}`
		if _, err := Parse([]byte(bad)); err == nil || !strings.Contains(err.Error(), tt.field) {
			t.Errorf("%s: err %v, want it to name %s", tt.edit, err, tt.field)
		}
	}
}
