package avataxsim

import (
	"math"
	"regexp"
	"strings"

	"github.com/shopspring/decimal"
)

// The sandbox's jurisdiction table. It is data, not logic: a US place is
// looked up by its 5-digit postal code (ZIP+4 accepted) and carries the
// detail rows AvaTax would report for it (STA state, CTY county, CIT city,
// STJ special district); a ZIP code the detailed table lacks gets its
// region's generic rows (geography.go). A Canadian place is looked up by the
// first letter of its postal code (the province) and carries GST/HST (CNT)
// and PST/QST (STA) rows. Rates are real-world-plausible, not authoritative.

// jurisRow is one taxing jurisdiction of a place.
type jurisRow struct {
	Type    string          // JurisTypeId: STA, CTY, CIT, STJ, CNT
	Code    string          // jurisCode
	Name    string          // jurisName
	Rate    decimal.Decimal // fraction, e.g. 0.065
	TaxName string          // e.g. "WA STATE TAX"
	Sig     string          // signatureCode
	TaxType string          // "Sales" (US) or "Output" (Canada)
	Region  string          // region the row belongs to
	Country string
	// RateType is the AvaTax rate type name ("General" when empty) and
	// RateTypeCode its one-letter code ("G").
	RateType     string
	RateTypeCode string
}

func (j jurisRow) rateType() (string, string) {
	if j.RateType == "" {
		return "General", "G"
	}
	return j.RateType, j.RateTypeCode
}

// jurisdictionType maps a JurisTypeId to its JurisdictionType name.
func (j jurisRow) jurisdictionType() string {
	switch j.Type {
	case "STA":
		return "State"
	case "CTY":
		return "County"
	case "CIT":
		return "City"
	case "STJ":
		return "Special"
	case "CNT":
		return "Country"
	}
	return "Special"
}

// place is a postal code's location and jurisdictions.
type place struct {
	Postal  string // 5-digit ZIP, or the Canadian FSA letter
	City    string
	County  string
	Region  string
	Country string
	Plus4   string // ZIP+4 used by address resolution
	Lat     string
	Lon     string
	Rows    []jurisRow
}

// regionInfo describes a US state or Canadian province.
type regionInfo struct {
	Code    string
	Name    string
	FIPS    string
	Country string
	// Origin marks origin-based states: an intrastate sale is taxed at the
	// seller's (shipFrom) local rates.
	Origin bool
	// NoSalesTax marks regions without a general sales tax, state or local:
	// their places have no rows and documents there carry zero tax.
	NoSalesTax bool
	// ClothingExemptUpTo, when set, exempts clothing (tax code PC040000 and
	// its children) up to this amount per item; zero means fully exempt.
	ClothingExempt     bool
	ClothingExemptUpTo decimal.Decimal
}

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func usRow(typ, region, code, name, rate, sig string) jurisRow {
	return usRowRate(typ, region, code, name, d(rate), sig)
}

func usRowRate(typ, region, code, name string, rate decimal.Decimal, sig string) jurisRow {
	suffix := map[string]string{"STA": "STATE TAX", "CTY": "COUNTY TAX", "CIT": "CITY TAX", "STJ": "SPECIAL TAX"}[typ]
	return jurisRow{Type: typ, Code: code, Name: name, Rate: rate, TaxName: region + " " + suffix,
		Sig: sig, TaxType: "Sales", Region: region, Country: "US"}
}

