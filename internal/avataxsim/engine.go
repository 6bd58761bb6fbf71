package avataxsim

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/internal/avatax"
	"github.com/taxbridge/taxbridge/internal/money"
)

// The tax engine: turns a create request into a TransactionModel without
// ids, status or version (the lifecycle code sets those).
//
// Rules:
//   - Sourcing is by destination (shipTo); singleLocation is both origin and
//     destination; line addresses override document addresses. When origin
//     and destination are in the same origin-based state the origin's local
//     rates apply ("Origin" sourcing).
//   - Each detail's tax is round2(taxable × rate), half away from zero; the
//     line tax is the sum of its details; document totals are sums of lines.
//   - taxIncluded: the amount includes tax; taxable = round2(amount / (1 +
//     Σ rates)); the line tax is amount − taxable.
//   - Tax codes: "" and P0000000 taxable; NT non-taxable; FR* freight taxable;
//     PC04* clothing exempt where the state exempts clothing.
//   - exemptionNo, entityUseCode or customerUsageType (document or line) make
//     a line exempt.
//   - taxOverride TaxAmount replaces the calculated tax (totalTaxCalculated
//     keeps AvaTax's own figure); TaxDate sets the tax date; Exemption exempts.

var zero = decimal.Zero

type addrRole string

const (
	roleSingle   addrRole = "SingleLocation"
	roleShipFrom addrRole = "ShipFrom"
	roleShipTo   addrRole = "ShipTo"
	rolePOO      addrRole = "PointOfOrderOrigin"
	rolePOA      addrRole = "PointOfOrderAcceptance"
)

// docAddress is one distinct address of a document.
type docAddress struct {
	index int
	role  addrRole
	in    avatax.AddressLocationInfo
	place *place // nil for countries without a table
	err   *apiError
	id    int64
}

func addrKey(a *avatax.AddressLocationInfo) string {
	return strings.ToUpper(strings.Join([]string{a.LocationCode, a.Line1, a.Line2, a.Line3, a.City, a.Region,
		canonicalCountry(a.Country), strings.TrimSpace(a.PostalCode)}, "|"))
}

type calc struct {
	s        *Sandbox
	req      *createReq
	addrs    []*docAddress
	byKey    map[string]*docAddress
	date     string
	taxDate  string
	docType  string
	currency string
	// crossBorder is set when a line is zero-rated as a cross-border VAT
	// supply.
	crossBorder bool
}

func (c *calc) address(role addrRole, a *avatax.AddressLocationInfo) *docAddress {
	if a == nil {
		return nil
	}
	k := addrKey(a)
	if da, ok := c.byKey[k]; ok {
		return da
	}
	da := &docAddress{index: len(c.addrs), role: role, in: *a}
	c.addrs = append(c.addrs, da)
	c.byKey[k] = da
	return da
}

// incomplete reports whether an address lacks what AvaTax needs to locate
// it: a postal code, line1 + city + region, or coordinates (outside the US
// and Canada a country is enough).
func incomplete(a *avatax.AddressLocationInfo) bool {
	if a.LocationCode != "" {
		return false
	}
	country := canonicalCountry(a.Country)
	if strings.TrimSpace(a.Country) != "" && country != "US" && country != "CA" {
		return false
	}
	if strings.TrimSpace(a.PostalCode) != "" {
		return false
	}
	if a.Line1 != "" && a.City != "" && a.Region != "" {
		return false
	}
	if a.Latitude != nil && a.Longitude != nil {
		return false
	}
	return true
}

// locate finds the jurisdictions of an address. An error names the address
// by its index in the document's address list.
func (c *calc) locate(da *docAddress) (*place, *apiError) {
	if da.place != nil || da.err != nil {
		return da.place, da.err
	}
	da.place, da.err = lookupPlace(&da.in, da.index, string(da.role))
	return da.place, da.err
}

