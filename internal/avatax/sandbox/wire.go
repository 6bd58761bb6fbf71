package sandbox

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"

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
	include   string
	createLik bool
	history   []docVersion // rendered as "history" when non-nil
	listItem  bool         // list rows: no lines or addresses unless asked
}

func toMap(v any) map[string]any {
	b, _ := json.Marshal(v)
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	_ = dec.Decode(&m)
	return m
}

func setDefault(m map[string]any, k string, v any) {
	if _, ok := m[k]; !ok {
		m[k] = v
	}
}

func num(d decimal.Decimal) json.Number { return json.Number(d.String()) }

var zeroNum = json.Number("0")

// render returns the JSON object of a document version.
func render(v docVersion, o renderOpts) map[string]any {
	tm := v.tm
	ex := v.ex
	if ex == nil {
		ex = &docExtras{DocFrom: -1, DocTo: -1}
	}
	addrID := func(i int) any {
		if i < 0 || i >= len(tm.Addresses) {
			return zeroNum
		}
		return json.Number(strconv.FormatInt(tm.Addresses[i].ID, 10))
	}
	full := tm
	shaped := tm
	if o.listItem && o.include == "" {
		shaped.Lines, shaped.Addresses = nil, nil
	} else {
		shaped = applyInclude(tm, o.include, o.createLik)
	}
	m := toMap(shaped)
	for _, k := range []string{"lines", "addresses", "summary", "messages"} {
		delete(m, k)
	}

	// Header fields AvaTax always sends.
	setDefault(m, "paymentDate", "1900-01-01")
	setDefault(m, "adjustmentDescription", "")
	setDefault(m, "description", "")
	setDefault(m, "email", "")
	setDefault(m, "region", "")
	setDefault(m, "country", "")
	setDefault(m, "softwareVersion", softwareVersion)
	setDefault(m, "taxOverrideType", "None")
	setDefault(m, "taxOverrideAmount", zeroNum)
	setDefault(m, "taxOverrideReason", "")
	setDefault(m, "exchangeRateEffectiveDate", tm.Date)
	setDefault(m, "exchangeRate", json.Number("1"))
	setDefault(m, "exchangeRateCurrencyCode", firstNonEmpty(ex.ExchangeRateCurrencyCode, tm.CurrencyCode))
	m["originAddressId"] = addrID(ex.DocFrom)
	m["destinationAddressId"] = addrID(ex.DocTo)
	m["isSellerImporterOfRecord"] = ex.IsSellerImporterOfRecord
	m["businessIdentificationNo"] = ex.BusinessIdentificationNo
	m["modifiedUserId"] = json.Number("1")
	m["parameters"] = map[string]any{}
	m["apStatusCode"] = nil
	m["apStatus"] = nil
	m["shippingTaxes"] = []any{}
	if ex.CustomerSupplierName != "" {
		m["customerSupplierName"] = ex.CustomerSupplierName
	}

	if shaped.Lines != nil {
		lines := make([]any, 0, len(shaped.Lines))
		for i, l := range shaped.Lines {
			var le lineExtras
			if i < len(ex.Lines) {
				le = ex.Lines[i]
			} else {
				le = lineExtras{From: ex.DocFrom, To: ex.DocTo, Tax: ex.DocTo}
			}
			lines = append(lines, renderLine(l, le, tm, addrID))
		}
		m["lines"] = lines
	}
	if shaped.Addresses != nil {
		addrs := make([]any, 0, len(shaped.Addresses))
		for _, a := range shaped.Addresses {
			am := toMap(a)
			setDefault(am, "latitude", "")
			setDefault(am, "longitude", "")
			am["taxRegionIdAv"] = json.Number(strconv.FormatInt(a.TaxRegionID, 10))
			addrs = append(addrs, am)
		}
		m["addresses"] = addrs
	}
	// Location types of the document.
	var lts []any
	for _, lt := range []struct {
		code string
		i    int
	}{{"ShipFrom", ex.DocFrom}, {"ShipTo", ex.DocTo}} {
		if lt.i < 0 {
			continue
		}
		lts = append(lts, map[string]any{
			"documentLocationTypeId": json.Number(strconv.FormatInt(tm.ID*10+int64(len(lts))+1, 10)),
			"documentId":             json.Number(strconv.FormatInt(tm.ID, 10)),
			"documentAddressId":      addrID(lt.i),
			"locationTypeCode":       lt.code,
		})
	}
	if lts == nil {
		lts = []any{}
	}
	m["locationTypes"] = lts

	inc := parseInclude(o.include)
	sum := make([]any, 0, len(full.Summary))
	if o.include == "" || inc["summary"] || inc["summaryonly"] {
		for _, s := range full.Summary {
			sm := toMap(s)
			sm["taxAuthorityType"] = json.Number("45")
			sm["stateAssignedNo"] = ""
			sm["taxSubType"] = taxSubType(s.TaxType)
			sm["taxGroup"] = ""
			sm["rateTypeCode"] = rateTypeCode(s.RateType)
			sum = append(sum, sm)
		}
	}
	m["summary"] = sum
	m["messages"] = messagesFor(full, ex)
	if ex.CrossBorder {
		m["invoiceMessages"] = invoiceMessages(full)
	}
	if o.history != nil {
		h := make([]any, 0, len(o.history))
		for _, hv := range o.history {
			hm := render(hv, renderOpts{listItem: true})
			delete(hm, "history")
			h = append(h, hm)
		}
		m["history"] = h
	}
	return m
}

