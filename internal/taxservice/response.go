package taxservice

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/internal/avatax"
)

// Response is a CWTaxResponse: the tax of every detail line and charge,
// split by jurisdiction, with its totals. Amounts have 2 decimals, as
// AvaTax reports tax.
type Response struct {
	RequestType   string `json:"request_type"`
	SentAs        string `json:"sent_as,omitempty"`
	Company       int    `json:"company"`
	OrderNumber   int64  `json:"order_number"`
	ShipToNumber  int    `json:"ship_to_number"`
	InvoiceNumber int64  `json:"invoice_number,omitempty"`
	CreditNumber  int64  `json:"credit_number,omitempty"`
	// DocumentCode is the AvaTax document's code; empty for an estimate.
	DocumentCode string `json:"document_code,omitempty"`
	// DocumentType is the AvaTax document type, or "Estimate".
	DocumentType string `json:"document_type"`
	Committed    bool   `json:"committed,omitempty"`
	// Estimated says AvaTax could not be reached and the tax comes from
	// the company's standard rates.
	Estimated     bool           `json:"estimated"`
	Lines         []LineTax      `json:"lines"`
	Charges       []ChargeTax    `json:"charges"`
	TotalAmount   Money          `json:"total_amount"`
	TotalTax      Money          `json:"total_tax"`
	Jurisdictions []Jurisdiction `json:"jurisdictions"`
}

// LineTax is the tax of a detail line's merchandise, and its charges.
type LineTax struct {
	LineNumber    int            `json:"line_number"`
	TaxCode       string         `json:"tax_code,omitempty"`
	Amount        Money          `json:"amount"`
	Tax           Money          `json:"tax"`
	Overridden    bool           `json:"overridden,omitempty"`
	Jurisdictions []Jurisdiction `json:"jurisdictions"`
	Charges       []ChargeTax    `json:"charges"`
}

// ChargeTax is the tax of one charge.
type ChargeTax struct {
	Type          string         `json:"type"`
	TaxCode       string         `json:"tax_code,omitempty"`
	Amount        Money          `json:"amount"`
	Tax           Money          `json:"tax"`
	Overridden    bool           `json:"overridden,omitempty"`
	Jurisdictions []Jurisdiction `json:"jurisdictions"`
}

// Jurisdiction types of a response.
const (
	JurisState   = "state" // a state or a province
	JurisCounty  = "county"
	JurisCity    = "city"
	JurisSpecial = "special"
	JurisCountry = "country" // a national tax: Canada's GST or HST
)

// Jurisdiction is the tax of one jurisdiction.
type Jurisdiction struct {
	Type string `json:"type"`
	Name string `json:"name,omitempty"`
	Tax  Money  `json:"tax"`
}

// Money is an amount written with exactly 2 decimals as a JSON string
// ("12.30"), so that no reader takes it through floating point.
type Money decimal.Decimal

// Decimal returns m as a decimal.
func (m Money) Decimal() decimal.Decimal { return decimal.Decimal(m) }

// String is m with 2 decimals.
func (m Money) String() string { return decimal.Decimal(m).StringFixed(2) }

// MarshalJSON writes m with 2 decimals, rounded half away from zero.
func (m Money) MarshalJSON() ([]byte, error) { return []byte(`"` + m.String() + `"`), nil }

// UnmarshalJSON reads a decimal string or number.
func (m *Money) UnmarshalJSON(b []byte) error {
	var d decimal.Decimal
	if err := d.UnmarshalJSON(bytes.TrimSpace(b)); err != nil {
		return err
	}
	*m = Money(d)
	return nil
}

func money(d decimal.Decimal) Money { return Money(d.Round(2)) }

// jurisType maps AvaTax's jurisType (STA, CTY, CIT, STJ, CNT) or, when
// absent, its jurisdictionType to a response jurisdiction type.
func jurisType(d *avatax.TransactionLineDetailModel) string {
	switch d.JurisType {
	case "STA", "State":
		return JurisState
	case "CTY", "County":
		return JurisCounty
	case "CIT", "City":
		return JurisCity
	case "STJ", "Special":
		return JurisSpecial
	case "CNT", "Country":
		return JurisCountry
	}
	switch d.JurisdictionType {
	case "State":
		return JurisState
	case "County":
		return JurisCounty
	case "City":
		return JurisCity
	case "Country":
		return JurisCountry
	}
	return JurisSpecial
}

// jurisdictionOrder sorts the types from the widest.
var jurisdictionOrder = map[string]int{JurisCountry: 0, JurisState: 1, JurisCounty: 2, JurisCity: 3, JurisSpecial: 4}

// jurisSum adds tax by jurisdiction type and name.
type jurisSum struct {
	keys []Jurisdiction
	tax  map[[2]string]decimal.Decimal
}

func (s *jurisSum) add(typ, name string, tax decimal.Decimal) {
	if s.tax == nil {
		s.tax = map[[2]string]decimal.Decimal{}
	}
	k := [2]string{typ, name}
	if _, ok := s.tax[k]; !ok {
		s.keys = append(s.keys, Jurisdiction{Type: typ, Name: name})
	}
	s.tax[k] = s.tax[k].Add(tax)
}