// lookupPlace resolves an address to a place of the jurisdiction table.
// It returns (nil, nil) for countries without a table.
func lookupPlace(a *avatax.AddressLocationInfo, index int, role string) (*place, *apiError) {
	refersTo := fmt.Sprintf("Addresses[%d]", index)
	country := canonicalCountry(a.Country)
	postal := strings.TrimSpace(a.PostalCode)
	describe := func() string {
		return fmt.Sprintf("%s, %s, %s %s %s (AddressLocationType: %s)", a.Line1, a.City, a.Region, postal, country, role)
	}
	switch country {
	case "US":
		region, known := canonicalRegion("US", a.Region)
		if strings.TrimSpace(a.Region) != "" && !known {
			return nil, errGetTax("Invalid or missing state/province code (STA).", "STA is not a known state or province.", "", refersTo)
		}
		if postal == "" && a.Latitude != nil && a.Longitude != nil {
			if p, ok := nearestPlace(*a.Latitude, *a.Longitude); ok {
				return &p, nil
			}
			return nil, errGetTax("Unable to determine the taxing jurisdictions.", describe(), "JurisdictionNotFoundError", refersTo)
		}
		if postal == "" {
			// line1 + city + region: find the place by city.
			for _, p := range usPlaces {
				if p.Region == region && strings.EqualFold(p.City, strings.TrimSpace(a.City)) {
					p := p
					return &p, nil
				}
			}
			return nil, errGetTax("Unable to determine the taxing jurisdictions.", describe(), "JurisdictionNotFoundError", refersTo)
		}
		z := zip5(postal)
		zr := zipRegion(z)
		if z == "" || zr == "" || (strings.TrimSpace(a.Region) != "" && zr != region) {
			return nil, errGetTax("Tax calculation cannot be determined. Zip is not valid for the state.",
				"The provided address contains a postal code and state combination that is not valid.",
				"InvalidZipForStateError", refersTo)
		}
		// Every ZIP code of an assigned prefix has a place (usPlace).
		p, _ := usPlace(postal, a.City)
		return &p, nil
	case "CA":
		if strings.TrimSpace(a.Region) != "" {
			if _, known := canonicalRegion("CA", a.Region); !known {
				return nil, errGetTax("Invalid or missing state/province code (STA).", "STA is not a known state or province.", "", refersTo)
			}
		}
		p, ok := caPlace(postal)
		if !ok {
			return nil, errGetTax("Unable to determine the taxing jurisdictions.", describe(), "JurisdictionNotFoundError", refersTo)
		}
		return &p, nil
	}
	if p, ok := vatPlace(country, postal, a.City); ok {
		return &p, nil
	}
	return nil, nil
}

// lineResult is the computed tax of one line.
type lineResult struct {
	model avatax.TransactionLineModel
	from  *docAddress
	to    *docAddress
	tax   *docAddress // the address whose jurisdictions apply
}

// calculate runs the tax engine over a create request.
func (s *Sandbox) calculate(req *createReq, docType string) (avatax.TransactionModel, *docExtras, *apiError) {
	if len(req.Lines) == 0 {
		return avatax.TransactionModel{}, nil, errMissingLine()
	}
	if apiErr := validateLengths(req); apiErr != nil {
		return avatax.TransactionModel{}, nil, apiErr
	}
	c := newCalc(s, req, docType)
	var docAddrs addressesReq
	if req.Addresses != nil {
		docAddrs = *req.Addresses
	}
	// Document addresses, in AvaTax's order.
	docList := []roleAddr{{roleSingle, docAddrs.SingleLocation}, {roleShipFrom, docAddrs.ShipFrom}, {roleShipTo, docAddrs.ShipTo},
		{rolePOO, docAddrs.PointOfOrderOrigin}, {rolePOA, docAddrs.PointOfOrderAcceptance}}
	if apiErr := checkComplete(docList); apiErr != nil {
		return avatax.TransactionModel{}, nil, apiErr
	}
	for _, ra := range docList {
		c.address(ra.role, ra.a)
	}

	lineDiscounts := spreadDiscount(req)
	lines := make([]lineResult, 0, len(req.Lines))
	for i := range req.Lines {
		l := &req.Lines[i]
		fromDA, toDA, apiErr := c.lineAddresses(l, docAddrs)
		if apiErr != nil {
			return avatax.TransactionModel{}, nil, apiErr
		}
		lr, apiErr := c.line(i, l, fromDA, toDA, lineDiscounts[i])
		if apiErr != nil {
			return avatax.TransactionModel{}, nil, apiErr
		}
		lines = append(lines, lr)
	}
	// Document-level TaxAmount override: distribute over lines by their
	// calculated tax (or amount when no tax was calculated).
	if ov := req.TaxOverride; ov != nil && strings.EqualFold(ov.Type, "TaxAmount") && ov.TaxAmount != nil {
		distributeDocOverride(lines, *ov)
	}
	tm := c.document(lines)
	ex := c.extras(&tm, lines, docAddrs)
	return tm, ex, nil
}

