package avataxsim

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"
)

// The sandbox's geography beyond its detailed places: which region every US
// ZIP code and Canadian postal code belongs to, and the generic rates of
// each region. The tables are data files (data/*.csv, sources and dates in
// their headers), embedded and parsed once when the package loads.

//go:embed data/us_rates.csv
var usRatesCSV []byte

//go:embed data/us_zip3.csv
var usZipCSV []byte

//go:embed data/ca_provinces.csv
var caProvincesCSV []byte

// regionRates is a US region's generic rates: the state (STA) row and one
// local row at the region's average local rate.
type regionRates struct {
	Region    string
	State     decimal.Decimal
	Local     decimal.Decimal
	LocalType string // CTY, CIT or STJ
	Lat, Lon  string
}

// zipRange is a run of 5-digit ZIP codes, bounds included.
type zipRange struct {
	lo, hi int
	region string
}

// geography is the parsed data.
type geography struct {
	rates map[string]regionRates
	// prefixes are the assigned 3-digit prefixes, as sorted, disjoint ZIP
	// ranges; exceptions are 5-digit ranges that win over them.
	prefixes, exceptions []zipRange
	// generic holds the rows of each region and 3-digit prefix
	// ("WA|981"), built once so a lookup allocates nothing.
	generic   map[string][]jurisRow
	provinces map[string]caProvince
}

// geo is the sandbox's geography. The data is compiled in, so a parse error
// is a bug of this package that its tests report; it stops the program.
var geo = mustGeography()

func mustGeography() *geography {
	g, err := loadGeography(usRatesCSV, usZipCSV, caProvincesCSV)
	if err != nil {
		panic(fmt.Errorf("avataxsim: embedded geography: %w", err))
	}
	return g
}

// loadGeography parses and cross-checks the three tables.
func loadGeography(ratesCSV, zipCSV, provincesCSV []byte) (*geography, error) {
	g := &geography{generic: map[string][]jurisRow{}}
	var err error
	if g.rates, err = parseRates(ratesCSV); err != nil {
		return nil, fmt.Errorf("us_rates.csv: %w", err)
	}
	if g.prefixes, g.exceptions, err = parseZipRanges(zipCSV, g.rates); err != nil {
		return nil, fmt.Errorf("us_zip3.csv: %w", err)
	}
	if g.provinces, err = parseProvinces(provincesCSV); err != nil {
		return nil, fmt.Errorf("ca_provinces.csv: %w", err)
	}
	// The detailed table's state rows keep their names and signature codes
	// in the generic rows of the same state.
	stateRows := map[string]jurisRow{}
	for _, p := range usPlaces {
		for _, r := range p.Rows {
			if r.Type == "STA" {
				stateRows[r.Region] = r
			}
		}
	}
	for _, rs := range [][]zipRange{g.prefixes, g.exceptions} {
		for _, zr := range rs {
			for prefix := zr.lo / 100; prefix <= zr.hi/100; prefix++ {
				key := fmt.Sprintf("%s|%03d", zr.region, prefix)
				if _, ok := g.generic[key]; !ok {
					g.generic[key] = genericRows(g.rates[zr.region], prefix, stateRows)
				}
			}
		}
	}
	return g, nil
}

// genericRows builds the rows of a region's ZIP codes under one prefix:
// the state row where the region has a state tax, and one local row, named
// for the prefix's area, where it has local taxes.
func genericRows(r regionRates, prefix int, stateRows map[string]jurisRow) []jurisRow {
	info := usRegions[r.Region]
	var rows []jurisRow
	if r.State.IsPositive() {
		sta, ok := stateRows[r.Region]
		if !ok {
			sta = usRowRate("STA", r.Region, info.FIPS, info.Name, r.State, signature(r.Region, "STA", info.FIPS))
		}
		sta.Rate = r.State
		rows = append(rows, sta)
	}
	if r.Local.IsPositive() {
		p := fmt.Sprintf("%03d", prefix)
		code := "Z" + p
		rows = append(rows, usRowRate(r.LocalType, r.Region, code, "ZIP "+p+" AREA", r.Local, signature(r.Region, r.LocalType, code)))
	}
	return rows
}

// signature makes up a stable four-letter signature code for a generic row.
func signature(parts ...string) string {
	h := fnv.New32a()
	_, _ = io.WriteString(h, strings.Join(parts, "|"))
	n := h.Sum32()
	b := make([]byte, 4)
	for i := range b {
		b[i] = byte('A' + n%26)
		n /= 26
	}
	return string(b)
}

