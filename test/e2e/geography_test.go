package e2e

import (
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/internal/avatax"
	"github.com/taxbridge/taxbridge/internal/avataxsim"
	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/lifecycle"
	"github.com/taxbridge/taxbridge/internal/scenario"
	"github.com/taxbridge/taxbridge/internal/workertest"
)

// destination is where an order of TestEveryStateAndProvinceIsTaxed ships,
// with the rows AvaTax reports there.
type destination struct {
	region, city, zip, country string
	// stateRate is the rate of the state row (for Canada, the provincial
	// one); "" when there is none.
	stateRate string
	// federalRate is Canada's GST or HST; "" in the US.
	federalRate string
	taxed       bool
}

// destinations is one real postal code in every US state, DC, and every
// Canadian province and territory.
var destinations = []destination{
	{"AL", "Birmingham", "35203", "US", "0.04", "", true}, {"AK", "Anchorage", "99501", "US", "", "", true},
	{"AZ", "Tucson", "85701", "US", "0.056", "", true}, {"AR", "Little Rock", "72201", "US", "0.065", "", true},
	{"CA", "Los Angeles", "90012", "US", "0.06", "", true}, {"CO", "Colorado Springs", "80903", "US", "0.029", "", true},
	{"CT", "Hartford", "06103", "US", "0.0635", "", true}, {"DE", "Dover", "19901", "US", "", "", false},
	{"DC", "Washington", "20001", "US", "0.06", "", true}, {"FL", "Tampa", "33602", "US", "0.06", "", true},
	{"GA", "Savannah", "31401", "US", "0.04", "", true}, {"HI", "Honolulu", "96813", "US", "0.04", "", true},
	{"ID", "Boise", "83702", "US", "0.06", "", true}, {"IL", "Chicago", "60606", "US", "0.0625", "", true},
	{"IN", "Indianapolis", "46204", "US", "0.07", "", true}, {"IA", "Des Moines", "50309", "US", "0.06", "", true},
	{"KS", "Topeka", "66603", "US", "0.065", "", true}, {"KY", "Louisville", "40202", "US", "0.06", "", true},
	{"LA", "New Orleans", "70112", "US", "0.05", "", true}, {"ME", "Portland", "04101", "US", "0.055", "", true},
	{"MD", "Baltimore", "21202", "US", "0.06", "", true}, {"MA", "Boston", "02116", "US", "0.0625", "", true},
	{"MI", "Detroit", "48226", "US", "0.06", "", true}, {"MN", "Saint Paul", "55102", "US", "0.06875", "", true},
	{"MS", "Jackson", "39201", "US", "0.07", "", true}, {"MO", "St. Louis", "63101", "US", "0.04225", "", true},
	{"MT", "Helena", "59601", "US", "", "", false}, {"NE", "Omaha", "68102", "US", "0.055", "", true},
	{"NV", "Las Vegas", "89101", "US", "0.046", "", true}, {"NH", "Manchester", "03101", "US", "", "", false},
	{"NJ", "Trenton", "08608", "US", "0.06625", "", true}, {"NM", "Santa Fe", "87501", "US", "0.04875", "", true},
	{"NY", "Buffalo", "14202", "US", "0.04", "", true}, {"NC", "Raleigh", "27601", "US", "0.0475", "", true},
	{"ND", "Bismarck", "58501", "US", "0.05", "", true}, {"OH", "Columbus", "43215", "US", "0.0575", "", true},
	{"OK", "Oklahoma City", "73102", "US", "0.045", "", true}, {"OR", "Portland", "97204", "US", "", "", false},
	{"PA", "Harrisburg", "17101", "US", "0.06", "", true}, {"RI", "Providence", "02903", "US", "0.07", "", true},
	{"SC", "Columbia", "29201", "US", "0.06", "", true}, {"SD", "Pierre", "57501", "US", "0.042", "", true},
	{"TN", "Nashville", "37219", "US", "0.07", "", true}, {"TX", "Dallas", "75201", "US", "0.0625", "", true},
	{"UT", "Salt Lake City", "84101", "US", "0.0485", "", true}, {"VT", "Montpelier", "05602", "US", "0.06", "", true},
	{"VA", "Richmond", "23219", "US", "0.043", "", true}, {"WA", "Seattle", "98104", "US", "0.065", "", true},
	{"WV", "Charleston", "25301", "US", "0.06", "", true}, {"WI", "Madison", "53703", "US", "0.05", "", true},
	{"WY", "Cheyenne", "82001", "US", "0.04", "", true}, {"PR", "San Juan", "00901", "US", "0.105", "", true},

	{"AB", "Calgary", "T2P 1J9", "CA", "", "0.05", true}, {"BC", "Vancouver", "V6B 1A1", "CA", "0.07", "0.05", true},
	{"MB", "Winnipeg", "R3C 0V8", "CA", "0.07", "0.05", true}, {"NB", "Fredericton", "E3B 1A1", "CA", "", "0.15", true},
	{"NL", "St. John's", "A1C 5M2", "CA", "", "0.15", true}, {"NS", "Halifax", "B3J 1A1", "CA", "", "0.14", true},
	{"NT", "Yellowknife", "X1A 2L9", "CA", "", "0.05", true}, {"NU", "Iqaluit", "X0A 0H0", "CA", "", "0.05", true},
	{"ON", "Toronto", "M5V 3L9", "CA", "", "0.13", true}, {"PE", "Charlottetown", "C1A 4P3", "CA", "", "0.15", true},
	{"QC", "Montreal", "H2Y 1C6", "CA", "0.09975", "0.05", true}, {"SK", "Regina", "S4P 3Y2", "CA", "0.06", "0.05", true},
	{"YT", "Whitehorse", "Y1A 2C6", "CA", "", "0.05", true},
}

