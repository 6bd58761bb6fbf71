package avataxsim

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/internal/avatax"
)

// renderOpts says which parts of a document an answer carries.
type renderOpts struct {
	include  string
	history  []docVersion // rendered as "history" when non-nil
	listItem bool         // list rows: no lines or addresses unless asked
}

// Constant values of rendered documents. They are shared by every answer
// and must not change.
var (
	decimalZero = decimal.Zero
	decimalOne  = decimal.NewFromInt(1)
	// emptyObject is the parameters of a document, and of a line not taxed
	// under a VAT regime.
	emptyObject = json.RawMessage(`{}`)
	// vatLineParameters are the parameters AvaTax reports on a VAT line.
	vatLineParameters = json.RawMessage(`[{"name":"Transport","value":"None"},{"name":"IsMarketplace","value":"False"},` +
		`{"name":"IsTriangulation","value":"False"},{"name":"IsGoodsSecondHand","value":"False"}]`)
)

// render returns the answer form of a document version: the stored model
// completed with the fields AvaTax sends that the sandbox does not store
// (from the version's extras) and with the values AvaTax sends where the
// model holds none.
func render(v docVersion, o renderOpts) *avatax.TransactionModel {
	tm := v.tm
	ex := v.ex
	if ex == nil {
		ex = &docExtras{DocFrom: -1, DocTo: -1}
	}
	addrID := func(i int) int64 {
		if i < 0 || i >= len(tm.Addresses) {
			return 0
		}
		return tm.Addresses[i].ID
	}
	shaped := tm
	if o.listItem && o.include == "" {
		shaped.Lines, shaped.Addresses = nil, nil
	} else {
		shaped = applyInclude(tm, o.include)
	}

	w := renderHeader(tm, ex, addrID)
	w.Lines = nil
	if shaped.Lines != nil {
		lines := make([]avatax.TransactionLineModel, len(shaped.Lines))
		for i, l := range shaped.Lines {
			le := lineExtras{From: ex.DocFrom, To: ex.DocTo, Tax: ex.DocTo}
			if i < len(ex.Lines) {
				le = ex.Lines[i]
			}
			renderLine(&lines[i], l, le, tm, addrID)
		}
		w.Lines = lines
	}
	w.Addresses = nil
	if shaped.Addresses != nil {
		w.Addresses = renderAddresses(shaped.Addresses)
	}
	w.LocationTypes = locationTypes(tm.ID, ex, addrID)
	inc := parseInclude(o.include)
	if o.include == "" || inc["summary"] || inc["summaryonly"] {
		w.Summary = renderSummary(tm.Summary)
	} else {
		w.Summary = make([]avatax.TransactionSummary, 0, len(tm.Summary))
	}
	w.Messages = messagesFor(tm, ex)
	w.InvoiceMessages = nil
	if ex.CrossBorder {
		w.InvoiceMessages = invoiceMessages(tm)
	}
	w.History = nil
	if o.history != nil {
		h := make([]avatax.TransactionModel, len(o.history))
		for i, hv := range o.history {
			h[i] = *render(hv, renderOpts{listItem: true})
		}
		w.History = h
	}
	return w
}

// renderHeader returns the answer form of a document without its lines,
// addresses, location types, summary and messages, which render replaces.
func renderHeader(tm avatax.TransactionModel, ex *docExtras, addrID func(int) int64) *avatax.TransactionModel {
	w := tm
	w.APStatus, w.APStatusCode = nil, nil
	w.BusinessIdentificationNo = ex.BusinessIdentificationNo
	w.CustomerSupplierName = ex.CustomerSupplierName
	w.DestinationAddressID = addrID(ex.DocTo)
	if w.ExchangeRate == nil {
		w.ExchangeRate = &decimalOne
	}
	w.ExchangeRateCurrencyCode = firstNonEmpty(ex.ExchangeRateCurrencyCode, tm.CurrencyCode)
	w.ExchangeRateEffectiveDate = orDefault(tm.ExchangeRateEffectiveDate, tm.Date)
	w.IsSellerImporterOfRecord = ex.IsSellerImporterOfRecord
	w.ModifiedUserID = 1
	w.OriginAddressID = addrID(ex.DocFrom)
	w.Parameters = emptyObject
	w.PaymentDate = "1900-01-01"
	w.ShippingTaxes = []json.RawMessage{}
	w.SoftwareVersion = orDefault(tm.SoftwareVersion, softwareVersion)
	if w.TaxOverrideAmount == nil {
		w.TaxOverrideAmount = &decimalZero
	}
	w.TaxOverrideType = orDefault(tm.TaxOverrideType, "None")
	return &w
}