// usRegions lists the US states, territories and military mail regions the
// sandbox knows by code. Their generic rates are in data/us_rates.csv; the
// places below add detail for some ZIP codes.
var usRegions = map[string]regionInfo{
	"AL": {Code: "AL", Name: "ALABAMA", FIPS: "01"},
	"AK": {Code: "AK", Name: "ALASKA", FIPS: "02"}, // no state tax, local taxes only
	"AZ": {Code: "AZ", Name: "ARIZONA", FIPS: "04", Origin: true},
	"AR": {Code: "AR", Name: "ARKANSAS", FIPS: "05"},
	"CA": {Code: "CA", Name: "CALIFORNIA", FIPS: "06"},
	"CO": {Code: "CO", Name: "COLORADO", FIPS: "08"},
	"CT": {Code: "CT", Name: "CONNECTICUT", FIPS: "09"},
	"DE": {Code: "DE", Name: "DELAWARE", FIPS: "10", NoSalesTax: true},
	"DC": {Code: "DC", Name: "DISTRICT OF COLUMBIA", FIPS: "11"},
	"FL": {Code: "FL", Name: "FLORIDA", FIPS: "12"},
	"GA": {Code: "GA", Name: "GEORGIA", FIPS: "13"},
	"HI": {Code: "HI", Name: "HAWAII", FIPS: "15"},
	"ID": {Code: "ID", Name: "IDAHO", FIPS: "16"},
	"IL": {Code: "IL", Name: "ILLINOIS", FIPS: "17", Origin: true},
	"IN": {Code: "IN", Name: "INDIANA", FIPS: "18"},
	"IA": {Code: "IA", Name: "IOWA", FIPS: "19"},
	"KS": {Code: "KS", Name: "KANSAS", FIPS: "20"},
	"KY": {Code: "KY", Name: "KENTUCKY", FIPS: "21"},
	"LA": {Code: "LA", Name: "LOUISIANA", FIPS: "22"},
	"ME": {Code: "ME", Name: "MAINE", FIPS: "23"},
	"MD": {Code: "MD", Name: "MARYLAND", FIPS: "24"},
	"MA": {Code: "MA", Name: "MASSACHUSETTS", FIPS: "25", ClothingExempt: true, ClothingExemptUpTo: d("175")},
	"MI": {Code: "MI", Name: "MICHIGAN", FIPS: "26"},
	"MN": {Code: "MN", Name: "MINNESOTA", FIPS: "27", ClothingExempt: true},
	"MS": {Code: "MS", Name: "MISSISSIPPI", FIPS: "28", Origin: true},
	"MO": {Code: "MO", Name: "MISSOURI", FIPS: "29", Origin: true},
	"MT": {Code: "MT", Name: "MONTANA", FIPS: "30", NoSalesTax: true},
	"NE": {Code: "NE", Name: "NEBRASKA", FIPS: "31"},
	"NV": {Code: "NV", Name: "NEVADA", FIPS: "32"},
	"NH": {Code: "NH", Name: "NEW HAMPSHIRE", FIPS: "33", NoSalesTax: true},
	"NJ": {Code: "NJ", Name: "NEW JERSEY", FIPS: "34", ClothingExempt: true},
	"NM": {Code: "NM", Name: "NEW MEXICO", FIPS: "35", Origin: true},
	"NY": {Code: "NY", Name: "NEW YORK", FIPS: "36", ClothingExempt: true, ClothingExemptUpTo: d("110")},
	"NC": {Code: "NC", Name: "NORTH CAROLINA", FIPS: "37"},
	"ND": {Code: "ND", Name: "NORTH DAKOTA", FIPS: "38"},
	"OH": {Code: "OH", Name: "OHIO", FIPS: "39", Origin: true},
	"OK": {Code: "OK", Name: "OKLAHOMA", FIPS: "40"},
	"OR": {Code: "OR", Name: "OREGON", FIPS: "41", NoSalesTax: true},
	"PA": {Code: "PA", Name: "PENNSYLVANIA", FIPS: "42", Origin: true, ClothingExempt: true},
	"RI": {Code: "RI", Name: "RHODE ISLAND", FIPS: "44", ClothingExempt: true, ClothingExemptUpTo: d("250")},
	"SC": {Code: "SC", Name: "SOUTH CAROLINA", FIPS: "45"},
	"SD": {Code: "SD", Name: "SOUTH DAKOTA", FIPS: "46"},
	"TN": {Code: "TN", Name: "TENNESSEE", FIPS: "47", Origin: true},
	"TX": {Code: "TX", Name: "TEXAS", FIPS: "48", Origin: true},
	"UT": {Code: "UT", Name: "UTAH", FIPS: "49", Origin: true},
	"VT": {Code: "VT", Name: "VERMONT", FIPS: "50", ClothingExempt: true},
	"VA": {Code: "VA", Name: "VIRGINIA", FIPS: "51", Origin: true},
	"WA": {Code: "WA", Name: "WASHINGTON", FIPS: "53"},
	"WV": {Code: "WV", Name: "WEST VIRGINIA", FIPS: "54"},
	"WI": {Code: "WI", Name: "WISCONSIN", FIPS: "55"},
	"WY": {Code: "WY", Name: "WYOMING", FIPS: "56"},
	"PR": {Code: "PR", Name: "PUERTO RICO", FIPS: "72"},
	"VI": {Code: "VI", Name: "VIRGIN ISLANDS", FIPS: "78", NoSalesTax: true},
	"GU": {Code: "GU", Name: "GUAM", FIPS: "66", NoSalesTax: true},
	"AS": {Code: "AS", Name: "AMERICAN SAMOA", FIPS: "60", NoSalesTax: true},
	"MP": {Code: "MP", Name: "NORTHERN MARIANA ISLANDS", FIPS: "69", NoSalesTax: true},
	"AA": {Code: "AA", Name: "ARMED FORCES AMERICAS", NoSalesTax: true},
	"AE": {Code: "AE", Name: "ARMED FORCES EUROPE", NoSalesTax: true},
	"AP": {Code: "AP", Name: "ARMED FORCES PACIFIC", NoSalesTax: true},
}

