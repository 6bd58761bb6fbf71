// Package taxservice answers Oracle Retail Order Administration's
// synchronous tax requests (CWTaxRequest: QUOTE, INVOICE, DISTRIBUTETAX,
// CREDIT) with AvaTax: it maps a request to an AvaTax transaction, sends
// it, and maps the calculated document back to a CWTaxResponse with the
// tax of every detail line and charge split by jurisdiction.
//
// Unlike the worker, which follows order events on JetStream, the tax
// service is request/reply: Order Administration waits for the answer at
// order entry, order maintenance, pick slip preparation and billing. It is
// served as a NATS micro service and over HTTP.
package taxservice

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/schemas"
)

// Request types (request_type).
const (
	Quote         = "QUOTE"
	Invoice       = "INVOICE"
	DistributeTax = "DISTRIBUTETAX"
	Credit        = "CREDIT"
)

// Stages of the order at which Order Administration asks (stage).
const (
	StageOrderEntry       = "order_entry"
	StageOrderMaintenance = "order_maintenance"
	StagePickSlip         = "pick_slip"
	StageBilling          = "billing"
)

// Charge types: order-level charges and the line-level freight, handling
// and gift wrap.
const (
	ChargeFreight            = "freight"
	ChargeHandling           = "handling"
	ChargeDuty               = "duty"
	ChargeGiftWrap           = "gift_wrap"
	ChargeAdditionalFreight  = "additional_freight"
	ChargeShipperItemCharges = "shipper_item_charges"
)

// Schema file names of the request and the response.
const (
	RequestSchema  = "cw_tax_request.schema.json"
	ResponseSchema = "cw_tax_response.schema.json"
)

// Request is a CWTaxRequest. Amounts are decimals, exactly as sent.
type Request struct {
	RequestType   string `json:"request_type"`
	Company       int    `json:"company"`
	OrderNumber   int64  `json:"order_number"`
	ShipToNumber  int    `json:"ship_to_number"`
	Stage         string `json:"stage"`
	InvoiceNumber int64  `json:"invoice_number,omitempty"`
	CreditNumber  int64  `json:"credit_number,omitempty"`
	Date          string `json:"date"`
	Currency      string `json:"currency,omitempty"`
	// OrchestrationFulfillment marks an order that fulfils one Order
	// Orchestration routed here: its billing records no invoice.
	OrchestrationFulfillment bool     `json:"orchestration_fulfillment,omitempty"`
	ShipFrom                 Address  `json:"ship_from"`
	ShipTo                   Address  `json:"ship_to"`
	Customer                 Customer `json:"customer"`
	Lines                    []Line   `json:"lines"`

	Freight            *decimal.Decimal `json:"freight,omitempty"`
	Handling           *decimal.Decimal `json:"handling,omitempty"`
	Duty               *decimal.Decimal `json:"duty,omitempty"`
	GiftWrap           *decimal.Decimal `json:"gift_wrap,omitempty"`
	AdditionalFreight  *decimal.Decimal `json:"additional_freight,omitempty"`
	ShipperItemCharges *decimal.Decimal `json:"shipper_item_charges,omitempty"`
	FreightTaxOverride bool             `json:"freight_tax_override,omitempty"`
	FreightTaxAmount   *decimal.Decimal `json:"freight_tax_amount,omitempty"`
}

// Address is a ship-from or ship-to address.
type Address struct {
	Line1      string `json:"line1,omitempty"`
	Line2      string `json:"line2,omitempty"`
	Line3      string `json:"line3,omitempty"`
	City       string `json:"city,omitempty"`
	Region     string `json:"region,omitempty"`
	PostalCode string `json:"postal_code,omitempty"`
	Country    string `json:"country"`
}

// Customer is the sold-to customer and its tax exemption.
type Customer struct {
	Number              int64  `json:"number"`
	ExemptionTaxID      string `json:"exemption_tax_id,omitempty"`
	ExemptionExpiryDate string `json:"exemption_expiry_date,omitempty"`
}

// Line is an order detail line with its line-level charges.
type Line struct {
	LineNumber    int              `json:"line_number"`
	Item          string           `json:"item"`
	ItemClass     string           `json:"item_class,omitempty"`
	Division      string           `json:"division,omitempty"`
	Department    string           `json:"department,omitempty"`
	Class         string           `json:"class,omitempty"`
	TaxCode       string           `json:"tax_code,omitempty"`
	Quantity      int              `json:"quantity"`
	ExtendedPrice decimal.Decimal  `json:"extended_price"`
	TaxOverride   bool             `json:"tax_override,omitempty"`
	TaxAmount     *decimal.Decimal `json:"tax_amount,omitempty"`
	Freight       *decimal.Decimal `json:"freight,omitempty"`
	Handling      *decimal.Decimal `json:"handling,omitempty"`
	GiftWrap      *decimal.Decimal `json:"gift_wrap,omitempty"`
}