// renderAddresses returns the answer form of a document's addresses.
func renderAddresses(as []avatax.TransactionAddressModel) []avatax.TransactionAddressModel {
	addrs := make([]avatax.TransactionAddressModel, len(as))
	for i, a := range as {
		a.TaxRegionIDAv = a.TaxRegionID
		addrs[i] = a
	}
	return addrs
}

// locationTypes names the roles of a document's origin and destination.
func locationTypes(docID int64, ex *docExtras, addrID func(int) int64) []avatax.TransactionLocationTypeModel {
	out := make([]avatax.TransactionLocationTypeModel, 0, 2)
	for _, lt := range [...]struct {
		code string
		i    int
	}{{"ShipFrom", ex.DocFrom}, {"ShipTo", ex.DocTo}} {
		if lt.i < 0 {
			continue
		}
		out = append(out, avatax.TransactionLocationTypeModel{
			DocumentAddressID:      addrID(lt.i),
			DocumentID:             docID,
			DocumentLocationTypeID: docID*10 + int64(len(out)) + 1,
			LocationTypeCode:       lt.code,
		})
	}
	return out
}

// renderSummary returns the answer form of a document's summary rows.
func renderSummary(rows []avatax.TransactionSummary) []avatax.TransactionSummary {
	out := make([]avatax.TransactionSummary, 0, len(rows))
	for _, s := range rows {
		s.RateTypeCode = rateTypeCode(s.RateType)
		s.TaxAuthorityType = 45
		s.TaxSubType = taxSubType(s.TaxType)
		out = append(out, s)
	}
	return out
}

// renderLine fills the answer form of a line; tm is the whole document,
// whose addresses the line's extras refer to.
func renderLine(lw *avatax.TransactionLineModel, l avatax.TransactionLineModel, le lineExtras, tm avatax.TransactionModel, addrID func(int) int64) {
	*lw = l
	lw.DestinationAddressID = addrID(le.To)
	lw.OriginAddressID = addrID(le.From)
	lw.LineLocationTypes = make([]avatax.TransactionLineLocationTypeModel, 0, 2)
	lw.NonPassthroughDetails = []avatax.TransactionLineDetailModel{}
	lw.Parameters = emptyObject
	if le.VAT {
		lw.Parameters = vatLineParameters
	}
	lw.Sourcing = orDefault(l.Sourcing, "Destination")
	lw.TaxAmountByTaxTypes = []avatax.TransactionLineTaxAmountByTaxTypeModel{}
	if lw.TaxOverrideAmount == nil {
		lw.TaxOverrideAmount = &decimalZero
	}
	lw.TaxOverrideType = orDefault(l.TaxOverrideType, "None")
	for k, lt := range [...]struct {
		code string
		i    int
	}{{"ShipFrom", le.From}, {"ShipTo", le.To}} {
		if lt.i < 0 {
			continue
		}
		lw.LineLocationTypes = append(lw.LineLocationTypes, avatax.TransactionLineLocationTypeModel{
			DocumentAddressID:          addrID(lt.i),
			DocumentLineID:             l.ID,
			DocumentLineLocationTypeID: l.ID*10 + int64(k) + 1,
			LocationTypeCode:           lt.code,
		})
	}
	lw.Details = nil
	if l.Details != nil {
		ds := make([]avatax.TransactionLineDetailModel, len(l.Details))
		for i, d := range l.Details {
			renderDetail(&ds[i], d, le, tm, addrID)
		}
		lw.Details = ds
	}
}

