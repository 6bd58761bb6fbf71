package avataxsim

import (
	"net/http"
	"regexp"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/internal/avatax"
)

// addresses/resolve, GET (query) and POST (AddressValidationInfo).
//
// Rules:
//   - postalCode longer than 11 characters → 400 StringLengthError;
//   - neither a postal code, nor line1 + city + region, nor line1 + postal
//     code, nor coordinates → 400 InvalidAddress "The address value was
//     incomplete.";
//   - a US ZIP code whose 3-digit prefix is assigned, or a Canadian postal
//     code of a province → the validated address (upper case, coordinates),
//     resolutionQuality Intersection and the tax authorities. The region is
//     the postal code's: a region that contradicts it is corrected without
//     a message, as AvaTax does (createTransaction refuses the same address
//     with InvalidZipForStateError). Places of the detailed table give
//     their ZIP+4 and own coordinates, other ZIP codes their region's
//     capital. A street line without a house number, or with a one-letter
//     street name, adds an Error message as AvaTax does;
//   - a well-formed Canadian postal code of no province → "The address is
//     not deliverable." (NotCoded); a malformed postal code, or a ZIP code
//     whose prefix is not assigned → "Address not geocoded." and "The city
//     could not be determined." (External).

// resolveGet answers GET addresses/resolve, the address in the query.
func (s *Sandbox) resolveGet(req *request) (int, any, *apiError) {
	q := req.query
	in := avatax.AddressValidationInfo{
		Line1: q["line1"], Line2: q["line2"], Line3: q["line3"], City: q["city"], Region: q["region"],
		Country: q["country"], PostalCode: q["postalcode"], TextCase: q["textcase"],
	}
	for _, k := range []string{"latitude", "longitude"} {
		if v := strings.TrimSpace(q[k]); v != "" {
			dv, err := decimal.NewFromString(v)
			if err != nil {
				return 0, nil, errJSONFormat("The value for field '" + k + "' is not a number.")
			}
			if k == "latitude" {
				in.Latitude = &dv
			} else {
				in.Longitude = &dv
			}
		}
	}
	return s.resolve(in)
}

// resolvePost answers POST addresses/resolve, an AddressValidationInfo body.
func (s *Sandbox) resolvePost(req *request) (int, any, *apiError) {
	var in avatax.AddressValidationInfo
	empty, apiErr := decodeLenient(req.body, &in)
	if apiErr != nil {
		return 0, nil, apiErr
	}
	if empty {
		return 0, nil, errModelRequired()
	}
	return s.resolve(in)
}

var (
	houseNumberRE = regexp.MustCompile(`^\s*\d+[A-Za-z]?\s+(\S.*)$`)
)

// resolve answers addresses/resolve for an address.
func (s *Sandbox) resolve(in avatax.AddressValidationInfo) (int, any, *apiError) {
	out, apiErr := resolveAddress(in)
	if apiErr != nil {
		return 0, nil, apiErr
	}
	// The echo of the input always names the main fields, as Avalara's does.
	m := toMap(out)
	addr, _ := m["address"].(map[string]any)
	if addr == nil {
		addr = map[string]any{}
	}
	for _, k := range []string{"line1", "line2", "city", "region", "country", "postalCode"} {
		setDefault(addr, k, "")
	}
	m["address"] = addr
	return http.StatusOK, m, nil
}

// resolveAddress validates an address by the rules above. Problems with
// the address itself are messages of the answer, not errors.
func resolveAddress(in avatax.AddressValidationInfo) (avatax.AddressResolutionModel, *apiError) {
	if len(in.PostalCode) > 11 {
		return avatax.AddressResolutionModel{}, errStringLength("postalCode", 11)
	}
	postal := strings.TrimSpace(in.PostalCode)
	hasLatLon := in.Latitude != nil && in.Longitude != nil
	if postal == "" && !(in.Line1 != "" && in.City != "" && in.Region != "") && !hasLatLon {
		return avatax.AddressResolutionModel{}, errInvalidAddress("NULL")
	}
	out := avatax.AddressResolutionModel{Address: avatax.AddressValidationInfo{
		Line1: in.Line1, Line2: in.Line2, Line3: in.Line3, City: in.City, Region: in.Region,
		Country: in.Country, PostalCode: in.PostalCode, Latitude: in.Latitude, Longitude: in.Longitude,
	}}
	if tc, ok := textCases.parse(in.TextCase); ok && in.TextCase != "" {
		out.Address.TextCase = tc
	}
	country := canonicalCountry(in.Country)
	echo := avatax.ValidatedAddressInfo{
		AddressType: "UnknownAddressType", Line1: in.Line1, Line2: in.Line2, Line3: in.Line3,
		City: in.City, Region: in.Region, Country: country, PostalCode: in.PostalCode,
	}
	p := placeOf(country, postal, in)
	if p == nil {
		unresolved(&out, echo, country, postal)
		return out, nil
	}

	lat, lon := d(p.Lat), d(p.Lon)
	out.Coordinates = &avatax.CoordinateInfo{Latitude: lat, Longitude: lon}
	out.ResolutionQuality = "Intersection"
	echo.Latitude, echo.Longitude = &lat, &lon
	if msg, quality, bad := streetProblem(in.Line1); bad {
		out.ValidatedAddresses = []avatax.ValidatedAddressInfo{echo}
		if quality != "" {
			out.ResolutionQuality = quality
		}
		out.Messages = []avatax.AvaTaxMessage{msg}
		return out, nil
	}

	upper := strings.ToUpper
	if tc, _ := textCases.parse(in.TextCase); tc == "Mixed" {
		upper = titleCase
	}
	addrType := "StreetOrResidentialAddress"
	if in.Line1 == "" {
		addrType = "UnknownAddressType"
	}
	out.ValidatedAddresses = []avatax.ValidatedAddressInfo{{
		AddressType: addrType, Line1: upper(in.Line1), Line2: upper(in.Line2), Line3: upper(in.Line3),
		City: upper(p.City), Region: p.Region, Country: p.Country, PostalCode: p.Plus4,
		Latitude: &lat, Longitude: &lon,
	}}
	out.TaxAuthorities = taxAuthorities(p)
	return out, nil
}