// readTable reads a CSV table whose '#' lines are comments and whose first
// record is the header want.
func readTable(raw []byte, want ...string) ([][]string, error) {
	rd := csv.NewReader(bytes.NewReader(raw))
	rd.Comment = '#'
	rd.FieldsPerRecord = 0 // the header's count, then checked against want
	recs, err := rd.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if len(recs) == 0 || !slices.Equal(recs[0], want) {
		return nil, fmt.Errorf("header %v, want %v", headerOf(recs), want)
	}
	return recs[1:], nil
}

func headerOf(recs [][]string) []string {
	if len(recs) == 0 {
		return nil
	}
	return recs[0]
}

// rate parses a rate: a fraction in [0, 0.2), empty meaning none.
func rate(s string) (decimal.Decimal, error) {
	if s == "" {
		return decimal.Zero, nil
	}
	r, err := decimal.NewFromString(s)
	if err != nil {
		return r, fmt.Errorf("rate %q: %w", s, err)
	}
	if r.IsNegative() || r.GreaterThanOrEqual(decimal.RequireFromString("0.2")) {
		return r, fmt.Errorf("rate %s out of range [0, 0.2)", s)
	}
	return r, nil
}

// coordinate checks a latitude or longitude and returns it as written.
func coordinate(s string, limit int64) (string, error) {
	c, err := decimal.NewFromString(s)
	if err != nil {
		return "", fmt.Errorf("coordinate %q: %w", s, err)
	}
	if c.Abs().GreaterThan(decimal.NewFromInt(limit)) {
		return "", fmt.Errorf("coordinate %s out of range", s)
	}
	return s, nil
}

var errMissing = errors.New("missing")

// keyedTable parses the rows of a table keyed by their first column, each
// key once, and checks that every key of want is there.
func keyedTable[T any](raw []byte, header []string, parse func([]string) (T, error), want []string) (map[string]T, error) {
	recs, err := readTable(raw, header...)
	if err != nil {
		return nil, err
	}
	out := make(map[string]T, len(recs))
	for i, rec := range recs {
		v, err := parse(rec)
		if err != nil {
			return nil, fmt.Errorf("row %d (%s): %w", i+1, rec[0], err)
		}
		if _, dup := out[rec[0]]; dup {
			return nil, fmt.Errorf("row %d: %s twice", i+1, rec[0])
		}
		out[rec[0]] = v
	}
	for _, k := range want {
		if _, ok := out[k]; !ok {
			return nil, fmt.Errorf("%s: %w", k, errMissing)
		}
	}
	return out, nil
}

func parseRates(raw []byte) (map[string]regionRates, error) {
	regions := make([]string, 0, len(usRegions))
	for code := range usRegions {
		regions = append(regions, code)
	}
	sort.Strings(regions)
	return keyedTable(raw, []string{"region", "sta_rate", "local_rate", "local_type", "lat", "lon"}, parseRateRow, regions)
}

func parseRateRow(rec []string) (regionRates, error) {
	r := regionRates{Region: rec[0], LocalType: rec[3]}
	info, ok := usRegions[r.Region]
	if !ok {
		return r, errors.New("not a region of usRegions")
	}
	var err error
	if r.State, err = rate(rec[1]); err != nil {
		return r, err
	}
	if r.Local, err = rate(rec[2]); err != nil {
		return r, err
	}
	switch r.LocalType {
	case "CTY", "CIT", "STJ":
	default:
		return r, fmt.Errorf("local_type %q is not CTY, CIT or STJ", r.LocalType)
	}
	if r.Lat, err = coordinate(rec[4], 90); err != nil {
		return r, err
	}
	if r.Lon, err = coordinate(rec[5], 180); err != nil {
		return r, err
	}
	if none := r.State.IsZero() && r.Local.IsZero(); none != info.NoSalesTax {
		return r, fmt.Errorf("rates %s + %s disagree with NoSalesTax %v", r.State, r.Local, info.NoSalesTax)
	}
	return r, nil
}

func parseZipRanges(raw []byte, rates map[string]regionRates) (prefixes, exceptions []zipRange, err error) {
	recs, err := readTable(raw, "first", "last", "region")
	if err != nil {
		return nil, nil, err
	}
	for i, rec := range recs {
		first, last, region := rec[0], rec[1], rec[2]
		if _, ok := rates[region]; !ok {
			return nil, nil, fmt.Errorf("row %d: region %q has no rates", i+1, region)
		}
		lo, err1 := strconv.Atoi(first)
		hi, err2 := strconv.Atoi(last)
		if err := errors.Join(err1, err2); err != nil {
			return nil, nil, fmt.Errorf("row %d: bounds %s-%s: %w", i+1, first, last, err)
		}
		switch {
		case lo > hi || len(first) != len(last):
			return nil, nil, fmt.Errorf("row %d: bounds %s-%s: want first <= last, of one length", i+1, first, last)
		case len(first) == 3:
			prefixes = append(prefixes, zipRange{lo * 100, hi*100 + 99, region})
		case len(first) == 5:
			exceptions = append(exceptions, zipRange{lo, hi, region})
		default:
			return nil, nil, fmt.Errorf("row %d: bounds %s-%s are neither 3 nor 5 digits", i+1, first, last)
		}
	}
	for _, rs := range [][]zipRange{prefixes, exceptions} {
		sort.Slice(rs, func(i, j int) bool { return rs[i].lo < rs[j].lo })
		for i := 1; i < len(rs); i++ {
			if rs[i].lo <= rs[i-1].hi {
				return nil, nil, fmt.Errorf("ranges %05d-%05d and %05d-%05d overlap", rs[i-1].lo, rs[i-1].hi, rs[i].lo, rs[i].hi)
			}
		}
	}
	return prefixes, exceptions, nil
}