// usPlaces is the jurisdiction table for US postal codes.
var usPlaces = indexPlaces([]place{
	{Postal: "98101", City: "SEATTLE", County: "KING", Region: "WA", Plus4: "98101-2503", Lat: "47.610902", Lon: "-122.336422", Rows: []jurisRow{
		usRow("STA", "WA", "53", "WASHINGTON", "0.065", "BHQE"),
		usRow("CTY", "WA", "033", "KING", "0.002", "BHSE"),
		usRow("CIT", "WA", "63000", "SEATTLE", "0.0215", "BHTL"),
		usRow("STJ", "WA", "EMTV0", "REGIONAL TRANSIT AUTHORITY", "0.014", "BHUR"),
	}},
	{Postal: "92614", City: "IRVINE", County: "ORANGE", Region: "CA", Plus4: "92614-8201", Lat: "33.684412", Lon: "-117.826347", Rows: []jurisRow{
		usRow("STA", "CA", "06", "CALIFORNIA", "0.06", "AGAM"),
		usRow("CTY", "CA", "059", "ORANGE", "0.0025", "AHXU"),
		usRow("CIT", "CA", "36770", "IRVINE", "0", "AHYR"),
		usRow("STJ", "CA", "EMAZ0", "ORANGE CO LOCAL TAX SL", "0.01", "AHZO"),
		usRow("STJ", "CA", "EMTN0", "ORANGE COUNTY DISTRICT TAX SP", "0.005", "AIBW"),
	}},
	{Postal: "94108", City: "SAN FRANCISCO", County: "SAN FRANCISCO", Region: "CA", Plus4: "94108-5702", Lat: "37.791593", Lon: "-122.407576", Rows: []jurisRow{
		usRow("STA", "CA", "06", "CALIFORNIA", "0.06", "AGAM"),
		usRow("CTY", "CA", "075", "SAN FRANCISCO", "0.0025", "AIAQ"),
		usRow("CIT", "CA", "67000", "SAN FRANCISCO", "0", "AIAR"),
		usRow("STJ", "CA", "EMBE0", "SAN FRANCISCO CO LOCAL TAX SL", "0.01", "AIBX"),
		usRow("STJ", "CA", "EMUA0", "SAN FRANCISCO COUNTY DISTRICT TAX SP", "0.01375", "AICD"),
	}},
	{Postal: "10118", City: "NEW YORK", County: "NEW YORK", Region: "NY", Plus4: "10118-0110", Lat: "40.748441", Lon: "-73.985664", Rows: nycRows()},
	{Postal: "10011", City: "NEW YORK", County: "NEW YORK", Region: "NY", Plus4: "10011-7956", Lat: "40.736333", Lon: "-73.996328", Rows: nycRows()},
	{Postal: "10021", City: "NEW YORK", County: "NEW YORK", Region: "NY", Plus4: "10021-5002", Lat: "40.769057", Lon: "-73.958939", Rows: nycRows()},
	{Postal: "78701", City: "AUSTIN", County: "TRAVIS", Region: "TX", Plus4: "78701-2604", Lat: "30.269501", Lon: "-97.742310", Rows: []jurisRow{
		usRow("STA", "TX", "48", "TEXAS", "0.0625", "BDVP"),
		usRow("CTY", "TX", "453", "TRAVIS", "0", "BDZK"),
		usRow("CIT", "TX", "2105000", "AUSTIN", "0.01", "BEAC"),
		usRow("STJ", "TX", "3227998", "AUSTIN MTA TRANSIT", "0.01", "BEDO"),
	}},
	{Postal: "77002", City: "HOUSTON", County: "HARRIS", Region: "TX", Plus4: "77002-1020", Lat: "29.758938", Lon: "-95.367697", Rows: []jurisRow{
		usRow("STA", "TX", "48", "TEXAS", "0.0625", "BDVP"),
		usRow("CTY", "TX", "201", "HARRIS", "0", "BDXR"),
		usRow("CIT", "TX", "2035000", "HOUSTON", "0.01", "BEBL"),
		usRow("STJ", "TX", "3101990", "HOUSTON MTA TRANSIT", "0.01", "BEEK"),
	}},
	{Postal: "97201", City: "PORTLAND", County: "MULTNOMAH", Region: "OR", Plus4: "97201-5014", Lat: "45.507856", Lon: "-122.690794", Rows: nil},
	{Postal: "60601", City: "CHICAGO", County: "COOK", Region: "IL", Plus4: "60601-7501", Lat: "41.886262", Lon: "-87.618528", Rows: []jurisRow{
		usRow("STA", "IL", "17", "ILLINOIS", "0.0625", "AJBI"),
		usRow("CTY", "IL", "031", "COOK", "0.0175", "AJCE"),
		usRow("CIT", "IL", "14000", "CHICAGO", "0.0125", "AJFS"),
		usRow("STJ", "IL", "AQOF", "REGIONAL TRANSPORT. AUTHORITY (RTA)", "0.01", "AJHC"),
	}},
	{Postal: "19147", City: "PHILADELPHIA", County: "PHILADELPHIA", Region: "PA", Plus4: "19147-5736", Lat: "39.931649", Lon: "-75.159058", Rows: phillyRows()},
	{Postal: "19106", City: "PHILADELPHIA", County: "PHILADELPHIA", Region: "PA", Plus4: "19106-1556", Lat: "39.948910", Lon: "-75.146930", Rows: phillyRows()},
	{Postal: "15222", City: "PITTSBURGH", County: "ALLEGHENY", Region: "PA", Plus4: "15222-1212", Lat: "40.442490", Lon: "-79.995880", Rows: []jurisRow{
		usRow("STA", "PA", "42", "PENNSYLVANIA", "0.06", "BKTQ"),
		usRow("CTY", "PA", "003", "ALLEGHENY", "0.01", "BKUF"),
	}},
	{Postal: "20500", City: "WASHINGTON", County: "DISTRICT OF COLUMBIA", Region: "DC", Plus4: "20500-0003", Lat: "38.898636", Lon: "-77.036543", Rows: []jurisRow{
		usRow("STA", "DC", "11", "DISTRICT OF COLUMBIA", "0.06", "AKGU"),
	}},
	{Postal: "36104", City: "MONTGOMERY", County: "MONTGOMERY", Region: "AL", Plus4: "36104-3804", Lat: "32.377716", Lon: "-86.300568", Rows: []jurisRow{
		usRow("STA", "AL", "01", "ALABAMA", "0.04", "AAAV"),
		usRow("CTY", "AL", "101", "MONTGOMERY", "0.025", "ABGZ"),
		usRow("CIT", "AL", "51000", "MONTGOMERY", "0.035", "ABHA"),
	}},
	{Postal: "35005", City: "ADAMSVILLE", County: "JEFFERSON", Region: "AL", Plus4: "35005-1014", Lat: "33.588437", Lon: "-86.959727", Rows: []jurisRow{
		usRow("STA", "AL", "01", "ALABAMA", "0.04", "AAAV"),
		usRow("CTY", "AL", "073", "JEFFERSON", "0.01", "AAJN"),
		usRow("CIT", "AL", "00460", "ADAMSVILLE", "0.04", "AAJO"),
	}},
	{Postal: "35096", City: "LINCOLN", County: "TALLADEGA", Region: "AL", Plus4: "35096-5114", Lat: "33.605990", Lon: "-86.118290", Rows: []jurisRow{
		usRow("STA", "AL", "01", "ALABAMA", "0.04", "AAAV"),
		usRow("CTY", "AL", "121", "TALLADEGA", "0.02", "ABPE"),
		usRow("CIT", "AL", "43432", "LINCOLN", "0.04", "ABPF"),
	}},
	{Postal: "84111", City: "SALT LAKE CITY", County: "SALT LAKE", Region: "UT", Plus4: "84111-1918", Lat: "40.760780", Lon: "-111.891045", Rows: []jurisRow{
		usRow("STA", "UT", "49", "UTAH", "0.0485", "BFJA"),
		usRow("CTY", "UT", "035", "SALT LAKE", "0.0135", "BFMH"),
		usRow("CIT", "UT", "67000", "SALT LAKE CITY", "0.01", "BFMO"),
		usRow("STJ", "UT", "EMUT0", "SALT LAKE CO TRANSIT", "0.0055", "BFNC"),
	}},
	{Postal: "33131", City: "MIAMI", County: "MIAMI-DADE", Region: "FL", Plus4: "33131-2310", Lat: "25.766368", Lon: "-80.189270", Rows: []jurisRow{
		usRow("STA", "FL", "12", "FLORIDA", "0.06", "AKUY"),
		usRow("CTY", "FL", "086", "MIAMI-DADE", "0.01", "ALWN"),
		usRow("CIT", "FL", "45000", "MIAMI", "0", "ALWO"),
	}},
	{Postal: "32801", City: "ORLANDO", County: "ORANGE", Region: "FL", Plus4: "32801-3302", Lat: "28.541290", Lon: "-81.379120", Rows: []jurisRow{
		usRow("STA", "FL", "12", "FLORIDA", "0.06", "AKUY"),
		usRow("CTY", "FL", "095", "ORANGE", "0.005", "ALYO"),
		usRow("CIT", "FL", "53000", "ORLANDO", "0", "ALYP"),
	}},
	{Postal: "30303", City: "ATLANTA", County: "FULTON", Region: "GA", Plus4: "30303-3126", Lat: "33.752880", Lon: "-84.392740", Rows: []jurisRow{
		usRow("STA", "GA", "13", "GEORGIA", "0.04", "ANIB"),
		usRow("CTY", "GA", "121", "FULTON", "0.03", "AOFT"),
		usRow("CIT", "GA", "04000", "ATLANTA", "0.019", "AOFU"),
	}},
	{Postal: "80202", City: "DENVER", County: "DENVER", Region: "CO", Plus4: "80202-5332", Lat: "39.749580", Lon: "-104.996140", Rows: []jurisRow{
		usRow("STA", "CO", "08", "COLORADO", "0.029", "AIEL"),
		usRow("CTY", "CO", "031", "DENVER", "0", "AIIC"),
		usRow("CIT", "CO", "20000", "DENVER", "0.0515", "AIID"),
		usRow("STJ", "CO", "EMRT0", "REGIONAL TRANSPORTATION DIST (RTD)", "0.01", "AIJP"),
		usRow("STJ", "CO", "EMSC0", "SCIENTIFIC AND CULTURAL FACILITIES DIST", "0.001", "AIJQ"),
	}},
	{Postal: "02108", City: "BOSTON", County: "SUFFOLK", Region: "MA", Plus4: "02108-1512", Lat: "42.357603", Lon: "-71.063866", Rows: []jurisRow{
		usRow("STA", "MA", "25", "MASSACHUSETTS", "0.0625", "APQL"),
		usRow("CTY", "MA", "025", "SUFFOLK", "0", "APRX"),
		usRow("CIT", "MA", "07000", "BOSTON", "0", "APRY"),
	}},
	{Postal: "07102", City: "NEWARK", County: "ESSEX", Region: "NJ", Plus4: "07102-5310", Lat: "40.735657", Lon: "-74.172367", Rows: []jurisRow{
		usRow("STA", "NJ", "34", "NEW JERSEY", "0.06625", "BAQK"),
		usRow("CTY", "NJ", "013", "ESSEX", "0", "BARM"),
		usRow("CIT", "NJ", "51000", "NEWARK", "0", "BARN"),
	}},
	{Postal: "07801", City: "DOVER", County: "MORRIS", Region: "NJ", Plus4: "07801-4011", Lat: "40.883990", Lon: "-74.562650", Rows: []jurisRow{
		usRow("STA", "NJ", "34", "NEW JERSEY", "0.06625", "BAQK"),
	}},
	{Postal: "85004", City: "PHOENIX", County: "MARICOPA", Region: "AZ", Plus4: "85004-1564", Lat: "33.451430", Lon: "-112.068900", Rows: []jurisRow{
		usRow("STA", "AZ", "04", "ARIZONA", "0.056", "ACEN"),
		usRow("CTY", "AZ", "013", "MARICOPA", "0.007", "ACFQ"),
		usRow("CIT", "AZ", "55000", "PHOENIX", "0.023", "ACFR"),
	}},
	{Postal: "55401", City: "MINNEAPOLIS", County: "HENNEPIN", Region: "MN", Plus4: "55401-1412", Lat: "44.983200", Lon: "-93.269700", Rows: []jurisRow{
		usRow("STA", "MN", "27", "MINNESOTA", "0.06875", "ASVD"),
		usRow("CTY", "MN", "053", "HENNEPIN", "0.0015", "ASWU"),
		usRow("CIT", "MN", "43000", "MINNEAPOLIS", "0.005", "ASWV"),
		usRow("STJ", "MN", "EMTA0", "METRO AREA TRANSPORTATION", "0.0075", "ASXP"),
	}},
	{Postal: "03301", City: "CONCORD", County: "MERRIMACK", Region: "NH", Plus4: "03301-4705", Lat: "43.206580", Lon: "-71.537560", Rows: nil},
	{Postal: "19801", City: "WILMINGTON", County: "NEW CASTLE", Region: "DE", Plus4: "19801-3519", Lat: "39.739070", Lon: "-75.549970", Rows: nil},
})