// placeOf finds the place of a US or Canadian address: by postal code, or
// by city and region when a US address has none. It is nil elsewhere.
func placeOf(country, postal string, in avatax.AddressValidationInfo) *place {
	switch country {
	case "US":
		if zip5(postal) != "" {
			if pl, ok := usPlace(postal, in.City); ok {
				return &pl
			}
		} else if postal == "" {
			region, _ := canonicalRegion("US", in.Region)
			for _, pl := range usPlaces {
				if pl.Region == region && strings.EqualFold(pl.City, strings.TrimSpace(in.City)) {
					pl := pl
					return &pl
				}
			}
		}
	case "CA":
		if pl, ok := caPlace(postal); ok {
			return &pl
		}
	}
	return nil
}

// unresolved fills the answer for an address of no known place: the echo
// and AvaTax's messages.
func unresolved(out *avatax.AddressResolutionModel, echo avatax.ValidatedAddressInfo, country, postal string) {
	out.ValidatedAddresses = []avatax.ValidatedAddressInfo{echo}
	if country == "CA" && caPostalRE.MatchString(postal) {
		out.ResolutionQuality = "NotCoded"
		out.Messages = []avatax.AvaTaxMessage{{
			Summary:  "The address is not deliverable.",
			Details:  "The physical location exists but there are no homes on this street. One reason might be railroad tracks or rivers running alongside this street, as they would prevent construction of homes in this location.",
			RefersTo: "address", Severity: "Error", Source: "Avalara.AvaTax.Services.Address",
		}}
		return
	}
	out.ResolutionQuality = "External"
	out.Messages = []avatax.AvaTaxMessage{
		{Summary: "Address not geocoded.", Details: "Address cannot be geocoded.", RefersTo: "Address",
			Severity: "Error", Source: "Avalara.AvaTax.Common"},
		{Summary: "The city could not be determined.", Details: "The city could not be found or determined from postal code.",
			RefersTo: "Address.City", Severity: "Error", Source: "Avalara.AvaTax.Common"},
	}
}

// streetProblem returns AvaTax's message, and the resolution quality it
// gives (or ""), for a street line without a house number or with a
// one-letter street name; bad is false for any other line.
func streetProblem(line1 string) (msg avatax.AvaTaxMessage, quality string, bad bool) {
	m := houseNumberRE.FindStringSubmatch(line1)
	switch {
	case line1 != "" && m == nil:
		return avatax.AvaTaxMessage{
			Summary:  "An exact street name match could not be found",
			Details:  "An exact street name match could not be found and phonetically matching the street name resulted in either no matches or matches to more than one street name.",
			RefersTo: "Address.Line0", Severity: "Error", Source: "Avalara.AvaTax.Services.Address",
		}, "NotCoded", true
	case m != nil && len(strings.TrimSpace(m[1])) < 2:
		return avatax.AvaTaxMessage{
			Summary:  "The address number is out of range",
			Details:  "The address was found but the street number in the input address was not between the low and high range of the post office database.",
			RefersTo: "Address.Line0", Severity: "Error", Source: "Avalara.AvaTax.Common",
		}, "", true
	}
	return avatax.AvaTaxMessage{}, "", false
}

// taxAuthorities lists the jurisdictions that tax a place.
func taxAuthorities(p *place) []avatax.TaxAuthorityInfo {
	var out []avatax.TaxAuthorityInfo
	for _, r := range p.Rows {
		if r.Rate.IsZero() && r.Type != "STA" {
			continue
		}
		out = append(out, avatax.TaxAuthorityInfo{
			AvalaraID: r.Code, JurisdictionName: r.Name, JurisdictionType: r.jurisdictionType(), SignatureCode: r.Sig,
		})
	}
	return out
}

// titleCase writes each word with a capital first letter.
func titleCase(s string) string {
	words := strings.Fields(strings.ToLower(s))
	for i, w := range words {
		if w != "" {
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		}
	}
	return strings.Join(words, " ")
}
