package avataxsim

import (
	"testing"

	"github.com/taxbridge/taxbridge/internal/avatax"
)

func TestTaxRates(t *testing.T) {
	e := newEnv(t)
	r := e.call("GET", "/api/v2/taxrates/bypostalcode?country=US&postalCode=60601", nil)
	var tr avatax.TaxRateModel
	mustJSON(t, r.body, &tr)
	if r.status != 200 || !tr.TotalRate.Equal(dec("0.1025")) || len(tr.Rates) != 4 || tr.Rates[0].Type != "State" {
		t.Errorf("bypostalcode: %d %s", r.status, r.body)
	}
	r = e.call("GET", "/api/v2/taxrates/byaddress?line1=1%20Main&city=Seattle&region=WA&postalCode=98101&country=US", nil)
	mustJSON(t, r.body, &tr)
	if r.status != 200 || !tr.TotalRate.Equal(dec("0.1025")) {
		t.Errorf("byaddress: %d %s", r.status, r.body)
	}
	if r := e.call("GET", "/api/v2/taxrates/bypostalcode?country=US", nil); r.status != 400 {
		t.Errorf("missing postal code: %d", r.status)
	}
}