// Error codes of a refused request.
const (
	// CodeInvalidRequest: the request is not a valid CWTaxRequest.
	CodeInvalidRequest = "invalid_request"
	// CodeExemptionExpired: the customer's exemption expired before the
	// request's date.
	CodeExemptionExpired = "exemption_expired"
	// CodeCompanyRefused: the company's configuration refuses the request
	// (unknown company, tax-inclusive pricing).
	CodeCompanyRefused = "company_refused"
	// CodeAvaTaxRefused: AvaTax refused the request's data.
	CodeAvaTaxRefused = "avatax_refused"
	// CodeAvaTaxUnavailable: AvaTax could not be reached; send the request
	// again later.
	CodeAvaTaxUnavailable = "avatax_unavailable"
	// CodeInternal: taxbridge itself failed (its configuration or
	// credentials); a person must look.
	CodeInternal = "internal"
)

// Error is why a request was not answered: a code, the field it is about
// (a JSON pointer into the request, empty when it concerns no field) and
// a message. Retryable says the same request may succeed later.
type Error struct {
	Code      string
	Field     string
	Message   string
	Retryable bool
	Err       error
}

// Error says the code, the field and the message.
func (e *Error) Error() string {
	if e.Field != "" {
		return e.Code + ": " + e.Field + ": " + e.Message
	}
	return e.Code + ": " + e.Message
}

// Unwrap returns the underlying error (an AvaTax client error), if any.
func (e *Error) Unwrap() error { return e.Err }

func invalid(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalidRequest, Field: field, Message: fmt.Sprintf(format, args...)}
}

var (
	compileOnce sync.Once
	compiled    map[string]*jsonschema.Schema
	compileErr  error
)

func schema(name string) (*jsonschema.Schema, error) {
	compileOnce.Do(func() { compiled, compileErr = schemas.Compile(RequestSchema, ResponseSchema) })
	if compileErr != nil {
		return nil, compileErr
	}
	return compiled[name], nil
}

// DecodeRequest validates raw against the CWTaxRequest schema and the rules
// the schema cannot say, and decodes it. A refusal is an *Error naming
// the first offending field; every problem is in its message.
func DecodeRequest(raw []byte) (*Request, error) {
	s, err := schema(RequestSchema)
	if err != nil {
		return nil, &Error{Code: CodeInternal, Message: "request schema", Err: err}
	}
	if problems := schemas.ValidateJSON(s, raw); len(problems) > 0 {
		field, _, _ := strings.Cut(problems[0], ": ")
		if f := missingField(s, raw); f != "" {
			field = f
		}
		return nil, &Error{Code: CodeInvalidRequest, Field: field, Message: strings.Join(problems, "; ")}
	}
	var r Request
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&r); err != nil {
		// The schema accepted it, so this is a number out of a Go type's range.
		return nil, &Error{Code: CodeInvalidRequest, Field: "/", Message: "cannot decode: " + err.Error(), Err: err}
	}
	if err := r.check(); err != nil {
		return nil, err
	}
	return &r, nil
}

// missingField names the member a refusal is about when the schema
// reports it at its parent object: a missing required member, one its
// sibling requires, or one the schema does not know. "" otherwise.
func missingField(s *jsonschema.Schema, raw []byte) string {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return ""
	}
	var ve *jsonschema.ValidationError
	if !errors.As(s.Validate(inst), &ve) {
		return ""
	}
	var fields []string
	var walk func(*jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		at := "/" + strings.Join(e.InstanceLocation, "/")
		member := func(name string) string { return strings.TrimSuffix(at, "/") + "/" + pointerEscaper.Replace(name) }
		switch k := e.ErrorKind.(type) {
		case *kind.Required:
			fields = append(fields, member(k.Missing[0]))
		case *kind.DependentRequired:
			fields = append(fields, member(k.Missing[0]))
		case *kind.AdditionalProperties:
			fields = append(fields, member(k.Properties[0]))
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	if len(fields) == 0 {
		return ""
	}
	slices.Sort(fields)
	return fields[0]
}

// pointerEscaper escapes a member name in a JSON pointer (RFC 6901).
var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

// check enforces what the schema does not: the numbers a request type
// needs, distinct line numbers, and an exemption with its tax id.
func (r *Request) check() *Error {
	switch r.RequestType {
	case Invoice, DistributeTax:
		if r.Stage != StageBilling {
			return invalid("/stage", "%s is sent at billing, not at %s", r.RequestType, r.Stage)
		}
		if r.InvoiceNumber == 0 {
			return invalid("/invoice_number", "required for %s", r.RequestType)
		}
	case Credit:
		if r.CreditNumber == 0 {
			return invalid("/credit_number", "required for CREDIT")
		}
	}
	if _, err := time.Parse(time.DateOnly, r.Date); err != nil {
		return invalid("/date", "not a date: %v", err)
	}
	if r.Customer.ExemptionExpiryDate != "" && r.Customer.ExemptionTaxID == "" {
		return invalid("/customer/exemption_tax_id", "required with exemption_expiry_date")
	}
	seen := make(map[int]bool, len(r.Lines))
	for i, l := range r.Lines {
		if seen[l.LineNumber] {
			return invalid(fmt.Sprintf("/lines/%d/line_number", i), "line number %d given twice", l.LineNumber)
		}
		seen[l.LineNumber] = true
	}
	return nil
}

// AsError returns err as an *Error, wrapping any other error as internal.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: CodeInternal, Message: "internal error", Err: err}
}