// newCalc starts a calculation: the document's dates and currency.
func newCalc(s *Sandbox, req *createReq, docType string) *calc {
	c := &calc{s: s, req: req, byKey: map[string]*docAddress{}, docType: docType}
	c.date = normDate(req.Date, s.now())
	c.taxDate = c.date
	c.currency = strings.ToUpper(strings.TrimSpace(req.CurrencyCode))
	if c.currency == "" {
		c.currency = "USD"
	}
	if ov := req.TaxOverride; ov != nil && strings.EqualFold(ov.Type, "TaxDate") && ov.TaxDate != "" {
		c.taxDate = normDate(ov.TaxDate, s.now())
	}
	return c
}

// roleAddr is an address of a request in the role it was given.
type roleAddr struct {
	role addrRole
	a    *avatax.AddressLocationInfo
}

// checkComplete refuses the first address AvaTax could not locate.
func checkComplete(list []roleAddr) *apiError {
	for _, ra := range list {
		if ra.a != nil && incomplete(ra.a) {
			return errInvalidAddress(string(ra.role))
		}
	}
	return nil
}

// spreadDiscount spreads the document discount over the discounted lines
// in proportion to their amounts; the last one takes the rounding rest.
func spreadDiscount(req *createReq) []decimal.Decimal {
	var base decimal.Decimal
	for _, l := range req.Lines {
		if l.Discounted && l.Amount != nil {
			base = base.Add(l.Amount.Abs())
		}
	}
	discount := zero
	if req.Discount != nil {
		discount = *req.Discount
	}
	out := make([]decimal.Decimal, len(req.Lines))
	if base.IsZero() || discount.IsZero() {
		return out
	}
	left, last := discount, -1
	for i, l := range req.Lines {
		if l.Discounted && l.Amount != nil {
			out[i] = money.Round2(discount.Mul(l.Amount.Abs()).Div(base))
			left = left.Sub(out[i])
			last = i
		}
	}
	if last >= 0 {
		out[last] = out[last].Add(left)
	}
	return out
}

// lineAddresses returns the origin and destination of a line: its own
// addresses, else the document's.
func (c *calc) lineAddresses(l *lineReq, docAddrs addressesReq) (fromDA, toDA *docAddress, apiErr *apiError) {
	var la addressesReq
	if l.Addresses != nil {
		la = *l.Addresses
	}
	if apiErr := checkComplete([]roleAddr{{roleSingle, la.SingleLocation}, {roleShipFrom, la.ShipFrom}, {roleShipTo, la.ShipTo}}); apiErr != nil {
		return nil, nil, apiErr
	}
	single, from, to := la.SingleLocation, la.ShipFrom, la.ShipTo
	if single == nil && from == nil && to == nil {
		single, from, to = docAddrs.SingleLocation, docAddrs.ShipFrom, docAddrs.ShipTo
	}
	if from == nil {
		from = docAddrs.ShipFrom
	}
	if to == nil {
		to = docAddrs.ShipTo
	}
	if single != nil && from == nil && to == nil || (la.SingleLocation != nil) {
		fromDA = c.address(roleSingle, single)
		toDA = fromDA
	} else {
		if from == nil && to == nil && single != nil {
			from, to = single, single
		}
		fromDA = c.address(roleShipFrom, from)
		toDA = c.address(roleShipTo, to)
		if fromDA == nil {
			fromDA = toDA
		}
		if toDA == nil {
			toDA = fromDA
		}
	}
	if toDA == nil {
		return nil, nil, newError(400, "NotEnoughAddressesInfo", "This transaction does not have enough address information.",
			"A transaction must have either a SingleLocation address or both ShipFrom and ShipTo addresses.", "IncorrectData")
	}
	return fromDA, toDA, nil
}

