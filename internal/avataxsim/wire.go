package avataxsim

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/taxbridge/taxbridge/internal/avatax"
)

// The wire form of a transaction. avatax.TransactionModel holds the values
// taxbridge uses; AvaTax answers carry many more fields (address ids,
// location types, FIPS codes, reporting units, ...). The sandbox renders
// the model into a JSON object and completes it with those fields so that a
// client sees the same shape as from Avalara. docExtras keeps what the
// model cannot hold.

// docExtras is the per-version data behind the extra wire fields.
type docExtras struct {
	Roles                    []string // location type of each address, by index
	Lines                    []lineExtras
	DocFrom, DocTo           int // document origin and destination address index, or -1
	BusinessIdentificationNo string
	IsSellerImporterOfRecord bool
	ExchangeRateCurrencyCode string
	CustomerSupplierName     string
	CrossBorder              bool // a cross-border VAT supply: invoice messages apply
}

type lineExtras struct {
	From, To, Tax int  // address indexes, or -1
	VAT           bool // taxed under a VAT regime
}

func (ex *docExtras) clone() *docExtras {
	if ex == nil {
		return &docExtras{DocFrom: -1, DocTo: -1}
	}
	c := *ex
	c.Roles = append([]string(nil), ex.Roles...)
	c.Lines = append([]lineExtras(nil), ex.Lines...)
	return &c
}

// docVersion is one version of a document.
type docVersion struct {
	tm avatax.TransactionModel
	ex *docExtras
}

type renderOpts struct {
	include  string
	history  []docVersion // rendered as "history" when non-nil
	listItem bool         // list rows: no lines or addresses unless asked
}

// The wire structs below are the JSON objects of a rendered document. The
// sandbox used to build them as map[string]any, which encoding/json writes
// with sorted keys; the fields here are declared in that same byte order
// of their JSON names (TestWireFieldOrder checks it), so the answers stay
// byte for byte the same, at a fraction of the cost. A field without a
// comment of its own is always written; fields render leaves unset are
// constants whose zero value is what AvaTax sends.

// emptyObject always encodes as {}.
type emptyObject struct{}

// emptyArray always encodes as [].
type emptyArray [0]struct{}

// transactionWire is a document (TransactionModel) on the wire.
type transactionWire struct {
	Addresses                 *[]addressWire       `json:"addresses,omitempty"` // when $include asks for them
	AdjustmentDescription     string               `json:"adjustmentDescription"`
	AdjustmentReason          string               `json:"adjustmentReason"`
	APStatus                  *string              `json:"apStatus"`     // always null
	APStatusCode              *string              `json:"apStatusCode"` // always null
	BatchCode                 string               `json:"batchCode"`
	BusinessIdentificationNo  string               `json:"businessIdentificationNo"`
	Code                      string               `json:"code"`
	CompanyID                 int64                `json:"companyId"`
	Country                   string               `json:"country"`
	CurrencyCode              string               `json:"currencyCode"`
	CustomerCode              string               `json:"customerCode"`
	CustomerSupplierName      string               `json:"customerSupplierName,omitempty"`
	CustomerUsageType         string               `json:"customerUsageType"`
	CustomerVendorCode        string               `json:"customerVendorCode"`
	Date                      string               `json:"date"`
	Description               string               `json:"description"`
	DestinationAddressID      int64                `json:"destinationAddressId"`
	Email                     string               `json:"email"`
	EntityUseCode             string               `json:"entityUseCode"`
	ExchangeRate              json.Number          `json:"exchangeRate"`
	ExchangeRateCurrencyCode  string               `json:"exchangeRateCurrencyCode"`
	ExchangeRateEffectiveDate string               `json:"exchangeRateEffectiveDate"`
	ExemptNo                  string               `json:"exemptNo"`
	History                   *[]transactionWire   `json:"history,omitempty"` // get and list answers
	ID                        int64                `json:"id"`
	InvoiceMessages           []invoiceMessageWire `json:"invoiceMessages,omitempty"` // cross-border VAT supplies
	IsSellerImporterOfRecord  bool                 `json:"isSellerImporterOfRecord"`
	Lines                     *[]lineWire          `json:"lines,omitempty"` // unless $include leaves them out
	LocationCode              string               `json:"locationCode"`
	LocationTypes             []locationTypeWire   `json:"locationTypes"`
	Locked                    bool                 `json:"locked"`
	Messages                  []any                `json:"messages"` // messageWire and storedMessageWire
	ModifiedDate              string               `json:"modifiedDate,omitempty"`
	ModifiedUserID            int64                `json:"modifiedUserId"`
	OriginAddressID           int64                `json:"originAddressId"`
	Parameters                emptyObject          `json:"parameters"`
	PaymentDate               string               `json:"paymentDate"`
	PurchaseOrderNo           string               `json:"purchaseOrderNo"`
	Reconciled                bool                 `json:"reconciled"`
	ReferenceCode             string               `json:"referenceCode"`
	Region                    string               `json:"region"`
	ReportingLocationCode     string               `json:"reportingLocationCode"`
	SalespersonCode           string               `json:"salespersonCode"`
	ShippingTaxes             emptyArray           `json:"shippingTaxes"`
	SoftwareVersion           string               `json:"softwareVersion"`
	Status                    string               `json:"status"`
	Summary                   []summaryWire        `json:"summary"`
	TaxDate                   string               `json:"taxDate,omitempty"`
	TaxOverrideAmount         json.Number          `json:"taxOverrideAmount"`
	TaxOverrideReason         string               `json:"taxOverrideReason"`
	TaxOverrideType           string               `json:"taxOverrideType"`
	TotalAmount               json.Number          `json:"totalAmount"`
	TotalDiscount             json.Number          `json:"totalDiscount"`
	TotalExempt               json.Number          `json:"totalExempt"`
	TotalTax                  json.Number          `json:"totalTax"`
	TotalTaxCalculated        json.Number          `json:"totalTaxCalculated"`
	TotalTaxable              json.Number          `json:"totalTaxable"`
	Type                      string               `json:"type"`
	Version                   int                  `json:"version"`
}