func nycRows() []jurisRow {
	return []jurisRow{
		usRow("STA", "NY", "36", "NEW YORK", "0.04", "BFEQ"),
		usRow("CTY", "NY", "061", "NEW YORK", "0", "BFHN"),
		usRow("CIT", "NY", "51000", "NEW YORK CITY", "0.045", "EHTG"),
		usRow("STJ", "NY", "359071", "METROPOLITAN COMMUTER TRANSPORTATION DISTRICT", "0.00375", "BGJP"),
	}
}

func phillyRows() []jurisRow {
	return []jurisRow{
		usRow("STA", "PA", "42", "PENNSYLVANIA", "0.06", "BKTQ"),
		usRow("CTY", "PA", "101", "PHILADELPHIA", "0.02", "BMWV"),
	}
}

func indexPlaces(ps []place) map[string]place {
	m := make(map[string]place, len(ps))
	for _, p := range ps {
		if p.Country == "" {
			p.Country = "US"
		}
		m[p.Postal] = p
	}
	return m
}

// caPostalLetter maps the first letter of a Canadian postal code to its province.
var caPostalLetter = map[byte]string{
	'A': "NL", 'B': "NS", 'C': "PE", 'E': "NB", 'G': "QC", 'H': "QC", 'J': "QC",
	'K': "ON", 'L': "ON", 'M': "ON", 'N': "ON", 'P': "ON", 'R': "MB", 'S': "SK",
	'T': "AB", 'V': "BC", 'X': "NT", 'Y': "YT",
}

