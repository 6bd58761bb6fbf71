package avataxsim

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/taxbridge/taxbridge/internal/avatax"
)

// renderOpts says which parts of a document an answer carries.
type renderOpts struct {
	include  string
	history  []docVersion // rendered as "history" when non-nil
	listItem bool         // list rows: no lines or addresses unless asked
}

// render returns the wire form of a document version.
func render(v docVersion, o renderOpts) *transactionWire {
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
	if shaped.Lines != nil {
		lines := make([]lineWire, len(shaped.Lines))
		for i, l := range shaped.Lines {
			le := lineExtras{From: ex.DocFrom, To: ex.DocTo, Tax: ex.DocTo}
			if i < len(ex.Lines) {
				le = ex.Lines[i]
			}
			renderLine(&lines[i], l, le, tm, addrID)
		}
		w.Lines = &lines
	}
	if shaped.Addresses != nil {
		w.Addresses = renderAddresses(shaped.Addresses)
	}
	w.LocationTypes = locationTypes(tm.ID, ex, addrID)
	inc := parseInclude(o.include)
	if o.include == "" || inc["summary"] || inc["summaryonly"] {
		w.Summary = renderSummary(tm.Summary)
	} else {
		w.Summary = make([]summaryWire, 0, len(tm.Summary))
	}
	w.Messages = messagesFor(tm, ex)
	if ex.CrossBorder {
		w.InvoiceMessages = invoiceMessages(tm)
	}
	if o.history != nil {
		h := make([]transactionWire, len(o.history))
		for i, hv := range o.history {
			h[i] = *render(hv, renderOpts{listItem: true})
		}
		w.History = &h
	}
	return w
}

// renderHeader returns the wire form of a document without its lines,
// addresses, location types, summary and messages.
func renderHeader(tm avatax.TransactionModel, ex *docExtras, addrID func(int) int64) *transactionWire {
	return &transactionWire{
		AdjustmentDescription:     tm.AdjustmentDescription,
		AdjustmentReason:          tm.AdjustmentReason,
		BatchCode:                 tm.BatchCode,
		BusinessIdentificationNo:  ex.BusinessIdentificationNo,
		Code:                      tm.Code,
		CompanyID:                 tm.CompanyID,
		Country:                   tm.Country,
		CurrencyCode:              tm.CurrencyCode,
		CustomerCode:              tm.CustomerCode,
		CustomerSupplierName:      ex.CustomerSupplierName,
		CustomerUsageType:         tm.CustomerUsageType,
		CustomerVendorCode:        tm.CustomerVendorCode,
		Date:                      tm.Date,
		Description:               tm.Description,
		DestinationAddressID:      addrID(ex.DocTo),
		Email:                     tm.Email,
		EntityUseCode:             tm.EntityUseCode,
		ExchangeRate:              numOr(tm.ExchangeRate, "1"),
		ExchangeRateCurrencyCode:  firstNonEmpty(ex.ExchangeRateCurrencyCode, tm.CurrencyCode),
		ExchangeRateEffectiveDate: orDefault(tm.ExchangeRateEffectiveDate, tm.Date),
		ExemptNo:                  tm.ExemptNo,
		ID:                        tm.ID,
		IsSellerImporterOfRecord:  ex.IsSellerImporterOfRecord,
		LocationCode:              tm.LocationCode,
		Locked:                    tm.Locked,
		ModifiedDate:              tm.ModifiedDate,
		ModifiedUserID:            1,
		OriginAddressID:           addrID(ex.DocFrom),
		PaymentDate:               "1900-01-01",
		PurchaseOrderNo:           tm.PurchaseOrderNo,
		Reconciled:                tm.Reconciled,
		ReferenceCode:             tm.ReferenceCode,
		Region:                    tm.Region,
		ReportingLocationCode:     tm.ReportingLocationCode,
		SalespersonCode:           tm.SalespersonCode,
		SoftwareVersion:           orDefault(tm.SoftwareVersion, softwareVersion),
		Status:                    tm.Status,
		TaxDate:                   tm.TaxDate,
		TaxOverrideAmount:         numOr(tm.TaxOverrideAmount, "0"),
		TaxOverrideReason:         tm.TaxOverrideReason,
		TaxOverrideType:           orDefault(tm.TaxOverrideType, "None"),
		TotalAmount:               num(tm.TotalAmount),
		TotalDiscount:             num(tm.TotalDiscount),
		TotalExempt:               num(tm.TotalExempt),
		TotalTax:                  num(tm.TotalTax),
		TotalTaxable:              num(tm.TotalTaxable),
		TotalTaxCalculated:        num(tm.TotalTaxCalculated),
		Type:                      tm.Type,
		Version:                   tm.Version,
	}
}