// lineWire is a document line (TransactionLineModel) on the wire.
type lineWire struct {
	BoundaryOverrideID       int64                  `json:"boundaryOverrideId"`
	BusinessIdentificationNo string                 `json:"businessIdentificationNo"`
	CostInsuranceFreight     int64                  `json:"costInsuranceFreight"`
	CustomerUsageType        string                 `json:"customerUsageType"`
	Description              string                 `json:"description"`
	DestinationAddressID     int64                  `json:"destinationAddressId"`
	Details                  *[]detailWire          `json:"details,omitempty"` // unless $include leaves them out
	DiscountAmount           json.Number            `json:"discountAmount"`
	DiscountTypeID           int64                  `json:"discountTypeId"`
	EntityUseCode            string                 `json:"entityUseCode"`
	ExemptAmount             json.Number            `json:"exemptAmount"`
	ExemptCertID             int64                  `json:"exemptCertId"`
	ExemptNo                 string                 `json:"exemptNo"`
	HSCode                   string                 `json:"hsCode"`
	ID                       int64                  `json:"id"`
	IsItemTaxable            bool                   `json:"isItemTaxable"`
	IsSSTP                   bool                   `json:"isSSTP"`
	ItemCode                 string                 `json:"itemCode"`
	LineAmount               json.Number            `json:"lineAmount"`
	LineLocationTypes        []lineLocationTypeWire `json:"lineLocationTypes"`
	LineNumber               string                 `json:"lineNumber"`
	NonPassthroughDetails    emptyArray             `json:"nonPassthroughDetails"`
	OriginAddressID          int64                  `json:"originAddressId"`
	Parameters               any                    `json:"parameters"` // vatLineParameters or emptyObject
	Quantity                 json.Number            `json:"quantity"`
	Ref1                     string                 `json:"ref1"`
	Ref2                     string                 `json:"ref2"`
	ReportingDate            string                 `json:"reportingDate"`
	RevAccount               string                 `json:"revAccount"`
	Sourcing                 string                 `json:"sourcing"`
	Tax                      json.Number            `json:"tax"`
	TaxAmountByTaxTypes      emptyArray             `json:"taxAmountByTaxTypes"`
	TaxCalculated            json.Number            `json:"taxCalculated"`
	TaxCode                  string                 `json:"taxCode"`
	TaxCodeID                int64                  `json:"taxCodeId"`
	TaxDate                  string                 `json:"taxDate"`
	TaxEngine                string                 `json:"taxEngine"`
	TaxIncluded              bool                   `json:"taxIncluded"`
	TaxOverrideAmount        json.Number            `json:"taxOverrideAmount"`
	TaxOverrideReason        string                 `json:"taxOverrideReason"`
	TaxOverrideType          string                 `json:"taxOverrideType"`
	TaxableAmount            json.Number            `json:"taxableAmount"`
	TransactionID            int64                  `json:"transactionId"`
	VATCode                  string                 `json:"vatCode"`
	VATNumberTypeID          int64                  `json:"vatNumberTypeId"`
}