// caProvince is a province's taxes: GST or HST (federal, CNT) and a
// provincial sales tax (STA) where one applies.
type caProvince struct {
	Code, Name, City, Lat, Lon string
	FederalTax                 string          // "GST" or "HST"
	Federal                    decimal.Decimal // GST or HST rate
	PST                        decimal.Decimal // provincial rate, zero when none
	PSTName                    string
	Rows                       []jurisRow // the CNT row, then the STA row if any
}

// caProvinces are the provinces and territories, from data/ca_provinces.csv.
var caProvinces = geo.provinces

var caPostalRE = regexp.MustCompile(`^[A-Za-z]\d[A-Za-z] ?\d[A-Za-z]\d$`)

// caPlace builds the place of a Canadian postal code, or reports false.
func caPlace(postal string) (place, bool) {
	p := strings.ToUpper(strings.TrimSpace(postal))
	if !caPostalRE.MatchString(p) {
		return place{}, false
	}
	code, ok := caPostalLetter[p[0]]
	if !ok {
		return place{}, false
	}
	if p[0] == 'X' && (strings.HasPrefix(p, "X0A") || strings.HasPrefix(p, "X0B") || strings.HasPrefix(p, "X0C")) {
		code = "NU"
	}
	prov := caProvinces[code]
	if len(p) == 6 {
		p = p[:3] + " " + p[3:]
	}
	return place{Postal: p, City: prov.City, Region: prov.Code, Country: "CA", Plus4: p,
		Lat: prov.Lat, Lon: prov.Lon, Rows: prov.Rows}, true
}