// renderAddresses returns the wire form of a document's addresses.
func renderAddresses(as []avatax.TransactionAddressModel) *[]addressWire {
	addrs := make([]addressWire, len(as))
	for i, a := range as {
		addrs[i] = addressWire{
			BoundaryLevel: a.BoundaryLevel, City: a.City, Country: a.Country, ID: a.ID, Latitude: a.Latitude,
			Line1: a.Line1, Line2: a.Line2, Line3: a.Line3, Longitude: a.Longitude, PostalCode: a.PostalCode,
			Region: a.Region, TaxRegionID: a.TaxRegionID, TaxRegionIDAv: a.TaxRegionID, TransactionID: a.TransactionID,
		}
	}
	return &addrs
}

// locationTypes names the roles of a document's origin and destination.
func locationTypes(docID int64, ex *docExtras, addrID func(int) int64) []locationTypeWire {
	out := make([]locationTypeWire, 0, 2)
	for _, lt := range [...]struct {
		code string
		i    int
	}{{"ShipFrom", ex.DocFrom}, {"ShipTo", ex.DocTo}} {
		if lt.i < 0 {
			continue
		}
		out = append(out, locationTypeWire{
			DocumentAddressID:      addrID(lt.i),
			DocumentID:             docID,
			DocumentLocationTypeID: docID*10 + int64(len(out)) + 1,
			LocationTypeCode:       lt.code,
		})
	}
	return out
}

// renderSummary returns the wire form of a document's summary rows.
func renderSummary(rows []avatax.TransactionSummary) []summaryWire {
	out := make([]summaryWire, 0, len(rows))
	for _, s := range rows {
		out = append(out, summaryWire{
			Country: s.Country, Exemption: num(s.Exemption), JurisCode: s.JurisCode, JurisName: s.JurisName,
			JurisType: s.JurisType, NonTaxable: num(s.NonTaxable), Rate: num(s.Rate), RateType: s.RateType,
			RateTypeCode: rateTypeCode(s.RateType), Region: s.Region, Tax: num(s.Tax), TaxAuthorityType: 45,
			TaxCalculated: num(s.TaxCalculated), TaxName: s.TaxName, TaxSubType: taxSubType(s.TaxType),
			TaxType: s.TaxType, Taxable: num(s.Taxable),
		})
	}
	return out
}

// renderLine fills the wire form of a line; tm is the whole document, whose
// addresses the line's extras refer to.
func renderLine(lw *lineWire, l avatax.TransactionLineModel, le lineExtras, tm avatax.TransactionModel, addrID func(int) int64) {
	*lw = lineWire{
		CustomerUsageType:    l.CustomerUsageType,
		Description:          l.Description,
		DestinationAddressID: addrID(le.To),
		DiscountAmount:       num(l.DiscountAmount),
		EntityUseCode:        l.EntityUseCode,
		ExemptAmount:         num(l.ExemptAmount),
		ExemptCertID:         l.ExemptCertID,
		ExemptNo:             l.ExemptNo,
		HSCode:               l.HSCode,
		ID:                   l.ID,
		IsItemTaxable:        l.IsItemTaxable,
		ItemCode:             l.ItemCode,
		LineAmount:           num(l.LineAmount),
		LineLocationTypes:    make([]lineLocationTypeWire, 0, 2),
		LineNumber:           l.LineNumber,
		OriginAddressID:      addrID(le.From),
		Parameters:           emptyObject{},
		Quantity:             num(l.Quantity),
		Ref1:                 l.Ref1,
		Ref2:                 l.Ref2,
		ReportingDate:        l.ReportingDate,
		Sourcing:             orDefault(l.Sourcing, "Destination"),
		Tax:                  num(l.Tax),
		TaxCalculated:        num(l.TaxCalculated),
		TaxCode:              l.TaxCode,
		TaxCodeID:            l.TaxCodeID,
		TaxDate:              l.TaxDate,
		TaxIncluded:          l.TaxIncluded,
		TaxOverrideAmount:    numOr(l.TaxOverrideAmount, "0"),
		TaxOverrideReason:    l.TaxOverrideReason,
		TaxOverrideType:      orDefault(l.TaxOverrideType, "None"),
		TaxableAmount:        num(l.TaxableAmount),
		TransactionID:        l.TransactionID,
	}
	if le.VAT {
		lw.Parameters = vatLineParameters
	}
	for k, lt := range [...]struct {
		code string
		i    int
	}{{"ShipFrom", le.From}, {"ShipTo", le.To}} {
		if lt.i < 0 {
			continue
		}
		lw.LineLocationTypes = append(lw.LineLocationTypes, lineLocationTypeWire{
			DocumentAddressID:          addrID(lt.i),
			DocumentLineID:             l.ID,
			DocumentLineLocationTypeID: l.ID*10 + int64(k) + 1,
			LocationTypeCode:           lt.code,
		})
	}
	if l.Details != nil {
		ds := make([]detailWire, len(l.Details))
		for i, d := range l.Details {
			renderDetail(&ds[i], d, le, tm, addrID)
		}
		lw.Details = &ds
	}
}