func renderLine(l avatax.TransactionLineModel, le lineExtras, tm avatax.TransactionModel, addrID func(int) any) map[string]any {
	lm := toMap(l)
	delete(lm, "details")
	setDefault(lm, "customerUsageType", "")
	setDefault(lm, "entityUseCode", "")
	setDefault(lm, "exemptNo", "")
	setDefault(lm, "ref1", "")
	setDefault(lm, "ref2", "")
	setDefault(lm, "sourcing", "Destination")
	setDefault(lm, "taxOverrideType", "None")
	setDefault(lm, "taxOverrideAmount", zeroNum)
	setDefault(lm, "taxOverrideReason", "")
	setDefault(lm, "hsCode", "")
	lm["boundaryOverrideId"] = zeroNum
	lm["destinationAddressId"] = addrID(le.To)
	lm["originAddressId"] = addrID(le.From)
	lm["discountTypeId"] = zeroNum
	lm["isSSTP"] = false
	lm["revAccount"] = ""
	lm["taxEngine"] = ""
	lm["businessIdentificationNo"] = ""
	lm["nonPassthroughDetails"] = []any{}
	lm["costInsuranceFreight"] = zeroNum
	lm["vatCode"] = ""
	lm["vatNumberTypeId"] = zeroNum
	lm["taxAmountByTaxTypes"] = []any{}
	if le.VAT {
		lm["parameters"] = []any{
			map[string]any{"name": "Transport", "value": "None"},
			map[string]any{"name": "IsMarketplace", "value": "False"},
			map[string]any{"name": "IsTriangulation", "value": "False"},
			map[string]any{"name": "IsGoodsSecondHand", "value": "False"},
		}
	} else {
		lm["parameters"] = map[string]any{}
	}
	var llt []any
	for k, lt := range []struct {
		code string
		i    int
	}{{"ShipFrom", le.From}, {"ShipTo", le.To}} {
		if lt.i < 0 {
			continue
		}
		llt = append(llt, map[string]any{
			"documentLineLocationTypeId": json.Number(strconv.FormatInt(l.ID*10+int64(k)+1, 10)),
			"documentLineId":             json.Number(strconv.FormatInt(l.ID, 10)),
			"documentAddressId":          addrID(lt.i),
			"locationTypeCode":           lt.code,
		})
	}
	if llt == nil {
		llt = []any{}
	}
	lm["lineLocationTypes"] = llt
	if l.Details != nil {
		ds := make([]any, 0, len(l.Details))
		for _, d := range l.Details {
			ds = append(ds, renderDetail(d, le, tm, addrID))
		}
		lm["details"] = ds
	}
	return lm
}