// zip5 returns the 5-digit ZIP of a US postal code (ZIP or ZIP+4).
func zip5(postal string) string {
	p := strings.TrimSpace(postal)
	if len(p) >= 5 {
		head := p[:5]
		for _, c := range head {
			if c < '0' || c > '9' {
				return ""
			}
		}
		rest := p[5:]
		if rest == "" || (len(rest) == 5 && rest[0] == '-') || (len(rest) == 4) {
			return head
		}
	}
	return ""
}

// canonicalCountry maps the country spellings AvaTax accepts to ISO 2.
func canonicalCountry(c string) string {
	switch strings.ToUpper(strings.TrimSpace(c)) {
	case "", "US", "USA", "UNITED STATES", "UNITED STATES OF AMERICA":
		return "US"
	case "CA", "CAN", "CANADA":
		return "CA"
	case "GB", "GBR", "UK", "UNITED KINGDOM":
		return "GB"
	case "PL", "POL", "POLAND":
		return "PL"
	case "IT", "ITA", "ITALY":
		return "IT"
	case "FR", "FRA", "FRANCE":
		return "FR"
	case "NL", "NLD", "NETHERLANDS":
		return "NL"
	case "DE", "DEU", "GERMANY":
		return "DE"
	case "CR", "CRI", "COSTA RICA":
		return "CR"
	case "MX", "MEX", "MEXICO":
		return "MX"
	}
	c = strings.ToUpper(strings.TrimSpace(c))
	if len(c) > 2 {
		return c[:2]
	}
	return c
}

