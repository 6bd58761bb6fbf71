// Package avatax is taxbridge's client for Avalara AvaTax REST v2, and the
// home of the wire models shared by the client and the AvaTax emulator
// (internal/avataxsim), which decodes requests into them and stores
// documents as TransactionModel.
//
// Field names follow the AvaTax API definition exactly (camelCase JSON);
// amounts are decimals, never float64.
package avatax

import (
	"encoding/json"

	"github.com/shopspring/decimal"
)

// Document types (DocumentType enum).
const (
	SalesOrder    = "SalesOrder"
	SalesInvoice  = "SalesInvoice"
	ReturnOrder   = "ReturnOrder"
	ReturnInvoice = "ReturnInvoice"
)

// Document statuses (DocumentStatus enum).
const (
	StatusTemporary = "Temporary"
	StatusSaved     = "Saved"
	StatusPosted    = "Posted"
	StatusCommitted = "Committed"
	StatusCancelled = "Cancelled"
	StatusAdjusted  = "Adjusted"
)

// Void reasons (VoidReasonCode enum).
const (
	VoidDocVoided  = "DocVoided"
	VoidDocDeleted = "DocDeleted"
)

// Refund types (RefundType enum).
const (
	RefundFull       = "Full"
	RefundPartial    = "Partial"
	RefundTaxOnly    = "TaxOnly"
	RefundPercentage = "Percentage"
)

// Tax override types (TaxOverrideType enum).
const (
	OverrideNone      = "None"
	OverrideTaxAmount = "TaxAmount"
	OverrideExemption = "Exemption"
	OverrideTaxDate   = "TaxDate"
)

// CreateTransactionModel is the body of transactions/create and the
// createTransactionModel of createoradjust.
type CreateTransactionModel struct {
	Code                  string            `json:"code,omitempty"`
	Lines                 []LineItemModel   `json:"lines"`
	Type                  string            `json:"type,omitempty"`
	CompanyCode           string            `json:"companyCode,omitempty"`
	Date                  string            `json:"date"`
	SalespersonCode       string            `json:"salespersonCode,omitempty"`
	CustomerCode          string            `json:"customerCode"`
	EntityUseCode         string            `json:"entityUseCode,omitempty"`
	Discount              *decimal.Decimal  `json:"discount,omitempty"`
	PurchaseOrderNo       string            `json:"purchaseOrderNo,omitempty"`
	ExemptionNo           string            `json:"exemptionNo,omitempty"`
	Addresses             *AddressesModel   `json:"addresses,omitempty"`
	ReferenceCode         string            `json:"referenceCode,omitempty"`
	ReportingLocationCode string            `json:"reportingLocationCode,omitempty"`
	Commit                bool              `json:"commit"`
	BatchCode             string            `json:"batchCode,omitempty"`
	TaxOverride           *TaxOverrideModel `json:"taxOverride,omitempty"`
	CurrencyCode          string            `json:"currencyCode,omitempty"`
	Description           string            `json:"description,omitempty"`
	Email                 string            `json:"email,omitempty"`
}

// LineItemModel is one line of a transaction request. Amount is the line
// total, not the unit price; negative on returns.
type LineItemModel struct {
	Number        string            `json:"number,omitempty"`
	Quantity      decimal.Decimal   `json:"quantity"`
	Amount        decimal.Decimal   `json:"amount"`
	Addresses     *AddressesModel   `json:"addresses,omitempty"`
	TaxCode       string            `json:"taxCode,omitempty"`
	EntityUseCode string            `json:"entityUseCode,omitempty"`
	ItemCode      string            `json:"itemCode,omitempty"`
	ExemptionCode string            `json:"exemptionCode,omitempty"`
	Discounted    bool              `json:"discounted,omitempty"`
	TaxIncluded   bool              `json:"taxIncluded,omitempty"`
	Ref1          string            `json:"ref1,omitempty"`
	Ref2          string            `json:"ref2,omitempty"`
	Description   string            `json:"description,omitempty"`
	TaxOverride   *TaxOverrideModel `json:"taxOverride,omitempty"`
	HSCode        string            `json:"hsCode,omitempty"`
}

// AddressesModel holds the addresses of a document or of one line.
type AddressesModel struct {
	SingleLocation *AddressLocationInfo `json:"singleLocation,omitempty"`
	ShipFrom       *AddressLocationInfo `json:"shipFrom,omitempty"`
	ShipTo         *AddressLocationInfo `json:"shipTo,omitempty"`
}