// TestEveryStateAndProvinceIsTaxed sends a home delivery order to every
// destination at once and checks, from outside, the document AvaTax holds
// for each: tax where tax is due (none in the states without sales tax),
// and the state or province row at its rate.
func TestEveryStateAndProvinceIsTaxed(t *testing.T) {
	if n := len(destinations); n != 51+1+13 {
		t.Fatalf("%d destinations, want the 50 states, DC, Puerto Rico and 13 provinces and territories", n)
	}
	h := start(t)
	// The order is paid: the worker validates the address and creates the
	// uncommitted document. Every order is published before any is awaited.
	actions := map[string]string{} // order id → its refresh event's id
	for _, d := range destinations {
		f := scenario.HomeDelivery(orderOf(d))
		for _, e := range f.Events[:2] {
			e = withOrder(t, e, func(o *events.Order) {
				o.Delivery.Destination.Address = &events.Address{Lines: []string{"100 Main St"}, City: d.city, ZipCode: d.zip, Region: d.region, Country: d.country}
			})
			h.Publish(e)
			if e.Type.IsAction() {
				actions[f.OrderID] = e.ID
			}
		}
	}
	// The worker runs events concurrently, so a state change may come after
	// its order's refresh and change nothing: only the refresh is awaited.
	for orderID, id := range actions {
		h.WaitApplied(orderID, id)
	}
	for _, d := range destinations {
		// The harness fails the test it was started with: read everything
		// here, check it in the subtest.
		orderID := orderOf(d)
		rec, res := h.Record(orderID), h.Results(orderID)
		if rec.State != lifecycle.Uncommitted {
			t.Errorf("%s: order state %s, want uncommitted; tax errors %+v", orderID, rec.State, h.TaxErrors(orderID))
			continue
		}
		doc := getDocument(t, h, orderID, avatax.SalesInvoice)
		t.Run(d.country+"-"+d.region, func(t *testing.T) {
			checkDestination(t, d, doc)
			if len(res) == 0 || !res[len(res)-1].Document.TotalTax.Equal(doc.TotalTax) {
				t.Errorf("results %+v, want the last with the document's tax %s", res, doc.TotalTax)
			}
		})
	}
}

func orderOf(d destination) string { return "GEO-" + d.country + "-" + d.region }

// getDocument fetches a document from the sandbox over HTTP, with its
// summary and details, as any AvaTax client would.
func getDocument(t *testing.T, h *workertest.Harness, code, docType string) *avatax.TransactionModel {
	t.Helper()
	u := h.SandboxURL + "/api/v2/companies/" + url.PathEscape(h.Company) + "/transactions/" + url.PathEscape(code) +
		"?documentType=" + docType + "&%24include=Summary,Details"
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(avataxsim.DefaultAccountID, avataxsim.DefaultLicenseKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v %s", u, resp.StatusCode, err, body)
	}
	var doc avatax.TransactionModel
	if err := decode(body, &doc); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return &doc
}

// checkDestination checks a document's tax and its state (or province) and
// federal rows against a destination.
func checkDestination(t *testing.T, d destination, doc *avatax.TransactionModel) {
	t.Helper()
	if d.taxed != doc.TotalTax.IsPositive() || (!d.taxed && !doc.TotalTax.IsZero()) {
		t.Errorf("total tax %s, want taxed %v", doc.TotalTax, d.taxed)
	}
	rows := map[string][]avatax.TransactionSummary{}
	for _, s := range doc.Summary {
		rows[s.JurisType] = append(rows[s.JurisType], s)
	}
	want := func(jurisType, region, rate string) {
		t.Helper()
		got := rows[jurisType]
		if rate == "" {
			if len(got) != 0 {
				t.Errorf("%s rows %+v, want none", jurisType, got)
			}
			return
		}
		if len(got) != 1 || got[0].Region != region || !got[0].Rate.Equal(decimal.RequireFromString(rate)) {
			t.Fatalf("%s rows %+v, want one of %s at %s", jurisType, got, region, rate)
		}
		// Each line's share, rounded, then summed, as AvaTax does.
		var tax decimal.Decimal
		for _, l := range doc.Lines {
			tax = tax.Add(taxOf(l.LineAmount.String(), []string{rate}))
		}
		if !got[0].Tax.Equal(tax) {
			t.Errorf("%s row tax %s, want %s", jurisType, got[0].Tax, tax)
		}
	}
	want("State", d.region, d.stateRate)
	if d.country == "CA" {
		want("Country", "CA", d.federalRate)
	}
	var sum decimal.Decimal
	for _, s := range doc.Summary {
		sum = sum.Add(s.Tax)
	}
	if !sum.Equal(doc.TotalTax) {
		t.Errorf("summary rows sum to %s, the document's tax is %s", sum, doc.TotalTax)
	}
	if doc.Region != d.region || doc.Country != d.country {
		t.Errorf("document in %s %s, want %s %s", doc.Country, doc.Region, d.country, d.region)
	}
}
