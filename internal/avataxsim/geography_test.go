package avataxsim

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/internal/avatax"
)

// sale builds a create request for one $100 line shipped from Seattle to an
// address.
func sale(code string, to map[string]any) map[string]any {
	return map[string]any{
		"type": "SalesOrder", "code": code, "companyCode": "DEFAULT", "date": "2026-03-02", "customerCode": "CUST1",
		"addresses": map[string]any{
			"shipFrom": map[string]any{"line1": "1 Main St", "city": "Seattle", "region": "WA", "country": "US", "postalCode": "98101"},
			"shipTo":   to,
		},
		"lines": []map[string]any{{"number": "1", "amount": "100", "quantity": 1, "taxCode": "P0000000"}},
	}
}

func usAddr(city, region, zip string) map[string]any {
	return map[string]any{"line1": "100 Main St", "city": city, "region": region, "postalCode": zip, "country": "US"}
}

// summaryRows returns the document's summary rows of a jurisdiction type.
func summaryRows(tm avatax.TransactionModel, jurisType string) []avatax.TransactionSummary {
	var out []avatax.TransactionSummary
	for _, s := range tm.Summary {
		if s.JurisType == jurisType {
			out = append(out, s)
		}
	}
	return out
}

// resolveGet resolves an address with the GET form of addresses/resolve.
func (e *env) resolveGet(a map[string]any) avatax.AddressResolutionModel {
	e.t.Helper()
	q := url.Values{}
	for k, v := range a {
		q.Set(k, v.(string))
	}
	r := e.call("GET", "/api/v2/addresses/resolve?"+q.Encode(), nil)
	if r.status != 200 {
		e.t.Fatalf("resolve %v: %d %s", a, r.status, r.body)
	}
	var res avatax.AddressResolutionModel
	mustJSON(e.t, r.body, &res)
	return res
}

func (e *env) resolvePost(a map[string]any) avatax.AddressResolutionModel {
	e.t.Helper()
	r := e.call("POST", "/api/v2/addresses/resolve", a)
	if r.status != 200 {
		e.t.Fatalf("resolve %v: %d %s", a, r.status, r.body)
	}
	var res avatax.AddressResolutionModel
	mustJSON(e.t, r.body, &res)
	return res
}

// wantResolved checks that an address resolved to a region without an error.
func wantResolved(t *testing.T, res avatax.AddressResolutionModel, region, postal string) {
	t.Helper()
	if res.ResolutionQuality != "Intersection" || len(res.Messages) != 0 || res.Coordinates == nil {
		t.Fatalf("quality %s, messages %+v, coordinates %v: want a resolved address", res.ResolutionQuality, res.Messages, res.Coordinates)
	}
	if len(res.ValidatedAddresses) != 1 {
		t.Fatalf("validated addresses %+v", res.ValidatedAddresses)
	}
	v := res.ValidatedAddresses[0]
	if v.Region != region || v.PostalCode != postal || v.Latitude == nil || v.Longitude == nil {
		t.Errorf("validated %+v, want region %s postal code %s with coordinates", v, region, postal)
	}
}

