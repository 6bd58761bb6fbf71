package taxservice

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/internal/avatax"
)

// Plan is what a request becomes: the AvaTax transaction to send, the
// request type acted on, and what each AvaTax line stands for.
type Plan struct {
	// SentAs is the request type acted on: RequestType, or QUOTE when the
	// company sends billing as quotes or the order is an orchestration
	// fulfilment.
	SentAs string
	// Model is the transaction, sent with createoradjust.
	Model avatax.CreateTransactionModel
	// Lines describes Model.Lines, in the same order.
	Lines []PlanLine
	// Company is the company's configuration.
	Company *CompanyConfig
}

// PlanLine is what one AvaTax line stands for: a detail line's
// merchandise (Charge empty), one of its charges, or an order-level
// charge (DetailLine 0).
type PlanLine struct {
	Number string // the AvaTax line number
	// Field points at what the line stands for in the request:
	// /lines/<i>, /lines/<i>/<charge> or /<charge>.
	Field      string
	DetailLine int
	Charge     string
	TaxCode    string
	Amount     decimal.Decimal // as sent: negative on a credit
	// Override is the tax given by Order Administration, nil when AvaTax
	// calculates it.
	Override *decimal.Decimal
}

// overrideReason explains the tax override on the AvaTax line.
const overrideReason = "Order Administration tax override"

// DocumentCode is the deterministic AvaTax code of the document a request
// records: the same invoice or credit of the same order always has the
// same code, so that a repeated billing request adjusts its document
// instead of creating another. A quote records nothing; its code names
// the order and ship-to for the audit trail.
func DocumentCode(r *Request, sentAs string) string {
	base := "OA-" + strconv.Itoa(r.Company) + "-" + strconv.FormatInt(r.OrderNumber, 10)
	switch sentAs {
	case Invoice, DistributeTax:
		return base + "-I" + strconv.FormatInt(r.InvoiceNumber, 10)
	case Credit:
		return base + "-C" + strconv.FormatInt(r.CreditNumber, 10)
	}
	return base + "-S" + strconv.Itoa(r.ShipToNumber) + "-Q"
}

// OrderID names the order in the audit trail and in spans.
func OrderID(r *Request) string {
	return "OA-" + strconv.Itoa(r.Company) + "-" + strconv.FormatInt(r.OrderNumber, 10)
}