func renderDetail(d avatax.TransactionLineDetailModel, le lineExtras, tm avatax.TransactionModel, addrID func(int) any) map[string]any {
	dm := toMap(d)
	row := rowIndex[d.Region+"|"+d.JurisType+"|"+d.JurisCode]
	fips := ""
	if info, ok := usRegions[d.Region]; ok && d.Country == "US" {
		fips = info.FIPS
	}
	var taxRegion int64
	if le.Tax >= 0 && le.Tax < len(tm.Addresses) {
		taxRegion = tm.Addresses[le.Tax].TaxRegionID
	}
	setDefault(dm, "sourcing", "Destination")
	setDefault(dm, "rateType", "General")
	setDefault(dm, "rateTypeCode", "G")
	dm["addressId"] = addrID(le.Tax)
	dm["countyFIPS"] = ""
	dm["stateFIPS"] = fips
	dm["exemptReasonId"] = json.Number("4")
	dm["jurisdictionId"] = json.Number(strconv.FormatInt(jurisdictionID(d), 10))
	dm["signatureCode"] = row.Sig
	dm["stateAssignedNo"] = ""
	dm["nonTaxableRuleId"] = zeroNum
	dm["nonTaxableType"] = "RateRule"
	dm["rateRuleId"] = json.Number(strconv.FormatInt(1000000+jurisdictionID(d), 10))
	dm["rateSourceId"] = json.Number("3")
	dm["serCode"] = ""
	dm["taxSubTypeId"] = taxSubType(d.TaxType)
	dm["taxTypeGroupId"] = taxTypeGroup(d.TaxType)
	dm["taxAuthorityTypeId"] = json.Number("45")
	dm["taxRegionId"] = json.Number(strconv.FormatInt(taxRegion, 10))
	dm["taxOverride"] = num(d.Tax.Sub(d.TaxCalculated))
	dm["taxableUnits"] = num(d.TaxableAmount)
	dm["nonTaxableUnits"] = num(d.NonTaxableAmount)
	dm["exemptUnits"] = num(d.ExemptAmount)
	dm["unitOfBasis"] = "PerCurrencyUnit"
	dm["isNonPassThru"] = false
	dm["isFee"] = false
	dm["reportingTaxableUnits"] = num(d.TaxableAmount)
	dm["reportingNonTaxableUnits"] = num(d.NonTaxableAmount)
	dm["reportingExemptUnits"] = num(d.ExemptAmount)
	dm["reportingTax"] = num(d.Tax)
	dm["reportingTaxCalculated"] = num(d.TaxCalculated)
	dm["liabilityType"] = "Seller"
	dm["chargedTo"] = "Buyer"
	dm["avtUserBIN"] = ""
	dm["exemptRuleId"] = zeroNum
	dm["vatCode"] = ""
	return dm
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

// messagesFor returns the informational messages of a document: one per
// address naming its location type, as AvaTax reports them, plus any
// stored messages.
func messagesFor(tm avatax.TransactionModel, ex *docExtras) []any {
	out := []any{}
	for _, m := range tm.Messages {
		out = append(out, toMap(m))
	}
	for i, role := range ex.Roles {
		if i >= len(tm.Addresses) {
			break
		}
		a := tm.Addresses[i]
		out = append(out, map[string]any{
			"summary":  "AddressLocationType: " + role,
			"details":  strings.TrimSpace(fmt.Sprintf("%s %s %s %s", a.Line1, a.City, a.Region, a.PostalCode)),
			"refersTo": fmt.Sprintf("Addresses[%d]", i),
			"severity": "Success",
			"source":   "Avalara.AvaTax.TaxEngine",
		})
	}
	if ex.CrossBorder {
		out = append(out, map[string]any{
			"summary":  "Invoice  Messages for the transaction",
			"details":  "Cross-border supply zero-rated in the country of origin.",
			"refersTo": "",
			"severity": "Success",
			"source":   "Avalara.AvaTax.TaxEngine",
		})
	}
	return out
}

func invoiceMessages(tm avatax.TransactionModel) []any {
	var nums []any
	for _, l := range tm.Lines {
		nums = append(nums, l.LineNumber)
	}
	if nums == nil {
		nums = []any{}
	}
	return []any{map[string]any{
		"content":     "Intra-EU Supply of Goods as per Art. 138 EU VAT Directive 2006/112",
		"lineNumbers": nums,
	}}
}