func TestCityZIPCodesResolveAndAreTaxed(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		city, region, zip string
		stateRate         string
		totalTax          string // on $100: state plus the state's average local rate
	}{
		{"Seattle", "WA", "98104", "0.065", "9.43"},
		{"Chicago", "IL", "60606", "0.0625", "8.86"},
		{"San Francisco", "CA", "94105", "0.06", "8.85"},
	}
	for _, tt := range tests {
		t.Run(tt.city, func(t *testing.T) {
			a := usAddr(tt.city, tt.region, tt.zip)
			for _, res := range []avatax.AddressResolutionModel{e.resolveGet(a), e.resolvePost(a)} {
				wantResolved(t, res, tt.region, tt.zip)
				if v := res.ValidatedAddresses[0]; v.City != strings.ToUpper(tt.city) || v.Line1 != "100 MAIN ST" {
					t.Errorf("validated %+v", v)
				}
				if len(res.TaxAuthorities) != 2 || res.TaxAuthorities[0].JurisdictionType != "State" {
					t.Errorf("tax authorities %+v, want the state and the local area", res.TaxAuthorities)
				}
			}
			r := e.call("POST", "/api/v2/transactions/create", sale("CITY-"+tt.zip, a))
			if r.status != 201 {
				t.Fatalf("create: %d %s", r.status, r.body)
			}
			tm := r.tx(t)
			wantDec(t, "total tax", tm.TotalTax, tt.totalTax)
			sta := summaryRows(tm, "State")
			if len(sta) != 1 || sta[0].Region != tt.region || !sta[0].Rate.Equal(dec(tt.stateRate)) || sta[0].JurisCode != usRegions[tt.region].FIPS {
				t.Errorf("state rows %+v, want %s at %s", sta, tt.region, tt.stateRate)
			}
			if len(tm.Summary) != 2 || tm.Lines[0].Details[1].JurisName != "ZIP "+tt.zip[:3]+" AREA" {
				t.Errorf("summary %+v, want the state row and one local row named for the ZIP's area", tm.Summary)
			}
		})
	}
}

// stateCases is one real ZIP code per state and DC, with the rate of the
// state row AvaTax reports there ("" for none) and whether tax is due.
var stateCases = []struct {
	region, city, zip, stateRate string
	taxed                        bool
}{
	{"AL", "Birmingham", "35203", "0.04", true}, {"AK", "Anchorage", "99501", "", true},
	{"AZ", "Tucson", "85701", "0.056", true}, {"AR", "Little Rock", "72201", "0.065", true},
	{"CA", "Los Angeles", "90012", "0.06", true}, {"CO", "Colorado Springs", "80903", "0.029", true},
	{"CT", "Hartford", "06103", "0.0635", true}, {"DE", "Dover", "19901", "", false},
	{"DC", "Washington", "20001", "0.06", true}, {"FL", "Tampa", "33602", "0.06", true},
	{"GA", "Savannah", "31401", "0.04", true}, {"HI", "Honolulu", "96813", "0.04", true},
	{"ID", "Boise", "83702", "0.06", true}, {"IL", "Springfield", "62701", "0.0625", true},
	{"IN", "Indianapolis", "46204", "0.07", true}, {"IA", "Des Moines", "50309", "0.06", true},
	{"KS", "Topeka", "66603", "0.065", true}, {"KY", "Louisville", "40202", "0.06", true},
	{"LA", "New Orleans", "70112", "0.05", true}, {"ME", "Portland", "04101", "0.055", true},
	{"MD", "Baltimore", "21202", "0.06", true}, {"MA", "Worcester", "01608", "0.0625", true},
	{"MI", "Detroit", "48226", "0.06", true}, {"MN", "Saint Paul", "55102", "0.06875", true},
	{"MS", "Jackson", "39201", "0.07", true}, {"MO", "St. Louis", "63101", "0.04225", true},
	{"MT", "Helena", "59601", "", false}, {"NE", "Omaha", "68102", "0.055", true},
	{"NV", "Las Vegas", "89101", "0.046", true}, {"NH", "Manchester", "03101", "", false},
	{"NJ", "Trenton", "08608", "0.06625", true}, {"NM", "Santa Fe", "87501", "0.04875", true},
	{"NY", "Buffalo", "14202", "0.04", true}, {"NC", "Raleigh", "27601", "0.0475", true},
	{"ND", "Bismarck", "58501", "0.05", true}, {"OH", "Columbus", "43215", "0.0575", true},
	{"OK", "Oklahoma City", "73102", "0.045", true}, {"OR", "Salem", "97301", "", false},
	{"PA", "Harrisburg", "17101", "0.06", true}, {"RI", "Providence", "02903", "0.07", true},
	{"SC", "Columbia", "29201", "0.06", true}, {"SD", "Pierre", "57501", "0.042", true},
	{"TN", "Nashville", "37219", "0.07", true}, {"TX", "Dallas", "75201", "0.0625", true},
	{"UT", "Provo", "84601", "0.0485", true}, {"VT", "Montpelier", "05602", "0.06", true},
	{"VA", "Richmond", "23219", "0.043", true}, {"WA", "Spokane", "99201", "0.065", true},
	{"WV", "Charleston", "25301", "0.06", true}, {"WI", "Madison", "53703", "0.05", true},
	{"WY", "Cheyenne", "82001", "0.04", true},
}