// renderDetail fills the wire form of a line detail.
func renderDetail(dw *detailWire, d avatax.TransactionLineDetailModel, le lineExtras, tm avatax.TransactionModel, addrID func(int) int64) {
	fips := ""
	if info, ok := usRegions[d.Region]; ok && d.Country == "US" {
		fips = info.FIPS
	}
	var taxRegion int64
	if le.Tax >= 0 && le.Tax < len(tm.Addresses) {
		taxRegion = tm.Addresses[le.Tax].TaxRegionID
	}
	jurisID := jurisdictionID(d)
	// Each amount appears under several names; format it once.
	exempt, nonTaxable, taxable := num(d.ExemptAmount), num(d.NonTaxableAmount), num(d.TaxableAmount)
	tax, taxCalculated := num(d.Tax), num(d.TaxCalculated)
	*dw = detailWire{
		AddressID:                addrID(le.Tax),
		ChargedTo:                "Buyer",
		Country:                  d.Country,
		ExemptAmount:             exempt,
		ExemptReasonID:           4,
		ExemptUnits:              exempt,
		ID:                       d.ID,
		InState:                  d.InState,
		JurisCode:                d.JurisCode,
		JurisName:                d.JurisName,
		JurisType:                d.JurisType,
		JurisdictionID:           jurisID,
		JurisdictionType:         d.JurisdictionType,
		LiabilityType:            "Seller",
		NonTaxableAmount:         nonTaxable,
		NonTaxableType:           "RateRule",
		NonTaxableUnits:          nonTaxable,
		Rate:                     num(d.Rate),
		RateRuleID:               1000000 + jurisID,
		RateSourceID:             3,
		RateType:                 orDefault(d.RateType, "General"),
		RateTypeCode:             orDefault(d.RateTypeCode, "G"),
		Region:                   d.Region,
		ReportingExemptUnits:     exempt,
		ReportingNonTaxableUnits: nonTaxable,
		ReportingTax:             tax,
		ReportingTaxCalculated:   taxCalculated,
		ReportingTaxableUnits:    taxable,
		SignatureCode:            rowIndex[d.Region+"|"+d.JurisType+"|"+d.JurisCode].Sig,
		Sourcing:                 orDefault(d.Sourcing, "Destination"),
		StateFIPS:                fips,
		Tax:                      tax,
		TaxAuthorityTypeID:       45,
		TaxCalculated:            taxCalculated,
		TaxName:                  d.TaxName,
		TaxOverride:              num(d.Tax.Sub(d.TaxCalculated)),
		TaxRegionID:              taxRegion,
		TaxSubTypeID:             taxSubType(d.TaxType),
		TaxType:                  d.TaxType,
		TaxTypeGroupID:           taxTypeGroup(d.TaxType),
		TaxableAmount:            taxable,
		TaxableUnits:             taxable,
		TransactionID:            d.TransactionID,
		TransactionLineID:        d.TransactionLineID,
		UnitOfBasis:              "PerCurrencyUnit",
	}
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
func messagesFor(tm avatax.TransactionModel, ex *docExtras) []any {
	out := make([]any, 0, len(tm.Messages)+len(ex.Roles)+1)
	for _, m := range tm.Messages {
		out = append(out, storedMessageWire{Details: m.Details, RefersTo: m.RefersTo, Severity: m.Severity, Source: m.Source, Summary: m.Summary})
	}
	for i, role := range ex.Roles {
		if i >= len(tm.Addresses) {
			break
		}
		a := tm.Addresses[i]
		out = append(out, messageWire{
			Summary:  "AddressLocationType: " + role,
			Details:  strings.TrimSpace(a.Line1 + " " + a.City + " " + a.Region + " " + a.PostalCode),
			RefersTo: "Addresses[" + strconv.Itoa(i) + "]",
			Severity: "Success",
			Source:   "Avalara.AvaTax.TaxEngine",
		})
	}
	if ex.CrossBorder {
		out = append(out, messageWire{
			Summary:  "Invoice  Messages for the transaction",
			Details:  "Cross-border supply zero-rated in the country of origin.",
			RefersTo: "",
			Severity: "Success",
			Source:   "Avalara.AvaTax.TaxEngine",
		})
	}
	return out
}

func invoiceMessages(tm avatax.TransactionModel) []invoiceMessageWire {
	nums := make([]string, 0, len(tm.Lines))
	for _, l := range tm.Lines {
		nums = append(nums, l.LineNumber)
	}
	return []invoiceMessageWire{{
		Content:     "Intra-EU Supply of Goods as per Art. 138 EU VAT Directive 2006/112",
		LineNumbers: nums,
	}}
}

// toMap turns a value into its generic JSON object, for answers that are
// filtered ($filter on list rows) or completed key by key.
func toMap(v any) map[string]any {
	b, _ := json.Marshal(v)
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
