package avataxsim

import (
	"encoding/json"

	"github.com/shopspring/decimal"
)

type createReq struct {
	Code                      string           `json:"code"`
	Lines                     []lineReq        `json:"lines"`
	Type                      string           `json:"type"`
	CompanyCode               string           `json:"companyCode"`
	Date                      string           `json:"date"`
	SalespersonCode           string           `json:"salespersonCode"`
	CustomerCode              string           `json:"customerCode"`
	CustomerUsageType         string           `json:"customerUsageType"`
	EntityUseCode             string           `json:"entityUseCode"`
	Discount                  *decimal.Decimal `json:"discount"`
	PurchaseOrderNo           string           `json:"purchaseOrderNo"`
	ExemptionNo               string           `json:"exemptionNo"`
	Addresses                 *addressesReq    `json:"addresses"`
	ReferenceCode             string           `json:"referenceCode"`
	ReportingLocationCode     string           `json:"reportingLocationCode"`
	Commit                    bool             `json:"commit"`
	BatchCode                 string           `json:"batchCode"`
	TaxOverride               *taxOverride     `json:"taxOverride"`
	CurrencyCode              string           `json:"currencyCode"`
	Description               string           `json:"description"`
	Email                     string           `json:"email"`
	BusinessIdentificationNo  string           `json:"businessIdentificationNo"`
	IsSellerImporterOfRecord  *bool            `json:"isSellerImporterOfRecord"`
	ExchangeRate              *decimal.Decimal `json:"exchangeRate"`
	ExchangeRateEffectiveDate string           `json:"exchangeRateEffectiveDate"`
	ExchangeRateCurrencyCode  string           `json:"exchangeRateCurrencyCode"`
	PosLaneCode               string           `json:"posLaneCode"`
	CustomerSupplierName      string           `json:"customerSupplierName"`
	Parameters                json.RawMessage  `json:"parameters"`
	DebugLevel                string           `json:"debugLevel"`
}

type lineReq struct {
	Number                   string           `json:"number"`
	Quantity                 *decimal.Decimal `json:"quantity"`
	Amount                   *decimal.Decimal `json:"amount"`
	Addresses                *addressesReq    `json:"addresses"`
	TaxCode                  string           `json:"taxCode"`
	CustomerUsageType        string           `json:"customerUsageType"`
	EntityUseCode            string           `json:"entityUseCode"`
	ItemCode                 string           `json:"itemCode"`
	ExemptionCode            string           `json:"exemptionCode"`
	Discounted               bool             `json:"discounted"`
	TaxIncluded              bool             `json:"taxIncluded"`
	RevenueAccount           string           `json:"revenueAccount"`
	Ref1                     string           `json:"ref1"`
	Ref2                     string           `json:"ref2"`
	Description              string           `json:"description"`
	BusinessIdentificationNo string           `json:"businessIdentificationNo"`
	TaxOverride              *taxOverride     `json:"taxOverride"`
	HSCode                   string           `json:"hsCode"`
}

type addressesReq struct {
	SingleLocation         *addressReq `json:"singleLocation"`
	ShipFrom               *addressReq `json:"shipFrom"`
	ShipTo                 *addressReq `json:"shipTo"`
	PointOfOrderOrigin     *addressReq `json:"pointOfOrderOrigin"`
	PointOfOrderAcceptance *addressReq `json:"pointOfOrderAcceptance"`
}

type addressReq struct {
	LocationCode string           `json:"locationCode"`
	Line1        string           `json:"line1"`
	Line2        string           `json:"line2"`
	Line3        string           `json:"line3"`
	City         string           `json:"city"`
	Region       string           `json:"region"`
	Country      string           `json:"country"`
	PostalCode   string           `json:"postalCode"`
	Latitude     *decimal.Decimal `json:"latitude"`
	Longitude    *decimal.Decimal `json:"longitude"`
	TextCase     string           `json:"textCase"`
}

type taxOverride struct {
	Type      string           `json:"type"`
	TaxAmount *decimal.Decimal `json:"taxAmount"`
	TaxDate   string           `json:"taxDate"`
	Reason    string           `json:"reason"`
}

type createOrAdjustReq struct {
	AdjustmentReason       *string    `json:"adjustmentReason"`
	AdjustmentDescription  string     `json:"adjustmentDescription"`
	CreateTransactionModel *createReq `json:"createTransactionModel"`
}

type adjustReq struct {
	AdjustmentReason      *string    `json:"adjustmentReason"`
	AdjustmentDescription string     `json:"adjustmentDescription"`
	NewTransaction        *createReq `json:"newTransaction"`
}

type commitReq struct {
	Commit *bool `json:"commit"`
}

type voidReq struct {
	Code string `json:"code"`
}

type refundReq struct {
	RefundTransactionCode string           `json:"refundTransactionCode"`
	RefundDate            string           `json:"refundDate"`
	RefundType            string           `json:"refundType"`
	RefundPercentage      *decimal.Decimal `json:"refundPercentage"`
	RefundLines           []string         `json:"refundLines"`
	ReferenceCode         string           `json:"referenceCode"`
}

type lockReq struct {
	IsLocked *bool `json:"isLocked"`
}

type changeCodeReq struct {
	NewCode string `json:"newCode"`
}

type verifyReq struct {
	VerifyTransactionDate string           `json:"verifyTransactionDate"`
	VerifyTotalAmount     *decimal.Decimal `json:"verifyTotalAmount"`
	VerifyTotalTax        *decimal.Decimal `json:"verifyTotalTax"`
}

type settleReq struct {
	Verify     *verifyReq     `json:"verify"`
	ChangeCode *changeCodeReq `json:"changeCode"`
	Commit     *commitReq     `json:"commit"`
}
