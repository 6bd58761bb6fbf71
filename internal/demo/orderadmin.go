package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/internal/taxservice"
)

// OAStep is one Order Administration tax request of the demo and what its
// answer must show.
type OAStep struct {
	Request taxservice.Request
	// Check says what is wrong with the answer, "" when it is as expected.
	Check func(*taxservice.Response) string
}

// OAOutcome is the answer to one step.
type OAOutcome struct {
	Step     OAStep
	Response *taxservice.Response
	OK       bool
	Problem  string
}

// overrideTax is the tax Order Administration imposes on order 1002's
// mug: DISTRIBUTETAX must keep it rather than recalculate it.
var overrideTax = decimal.RequireFromString("1.11")

// OASteps is the demo's Order Administration story, dated date: order
// 1001 is quoted at order entry and at pick slip, billed, then credited;
// order 1002, whose mug carries a tax override, is billed with
// DISTRIBUTETAX.
func OASteps(date string) []OAStep {
	base := func(typ, stage string, order int64, lines ...taxservice.Line) taxservice.Request {
		return taxservice.Request{
			RequestType: typ, Company: 7, OrderNumber: order, ShipToNumber: 1, Stage: stage, Date: date, Currency: "USD",
			ShipFrom: taxservice.Address{Line1: "2000 Main St", City: "Irvine", Region: "CA", PostalCode: "92614", Country: "US"},
			ShipTo:   taxservice.Address{Line1: "350 5th Ave", City: "New York", Region: "NY", PostalCode: "10118", Country: "US"},
			Customer: taxservice.Customer{Number: 42},
			Lines:    lines,
		}
	}
	shirt := taxservice.Line{LineNumber: 1, Item: "TSHIRT-M", ItemClass: "APP", Quantity: 2, ExtendedPrice: decimal.RequireFromString("49.98")}
	mug := taxservice.Line{LineNumber: 2, Item: "MUG", ItemClass: "ACC", Quantity: 1, ExtendedPrice: decimal.RequireFromString("20.00")}
	freight := decimal.RequireFromString("5.00")

	quote := func(stage string) taxservice.Request {
		r := base(taxservice.Quote, stage, 1001, shirt, mug)
		r.Freight = &freight
		return r
	}
	invoice := quote(taxservice.StageBilling)
	invoice.RequestType, invoice.InvoiceNumber = taxservice.Invoice, 501
	credit := base(taxservice.Credit, taxservice.StageBilling, 1001, mug)
	credit.CreditNumber = 601

	overridden := mug
	overridden.TaxOverride, overridden.TaxAmount = true, &overrideTax
	distribute := base(taxservice.DistributeTax, taxservice.StageBilling, 1002, shirt, overridden)
	distribute.InvoiceNumber = 502

	return []OAStep{
		{Request: quote(taxservice.StageOrderEntry), Check: uncommitted},
		{Request: quote(taxservice.StagePickSlip), Check: uncommitted},
		{Request: invoice, Check: func(r *taxservice.Response) string {
			if !r.Committed || r.DocumentType != "SalesInvoice" || !r.TotalTax.Decimal().IsPositive() {
				return fmt.Sprintf("want a committed SalesInvoice with tax, got %s committed=%t tax %s", r.DocumentType, r.Committed, r.TotalTax)
			}
			return ""
		}},
		{Request: credit, Check: func(r *taxservice.Response) string {
			if !r.Committed || r.DocumentType != "ReturnInvoice" || !r.TotalTax.Decimal().IsNegative() {
				return fmt.Sprintf("want a committed ReturnInvoice with negative tax, got %s committed=%t tax %s", r.DocumentType, r.Committed, r.TotalTax)
			}
			return ""
		}},
		{Request: distribute, Check: func(r *taxservice.Response) string {
			if !r.Committed || r.DocumentType != "SalesInvoice" {
				return fmt.Sprintf("want a committed SalesInvoice, got %s committed=%t", r.DocumentType, r.Committed)
			}
			for _, l := range r.Lines {
				if l.LineNumber == overridden.LineNumber {
					if !l.Overridden || !l.Tax.Decimal().Equal(overrideTax) {
						return fmt.Sprintf("line %d tax %s, want the override %s kept", l.LineNumber, l.Tax, overrideTax.StringFixed(2))
					}
					return ""
				}
			}
			return fmt.Sprintf("line %d missing from the answer", overridden.LineNumber)
		}},
	}
}