// canonicalRegion maps a region code or name to its code within a country.
func canonicalRegion(country, region string) (string, bool) {
	r := strings.ToUpper(strings.TrimSpace(region))
	switch country {
	case "US":
		if _, ok := usRegions[r]; ok {
			return r, true
		}
		for code, info := range usRegions {
			if info.Name == r {
				return code, true
			}
		}
		return r, false
	case "CA":
		if _, ok := caProvinces[r]; ok {
			return r, true
		}
		for code, info := range caProvinces {
			if info.Name == r {
				return code, true
			}
		}
		return r, false
	}
	return r, r != ""
}

// vatCountries holds the standard VAT (or GST) rate of the non-North
// American countries the sandbox knows. A domestic sale is taxed at the
// standard rate; a cross-border sale between two of these countries is
// zero-rated in the country of origin (intra-EU supply or export).
var vatCountries = map[string]struct {
	Name string
	Rate string
	EU   bool
}{
	"AT": {"AUSTRIA", "0.20", true}, "BE": {"BELGIUM", "0.21", true}, "DE": {"GERMANY", "0.19", true},
	"DK": {"DENMARK", "0.25", true}, "ES": {"SPAIN", "0.21", true}, "FI": {"FINLAND", "0.255", true},
	"FR": {"FRANCE", "0.20", true}, "IE": {"IRELAND", "0.23", true}, "IT": {"ITALY", "0.22", true},
	"NL": {"NETHERLANDS", "0.21", true}, "PL": {"POLAND", "0.23", true}, "PT": {"PORTUGAL", "0.23", true},
	"SE": {"SWEDEN", "0.25", true}, "CZ": {"CZECH REPUBLIC", "0.21", true},
	"GB": {"UNITED KINGDOM", "0.20", false}, "CH": {"SWITZERLAND", "0.081", false}, "NO": {"NORWAY", "0.25", false},
	"CR": {"COSTA RICA", "0.13", false}, "MX": {"MEXICO", "0.16", false}, "AU": {"AUSTRALIA", "0.10", false},
	"NZ": {"NEW ZEALAND", "0.15", false}, "JP": {"JAPAN", "0.10", false},
}