// detailWire is the tax of a line in one jurisdiction
// (TransactionLineDetailModel) on the wire.
type detailWire struct {
	AddressID                int64       `json:"addressId"`
	AvtUserBIN               string      `json:"avtUserBIN"`
	ChargedTo                string      `json:"chargedTo"`
	Country                  string      `json:"country"`
	CountyFIPS               string      `json:"countyFIPS"`
	ExemptAmount             json.Number `json:"exemptAmount"`
	ExemptReasonID           int64       `json:"exemptReasonId"`
	ExemptRuleID             int64       `json:"exemptRuleId"`
	ExemptUnits              json.Number `json:"exemptUnits"`
	ID                       int64       `json:"id"`
	InState                  bool        `json:"inState"`
	IsFee                    bool        `json:"isFee"`
	IsNonPassThru            bool        `json:"isNonPassThru"`
	JurisCode                string      `json:"jurisCode"`
	JurisName                string      `json:"jurisName"`
	JurisType                string      `json:"jurisType"`
	JurisdictionID           int64       `json:"jurisdictionId"`
	JurisdictionType         string      `json:"jurisdictionType"`
	LiabilityType            string      `json:"liabilityType"`
	NonTaxableAmount         json.Number `json:"nonTaxableAmount"`
	NonTaxableRuleID         int64       `json:"nonTaxableRuleId"`
	NonTaxableType           string      `json:"nonTaxableType"`
	NonTaxableUnits          json.Number `json:"nonTaxableUnits"`
	Rate                     json.Number `json:"rate"`
	RateRuleID               int64       `json:"rateRuleId"`
	RateSourceID             int64       `json:"rateSourceId"`
	RateType                 string      `json:"rateType"`
	RateTypeCode             string      `json:"rateTypeCode"`
	Region                   string      `json:"region"`
	ReportingExemptUnits     json.Number `json:"reportingExemptUnits"`
	ReportingNonTaxableUnits json.Number `json:"reportingNonTaxableUnits"`
	ReportingTax             json.Number `json:"reportingTax"`
	ReportingTaxCalculated   json.Number `json:"reportingTaxCalculated"`
	ReportingTaxableUnits    json.Number `json:"reportingTaxableUnits"`
	SerCode                  string      `json:"serCode"`
	SignatureCode            string      `json:"signatureCode"`
	Sourcing                 string      `json:"sourcing"`
	StateAssignedNo          string      `json:"stateAssignedNo"`
	StateFIPS                string      `json:"stateFIPS"`
	Tax                      json.Number `json:"tax"`
	TaxAuthorityTypeID       int64       `json:"taxAuthorityTypeId"`
	TaxCalculated            json.Number `json:"taxCalculated"`
	TaxName                  string      `json:"taxName"`
	TaxOverride              json.Number `json:"taxOverride"`
	TaxRegionID              int64       `json:"taxRegionId"`
	TaxSubTypeID             string      `json:"taxSubTypeId"`
	TaxType                  string      `json:"taxType"`
	TaxTypeGroupID           string      `json:"taxTypeGroupId"`
	TaxableAmount            json.Number `json:"taxableAmount"`
	TaxableUnits             json.Number `json:"taxableUnits"`
	TransactionID            int64       `json:"transactionId"`
	TransactionLineID        int64       `json:"transactionLineId"`
	UnitOfBasis              string      `json:"unitOfBasis"`
	VATCode                  string      `json:"vatCode"`
}

// summaryWire is a summary row (TransactionSummary) on the wire.
type summaryWire struct {
	Country          string      `json:"country"`
	Exemption        json.Number `json:"exemption"`
	JurisCode        string      `json:"jurisCode"`
	JurisName        string      `json:"jurisName"`
	JurisType        string      `json:"jurisType"`
	NonTaxable       json.Number `json:"nonTaxable"`
	Rate             json.Number `json:"rate"`
	RateType         string      `json:"rateType,omitempty"`
	RateTypeCode     string      `json:"rateTypeCode"`
	Region           string      `json:"region"`
	StateAssignedNo  string      `json:"stateAssignedNo"`
	Tax              json.Number `json:"tax"`
	TaxAuthorityType int64       `json:"taxAuthorityType"`
	TaxCalculated    json.Number `json:"taxCalculated"`
	TaxGroup         string      `json:"taxGroup"`
	TaxName          string      `json:"taxName"`
	TaxSubType       string      `json:"taxSubType"`
	TaxType          string      `json:"taxType"`
	Taxable          json.Number `json:"taxable"`
}