// document sums the lines into a document and fills its header from the
// request.
func (c *calc) document(lines []lineResult) avatax.TransactionModel {
	req := c.req
	tm := avatax.TransactionModel{}
	tm.Lines = make([]avatax.TransactionLineModel, 0, len(lines))
	for _, lr := range lines {
		appendLine(&tm, lr.model)
	}
	tm.Summary = summarize(tm.Lines)

	tm.Code = req.Code
	tm.Date = c.date
	tm.Type = c.docType
	tm.CurrencyCode = c.currency
	tm.CustomerUsageType = req.CustomerUsageType
	tm.EntityUseCode = req.EntityUseCode
	tm.CustomerCode = req.CustomerCode
	tm.CustomerVendorCode = req.CustomerCode
	tm.ExemptNo = req.ExemptionNo
	tm.ReportingLocationCode = req.ReportingLocationCode
	tm.PurchaseOrderNo = req.PurchaseOrderNo
	tm.ReferenceCode = req.ReferenceCode
	tm.SalespersonCode = req.SalespersonCode
	tm.BatchCode = req.BatchCode
	tm.TaxOverrideType = "None"
	zeroAmt := zero
	tm.TaxOverrideAmount = &zeroAmt
	if ov := req.TaxOverride; ov != nil {
		if t, ok := taxOverrideTypes.parse(ov.Type); ok {
			tm.TaxOverrideType = t
		}
		if ov.TaxAmount != nil {
			amt := *ov.TaxAmount
			tm.TaxOverrideAmount = &amt
		}
		tm.TaxOverrideReason = ov.Reason
	}
	tm.AdjustmentReason = "NotAdjusted"
	tm.SoftwareVersion = softwareVersion
	tm.ExchangeRateEffectiveDate = c.date
	one := decimal.NewFromInt(1)
	if req.ExchangeRate != nil {
		one = *req.ExchangeRate
	}
	tm.ExchangeRate = &one
	tm.Description = req.Description
	tm.Email = req.Email
	tm.TaxDate = c.taxDate + "T00:00:00"
	if len(lines) > 0 && lines[0].to != nil {
		to := lines[0].to
		if to.place != nil {
			tm.Region, tm.Country = to.place.Region, to.place.Country
		} else {
			tm.Country = canonicalCountry(to.in.Country)
			tm.Region = strings.ToUpper(to.in.Region)
		}
	}
	return tm
}

// extras adds the document's addresses to tm and returns what its wire
// form needs beyond the model: the role of each address and of each line's.
func (c *calc) extras(tm *avatax.TransactionModel, lines []lineResult, docAddrs addressesReq) *docExtras {
	req := c.req
	ex := &docExtras{
		DocFrom: -1, DocTo: -1,
		BusinessIdentificationNo: req.BusinessIdentificationNo,
		ExchangeRateCurrencyCode: firstNonEmpty(strings.ToUpper(req.ExchangeRateCurrencyCode), c.currency),
		CrossBorder:              c.crossBorder,
		CustomerSupplierName:     req.CustomerSupplierName,
	}
	if req.IsSellerImporterOfRecord != nil {
		ex.IsSellerImporterOfRecord = *req.IsSellerImporterOfRecord
	}
	for _, da := range c.addrs {
		if da.place == nil && da.err == nil {
			da.place, _ = lookupPlace(&da.in, da.index, string(da.role))
		}
		tm.Addresses = append(tm.Addresses, transactionAddress(da))
		ex.Roles = append(ex.Roles, string(da.role))
	}
	idx := func(da *docAddress) int {
		if da == nil {
			return -1
		}
		return da.index
	}
	for _, lr := range lines {
		ex.Lines = append(ex.Lines, lineExtras{From: idx(lr.from), To: idx(lr.to), Tax: idx(lr.tax),
			VAT: lr.tax != nil && lr.tax.place != nil && lr.tax.place.Country != "US" && lr.tax.place.Country != "CA"})
	}
	if da := c.byKeyOf(docAddrs.SingleLocation); da != nil {
		ex.DocFrom, ex.DocTo = da.index, da.index
	} else {
		ex.DocFrom, ex.DocTo = idx(c.byKeyOf(docAddrs.ShipFrom)), idx(c.byKeyOf(docAddrs.ShipTo))
	}
	if len(ex.Lines) > 0 {
		if ex.DocFrom < 0 {
			ex.DocFrom = ex.Lines[0].From
		}
		if ex.DocTo < 0 {
			ex.DocTo = ex.Lines[0].To
		}
	}
	return ex
}