// AddressLocationInfo is an address, or a location code known to AvaTax.
type AddressLocationInfo struct {
	LocationCode string           `json:"locationCode,omitempty"`
	Line1        string           `json:"line1,omitempty"`
	Line2        string           `json:"line2,omitempty"`
	Line3        string           `json:"line3,omitempty"`
	City         string           `json:"city,omitempty"`
	Region       string           `json:"region,omitempty"`
	Country      string           `json:"country,omitempty"`
	PostalCode   string           `json:"postalCode,omitempty"`
	Latitude     *decimal.Decimal `json:"latitude,omitempty"`
	Longitude    *decimal.Decimal `json:"longitude,omitempty"`
}

// TaxOverrideModel overrides the calculated tax of a document or line.
type TaxOverrideModel struct {
	Type      string           `json:"type,omitempty"`
	TaxAmount *decimal.Decimal `json:"taxAmount,omitempty"`
	TaxDate   string           `json:"taxDate,omitempty"`
	Reason    string           `json:"reason,omitempty"`
}

// CreateOrAdjustTransactionModel is the body of transactions/createoradjust.
type CreateOrAdjustTransactionModel struct {
	AdjustmentReason       string                 `json:"adjustmentReason,omitempty"`
	AdjustmentDescription  string                 `json:"adjustmentDescription,omitempty"`
	CreateTransactionModel CreateTransactionModel `json:"createTransactionModel"`
}

// CommitTransactionModel is the body of the commit call.
type CommitTransactionModel struct {
	Commit bool `json:"commit"`
}

// VoidTransactionModel is the body of the void call.
type VoidTransactionModel struct {
	Code string `json:"code"`
}

// RefundTransactionModel is the body of the refund call.
type RefundTransactionModel struct {
	RefundTransactionCode string           `json:"refundTransactionCode,omitempty"`
	RefundDate            string           `json:"refundDate"`
	RefundType            string           `json:"refundType,omitempty"`
	RefundPercentage      *decimal.Decimal `json:"refundPercentage,omitempty"`
	RefundLines           []string         `json:"refundLines,omitempty"`
	ReferenceCode         string           `json:"referenceCode,omitempty"`
}

// The response models below are decoded by the client and encoded by the
// AvaTax emulator (internal/avataxsim), which answers with them; the client
// never encodes them. So they declare the fields AvaTax sends even where
// taxbridge has no use for them, in the order of the API definition, and
// leave out a field only where AvaTax does: omitempty for an empty value,
// omitzero for a list AvaTax leaves out unless $include asks for it (a nil
// slice) but sends even when empty (a non-nil one). The request models
// above keep their tags: they are what the client sends.