func parseProvinces(raw []byte) (map[string]caProvince, error) {
	codes := []string{"NU"} // by X0A, X0B and X0C
	for _, code := range caPostalLetter {
		codes = append(codes, code)
	}
	sort.Strings(codes)
	return keyedTable(raw, []string{"code", "name", "city", "lat", "lon", "federal_tax", "federal_rate", "provincial_rate", "provincial_name"},
		parseProvince, codes)
}

func parseProvince(rec []string) (caProvince, error) {
	p := caProvince{Code: rec[0], Name: rec[1], City: rec[2], FederalTax: rec[5], PSTName: rec[8]}
	var err error
	if p.Lat, err = coordinate(rec[3], 90); err != nil {
		return p, err
	}
	if p.Lon, err = coordinate(rec[4], 180); err != nil {
		return p, err
	}
	if p.Federal, err = rate(rec[6]); err != nil {
		return p, err
	}
	if p.PST, err = rate(rec[7]); err != nil {
		return p, err
	}
	switch {
	case p.FederalTax != "GST" && p.FederalTax != "HST":
		return p, fmt.Errorf("federal_tax %q is not GST or HST", p.FederalTax)
	case !p.Federal.IsPositive():
		return p, fmt.Errorf("federal_rate: %w", errMissing)
	case p.PST.IsPositive() != (p.PSTName != ""):
		return p, errors.New("provincial_rate and provincial_name go together")
	}
	french := map[string]string{"GST": "TPS", "HST": "TVH"}[p.FederalTax]
	p.Rows = []jurisRow{{Type: "CNT", Code: "CA", Name: "CANADA", Rate: p.Federal,
		TaxName: "CANADA " + p.FederalTax + "/" + french, TaxType: "Output", Region: "CA", Country: "CA"}}
	if p.PST.IsPositive() {
		p.Rows = append(p.Rows, jurisRow{Type: "STA", Code: p.Code, Name: p.Name, Rate: p.PST,
			TaxName: p.PSTName, TaxType: "Output", Region: p.Code, Country: "CA"})
	}
	return p, nil
}

// zipRegion returns the region a 5-digit ZIP code belongs to, or "" when
// its prefix is not assigned.
func zipRegion(zip string) string {
	if len(zip) != 5 {
		return ""
	}
	n, err := strconv.Atoi(zip)
	if err != nil {
		return ""
	}
	if r, ok := findRange(geo.exceptions, n); ok {
		return r.region
	}
	if r, ok := findRange(geo.prefixes, n); ok {
		return r.region
	}
	return ""
}

func findRange(rs []zipRange, n int) (zipRange, bool) {
	i := sort.Search(len(rs), func(i int) bool { return rs[i].hi >= n })
	if i < len(rs) && rs[i].lo <= n {
		return rs[i], true
	}
	return zipRange{}, false
}

// usPlace finds the place of a US postal code (ZIP or ZIP+4): the detailed
// table's when it has the ZIP, else the ZIP's region at its generic rates,
// in the given city. It reports false for a malformed ZIP or one whose
// prefix is not assigned.
func usPlace(postal, city string) (place, bool) {
	z := zip5(postal)
	if z == "" {
		return place{}, false
	}
	if p, ok := usPlaces[z]; ok {
		return p, true
	}
	region := zipRegion(z)
	if region == "" {
		return place{}, false
	}
	r := geo.rates[region]
	plus4 := z
	if digits := strings.ReplaceAll(strings.TrimSpace(postal), "-", ""); len(digits) == 9 {
		plus4 = z + "-" + digits[5:]
	}
	return place{Postal: z, City: strings.ToUpper(strings.TrimSpace(city)), Region: region, Country: "US", Plus4: plus4,
		Lat: r.Lat, Lon: r.Lon, Rows: geo.generic[region+"|"+z[:3]]}, true
}