func (c *calc) byKeyOf(a *avatax.AddressLocationInfo) *docAddress {
	if a == nil {
		return nil
	}
	return c.byKey[addrKey(a)]
}

const softwareVersion = "26.6.0.0"

func transactionAddress(da *docAddress) avatax.TransactionAddressModel {
	a := avatax.TransactionAddressModel{
		BoundaryLevel: "Zip5",
		Line1:         da.in.Line1, Line2: da.in.Line2, Line3: da.in.Line3,
		City: da.in.City, Region: strings.ToUpper(da.in.Region), PostalCode: strings.TrimSpace(da.in.PostalCode),
		Country: canonicalCountry(da.in.Country),
	}
	if a.Line1 != "" {
		a.BoundaryLevel = "Address"
	}
	if p := da.place; p != nil {
		a.Region, a.Country, a.PostalCode = p.Region, p.Country, p.Plus4
		if a.City == "" {
			a.City = p.City
		}
		a.Latitude, a.Longitude = p.Lat, p.Lon
		a.TaxRegionID = taxRegionID(p)
	}
	if da.in.Latitude != nil && da.in.Longitude != nil {
		a.Latitude, a.Longitude = da.in.Latitude.String(), da.in.Longitude.String()
	}
	return a
}

func taxRegionID(p *place) int64 {
	n, _ := strconv.ParseInt(strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, p.Postal), 10, 64)
	return 4000000 + n
}

// line computes one line.
func (c *calc) line(i int, l *lineReq, fromDA, toDA *docAddress, discount decimal.Decimal) (lineResult, *apiError) {
	src, apiErr := c.source(fromDA, toDA)
	if apiErr != nil {
		return lineResult{}, apiErr
	}
	number := l.Number
	if number == "" {
		number = strconv.Itoa(i + 1)
	}
	qty := decimal.NewFromInt(1)
	if l.Quantity != nil && l.Quantity.IsPositive() {
		qty = *l.Quantity
	}
	amount := zero
	if l.Amount != nil {
		amount = *l.Amount
	}
	taxCode := strings.ToUpper(strings.TrimSpace(l.TaxCode))
	if taxCode == "" {
		taxCode = "P0000000"
	}
	taxDate := c.taxDate
	ov := l.TaxOverride
	if ov != nil && strings.EqualFold(ov.Type, "TaxDate") && ov.TaxDate != "" {
		taxDate = normDate(ov.TaxDate, c.s.now())
	}
	exemptNo, entityUse, exempt := c.exemption(l)
	nonTaxable := taxCode == "NT" || clothingExempt(src.place, taxCode, amount, qty)

	lm := avatax.TransactionLineModel{
		LineNumber: number, Description: l.Description, ItemCode: l.ItemCode, Quantity: qty,
		Ref1: l.Ref1, Ref2: l.Ref2, ReportingDate: c.date, Sourcing: src.sourcing, TaxCode: taxCode,
		TaxCodeID: taxCodeID(taxCode), TaxDate: taxDate, TaxIncluded: l.TaxIncluded, HSCode: l.HSCode,
		DiscountAmount: discount, EntityUseCode: entityUse, ExemptNo: exemptNo, CustomerUsageType: l.CustomerUsageType,
		TaxOverrideType: "None", IsItemTaxable: !nonTaxable,
	}
	zeroAmt := zero
	lm.TaxOverrideAmount = &zeroAmt
	taxLine(&lm, src, fromDA, amount, discount, exempt, nonTaxable)

	// Line-level TaxAmount override.
	if ov != nil {
		if t, ok := taxOverrideTypes.parse(ov.Type); ok {
			lm.TaxOverrideType = t
		}
		lm.TaxOverrideReason = ov.Reason
		if strings.EqualFold(ov.Type, "TaxAmount") && ov.TaxAmount != nil {
			applyLineOverride(&lm, *ov.TaxAmount)
		}
	}
	return lineResult{model: lm, from: fromDA, to: toDA, tax: src.da}, nil
}

