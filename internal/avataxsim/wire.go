package avataxsim

import (
	"encoding/json"
)

// The wire form of a transaction. The sandbox stores documents as the
// client's avatax.TransactionModel, which holds the values taxbridge uses;
// AvaTax answers carry many more fields (address ids, location types, FIPS
// codes, reporting units, ...). The sandbox renders the model into the
// structs below and completes it with those fields so that a client sees
// the same shape as from Avalara. docExtras keeps what the model cannot
// hold.
//
// The structs are not the client's models, nor can they be, because:
//   - they have the fields the client ignores;
//   - their keys are in sorted order (see below), the client's in the order
//     of the API definition;
//   - amounts are json.Number, formatted once by formatDecimal (amount.go):
//     decimal.Decimal's MarshalJSON writes the same digits but costs far
//     more across the hundreds of amounts of a document;
//   - they write what AvaTax always sends (region, taxOverrideAmount,
//     exemptNo of a line, ...) where the client's models omit an empty value.

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

// lineExtras is the per-line data behind the extra wire fields of a line.
type lineExtras struct {
	From, To, Tax int  // address indexes, or -1
	VAT           bool // taxed under a VAT regime
}

// clone copies ex deeply; a nil ex is a document without addresses.
func (ex *docExtras) clone() *docExtras {
	if ex == nil {
		return &docExtras{DocFrom: -1, DocTo: -1}
	}
	c := *ex
	c.Roles = append([]string(nil), ex.Roles...)
	c.Lines = append([]lineExtras(nil), ex.Lines...)
	return &c
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

// storedMessageWire is a message stored on a document: avatax.AvaTaxMessage
// with the same fields left out when empty, but with its keys in sorted
// order like every other object of a document.
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