// uncommitted checks a quote: calculated by AvaTax, recording nothing.
func uncommitted(r *taxservice.Response) string {
	if r.Committed || r.Estimated || r.DocumentType != "SalesOrder" || !r.TotalTax.Decimal().IsPositive() {
		return fmt.Sprintf("want an uncommitted SalesOrder with tax, got %s committed=%t estimated=%t tax %s",
			r.DocumentType, r.Committed, r.Estimated, r.TotalTax)
	}
	return ""
}

// OrderAdministration sends the steps to the tax service over NATS
// request-reply, as Order Administration would, and reports each answer
// to out. It returns an error when an answer is not as expected.
func OrderAdministration(ctx context.Context, nc *nats.Conn, steps []OAStep, out io.Writer, timeout time.Duration) ([]OAOutcome, error) {
	fmt.Fprintf(out, "\n== Order Administration tax requests over NATS (%s)\n", taxservice.Subject)
	var outcomes []OAOutcome
	failed := 0
	for _, s := range steps {
		o := OAOutcome{Step: s}
		resp, err := ask(ctx, nc, &s.Request, timeout)
		switch {
		case err != nil:
			o.Problem = err.Error()
		default:
			o.Response = resp
			o.Problem = s.Check(resp)
		}
		o.OK = o.Problem == ""
		if !o.OK {
			failed++
		}
		outcomes = append(outcomes, o)
		reportOA(out, o)
	}
	if failed > 0 {
		return outcomes, fmt.Errorf("%d of %d Order Administration tax requests were not answered as expected", failed, len(steps))
	}
	fmt.Fprintf(out, "all %d Order Administration tax requests answered as expected\n", len(steps))
	return outcomes, nil
}

// ask sends one request and decodes the answer; a micro error answer
// becomes an error carrying its code and body.
func ask(ctx context.Context, nc *nats.Conn, req *taxservice.Request, timeout time.Duration) (*taxservice.Response, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", req.RequestType, err)
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	msg, err := nc.RequestWithContext(rctx, taxservice.Subject, body)
	if err != nil {
		return nil, fmt.Errorf("%s on %s: %w", req.RequestType, taxservice.Subject, err)
	}
	if code := msg.Header.Get(micro.ErrorCodeHeader); code != "" {
		return nil, fmt.Errorf("%s refused (%s): %s", req.RequestType, code, msg.Data)
	}
	var resp taxservice.Response
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return nil, fmt.Errorf("decode the %s answer: %w", req.RequestType, err)
	}
	return &resp, nil
}

func reportOA(w io.Writer, o OAOutcome) {
	r := o.Step.Request
	mark := "ok"
	if !o.OK {
		mark = "FAILED: " + o.Problem
	}
	head := fmt.Sprintf("   order %d %-13s %-11s", r.OrderNumber, r.RequestType, r.Stage)
	resp := o.Response
	if resp == nil {
		fmt.Fprintf(w, "%s [%s]\n", head, mark)
		return
	}
	doc := resp.DocumentType
	if resp.DocumentCode != "" {
		doc += " " + resp.DocumentCode
	}
	if resp.Committed {
		doc += " committed"
	}
	fmt.Fprintf(w, "%s → %s, tax %s  [%s]\n", head, doc, resp.TotalTax, mark)
	var lines, juris []string
	for _, l := range resp.Lines {
		s := fmt.Sprintf("%d: %s", l.LineNumber, l.Tax)
		if l.Overridden {
			s += " (override)"
		}
		lines = append(lines, s)
	}
	for _, c := range resp.Charges {
		lines = append(lines, fmt.Sprintf("%s: %s", c.Type, c.Tax))
	}
	for _, j := range resp.Jurisdictions {
		juris = append(juris, fmt.Sprintf("%s %s", j.Type, j.Tax))
	}
	fmt.Fprintf(w, "     lines %s; jurisdictions %s\n", strings.Join(lines, ", "), strings.Join(juris, ", "))
}