// lineSource is where a line is taxed.
type lineSource struct {
	sourcing string      // "Destination" or "Origin"
	place    *place      // whose jurisdictions apply; nil for a country without a table
	da       *docAddress // the address of place
	rows     []jurisRow  // the rates that apply
}

// source decides which address's jurisdictions tax a line: the
// destination's, the origin's within an origin-based US state, or, for a
// cross-border supply between two VAT countries, the origin's at zero rate.
func (c *calc) source(fromDA, toDA *docAddress) (lineSource, *apiError) {
	toPlace, apiErr := c.locate(toDA)
	if apiErr != nil {
		return lineSource{}, apiErr
	}
	src := lineSource{sourcing: "Destination", place: toPlace, da: toDA}
	if toPlace != nil {
		src.rows = toPlace.Rows
	}
	if toPlace != nil && toPlace.Country == "US" && usRegions[toPlace.Region].Origin {
		if fromDA == toDA {
			src.sourcing = "Origin"
		} else if fromDA != nil {
			if fp, _ := lookupPlace(&fromDA.in, fromDA.index, string(fromDA.role)); fp != nil && fp.Region == toPlace.Region {
				// Only the shipFrom is validated when it decides the tax.
				fromPlace, apiErr := c.locate(fromDA)
				if apiErr != nil {
					return lineSource{}, apiErr
				}
				src = lineSource{sourcing: "Origin", place: fromPlace, da: fromDA}
				if fromPlace != nil {
					src.rows = fromPlace.Rows
				}
			}
		}
	}
	if toPlace != nil && toPlace.Country != "US" && toPlace.Country != "CA" && fromDA != nil && fromDA != toDA {
		// VAT: a cross-border supply between two VAT countries is
		// zero-rated where it starts.
		if fp, _ := lookupPlace(&fromDA.in, fromDA.index, string(fromDA.role)); fp != nil && fp.Country != toPlace.Country {
			if _, ok := vatCountries[fp.Country]; ok {
				fromDA.place = fp
				src = lineSource{sourcing: "Origin", place: fp, da: fromDA, rows: zeroRated(fp)}
				c.crossBorder = true
			}
		}
	}
	return src, nil
}

// exemption tells whether a line is exempt, and by which exemption number
// and entity use code.
func (c *calc) exemption(l *lineReq) (exemptNo, entityUse string, exempt bool) {
	req, ov := c.req, l.TaxOverride
	exemptNo = firstNonEmpty(req.ExemptionNo)
	entityUse = firstNonEmpty(l.EntityUseCode, l.CustomerUsageType, req.EntityUseCode, req.CustomerUsageType)
	exempt = exemptNo != "" || entityUse != "" || (ov != nil && strings.EqualFold(ov.Type, "Exemption")) ||
		(req.TaxOverride != nil && strings.EqualFold(req.TaxOverride.Type, "Exemption"))
	if l.ExemptionCode != "" {
		exemptNo, exempt = l.ExemptionCode, true
	}
	return exemptNo, entityUse, exempt
}

// clothingExempt reports whether a US state exempts a clothing line (up to
// a unit price, in some states).
func clothingExempt(p *place, taxCode string, amount, qty decimal.Decimal) bool {
	if p == nil || p.Country != "US" || !isClothing(taxCode) {
		return false
	}
	info := usRegions[p.Region]
	return info.ClothingExempt && (info.ClothingExemptUpTo.IsZero() || amount.Abs().Div(qty).LessThanOrEqual(info.ClothingExemptUpTo))
}