func TestEveryStateIsTaxedWithItsStateRow(t *testing.T) {
	e := newEnv(t)
	covered := map[string]bool{}
	for _, tt := range stateCases {
		covered[tt.region] = true
		t.Run(tt.region, func(t *testing.T) {
			a := usAddr(tt.city, tt.region, tt.zip)
			wantResolved(t, e.resolvePost(a), tt.region, tt.zip)
			r := e.call("POST", "/api/v2/transactions/create", sale("ST-"+tt.region, a))
			if r.status != 201 {
				t.Fatalf("create: %d %s", r.status, r.body)
			}
			tm := r.tx(t)
			if tm.Region != tt.region {
				t.Errorf("document region %s", tm.Region)
			}
			checkStateRows(t, tm, tt.region, tt.stateRate, tt.taxed)
		})
	}
	for code, info := range usRegions {
		if info.FIPS != "" && code != "PR" && code != "VI" && code != "GU" && code != "AS" && code != "MP" && !covered[code] {
			t.Errorf("state %s has no case", code)
		}
	}
}

// checkStateRows checks a document to a US region: the state row at
// stateRate (none when ""), tax or no tax, and every detail in the region.
func checkStateRows(t *testing.T, tm avatax.TransactionModel, region, stateRate string, taxed bool) {
	t.Helper()
	sta := summaryRows(tm, "State")
	switch {
	case stateRate == "" && len(sta) != 0:
		t.Errorf("state rows %+v, want none", sta)
	case stateRate != "" && (len(sta) != 1 || sta[0].Region != region || !sta[0].Rate.Equal(dec(stateRate)) || !sta[0].Tax.Equal(dec(stateRate).Mul(dec("100")).Round(2))):
		t.Errorf("state rows %+v, want one for %s at %s", sta, region, stateRate)
	}
	if taxed != tm.TotalTax.IsPositive() {
		t.Errorf("total tax %s, want taxed %v", tm.TotalTax, taxed)
	}
	if !taxed && (!tm.TotalTax.IsZero() || tm.Lines[0].Details != nil) {
		t.Errorf("tax %s with details %+v, want zero tax and no details", tm.TotalTax, tm.Lines[0].Details)
	}
	sum := decimal.Zero
	for _, d := range tm.Lines[0].Details {
		sum = sum.Add(d.Tax)
		if d.Region != region || d.Country != "US" {
			t.Errorf("detail %s %s in %s %s", d.JurisType, d.JurisName, d.Country, d.Region)
		}
	}
	if !sum.Equal(tm.TotalTax) || tm.TotalTax.GreaterThan(dec("12")) {
		t.Errorf("total tax %s, details %s: want their sum, at most 12%%", tm.TotalTax, sum)
	}
}