// TransactionModel is a tax document as AvaTax returns it.
type TransactionModel struct {
	ID                        int64                          `json:"id"`
	Code                      string                         `json:"code"`
	CompanyID                 int64                          `json:"companyId"`
	Date                      string                         `json:"date"`
	PaymentDate               string                         `json:"paymentDate"`
	Status                    string                         `json:"status"`
	Type                      string                         `json:"type"`
	BatchCode                 string                         `json:"batchCode"`
	CurrencyCode              string                         `json:"currencyCode"`
	ExchangeRateCurrencyCode  string                         `json:"exchangeRateCurrencyCode"`
	CustomerUsageType         string                         `json:"customerUsageType"`
	EntityUseCode             string                         `json:"entityUseCode"`
	CustomerVendorCode        string                         `json:"customerVendorCode"`
	CustomerCode              string                         `json:"customerCode"`
	ExemptNo                  string                         `json:"exemptNo"`
	Reconciled                bool                           `json:"reconciled"`
	LocationCode              string                         `json:"locationCode"`
	ReportingLocationCode     string                         `json:"reportingLocationCode"`
	PurchaseOrderNo           string                         `json:"purchaseOrderNo"`
	ReferenceCode             string                         `json:"referenceCode"`
	SalespersonCode           string                         `json:"salespersonCode"`
	TaxOverrideType           string                         `json:"taxOverrideType"`
	TaxOverrideAmount         *decimal.Decimal               `json:"taxOverrideAmount"`
	TaxOverrideReason         string                         `json:"taxOverrideReason"`
	TotalAmount               decimal.Decimal                `json:"totalAmount"`
	TotalExempt               decimal.Decimal                `json:"totalExempt"`
	TotalDiscount             decimal.Decimal                `json:"totalDiscount"`
	TotalTax                  decimal.Decimal                `json:"totalTax"`
	TotalTaxable              decimal.Decimal                `json:"totalTaxable"`
	TotalTaxCalculated        decimal.Decimal                `json:"totalTaxCalculated"`
	AdjustmentReason          string                         `json:"adjustmentReason"`
	AdjustmentDescription     string                         `json:"adjustmentDescription"`
	Locked                    bool                           `json:"locked"`
	Region                    string                         `json:"region"`
	Country                   string                         `json:"country"`
	Version                   int                            `json:"version"`
	SoftwareVersion           string                         `json:"softwareVersion"`
	OriginAddressID           int64                          `json:"originAddressId"`
	DestinationAddressID      int64                          `json:"destinationAddressId"`
	ExchangeRateEffectiveDate string                         `json:"exchangeRateEffectiveDate"`
	ExchangeRate              *decimal.Decimal               `json:"exchangeRate"`
	IsSellerImporterOfRecord  bool                           `json:"isSellerImporterOfRecord"`
	Description               string                         `json:"description"`
	Email                     string                         `json:"email"`
	BusinessIdentificationNo  string                         `json:"businessIdentificationNo"`
	ModifiedDate              string                         `json:"modifiedDate,omitempty"`
	ModifiedUserID            int64                          `json:"modifiedUserId"`
	TaxDate                   string                         `json:"taxDate,omitempty"`
	Lines                     []TransactionLineModel         `json:"lines,omitzero"`
	Addresses                 []TransactionAddressModel      `json:"addresses,omitzero"`
	LocationTypes             []TransactionLocationTypeModel `json:"locationTypes"`
	Summary                   []TransactionSummary           `json:"summary"`
	Parameters                json.RawMessage                `json:"parameters"` // {} in the recordings, a list in the definition
	Messages                  []AvaTaxMessage                `json:"messages"`
	InvoiceMessages           []InvoiceMessageModel          `json:"invoiceMessages,omitempty"`
	CustomerSupplierName      string                         `json:"customerSupplierName,omitempty"`
	// Sent by AvaTax since 2022-2024, after the API definition.
	APStatusCode  *string           `json:"apStatusCode"`
	APStatus      *string           `json:"apStatus"`
	ShippingTaxes []json.RawMessage `json:"shippingTaxes"`
	// The earlier versions of the document, in answers to get and list.
	History []TransactionModel `json:"history,omitzero"`
}

// TransactionLineModel is one line of a returned document.
type TransactionLineModel struct {
	ID                       int64                                    `json:"id"`
	TransactionID            int64                                    `json:"transactionId"`
	LineNumber               string                                   `json:"lineNumber"`
	BoundaryOverrideID       int64                                    `json:"boundaryOverrideId"`
	CustomerUsageType        string                                   `json:"customerUsageType"`
	EntityUseCode            string                                   `json:"entityUseCode"`
	Description              string                                   `json:"description"`
	DestinationAddressID     int64                                    `json:"destinationAddressId"`
	OriginAddressID          int64                                    `json:"originAddressId"`
	DiscountAmount           decimal.Decimal                          `json:"discountAmount"`
	DiscountTypeID           int64                                    `json:"discountTypeId"`
	ExemptAmount             decimal.Decimal                          `json:"exemptAmount"`
	ExemptCertID             int64                                    `json:"exemptCertId"`
	ExemptNo                 string                                   `json:"exemptNo"`
	IsItemTaxable            bool                                     `json:"isItemTaxable"`
	IsSSTP                   bool                                     `json:"isSSTP"`
	ItemCode                 string                                   `json:"itemCode"`
	LineAmount               decimal.Decimal                          `json:"lineAmount"`
	Quantity                 decimal.Decimal                          `json:"quantity"`
	Ref1                     string                                   `json:"ref1"`
	Ref2                     string                                   `json:"ref2"`
	ReportingDate            string                                   `json:"reportingDate"`
	RevAccount               string                                   `json:"revAccount"`
	Sourcing                 string                                   `json:"sourcing"`
	Tax                      decimal.Decimal                          `json:"tax"`
	TaxableAmount            decimal.Decimal                          `json:"taxableAmount"`
	TaxCalculated            decimal.Decimal                          `json:"taxCalculated"`
	TaxCode                  string                                   `json:"taxCode"`
	TaxCodeID                int64                                    `json:"taxCodeId"`
	TaxDate                  string                                   `json:"taxDate"`
	TaxEngine                string                                   `json:"taxEngine"`
	TaxOverrideType          string                                   `json:"taxOverrideType"`
	BusinessIdentificationNo string                                   `json:"businessIdentificationNo"`
	TaxOverrideAmount        *decimal.Decimal                         `json:"taxOverrideAmount"`
	TaxOverrideReason        string                                   `json:"taxOverrideReason"`
	TaxIncluded              bool                                     `json:"taxIncluded"`
	Details                  []TransactionLineDetailModel             `json:"details,omitzero"`
	NonPassthroughDetails    []TransactionLineDetailModel             `json:"nonPassthroughDetails"`
	LineLocationTypes        []TransactionLineLocationTypeModel       `json:"lineLocationTypes"`
	Parameters               json.RawMessage                          `json:"parameters"` // {} for US lines in the recordings, a list for VAT lines
	HSCode                   string                                   `json:"hsCode"`
	CostInsuranceFreight     decimal.Decimal                          `json:"costInsuranceFreight"`
	VATCode                  string                                   `json:"vatCode"`
	VATNumberTypeID          int64                                    `json:"vatNumberTypeId"`
	TaxAmountByTaxTypes      []TransactionLineTaxAmountByTaxTypeModel `json:"taxAmountByTaxTypes"`
}