// taxLine computes a line's taxable amount, its tax per jurisdiction row
// (the details) and its tax.
func taxLine(lm *avatax.TransactionLineModel, src lineSource, fromDA *docAddress, amount, discount decimal.Decimal, exempt, nonTaxable bool) {
	totalRate := zero
	for _, r := range src.rows {
		totalRate = totalRate.Add(r.Rate)
	}
	base := amount.Sub(discount)
	lineAmount := amount
	taxable := base
	switch {
	case exempt:
		lm.ExemptAmount = base
		taxable = zero
	case nonTaxable:
		taxable = zero
	}
	taxIncluded := lm.TaxIncluded && !exempt && !nonTaxable
	if taxIncluded && !totalRate.IsZero() {
		taxable = money.Round2(base.Div(decimal.NewFromInt(1).Add(totalRate)))
		lineAmount = amount.Sub(base.Sub(taxable))
	}

	var details []avatax.TransactionLineDetailModel // stays nil without rows: no "details" on the wire
	if len(src.rows) > 0 {
		details = make([]avatax.TransactionLineDetailModel, 0, len(src.rows))
	}
	lineTax := zero
	for _, r := range src.rows {
		dt := avatax.TransactionLineDetailModel{
			Country: r.Country, Region: r.Region, JurisCode: r.Code, JurisName: r.Name, JurisType: r.Type,
			JurisdictionType: r.jurisdictionType(), Rate: r.Rate, Sourcing: src.sourcing, TaxType: r.TaxType,
			TaxName: r.TaxName,
			InState: fromDA != nil && fromDA.place != nil && fromDA.place.Region == r.Region,
		}
		dt.RateType, dt.RateTypeCode = r.rateType()
		switch {
		case exempt:
			dt.ExemptAmount = base
		case nonTaxable:
			dt.NonTaxableAmount = base
		default:
			dt.TaxableAmount = taxable
			dt.Tax = money.Round2(taxable.Mul(r.Rate))
		}
		dt.TaxCalculated = dt.Tax
		lineTax = lineTax.Add(dt.Tax)
		details = append(details, dt)
	}
	if taxIncluded && len(details) > 0 {
		// The line tax is exactly amount − taxable; the rounding difference
		// goes to the first (state) detail.
		want := base.Sub(taxable)
		if diff := want.Sub(lineTax); !diff.IsZero() {
			details[0].Tax = details[0].Tax.Add(diff)
			details[0].TaxCalculated = details[0].Tax
			lineTax = want
		}
	}
	lm.Details = details
	lm.Tax = lineTax
	lm.TaxCalculated = lineTax
	lm.TaxableAmount = taxable
	lm.LineAmount = lineAmount
}

// applyLineOverride forces a line's tax to amount, spreading it over the
// details in proportion to their rates (the remainder on the last).
func applyLineOverride(lm *avatax.TransactionLineModel, amount decimal.Decimal) {
	a := amount
	lm.TaxOverrideType = "TaxAmount"
	lm.TaxOverrideAmount = &a
	lm.Tax = amount
	if len(lm.Details) == 0 {
		return
	}
	totalRate := zero
	for _, dt := range lm.Details {
		totalRate = totalRate.Add(dt.Rate)
	}
	left := amount
	for i := range lm.Details {
		dt := &lm.Details[i]
		var share decimal.Decimal
		switch {
		case i == len(lm.Details)-1:
			share = left
		case totalRate.IsZero():
			share = zero
		default:
			share = money.Round2(amount.Mul(dt.Rate).Div(totalRate))
		}
		left = left.Sub(share)
		dt.Tax = share
	}
}

func distributeDocOverride(lines []lineResult, ov avatax.TaxOverrideModel) {
	total := *ov.TaxAmount
	weight := zero
	useTax := true
	for _, lr := range lines {
		weight = weight.Add(lr.model.TaxCalculated)
	}
	if weight.IsZero() {
		useTax = false
		for _, lr := range lines {
			weight = weight.Add(lr.model.LineAmount)
		}
	}
	left := total
	for i := range lines {
		lm := &lines[i].model
		var share decimal.Decimal
		switch {
		case i == len(lines)-1:
			share = left
		case weight.IsZero():
			share = zero
		case useTax:
			share = money.Round2(total.Mul(lm.TaxCalculated).Div(weight))
		default:
			share = money.Round2(total.Mul(lm.LineAmount).Div(weight))
		}
		left = left.Sub(share)
		applyLineOverride(lm, share)
		lm.TaxOverrideReason = ov.Reason
	}
}