func TestRegionsWithoutStateTax(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, region, city, zip, stateRate string
		taxed                              bool
	}{
		{"Oregon", "OR", "Portland", "97204", "", false},
		{"Montana", "MT", "Billings", "59101", "", false},
		{"New Hampshire", "NH", "Nashua", "03060", "", false},
		{"Delaware", "DE", "Wilmington", "19802", "", false},
		{"Alaska has local taxes only", "AK", "Juneau", "99801", "", true},
		{"Puerto Rico has IVU", "PR", "San Juan", "00901", "0.105", true},
		{"US Virgin Islands", "VI", "Charlotte Amalie", "00802", "", false},
		{"Guam", "GU", "Hagatna", "96910", "", false},
		{"American Samoa within Hawaii's prefix", "AS", "Pago Pago", "96799", "", false},
		{"Northern Mariana Islands within Guam's prefix", "MP", "Saipan", "96950", "", false},
		{"APO Europe", "AE", "APO", "09012", "", false},
		{"FPO Americas", "AA", "FPO", "34002", "", false},
		{"APO Pacific", "AP", "APO", "96201", "", false},
		{"the detailed table's Oregon place", "OR", "Portland", "97201", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := usAddr(tt.city, tt.region, tt.zip)
			if p, ok := usPlaces[tt.zip]; ok {
				wantResolved(t, e.resolveGet(a), tt.region, p.Plus4)
			} else {
				wantResolved(t, e.resolveGet(a), tt.region, tt.zip)
			}
			r := e.call("POST", "/api/v2/transactions/create", sale("NT-"+tt.zip, a))
			if r.status != 201 {
				t.Fatalf("create: %d %s", r.status, r.body)
			}
			tm := r.tx(t)
			checkStateRows(t, tm, tt.region, tt.stateRate, tt.taxed)
			if tt.region == "AK" && (len(tm.Summary) != 1 || !tm.Summary[0].Rate.IsPositive() || tm.Summary[0].JurisType == "State") {
				t.Errorf("Alaska summary %+v, want one local row", tm.Summary)
			}
		})
	}
}

func TestDetailedPlacesWinOverGenericRates(t *testing.T) {
	e := newEnv(t)
	tm := e.call("POST", "/api/v2/transactions/create", sale("DETAIL", usAddr("Seattle", "WA", "98101"))).tx(t)
	if len(tm.Summary) != 4 || tm.Summary[2].JurisName != "SEATTLE" {
		t.Errorf("summary %+v, want the detailed Seattle rows", tm.Summary)
	}
	res := e.resolvePost(usAddr("Seattle", "WA", "98101"))
	wantResolved(t, res, "WA", "98101-2503")
	// A generic ZIP code of the same state reports the same state row.
	other := e.call("POST", "/api/v2/transactions/create", sale("GENERIC", usAddr("Tacoma", "WA", "98402"))).tx(t)
	if a, b := tm.Summary[0], other.Summary[0]; a.JurisCode != b.JurisCode || a.JurisName != b.JurisName || !a.Rate.Equal(b.Rate) {
		t.Errorf("state rows differ: %+v and %+v", a, b)
	}
	if sig := rowIndex["WA|STA|53"].Sig; sig != "BHQE" {
		t.Errorf("Washington's signature code %q", sig)
	}
}

func TestContradictingRegionIsCorrectedNotRefused(t *testing.T) {
	e := newEnv(t)
	// AvaTax answers an address whose region contradicts its ZIP code with
	// the ZIP code's region and no message (a recorded exchange resolved
	// New York 10011 given as AL to NY).
	a := usAddr("Seattle", "AL", "98104")
	for _, res := range []avatax.AddressResolutionModel{e.resolveGet(a), e.resolvePost(a)} {
		wantResolved(t, res, "WA", "98104")
		if res.Address.Region != "AL" {
			t.Errorf("the echo of the input has region %q, want AL", res.Address.Region)
		}
	}
	// Calculation refuses the same address, as AvaTax does.
	r := e.call("POST", "/api/v2/transactions/create", sale("MISMATCH", a))
	if r.status != 400 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	if er := r.err(t); er.Details[0].FaultSubCode != "InvalidZipForStateError" {
		t.Errorf("error %+v", er)
	}
	// A spelled-out region naming the ZIP code's state is no contradiction.
	if r := e.call("POST", "/api/v2/transactions/create", sale("SPELLED", usAddr("Seattle", "Washington", "98104"))); r.status != 201 {
		t.Errorf("create with region Washington: %d %s", r.status, r.body)
	}
}