// addressWire is a document address (TransactionAddressModel) on the wire.
type addressWire struct {
	BoundaryLevel string `json:"boundaryLevel"`
	City          string `json:"city"`
	Country       string `json:"country"`
	ID            int64  `json:"id"`
	Latitude      string `json:"latitude"`
	Line1         string `json:"line1"`
	Line2         string `json:"line2"`
	Line3         string `json:"line3"`
	Longitude     string `json:"longitude"`
	PostalCode    string `json:"postalCode"`
	Region        string `json:"region"`
	TaxRegionID   int64  `json:"taxRegionId"`
	TaxRegionIDAv int64  `json:"taxRegionIdAv"`
	TransactionID int64  `json:"transactionId"`
}

// locationTypeWire names the role of a document address.
type locationTypeWire struct {
	DocumentAddressID      int64  `json:"documentAddressId"`
	DocumentID             int64  `json:"documentId"`
	DocumentLocationTypeID int64  `json:"documentLocationTypeId"`
	LocationTypeCode       string `json:"locationTypeCode"`
}

// lineLocationTypeWire names the role of a line address.
type lineLocationTypeWire struct {
	DocumentAddressID          int64  `json:"documentAddressId"`
	DocumentLineID             int64  `json:"documentLineId"`
	DocumentLineLocationTypeID int64  `json:"documentLineLocationTypeId"`
	LocationTypeCode           string `json:"locationTypeCode"`
}

// messageWire is a message the sandbox generates; it always has every
// field.
type messageWire struct {
	Details  string `json:"details"`
	RefersTo string `json:"refersTo"`
	Severity string `json:"severity"`
	Source   string `json:"source"`
	Summary  string `json:"summary"`
}

// storedMessageWire is a message stored on a document (AvaTaxMessage),
// whose optional fields are left out when empty.
type storedMessageWire struct {
	Details  string `json:"details,omitempty"`
	RefersTo string `json:"refersTo,omitempty"`
	Severity string `json:"severity"`
	Source   string `json:"source,omitempty"`
	Summary  string `json:"summary"`
}

// invoiceMessageWire is a legal text to print on an invoice.
type invoiceMessageWire struct {
	Content     string   `json:"content"`
	LineNumbers []string `json:"lineNumbers"`
}

// nameValue is a line parameter.
type nameValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// vatLineParameters are the parameters AvaTax reports on a VAT line. The
// slice is shared by every answer and must not change.
var vatLineParameters = []nameValue{
	{"Transport", "None"}, {"IsMarketplace", "False"}, {"IsTriangulation", "False"}, {"IsGoodsSecondHand", "False"},
}

// orDefault returns s, or def when s is empty: the value of a field that
// the model leaves out when empty and AvaTax always sends.
func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
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

	w := &transactionWire{
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
		addrs := make([]addressWire, len(shaped.Addresses))
		for i, a := range shaped.Addresses {
			addrs[i] = addressWire{
				BoundaryLevel: a.BoundaryLevel, City: a.City, Country: a.Country, ID: a.ID, Latitude: a.Latitude,
				Line1: a.Line1, Line2: a.Line2, Line3: a.Line3, Longitude: a.Longitude, PostalCode: a.PostalCode,
				Region: a.Region, TaxRegionID: a.TaxRegionID, TaxRegionIDAv: a.TaxRegionID, TransactionID: a.TransactionID,
			}
		}
		w.Addresses = &addrs
	}
	// Location types of the document.
	w.LocationTypes = make([]locationTypeWire, 0, 2)
	for _, lt := range [...]struct {
		code string
		i    int
	}{{"ShipFrom", ex.DocFrom}, {"ShipTo", ex.DocTo}} {
		if lt.i < 0 {
			continue
		}
		w.LocationTypes = append(w.LocationTypes, locationTypeWire{
			DocumentAddressID:      addrID(lt.i),
			DocumentID:             tm.ID,
			DocumentLocationTypeID: tm.ID*10 + int64(len(w.LocationTypes)) + 1,
			LocationTypeCode:       lt.code,
		})
	}

	inc := parseInclude(o.include)
	w.Summary = make([]summaryWire, 0, len(tm.Summary))
	if o.include == "" || inc["summary"] || inc["summaryonly"] {
		for _, s := range tm.Summary {
			w.Summary = append(w.Summary, summaryWire{
				Country: s.Country, Exemption: num(s.Exemption), JurisCode: s.JurisCode, JurisName: s.JurisName,
				JurisType: s.JurisType, NonTaxable: num(s.NonTaxable), Rate: num(s.Rate), RateType: s.RateType,
				RateTypeCode: rateTypeCode(s.RateType), Region: s.Region, Tax: num(s.Tax), TaxAuthorityType: 45,
				TaxCalculated: num(s.TaxCalculated), TaxName: s.TaxName, TaxSubType: taxSubType(s.TaxType),
				TaxType: s.TaxType, Taxable: num(s.Taxable),
			})
		}
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