// TransactionLineDetailModel is the tax of one line in one jurisdiction.
type TransactionLineDetailModel struct {
	ID                       int64           `json:"id"`
	TransactionLineID        int64           `json:"transactionLineId"`
	TransactionID            int64           `json:"transactionId"`
	AddressID                int64           `json:"addressId"`
	Country                  string          `json:"country"`
	Region                   string          `json:"region"`
	CountyFIPS               string          `json:"countyFIPS"`
	StateFIPS                string          `json:"stateFIPS"`
	ExemptAmount             decimal.Decimal `json:"exemptAmount"`
	ExemptReasonID           int64           `json:"exemptReasonId"`
	InState                  bool            `json:"inState"`
	JurisCode                string          `json:"jurisCode"`
	JurisName                string          `json:"jurisName"`
	JurisdictionID           int64           `json:"jurisdictionId"`
	SignatureCode            string          `json:"signatureCode"`
	StateAssignedNo          string          `json:"stateAssignedNo"`
	JurisType                string          `json:"jurisType"`
	JurisdictionType         string          `json:"jurisdictionType"`
	NonTaxableAmount         decimal.Decimal `json:"nonTaxableAmount"`
	NonTaxableRuleID         int64           `json:"nonTaxableRuleId"`
	NonTaxableType           string          `json:"nonTaxableType"`
	Rate                     decimal.Decimal `json:"rate"`
	RateRuleID               int64           `json:"rateRuleId"`
	RateSourceID             int64           `json:"rateSourceId"`
	SerCode                  string          `json:"serCode"`
	Sourcing                 string          `json:"sourcing"`
	Tax                      decimal.Decimal `json:"tax"`
	TaxableAmount            decimal.Decimal `json:"taxableAmount"`
	TaxType                  string          `json:"taxType"`
	TaxSubTypeID             string          `json:"taxSubTypeId"`
	TaxTypeGroupID           string          `json:"taxTypeGroupId"`
	TaxName                  string          `json:"taxName"`
	TaxAuthorityTypeID       int64           `json:"taxAuthorityTypeId"`
	TaxRegionID              int64           `json:"taxRegionId"`
	TaxCalculated            decimal.Decimal `json:"taxCalculated"`
	TaxOverride              decimal.Decimal `json:"taxOverride"`
	RateType                 string          `json:"rateType"`
	RateTypeCode             string          `json:"rateTypeCode"`
	TaxableUnits             decimal.Decimal `json:"taxableUnits"`
	NonTaxableUnits          decimal.Decimal `json:"nonTaxableUnits"`
	ExemptUnits              decimal.Decimal `json:"exemptUnits"`
	UnitOfBasis              string          `json:"unitOfBasis"`
	IsNonPassThru            bool            `json:"isNonPassThru"`
	IsFee                    bool            `json:"isFee"`
	ReportingTaxableUnits    decimal.Decimal `json:"reportingTaxableUnits"`
	ReportingNonTaxableUnits decimal.Decimal `json:"reportingNonTaxableUnits"`
	ReportingExemptUnits     decimal.Decimal `json:"reportingExemptUnits"`
	ReportingTax             decimal.Decimal `json:"reportingTax"`
	ReportingTaxCalculated   decimal.Decimal `json:"reportingTaxCalculated"`
	LiabilityType            string          `json:"liabilityType"`
	// Sent by AvaTax since 2021-2024, after the API definition.
	ChargedTo    string `json:"chargedTo"`
	AvtUserBIN   string `json:"avtUserBIN"`
	ExemptRuleID int64  `json:"exemptRuleId"`
	VATCode      string `json:"vatCode"`
}