// summarize builds one summary row per jurisdiction, tax type, rate type
// and rate, in the order the rows first appear.
func summarize(lines []avatax.TransactionLineModel) []avatax.TransactionSummary {
	// A document has a handful of rows, so a linear search is cheaper than
	// building map keys. Rates compare by value (Equal), as their
	// trailing-zero-free strings would.
	type rowKey struct{ country, region, jurisType, jurisCode, taxType, rateType string }
	var out []avatax.TransactionSummary
	var keys []rowKey // keys[i] is the key of out[i]
	for _, l := range lines {
		for _, dt := range l.Details {
			k := rowKey{dt.Country, dt.Region, dt.JurisType, dt.JurisCode, dt.TaxType, dt.RateType}
			i := 0
			for i < len(out) && (keys[i] != k || !out[i].Rate.Equal(dt.Rate)) {
				i++
			}
			if i == len(out) {
				keys = append(keys, k)
				out = append(out, avatax.TransactionSummary{
					Country: dt.Country, Region: dt.Region, JurisType: dt.JurisdictionType, JurisCode: dt.JurisCode,
					JurisName: dt.JurisName, TaxType: dt.TaxType, TaxName: dt.TaxName, RateType: dt.RateType, Rate: dt.Rate,
				})
			}
			s := &out[i]
			s.Taxable = s.Taxable.Add(dt.TaxableAmount)
			s.Tax = s.Tax.Add(dt.Tax)
			s.TaxCalculated = s.TaxCalculated.Add(dt.TaxCalculated)
			s.NonTaxable = s.NonTaxable.Add(dt.NonTaxableAmount)
			s.Exemption = s.Exemption.Add(dt.ExemptAmount)
		}
	}
	return out
}

func isClothing(taxCode string) bool { return strings.HasPrefix(taxCode, "PC04") }

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}

// normDate turns an ISO date or date-time into yyyy-MM-dd; empty means today.
func normDate(s string, now time.Time) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return now.Format("2006-01-02")
	}
	if len(s) >= 10 {
		if t, err := time.Parse("2006-01-02", s[:10]); err == nil {
			return t.Format("2006-01-02")
		}
	}
	for _, layout := range []string{time.RFC3339, "01/02/2006", "2006/01/02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Format("2006-01-02")
		}
	}
	return s
}

// validateLengths applies the API definition's maxLength rules that
// integrations trip over.
func validateLengths(req *createReq) *apiError {
	if len(req.Code) > 50 {
		return errStringLength("code", 50)
	}
	if len(req.CustomerCode) > 50 {
		return errStringLength("customerCode", 50)
	}
	check := func(a *addressesReq) *apiError {
		if a == nil {
			return nil
		}
		for _, x := range []*avatax.AddressLocationInfo{a.SingleLocation, a.ShipFrom, a.ShipTo, a.PointOfOrderOrigin, a.PointOfOrderAcceptance} {
			if x != nil && len(x.PostalCode) > 11 {
				return errStringLength("postalCode", 11)
			}
		}
		return nil
	}
	if e := check(req.Addresses); e != nil {
		return e
	}
	for i, l := range req.Lines {
		if len(l.TaxCode) > 25 {
			return newErrorDetail(400, "ModelStateInvalid", "HttpRequest", avatax.ErrorDetail{
				Code: "MaxStringLengthError", Message: "Field 'taxCode' has an invalid length.",
				Description: "Field 'taxCode' must be no more than 25 characters in length.",
			})
		}
		if len(l.Number) > 50 {
			return errStringLength(fmt.Sprintf("lines[%d].number", i), 50)
		}
		if e := check(l.Addresses); e != nil {
			return e
		}
	}
	return nil
}