// renderDetail fills the answer form of a line detail.
func renderDetail(dw *avatax.TransactionLineDetailModel, d avatax.TransactionLineDetailModel, le lineExtras, tm avatax.TransactionModel, addrID func(int) int64) {
	fips := ""
	if info, ok := usRegions[d.Region]; ok && d.Country == "US" {
		fips = info.FIPS
	}
	var taxRegion int64
	if le.Tax >= 0 && le.Tax < len(tm.Addresses) {
		taxRegion = tm.Addresses[le.Tax].TaxRegionID
	}
	jurisID := jurisdictionID(d)
	*dw = d
	dw.AddressID = addrID(le.Tax)
	dw.ChargedTo = "Buyer"
	dw.ExemptReasonID = 4
	dw.ExemptUnits = d.ExemptAmount
	dw.JurisdictionID = jurisID
	dw.LiabilityType = "Seller"
	dw.NonTaxableType = "RateRule"
	dw.NonTaxableUnits = d.NonTaxableAmount
	dw.RateRuleID = 1000000 + jurisID
	dw.RateSourceID = 3
	dw.RateType = orDefault(d.RateType, "General")
	dw.RateTypeCode = orDefault(d.RateTypeCode, "G")
	dw.ReportingExemptUnits = d.ExemptAmount
	dw.ReportingNonTaxableUnits = d.NonTaxableAmount
	dw.ReportingTax = d.Tax
	dw.ReportingTaxCalculated = d.TaxCalculated
	dw.ReportingTaxableUnits = d.TaxableAmount
	dw.SignatureCode = rowIndex[d.Region+"|"+d.JurisType+"|"+d.JurisCode].Sig
	dw.Sourcing = orDefault(d.Sourcing, "Destination")
	dw.StateFIPS = fips
	dw.TaxAuthorityTypeID = 45
	dw.TaxOverride = d.Tax.Sub(d.TaxCalculated)
	dw.TaxRegionID = taxRegion
	dw.TaxSubTypeID = taxSubType(d.TaxType)
	dw.TaxTypeGroupID = taxTypeGroup(d.TaxType)
	dw.TaxableUnits = d.TaxableAmount
	dw.UnitOfBasis = "PerCurrencyUnit"
}

// orDefault returns s, or def when s is empty: the value of a field that
// the model leaves out when empty and AvaTax always sends.
func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func jurisdictionID(d avatax.TransactionLineDetailModel) int64 {
	var h int64 = 17
	for _, r := range d.Region + d.JurisType + d.JurisCode {
		h = (h*31 + int64(r)) % 1000000
	}
	return h
}

func taxSubType(taxType string) string {
	if taxType == "Output" {
		return "O"
	}
	return "S"
}

func taxTypeGroup(taxType string) string {
	if taxType == "Output" {
		return "InputAndOutput"
	}
	return "SalesAndUse"
}

func rateTypeCode(rateType string) string {
	switch rateType {
	case "Zero":
		return "Z"
	case "Standard":
		return "S"
	case "":
		return "G"
	}
	return rateType[:1]
}

// messagesFor returns the informational messages of a document: any stored
// messages, plus one per address naming its location type, as AvaTax
// reports them.
func messagesFor(tm avatax.TransactionModel, ex *docExtras) []avatax.AvaTaxMessage {
	out := make([]avatax.AvaTaxMessage, 0, len(tm.Messages)+len(ex.Roles)+1)
	out = append(out, tm.Messages...)
	for i, role := range ex.Roles {
		if i >= len(tm.Addresses) {
			break
		}
		a := tm.Addresses[i]
		out = append(out, avatax.AvaTaxMessage{
			Summary:  "AddressLocationType: " + role,
			Details:  strings.TrimSpace(a.Line1 + " " + a.City + " " + a.Region + " " + a.PostalCode),
			RefersTo: "Addresses[" + strconv.Itoa(i) + "]",
			Severity: "Success",
			Source:   "Avalara.AvaTax.TaxEngine",
		})
	}
	if ex.CrossBorder {
		out = append(out, avatax.AvaTaxMessage{
			Summary:  "Invoice  Messages for the transaction",
			Details:  "Cross-border supply zero-rated in the country of origin.",
			RefersTo: "",
			Severity: "Success",
			Source:   "Avalara.AvaTax.TaxEngine",
		})
	}
	return out
}

func invoiceMessages(tm avatax.TransactionModel) []avatax.InvoiceMessageModel {
	nums := make([]string, 0, len(tm.Lines))
	for _, l := range tm.Lines {
		nums = append(nums, l.LineNumber)
	}
	return []avatax.InvoiceMessageModel{{
		Content:     "Intra-EU Supply of Goods as per Art. 138 EU VAT Directive 2006/112",
		LineNumbers: nums,
	}}
}

// toMap turns a value into its generic JSON object, for answers that are
// filtered ($filter on list rows) or completed key by key.
func toMap(v any) map[string]any {
	var b []byte
	if tm, ok := v.(*avatax.TransactionModel); ok {
		b, _ = appendDocument(nil, tm)
	} else {
		b, _ = json.Marshal(v)
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	_ = dec.Decode(&m)
	return m
}

func setDefault(m map[string]any, k string, v any) {
	if _, ok := m[k]; !ok {
		m[k] = v
	}
}
