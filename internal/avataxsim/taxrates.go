package avataxsim

import (
	"net/http"
	"strings"

	"github.com/taxbridge/taxbridge/internal/avatax"
)

// taxRatesByPostalCode answers from the jurisdiction table (US only).
func (s *Sandbox) taxRatesByPostalCode(req *request) (int, any, *apiError) {
	country, postal := req.query["country"], req.query["postalcode"]
	if strings.TrimSpace(country) == "" {
		return 0, nil, errValueRequired("country")
	}
	if strings.TrimSpace(postal) == "" {
		return 0, nil, errValueRequired("postalCode")
	}
	return s.taxRates(avatax.AddressLocationInfo{Country: country, PostalCode: postal})
}

// taxRatesByAddress answers from the jurisdiction table (US only); line1,
// region, postal code and country are required.
func (s *Sandbox) taxRatesByAddress(req *request) (int, any, *apiError) {
	q := req.query
	for _, f := range []string{"line1", "region", "postalcode", "country"} {
		if strings.TrimSpace(q[f]) == "" {
			name := f
			if f == "postalcode" {
				name = "postalCode"
			}
			return 0, nil, errValueRequired(name)
		}
	}
	return s.taxRates(avatax.AddressLocationInfo{Line1: q["line1"], City: q["city"], Region: q["region"], PostalCode: q["postalcode"], Country: q["country"]})
}

// taxRates sums the rates of an address's jurisdictions by type.
func (s *Sandbox) taxRates(a avatax.AddressLocationInfo) (int, any, *apiError) {
	if canonicalCountry(a.Country) != "US" {
		return 0, nil, newError(http.StatusBadRequest, "InvalidCountry", "This API only supports the United States.",
			"Tax rates by postal code are available for US addresses only.", "IncorrectData")
	}
	p, apiErr := lookupPlace(&a, 0, "ShipTo")
	if apiErr != nil {
		return 0, nil, apiErr
	}
	out := avatax.TaxRateModel{Rates: []avatax.RateModel{}}
	byType := map[string]int{}
	for _, r := range p.Rows {
		jt := r.jurisdictionType()
		i, ok := byType[jt]
		if !ok {
			i = len(out.Rates)
			byType[jt] = i
			out.Rates = append(out.Rates, avatax.RateModel{Name: r.TaxName, Type: jt})
		}
		out.Rates[i].Rate = out.Rates[i].Rate.Add(r.Rate)
		out.TotalRate = out.TotalRate.Add(r.Rate)
	}
	return http.StatusOK, out, nil
}