// Map turns a request into the AvaTax transaction that answers it. It is
// pure: the same request and configuration always give the same plan.
func Map(cfg *Config, r *Request) (*Plan, error) {
	cc, e := cfg.company(r.Company)
	if e != nil {
		return nil, e
	}
	if err := checkExemption(r); err != nil {
		return nil, err
	}
	p := &Plan{SentAs: r.RequestType, Company: cc}
	if (r.RequestType == Invoice || r.RequestType == DistributeTax) && (cc.SendQuoteNotInvoice || r.OrchestrationFulfillment) {
		p.SentAs = Quote
	}
	m := &p.Model
	m.Code = DocumentCode(r, p.SentAs)
	m.CompanyCode = cc.AvaTaxCompany
	m.Date = r.Date
	m.CustomerCode = strconv.FormatInt(r.Customer.Number, 10)
	m.ExemptionNo = r.Customer.ExemptionTaxID
	m.CurrencyCode = r.Currency
	m.Description = "Order Administration " + r.RequestType + " at " + r.Stage
	m.PurchaseOrderNo = strconv.FormatInt(r.OrderNumber, 10) + "-" + strconv.Itoa(r.ShipToNumber)
	m.Addresses = &avatax.AddressesModel{ShipFrom: address(&r.ShipFrom), ShipTo: address(&r.ShipTo)}
	switch p.SentAs {
	case Quote:
		m.Type = avatax.SalesOrder
	case Invoice, DistributeTax:
		m.Type, m.Commit = avatax.SalesInvoice, true
		m.ReferenceCode = "invoice " + strconv.FormatInt(r.InvoiceNumber, 10)
	case Credit:
		m.Type, m.Commit = avatax.ReturnInvoice, true
		m.ReferenceCode = "credit " + strconv.FormatInt(r.CreditNumber, 10)
	}
	sign := decimal.NewFromInt(1)
	if p.SentAs == Credit {
		sign = sign.Neg()
	}
	add := func(pl PlanLine, qty int, itemCode, desc string) {
		pl.Amount = pl.Amount.Mul(sign)
		li := avatax.LineItemModel{
			Number: pl.Number, Quantity: decimal.NewFromInt(int64(qty)), Amount: pl.Amount,
			TaxCode: pl.TaxCode, ItemCode: itemCode, Description: desc, Ref1: pl.Charge,
		}
		if pl.Override != nil {
			t := pl.Override.Mul(sign)
			pl.Override = &t
			li.TaxOverride = &avatax.TaxOverrideModel{Type: avatax.OverrideTaxAmount, TaxAmount: &t, Reason: overrideReason}
		}
		if pl.DetailLine > 0 {
			li.Ref2 = "line " + strconv.Itoa(pl.DetailLine)
		}
		m.Lines = append(m.Lines, li)
		p.Lines = append(p.Lines, pl)
	}
	for i, l := range r.Lines {
		at := "/lines/" + strconv.Itoa(i)
		pl := PlanLine{Number: strconv.Itoa(l.LineNumber), Field: at, DetailLine: l.LineNumber, TaxCode: cfg.itemTaxCode(&l), Amount: l.ExtendedPrice}
		if l.TaxOverride {
			pl.Override = l.TaxAmount
		}
		add(pl, l.Quantity, l.Item, "")
		// A line's own charges stay taxable even when its merchandise tax
		// is overridden: the override is of the item's tax only.
		for _, c := range []struct {
			typ string
			amt *decimal.Decimal
		}{{ChargeFreight, l.Freight}, {ChargeHandling, l.Handling}, {ChargeGiftWrap, l.GiftWrap}} {
			if c.amt == nil || c.amt.IsZero() {
				continue
			}
			add(PlanLine{Number: pl.Number + "-" + chargeCode(c.typ), Field: at + "/" + c.typ, DetailLine: l.LineNumber, Charge: c.typ,
				TaxCode: cfg.chargeTaxCode(c.typ), Amount: *c.amt}, 1, chargeCode(c.typ), chargeName(c.typ)+" of line "+pl.Number)
		}
	}
	for _, c := range []struct {
		typ string
		amt *decimal.Decimal
	}{
		{ChargeFreight, r.Freight}, {ChargeHandling, r.Handling}, {ChargeDuty, r.Duty}, {ChargeGiftWrap, r.GiftWrap},
		{ChargeAdditionalFreight, r.AdditionalFreight}, {ChargeShipperItemCharges, r.ShipperItemCharges},
	} {
		pl := PlanLine{Number: chargeCode(c.typ), Field: "/" + c.typ, Charge: c.typ, TaxCode: cfg.chargeTaxCode(c.typ)}
		if c.amt != nil {
			pl.Amount = *c.amt
		}
		if c.typ == ChargeFreight && r.FreightTaxOverride {
			pl.Override = r.FreightTaxAmount
		}
		if pl.Amount.IsZero() && pl.Override == nil {
			continue
		}
		add(pl, 1, chargeCode(c.typ), chargeName(c.typ))
	}
	return p, nil
}

// checkExemption refuses a request whose customer's exemption expired
// before the request's date: Order Administration does not let such an
// order be taken as exempt, and AvaTax is not told the expiry date.
func checkExemption(r *Request) error {
	c := &r.Customer
	if c.ExemptionTaxID == "" || c.ExemptionExpiryDate == "" {
		return nil
	}
	day, err := time.Parse(time.DateOnly, r.Date)
	if err != nil {
		return invalid("/date", "not a date: %v", err)
	}
	exp, err := time.Parse(time.DateOnly, c.ExemptionExpiryDate)
	if err != nil {
		return invalid("/customer/exemption_expiry_date", "not a date: %v", err)
	}
	if exp.Before(day) {
		return &Error{Code: CodeExemptionExpired, Field: "/customer/exemption_expiry_date",
			Message: fmt.Sprintf("the customer's tax exemption expired on %s, before the request's date %s", c.ExemptionExpiryDate, r.Date)}
	}
	return nil
}

func address(a *Address) *avatax.AddressLocationInfo {
	return &avatax.AddressLocationInfo{Line1: a.Line1, Line2: a.Line2, Line3: a.Line3, City: a.City,
		Region: a.Region, PostalCode: a.PostalCode, Country: a.Country}
}

// chargeCode is the charge's AvaTax line number suffix and item code.
func chargeCode(typ string) string {
	switch typ {
	case ChargeGiftWrap:
		return "GIFTWRAP"
	case ChargeAdditionalFreight:
		return "ADDLFREIGHT"
	case ChargeShipperItemCharges:
		return "SHIPPERITEM"
	}
	return strings.ToUpper(typ)
}

func chargeName(typ string) string {
	return strings.ReplaceAll(typ, "_", " ")
}