func TestNonexistentZIPCodesAreRefused(t *testing.T) {
	e := newEnv(t)
	for _, zip := range []string{"00012", "00212", "09901", "21301", "26901", "34301", "35301", "41901", "42801", "42901",
		"51701", "52901", "53301", "55201", "62101", "70201", "77101", "81701", "85401", "86601", "88601", "90901", "98701"} {
		t.Run(zip, func(t *testing.T) {
			if region := zipRegion(zip); region != "" {
				t.Fatalf("zipRegion(%s) = %s, want none", zip, region)
			}
			res := e.resolvePost(usAddr("Nowhere", "", zip))
			if res.ResolutionQuality != "External" || len(res.Messages) == 0 || res.Messages[0].Summary != "Address not geocoded." {
				t.Errorf("resolve: %s %+v", res.ResolutionQuality, res.Messages)
			}
			r := e.call("POST", "/api/v2/transactions/create", sale("NX-"+zip, usAddr("Nowhere", "", zip)))
			if r.status != 400 || r.err(t).Details[0].FaultSubCode != "InvalidZipForStateError" {
				t.Errorf("create: %d %s", r.status, r.body)
			}
		})
	}
	// The edges of assigned prefixes exist.
	for zip, region := range map[string]string{"00501": "NY", "99950": "AK", "99901": "AK", "96898": "HI", "96799": "AS",
		"96952": "MP", "96932": "GU", "20599": "DC", "56901": "DC", "73301": "TX", "88510": "TX", "39901": "GA", "05501": "MA"} {
		if got := zipRegion(zip); got != region {
			t.Errorf("zipRegion(%s) = %q, want %s", zip, got, region)
		}
	}
}

func TestEveryCanadianProvinceAndTerritory(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		province, city, postal string
		federal, federalRate   string // GST or HST
		pst                    string // "" when none
	}{
		{"AB", "Calgary", "T2P 1J9", "GST", "0.05", ""},
		{"BC", "Vancouver", "V6B 1A1", "GST", "0.05", "0.07"},
		{"MB", "Winnipeg", "R3C 0V8", "GST", "0.05", "0.07"},
		{"NB", "Fredericton", "E3B 1A1", "HST", "0.15", ""},
		{"NL", "St. John's", "A1C 5M2", "HST", "0.15", ""},
		{"NS", "Halifax", "B3J 1A1", "HST", "0.14", ""},
		{"NT", "Yellowknife", "X1A 2L9", "GST", "0.05", ""},
		{"NU", "Iqaluit", "X0A 0H0", "GST", "0.05", ""},
		{"ON", "Toronto", "M5V 3L9", "HST", "0.13", ""},
		{"PE", "Charlottetown", "C1A 4P3", "HST", "0.15", ""},
		{"QC", "Montreal", "H2Y1C6", "GST", "0.05", "0.09975"},
		{"SK", "Regina", "S4P 3Y2", "GST", "0.05", "0.06"},
		{"YT", "Whitehorse", "Y1A 2C6", "GST", "0.05", ""},
	}
	if len(tests) != len(caProvinces) {
		t.Errorf("%d cases for %d provinces and territories", len(tests), len(caProvinces))
	}
	for _, tt := range tests {
		t.Run(tt.province, func(t *testing.T) {
			a := map[string]any{"line1": "100 Main St", "city": tt.city, "region": tt.province, "postalCode": tt.postal, "country": "CA"}
			res := e.resolvePost(a)
			postal := strings.ToUpper(tt.postal[:3]) + " " + tt.postal[len(tt.postal)-3:]
			wantResolved(t, res, tt.province, postal)
			r := e.call("POST", "/api/v2/transactions/create", sale("CA-"+tt.province, a))
			if r.status != 201 {
				t.Fatalf("create: %d %s", r.status, r.body)
			}
			tm := r.tx(t)
			fed := summaryRows(tm, "Country")
			if len(fed) != 1 || !fed[0].Rate.Equal(dec(tt.federalRate)) || !strings.Contains(fed[0].TaxName, tt.federal) || fed[0].Country != "CA" {
				t.Errorf("federal rows %+v, want %s at %s", fed, tt.federal, tt.federalRate)
			}
			prov := summaryRows(tm, "State")
			switch {
			case tt.pst == "" && len(prov) != 0:
				t.Errorf("provincial rows %+v, want none", prov)
			case tt.pst != "" && (len(prov) != 1 || !prov[0].Rate.Equal(dec(tt.pst)) || prov[0].Region != tt.province):
				t.Errorf("provincial rows %+v, want %s at %s", prov, tt.province, tt.pst)
			}
			want := dec(tt.federalRate).Mul(dec("100"))
			if tt.pst != "" {
				want = want.Add(dec(tt.pst).Mul(dec("100")).Round(2))
			}
			wantDec(t, "total tax", tm.TotalTax, want.String())
		})
	}
}