func (s *jurisSum) addAll(js []Jurisdiction) {
	for _, j := range js {
		s.add(j.Type, j.Name, j.Tax.Decimal())
	}
}

func (s *jurisSum) list() []Jurisdiction {
	out := make([]Jurisdiction, 0, len(s.keys))
	for _, k := range s.keys {
		k.Tax = money(s.tax[[2]string{k.Type, k.Name}])
		out = append(out, k)
	}
	slices.SortStableFunc(out, func(a, b Jurisdiction) int { return jurisdictionOrder[a.Type] - jurisdictionOrder[b.Type] })
	return out
}

// lineResult is the tax of one AvaTax line, whatever computed it.
type lineResult struct {
	tax           decimal.Decimal
	jurisdictions []Jurisdiction
}

// newResponse assembles a response from the plan and a result per plan
// line; totals are the sums of what it reports, so they always add up.
func newResponse(r *Request, p *Plan, results []lineResult) *Response {
	resp := &Response{
		RequestType: r.RequestType, Company: r.Company, OrderNumber: r.OrderNumber, ShipToNumber: r.ShipToNumber,
		InvoiceNumber: r.InvoiceNumber, CreditNumber: r.CreditNumber,
		Lines: []LineTax{}, Charges: []ChargeTax{},
	}
	if p.SentAs != r.RequestType {
		resp.SentAs = p.SentAs
	}
	byLine := map[int]int{}
	var totalAmount, totalTax decimal.Decimal
	var all jurisSum
	for i, pl := range p.Lines {
		res := results[i]
		totalAmount = totalAmount.Add(pl.Amount)
		totalTax = totalTax.Add(res.tax)
		all.addAll(res.jurisdictions)
		if pl.Charge == "" {
			byLine[pl.DetailLine] = len(resp.Lines)
			resp.Lines = append(resp.Lines, LineTax{LineNumber: pl.DetailLine, TaxCode: pl.TaxCode, Amount: money(pl.Amount),
				Tax: money(res.tax), Overridden: pl.Override != nil, Jurisdictions: res.jurisdictions, Charges: []ChargeTax{}})
			continue
		}
		c := ChargeTax{Type: pl.Charge, TaxCode: pl.TaxCode, Amount: money(pl.Amount), Tax: money(res.tax),
			Overridden: pl.Override != nil, Jurisdictions: res.jurisdictions}
		if pl.DetailLine > 0 {
			l := &resp.Lines[byLine[pl.DetailLine]]
			l.Charges = append(l.Charges, c)
		} else {
			resp.Charges = append(resp.Charges, c)
		}
	}
	resp.TotalAmount, resp.TotalTax, resp.Jurisdictions = money(totalAmount), money(totalTax), all.list()
	return resp
}

// fromDocument answers a request from the document AvaTax calculated.
// Every line of the plan must be in the document.
func fromDocument(r *Request, p *Plan, doc *avatax.TransactionModel) (*Response, error) {
	lines := make(map[string]*avatax.TransactionLineModel, len(doc.Lines))
	for i := range doc.Lines {
		lines[doc.Lines[i].LineNumber] = &doc.Lines[i]
	}
	results := make([]lineResult, len(p.Lines))
	for i, pl := range p.Lines {
		tl, ok := lines[pl.Number]
		if !ok {
			return nil, fmt.Errorf("AvaTax document %s has no line %s", doc.Code, pl.Number)
		}
		var js jurisSum
		for _, d := range tl.Details {
			js.add(jurisType(&d), d.JurisName, d.Tax)
		}
		results[i] = lineResult{tax: tl.Tax, jurisdictions: js.list()}
	}
	resp := newResponse(r, p, results)
	resp.DocumentCode, resp.DocumentType = doc.Code, doc.Type
	resp.Committed = doc.Status == avatax.StatusCommitted
	return resp, nil
}

// DocumentEstimate is the document type of an answer from standard rates.
const DocumentEstimate = "Estimate"

// estimate answers a QUOTE from the company's standard rate for the
// ship-to region (else its country), when AvaTax cannot be reached. An
// exempt customer pays nothing; an overridden line keeps its tax. ok is
// false when no rate is configured for the ship-to.
func estimate(r *Request, p *Plan) (resp *Response, ok bool) {
	key := r.ShipTo.Country + "-" + r.ShipTo.Region
	rate, found := p.Company.StandardRates[key]
	if !found {
		key = r.ShipTo.Country
		rate, found = p.Company.StandardRates[key]
	}
	if !found {
		return nil, false
	}
	results := make([]lineResult, len(p.Lines))
	for i, pl := range p.Lines {
		tax := decimal.Zero
		switch {
		case pl.Override != nil:
			tax = *pl.Override
		case r.Customer.ExemptionTaxID == "":
			tax = pl.Amount.Mul(rate).Round(2)
		}
		results[i] = lineResult{tax: tax, jurisdictions: []Jurisdiction{{Type: JurisState, Name: "standard rate " + key, Tax: money(tax)}}}
	}
	resp = newResponse(r, p, results)
	resp.DocumentType, resp.Estimated = DocumentEstimate, true
	return resp, true
}
