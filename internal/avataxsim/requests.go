package avataxsim

import (
	"encoding/json"

	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/internal/avatax"
)

// The request bodies the sandbox reads, decoded leniently (decode.go).
//
// Where the client's model (internal/avatax) holds exactly what the sandbox
// reads, the sandbox decodes into it: avatax.AddressLocationInfo (document
// and line addresses), avatax.AddressValidationInfo (addresses/resolve),
// avatax.TaxOverrideModel, avatax.VoidTransactionModel and
// avatax.RefundTransactionModel. Lenient decoding needs nothing of a type
// but its JSON names, so the client's omitempty tags change nothing. The
// types below differ from the client's, each for the reason it gives: the
// client only writes requests, and has no field it never sends nor a way to
// tell a field left out from its zero value.

// createReq is a CreateTransactionModel. It differs from
// avatax.CreateTransactionModel by the fields the client never sends and
// the sandbox reads (customerUsageType, businessIdentificationNo, the
// exchange rate, customerSupplierName, ...), and by lineReq and
// addressesReq.
type createReq struct {
	Code                      string                   `json:"code"`
	Lines                     []lineReq                `json:"lines"`
	Type                      string                   `json:"type"`
	CompanyCode               string                   `json:"companyCode"`
	Date                      string                   `json:"date"`
	SalespersonCode           string                   `json:"salespersonCode"`
	CustomerCode              string                   `json:"customerCode"`
	CustomerUsageType         string                   `json:"customerUsageType"`
	EntityUseCode             string                   `json:"entityUseCode"`
	Discount                  *decimal.Decimal         `json:"discount"`
	PurchaseOrderNo           string                   `json:"purchaseOrderNo"`
	ExemptionNo               string                   `json:"exemptionNo"`
	Addresses                 *addressesReq            `json:"addresses"`
	ReferenceCode             string                   `json:"referenceCode"`
	ReportingLocationCode     string                   `json:"reportingLocationCode"`
	Commit                    bool                     `json:"commit"`
	BatchCode                 string                   `json:"batchCode"`
	TaxOverride               *avatax.TaxOverrideModel `json:"taxOverride"`
	CurrencyCode              string                   `json:"currencyCode"`
	Description               string                   `json:"description"`
	Email                     string                   `json:"email"`
	BusinessIdentificationNo  string                   `json:"businessIdentificationNo"`
	IsSellerImporterOfRecord  *bool                    `json:"isSellerImporterOfRecord"`
	ExchangeRate              *decimal.Decimal         `json:"exchangeRate"`
	ExchangeRateEffectiveDate string                   `json:"exchangeRateEffectiveDate"`
	ExchangeRateCurrencyCode  string                   `json:"exchangeRateCurrencyCode"`
	PosLaneCode               string                   `json:"posLaneCode"`
	CustomerSupplierName      string                   `json:"customerSupplierName"`
	Parameters                json.RawMessage          `json:"parameters"`
	DebugLevel                string                   `json:"debugLevel"`
}

// lineReq is a LineItemModel. It differs from avatax.LineItemModel by the
// fields the client never sends (customerUsageType, revenueAccount,
// businessIdentificationNo) and by addressesReq.
type lineReq struct {
	Number                   string                   `json:"number"`
	Quantity                 *decimal.Decimal         `json:"quantity"`
	Amount                   *decimal.Decimal         `json:"amount"`
	Addresses                *addressesReq            `json:"addresses"`
	TaxCode                  string                   `json:"taxCode"`
	CustomerUsageType        string                   `json:"customerUsageType"`
	EntityUseCode            string                   `json:"entityUseCode"`
	ItemCode                 string                   `json:"itemCode"`
	ExemptionCode            string                   `json:"exemptionCode"`
	Discounted               bool                     `json:"discounted"`
	TaxIncluded              bool                     `json:"taxIncluded"`
	RevenueAccount           string                   `json:"revenueAccount"`
	Ref1                     string                   `json:"ref1"`
	Ref2                     string                   `json:"ref2"`
	Description              string                   `json:"description"`
	BusinessIdentificationNo string                   `json:"businessIdentificationNo"`
	TaxOverride              *avatax.TaxOverrideModel `json:"taxOverride"`
	HSCode                   string                   `json:"hsCode"`
}

// addressesReq is an AddressesModel. It differs from avatax.AddressesModel
// by the point of order origin and acceptance, which the client never
// sends.
type addressesReq struct {
	SingleLocation         *avatax.AddressLocationInfo `json:"singleLocation"`
	ShipFrom               *avatax.AddressLocationInfo `json:"shipFrom"`
	ShipTo                 *avatax.AddressLocationInfo `json:"shipTo"`
	PointOfOrderOrigin     *avatax.AddressLocationInfo `json:"pointOfOrderOrigin"`
	PointOfOrderAcceptance *avatax.AddressLocationInfo `json:"pointOfOrderAcceptance"`
}

// createOrAdjustReq is a CreateOrAdjustTransactionModel. It differs from
// avatax.CreateOrAdjustTransactionModel by pointers: a missing
// adjustmentReason and a missing createTransactionModel are told from
// empty ones.
type createOrAdjustReq struct {
	AdjustmentReason       *string    `json:"adjustmentReason"`
	AdjustmentDescription  string     `json:"adjustmentDescription"`
	CreateTransactionModel *createReq `json:"createTransactionModel"`
}

// adjustReq is an AdjustTransactionModel (the client does not adjust).
type adjustReq struct {
	AdjustmentReason      *string    `json:"adjustmentReason"`
	AdjustmentDescription string     `json:"adjustmentDescription"`
	NewTransaction        *createReq `json:"newTransaction"`
}

// commitReq is a CommitTransactionModel. It differs from
// avatax.CommitTransactionModel by a pointer: a missing commit is refused
// with ValueRequiredError, as AvaTax does, not read as false.
type commitReq struct {
	Commit *bool `json:"commit"`
}

// lockReq is a LockTransactionModel (the client does not lock).
type lockReq struct {
	IsLocked *bool `json:"isLocked"`
}

// changeCodeReq is a ChangeTransactionCodeModel (the client does not
// change codes).
type changeCodeReq struct {
	NewCode string `json:"newCode"`
}

// verifyReq is a VerifyTransactionModel (the client does not verify).
type verifyReq struct {
	VerifyTransactionDate string           `json:"verifyTransactionDate"`
	VerifyTotalAmount     *decimal.Decimal `json:"verifyTotalAmount"`
	VerifyTotalTax        *decimal.Decimal `json:"verifyTotalTax"`
}

// settleReq is a SettleTransactionModel (the client does not settle).
type settleReq struct {
	Verify     *verifyReq     `json:"verify"`
	ChangeCode *changeCodeReq `json:"changeCode"`
	Commit     *commitReq     `json:"commit"`
}
