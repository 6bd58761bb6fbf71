package avataxsim

import (
	"encoding/json"
	"net/url"
	"testing"

	"github.com/taxbridge/taxbridge/internal/avatax"
)

func TestTaxCodes(t *testing.T) {
	e := newEnv(t)
	r := e.call("GET", "/api/v2/definitions/taxcodes?$filter="+url.QueryEscape("(taxCode contains 'clothing' OR description contains 'clothing') AND isActive eq true")+"&$orderBy=taxCode%20ASC&$top=2", nil)
	var fr avatax.FetchResult[map[string]any]
	mustJSON(t, r.body, &fr)
	if fr.RecordsetCount != 4 || len(fr.Value) != 2 || fr.Value[0]["taxCode"] != "PC040000" || fr.NextLink == "" {
		b, _ := json.Marshal(fr)
		t.Errorf("taxcodes: %s", b)
	}
}