// vatPlace builds the place of an address in a VAT country, or reports false.
func vatPlace(country, postal, city string) (place, bool) {
	v, ok := vatCountries[country]
	if !ok {
		return place{}, false
	}
	return place{Postal: strings.ToUpper(strings.TrimSpace(postal)), City: strings.ToUpper(city), Region: country, Country: country,
		Plus4: strings.TrimSpace(postal), Rows: []jurisRow{{Type: "CNT", Code: country, Name: v.Name, Rate: d(v.Rate),
			TaxName: "Standard Rate", TaxType: "Output", Region: country, Country: country,
			RateType: "Standard", RateTypeCode: "S"}}}, true
}

// zeroRated returns a place's country-level row at a zero rate.
func zeroRated(p *place) []jurisRow {
	v := vatCountries[p.Country]
	return []jurisRow{{Type: "CNT", Code: p.Country, Name: v.Name, Rate: decimal.Zero, TaxName: "Zero Rate",
		TaxType: "Output", Region: p.Country, Country: p.Country, RateType: "Zero", RateTypeCode: "Z"}}
}

// rowIndex finds the table row behind a detail, for its signature code.
var rowIndex = func() map[string]jurisRow {
	m := map[string]jurisRow{}
	add := func(rows []jurisRow) {
		for _, r := range rows {
			m[r.Region+"|"+r.Type+"|"+r.Code] = r
		}
	}
	for _, rows := range geo.generic {
		add(rows)
	}
	for _, p := range usPlaces {
		add(p.Rows)
	}
	return m
}()

// nearestPlace finds the US place of the table closest to a position, within
// 50 km: coordinates win over the street address, as on Avalara.
func nearestPlace(lat, lon decimal.Decimal) (place, bool) {
	la, lo := lat.InexactFloat64(), lon.InexactFloat64()
	best, bestKm := place{}, math.MaxFloat64
	for _, p := range usPlaces {
		km := haversineKm(la, lo, d(p.Lat).InexactFloat64(), d(p.Lon).InexactFloat64())
		if km < bestKm {
			best, bestKm = p, km
		}
	}
	return best, bestKm <= 50
}

func haversineKm(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371.0
	rad := math.Pi / 180
	dLat, dLon := (lat2-lat1)*rad, (lon2-lon1)*rad
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * r * math.Asin(math.Sqrt(h))
}
