package avataxsim

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/internal/avatax"
	"github.com/taxbridge/taxbridge/internal/money"
)

// refund creates a committed ReturnInvoice for a committed SalesInvoice.
//
// Rules: Full refunds every line; Partial the lines in refundLines (all of
// their amount, or refundPercentage of it); Percentage every line at
// refundPercentage; TaxOnly the tax only. Amounts are negated, quantities
// stay positive, and the tax is forced to minus the original tax (a
// TaxAmount override per line, reason "Refund request on <date>"), so the
// refund matches what was charged even if rates changed since. The 701–709
// validations apply; a document that is not Committed gets 700.
func (s *Sandbox) refund(req *request) (int, any, *apiError) {
	rr, refundType, apiErr := decodeRefund(req.body)
	if apiErr != nil {
		return 0, nil, apiErr
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	rec, apiErr := s.lookup(req)
	if apiErr != nil {
		return 0, nil, apiErr
	}
	origV := rec.latest() // read only: the refund copies what it takes
	selected, apiErr := refundable(origV.tm, rr.RefundLines)
	if apiErr != nil {
		return 0, nil, apiErr
	}
	code := strings.TrimSpace(rr.RefundTransactionCode)
	if code == "" {
		code = newUUID()
	}
	company := rec.companyCode
	key := keyOf(company, code, avatax.ReturnInvoice)
	if existing := s.docs[key]; existing != nil && existing.cur().Status == avatax.StatusCommitted {
		return 0, nil, errDocStatus()
	}

	ret := returnOf(origV, rr, refundType, selected, code, normDate(rr.RefundDate, s.now()))
	s.stamp(&ret.tm, company, avatax.StatusCommitted, 1)
	s.docs[key] = &docRecord{companyCode: company, versions: []docVersion{ret}}
	return http.StatusCreated, s.out(ret, req), nil // rendered under s.mu
}

// decodeRefund decodes and checks a refund request, and returns its refund
// type (Full when none is given).
func decodeRefund(body []byte) (avatax.RefundTransactionModel, string, *apiError) {
	var rr avatax.RefundTransactionModel
	empty, apiErr := decodeLenient(body, &rr)
	if apiErr != nil {
		return rr, "", apiErr
	}
	if empty {
		return rr, "", errModelRequired()
	}
	if strings.TrimSpace(rr.RefundDate) == "" {
		return rr, "", errValueRequired("refundDate")
	}
	refundType := avatax.RefundFull
	if strings.TrimSpace(rr.RefundType) != "" {
		t, ok := refundTypes.parse(rr.RefundType)
		if !ok {
			return rr, "", errRefund("InvalidRefundType", "Invalid refund type.",
				fmt.Sprintf("The refund type '%s' is not valid. Use Full, Partial, TaxOnly or Percentage.", rr.RefundType))
		}
		refundType = t
	}
	switch {
	case refundType == avatax.RefundFull && rr.RefundPercentage != nil:
		return rr, "", errRefund("RefundTypeAndPercentageMismatch", "Refund type and refund percentage mismatch.",
			"A refund percentage may only be given with refundType Percentage or Partial.")
	case refundType == avatax.RefundFull && len(rr.RefundLines) > 0:
		return rr, "", errRefund("RefundTypeAndLineMismatch", "Refund type and refund lines mismatch.",
			"Refund lines may only be given with refundType Partial.")
	case refundType == avatax.RefundPartial && len(rr.RefundLines) == 0:
		return rr, "", errRefund("RefundLinesRequired", "Refund lines are required for a partial refund.",
			"refundType Partial needs the line numbers to refund in refundLines.")
	case refundType == avatax.RefundTaxOnly && rr.RefundPercentage != nil:
		return rr, "", errRefund("RefundPercentageForTaxOnly", "Refund percentage is not allowed for a TaxOnly refund.",
			"refundType TaxOnly refunds the whole tax; remove refundPercentage.")
	case refundType == avatax.RefundPercentage && rr.RefundPercentage == nil:
		return rr, "", errRefund("RefundPercentageMissing", "Refund percentage is missing.",
			"refundType Percentage needs refundPercentage.")
	case rr.RefundPercentage != nil && (rr.RefundPercentage.IsNegative() || rr.RefundPercentage.GreaterThan(decimal.NewFromInt(100))):
		return rr, "", errRefund("RefundPercentageOutOfRange", "Refund percentage is out of range.",
			"refundPercentage must be between 0 and 100.")
	}
	return rr, refundType, nil
}

// refundable checks that orig can be refunded and returns the line numbers
// of refundLines as orig spells them.
func refundable(orig avatax.TransactionModel, refundLines []string) (map[string]bool, *apiError) {
	if orig.Type != avatax.SalesInvoice {
		return nil, errRefund("InvalidDocumentTypeForRefund", "Invalid document type for refund.",
			fmt.Sprintf("The document type is %s, we can only process refund on SalesInvoice.", orig.Type))
	}
	if orig.Status != avatax.StatusCommitted {
		return nil, errRefund("InvalidDocumentStatusForRefund", "Document is not in a status to process refund",
			fmt.Sprintf("The document status is %s, we can only process refund on committed document.", orig.Status))
	}
	selected := map[string]bool{}
	for _, n := range refundLines {
		found := false
		for _, l := range orig.Lines {
			if strings.EqualFold(l.LineNumber, n) {
				found = true
				selected[l.LineNumber] = true
			}
		}
		if !found {
			return nil, errRefund("LineNoOutOfRange", "Line number is out of range.",
				fmt.Sprintf("Line '%s' does not exist in document '%s'.", n, orig.Code))
		}
	}
	return selected, nil
}

// returnOf builds the ReturnInvoice (without ids or status) that refunds
// origV: every line, or the selected ones of a Partial refund.
func returnOf(origV docVersion, rr avatax.RefundTransactionModel, refundType string, selected map[string]bool, code, refundDate string) docVersion {
	orig := origV.tm
	pct := decimal.NewFromInt(1)
	if rr.RefundPercentage != nil {
		pct = rr.RefundPercentage.Div(decimal.NewFromInt(100))
	}
	// What share of the amounts and of the tax goes back, negated.
	amountFactor, taxFactor := pct.Neg(), pct.Neg()
	if refundType == avatax.RefundTaxOnly {
		amountFactor, taxFactor = zero, decimal.NewFromInt(-1)
	}
	ret := cloneTM(orig)
	ex := origV.ex.clone()
	ex.Lines = nil
	ret.Code = code
	ret.Type = avatax.ReturnInvoice
	ret.Date = refundDate
	ret.ReferenceCode = rr.ReferenceCode
	ret.AdjustmentReason = "NotAdjusted"
	ret.AdjustmentDescription = ""
	ret.Locked = false
	ret.TaxDate = refundDate + "T00:00:00"
	ret.Lines = nil
	ret.TotalAmount, ret.TotalTax, ret.TotalTaxable, ret.TotalExempt, ret.TotalDiscount, ret.TotalTaxCalculated =
		zero, zero, zero, zero, zero, zero
	reason := "Refund request on " + refundDate
	for i, l := range orig.Lines {
		if refundType == avatax.RefundPartial && !selected[l.LineNumber] {
			continue
		}
		if i < len(origV.ex.Lines) {
			ex.Lines = append(ex.Lines, origV.ex.Lines[i])
		}
		appendLine(&ret, refundLine(l, amountFactor, taxFactor, orig.Date, refundDate, reason))
	}
	ret.TaxOverrideType = avatax.OverrideNone
	z := zero
	ret.TaxOverrideAmount = &z
	ret.TaxOverrideReason = ""
	ret.Summary = summarize(ret.Lines)
	return docVersion{tm: ret, ex: ex}
}

// refundLine is the return line of a sold line: its amounts times
// amountFactor, its tax per detail times taxFactor, forced with a TaxAmount
// override so that it stays what was charged. The tax date is the sale's.
func refundLine(l avatax.TransactionLineModel, amountFactor, taxFactor decimal.Decimal, saleDate, refundDate, reason string) avatax.TransactionLineModel {
	nl := l
	nl.Details = nil
	nl.LineAmount = money.Round2(l.LineAmount.Mul(amountFactor))
	nl.TaxableAmount = money.Round2(l.TaxableAmount.Mul(amountFactor))
	nl.ExemptAmount = money.Round2(l.ExemptAmount.Mul(amountFactor))
	nl.DiscountAmount = money.Round2(l.DiscountAmount.Mul(amountFactor))
	nl.ReportingDate = refundDate
	nl.TaxDate = saleDate
	lineTax := zero
	for _, dt := range l.Details {
		nd := dt
		nd.TaxableAmount = money.Round2(dt.TaxableAmount.Mul(amountFactor))
		nd.ExemptAmount = money.Round2(dt.ExemptAmount.Mul(amountFactor))
		nd.NonTaxableAmount = money.Round2(dt.NonTaxableAmount.Mul(amountFactor))
		nd.Tax = money.Round2(dt.Tax.Mul(taxFactor))
		nd.TaxCalculated = nd.Tax
		lineTax = lineTax.Add(nd.Tax)
		nl.Details = append(nl.Details, nd)
	}
	if len(l.Details) == 0 {
		lineTax = money.Round2(l.Tax.Mul(taxFactor))
	}
	nl.Tax = lineTax
	nl.TaxCalculated = lineTax
	nl.TaxOverrideType = avatax.OverrideTaxAmount
	amt := lineTax
	nl.TaxOverrideAmount = &amt
	nl.TaxOverrideReason = reason
	return nl
}