// TransactionSummary is one row per jurisdiction, tax type and rate type.
type TransactionSummary struct {
	Country          string          `json:"country"`
	Region           string          `json:"region"`
	JurisType        string          `json:"jurisType"`
	JurisCode        string          `json:"jurisCode"`
	JurisName        string          `json:"jurisName"`
	TaxAuthorityType int64           `json:"taxAuthorityType"`
	StateAssignedNo  string          `json:"stateAssignedNo"`
	TaxType          string          `json:"taxType"`
	TaxSubType       string          `json:"taxSubType"`
	TaxName          string          `json:"taxName"`
	TaxGroup         string          `json:"taxGroup"`
	RateType         string          `json:"rateType,omitempty"`
	RateTypeCode     string          `json:"rateTypeCode"`
	Taxable          decimal.Decimal `json:"taxable"`
	Rate             decimal.Decimal `json:"rate"`
	Tax              decimal.Decimal `json:"tax"`
	TaxCalculated    decimal.Decimal `json:"taxCalculated"`
	NonTaxable       decimal.Decimal `json:"nonTaxable"`
	Exemption        decimal.Decimal `json:"exemption"`
}

// TransactionAddressModel is an address of a returned document. Latitude and
// longitude are strings here, unlike everywhere else in the API.
type TransactionAddressModel struct {
	ID            int64  `json:"id"`
	TransactionID int64  `json:"transactionId"`
	BoundaryLevel string `json:"boundaryLevel"`
	Line1         string `json:"line1"`
	Line2         string `json:"line2"`
	Line3         string `json:"line3"`
	City          string `json:"city"`
	Region        string `json:"region"`
	PostalCode    string `json:"postalCode"`
	Country       string `json:"country"`
	TaxRegionID   int64  `json:"taxRegionId"`
	Latitude      string `json:"latitude"`
	Longitude     string `json:"longitude"`
	// Sent by AvaTax since 2019, after the API definition.
	TaxRegionIDAv int64 `json:"taxRegionIdAv"`
}

// TransactionLocationTypeModel names the role of a document address.
type TransactionLocationTypeModel struct {
	DocumentLocationTypeID int64  `json:"documentLocationTypeId"`
	DocumentID             int64  `json:"documentId"`
	DocumentAddressID      int64  `json:"documentAddressId"`
	LocationTypeCode       string `json:"locationTypeCode"`
}

// TransactionLineLocationTypeModel names the role of a line address.
type TransactionLineLocationTypeModel struct {
	DocumentLineLocationTypeID int64  `json:"documentLineLocationTypeId"`
	DocumentLineID             int64  `json:"documentLineId"`
	DocumentAddressID          int64  `json:"documentAddressId"`
	LocationTypeCode           string `json:"locationTypeCode"`
}

// TransactionLineTaxAmountByTaxTypeModel is a line's tax of one tax type.
type TransactionLineTaxAmountByTaxTypeModel struct {
	TaxTypeID               string          `json:"taxTypeId"`
	TotalTaxAmountByTaxType decimal.Decimal `json:"totalTaxAmountByTaxType"`
}

// InvoiceMessageModel is a legal text to print on an invoice.
type InvoiceMessageModel struct {
	Content     string   `json:"content"`
	LineNumbers []string `json:"lineNumbers"`
}

// AvaTaxMessage is an informational or error message attached to a result.
type AvaTaxMessage struct {
	Summary  string `json:"summary"`
	Details  string `json:"details"`
	RefersTo string `json:"refersTo"`
	Severity string `json:"severity"`
	Source   string `json:"source"`
}