func TestGeographyTables(t *testing.T) {
	t.Run("the detailed places agree with the generic tables", func(t *testing.T) {
		for zip, p := range usPlaces {
			if got := zipRegion(zip); got != p.Region {
				t.Errorf("%s is in %s, its prefix in %q", zip, p.Region, got)
			}
			for _, r := range p.Rows {
				if r.Type == "STA" && (!r.Rate.Equal(geo.rates[p.Region].State) || r.Code != usRegions[p.Region].FIPS) {
					t.Errorf("%s: state row %s %s, the rate table says %s", zip, r.Code, r.Rate, geo.rates[p.Region].State)
				}
			}
		}
	})
	t.Run("every region has coordinates and a prefix", func(t *testing.T) {
		regions := map[string]bool{}
		for _, r := range append(append([]zipRange{}, geo.prefixes...), geo.exceptions...) {
			regions[r.region] = true
		}
		for code := range usRegions {
			if !regions[code] {
				t.Errorf("region %s has no ZIP code", code)
			}
			if r := geo.rates[code]; r.Lat == "" || r.Lon == "" {
				t.Errorf("region %s has no coordinates", code)
			}
		}
	})
	t.Run("malformed tables are refused with the place of the fault", func(t *testing.T) {
		header := "region,sta_rate,local_rate,local_type,lat,lon\n"
		zipHeader := "first,last,region\n"
		tests := []struct {
			name              string
			rates, zips, want string
		}{
			{"wrong header", "state,rate\n", zipHeader, "header"},
			{"bad rate", header + "WA,six,0,STJ,1,1\n", zipHeader, `row 1 (WA): rate "six"`},
			{"rate out of range", header + "WA,0.65,0,STJ,1,1\n", zipHeader, "out of range"},
			{"unknown region", header + "XX,0.05,0,STJ,1,1\n", zipHeader, "not a region"},
			{"no-tax state with a rate", header + "OR,0.01,0,STJ,1,1\n", zipHeader, "NoSalesTax"},
			{"missing region", header + "WA,0.065,0,STJ,1,1\n", zipHeader, "missing"},
		}
		for _, tt := range tests {
			_, err := loadGeography([]byte(tt.rates), []byte(tt.zips), caProvincesCSV)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "us_rates.csv: ") {
				t.Errorf("%s: error %v, want one naming us_rates.csv and %q", tt.name, err, tt.want)
			}
		}
		for name, zips := range map[string]string{
			"overlap":        zipHeader + "980,985,WA\n985,986,WA\n",
			"unknown region": zipHeader + "980,985,XX\n",
			"bad bounds":     zipHeader + "980,9850,WA\n",
		} {
			if _, err := loadGeography(usRatesCSV, []byte(zips), caProvincesCSV); err == nil || !strings.HasPrefix(err.Error(), "us_zip3.csv: ") {
				t.Errorf("%s: error %v", name, err)
			}
		}
		bad := strings.Replace(string(caProvincesCSV), "ON,ONTARIO,TORONTO,43.653226,-79.383184,HST,0.13,,", "", 1)
		if _, err := loadGeography(usRatesCSV, usZipCSV, []byte(bad)); !errors.Is(err, errMissing) {
			t.Errorf("a missing province: %v", err)
		}
	})
}