// PingResultModel is the answer of utilities/ping.
type PingResultModel struct {
	Version                string `json:"version"`
	Authenticated          bool   `json:"authenticated"`
	AuthenticationType     string `json:"authenticationType"`
	AuthenticatedUserName  string `json:"authenticatedUserName,omitempty"`
	AuthenticatedUserID    int64  `json:"authenticatedUserId,omitempty"`
	AuthenticatedAccountID int64  `json:"authenticatedAccountId,omitempty"`
}

// AddressValidationInfo is the body of POST addresses/resolve.
type AddressValidationInfo struct {
	TextCase   string           `json:"textCase,omitempty"`
	Line1      string           `json:"line1,omitempty"`
	Line2      string           `json:"line2,omitempty"`
	Line3      string           `json:"line3,omitempty"`
	City       string           `json:"city,omitempty"`
	Region     string           `json:"region,omitempty"`
	Country    string           `json:"country,omitempty"`
	PostalCode string           `json:"postalCode,omitempty"`
	Latitude   *decimal.Decimal `json:"latitude,omitempty"`
	Longitude  *decimal.Decimal `json:"longitude,omitempty"`
}

// AddressResolutionModel is the answer of addresses/resolve. Problems with
// the address come back in Messages with an HTTP 200.
type AddressResolutionModel struct {
	Address            AddressValidationInfo  `json:"address"`
	ValidatedAddresses []ValidatedAddressInfo `json:"validatedAddresses,omitempty"`
	Coordinates        *CoordinateInfo        `json:"coordinates,omitempty"`
	ResolutionQuality  string                 `json:"resolutionQuality"`
	TaxAuthorities     []TaxAuthorityInfo     `json:"taxAuthorities,omitempty"`
	Messages           []AvaTaxMessage        `json:"messages,omitempty"`
}

// ValidatedAddressInfo is a normalised address with its coordinates.
type ValidatedAddressInfo struct {
	AddressType string           `json:"addressType"`
	Line1       string           `json:"line1"`
	Line2       string           `json:"line2"`
	Line3       string           `json:"line3"`
	City        string           `json:"city"`
	Region      string           `json:"region"`
	Country     string           `json:"country"`
	PostalCode  string           `json:"postalCode"`
	Latitude    *decimal.Decimal `json:"latitude,omitempty"`
	Longitude   *decimal.Decimal `json:"longitude,omitempty"`
}

// CoordinateInfo is a geographic position.
type CoordinateInfo struct {
	Latitude  decimal.Decimal `json:"latitude"`
	Longitude decimal.Decimal `json:"longitude"`
}

// TaxAuthorityInfo names a jurisdiction that taxes an address.
type TaxAuthorityInfo struct {
	AvalaraID        string `json:"avalaraId"`
	JurisdictionName string `json:"jurisdictionName"`
	JurisdictionType string `json:"jurisdictionType"`
	SignatureCode    string `json:"signatureCode"`
}

// TaxRateModel is the answer of taxrates/bypostalcode.
type TaxRateModel struct {
	TotalRate decimal.Decimal `json:"totalRate"`
	Rates     []RateModel     `json:"rates"`
}

// RateModel is one jurisdiction's rate.
type RateModel struct {
	Rate decimal.Decimal `json:"rate"`
	Name string          `json:"name"`
	Type string          `json:"type"`
}

// FetchResult is a page of a list call.
type FetchResult[T any] struct {
	RecordsetCount int    `json:"@recordsetCount"`
	Value          []T    `json:"value"`
	NextLink       string `json:"@nextLink,omitempty"`
}

// ErrorResult is AvaTax's error envelope: {"error": {...}}.
type ErrorResult struct {
	Error *ErrorInfo `json:"error"`
}

// ErrorInfo is the body of an error answer.
type ErrorInfo struct {
	Code    string        `json:"code"`
	Message string        `json:"message"`
	Target  string        `json:"target,omitempty"`
	Details []ErrorDetail `json:"details,omitempty"`
}

// ErrorDetail is one entry of an error's details.
type ErrorDetail struct {
	Code         string `json:"code"`
	Number       int    `json:"number,omitempty"`
	Message      string `json:"message"`
	Description  string `json:"description,omitempty"`
	FaultCode    string `json:"faultCode,omitempty"`
	FaultSubCode string `json:"faultSubCode,omitempty"`
	HelpLink     string `json:"helpLink,omitempty"`
	RefersTo     string `json:"refersTo,omitempty"`
	Severity     string `json:"severity,omitempty"`
}
