package events

import (
	"bytes"
	"errors"
	"slices"
	"time"
	"unicode/utf8"

	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/schemas"
)

// quick is the fast path of Validator.Inbound. Validating a whole order
// snapshot with the JSON Schema costs several times the typed decode the
// worker needs anyway, so the typed decode comes first and a few checks on
// the decoded values stand in for the schema. It is one-sided: an event
// quick accepts is one the schema accepts (TestQuickNeverAcceptsWhatTheSchemaRefuses
// holds it to that); anything it cannot vouch for, including every
// invalid event, goes through the schema, which stays the contract and the
// source of every error message.
//
// What the typed decode cannot see is made unambiguous before it runs or
// checked after:
//   - JSON null and the empty string decode to the same Go zero value as
//     an absent member, so a document holding either (even inside a
//     string) is left to the schema; after that an empty Go string means
//     absent;
//   - required numbers whose zero is valid (order_version, prices) cannot
//     be told from absent ones, so zero is left to the schema too, and so
//     are the zero and negative quantities and the negative prices the
//     schema refuses;
//   - member names match exactly and duplicate names are refused, as the
//     schema sees them (json/v2's defaults, not encoding/json's);
//   - prices given as strings, and timestamps not in their canonical
//     shape, are checked by the schema's own definitions of them, compiled
//     on their own;
//   - numbers the schema path refuses as out of range
//     (schemas.NumberInRange) are left to it, even in members the typed
//     decode skips: mayHoldHugeNumber looks for them in the raw bytes.
type quick struct {
	price, currency, dateTime *jsonschema.Schema
	opts                      json.Options
}

// Schema locations of the leaf definitions quick checks with the schema
// itself: a pattern and a format are easy to get subtly wrong by hand.
// Both timestamps (the envelope's time, the order's date) are defined
// alike; TestQuickLeavesMatchTheSchema checks they still are.
const (
	priceDef     = "common.schema.json#/$defs/price"
	currencyDef  = "order.schema.json#/properties/pricing_details/properties/currency"
	dateTimeDef  = "common.schema.json#/$defs/envelope/properties/time"
	orderDateDef = "order.schema.json#/properties/date"
)

func newQuick() (*quick, error) {
	c, err := schemas.Compile(priceDef, currencyDef, dateTimeDef)
	if err != nil {
		return nil, err
	}
	q := &quick{price: c[priceDef], currency: c[currencyDef], dateTime: c[dateTimeDef]}
	q.opts = json.JoinOptions(json.DefaultOptionsV2(), json.WithUnmarshalers(json.JoinUnmarshalers(
		json.UnmarshalFromFunc(q.decodeAmount),
		json.UnmarshalFromFunc(q.decodeTime),
	)))
	return q, nil
}

var errLeaveToSchema = errors.New("left to the schema")

// decodeAmount reads a price (every amount of an inbound event is one): a
// JSON number that is in range and not negative, or a string the schema's
// price definition accepts.
func (q *quick) decodeAmount(dec *jsontext.Decoder, d *decimal.Decimal) error {
	tok, err := dec.ReadToken()
	if err != nil {
		return err
	}
	var s string
	switch tok.Kind() {
	case '0':
		s = tok.String()
		if !schemas.NumberInRange(s) {
			return errLeaveToSchema
		}
	case '"':
		s = tok.String()
		if q.price.Validate(s) != nil {
			return errLeaveToSchema
		}
	default:
		return errLeaveToSchema
	}
	if *d, err = decimal.NewFromString(s); err == nil && d.IsNegative() {
		return errLeaveToSchema
	}
	return err
}

// decodeTime reads a timestamp the schema's date-time format accepts.
func (q *quick) decodeTime(dec *jsontext.Decoder, t *time.Time) error {
	tok, err := dec.ReadToken()
	if err != nil {
		return err
	}
	if tok.Kind() != '"' {
		return errLeaveToSchema
	}
	s := tok.String()
	if !canonicalTime(s) && q.dateTime.Validate(s) != nil {
		return errLeaveToSchema
	}
	*t, err = time.Parse(time.RFC3339Nano, s)
	return err
}

// canonicalTime reports whether s has the one shape OMS timestamps come in,
// yyyy-mm-ddThh:mm:ss[.fraction](Z|±hh:mm), with every field in range
// but the day of the month, which time.Parse checks after it. Every such
// string is a date-time the schema accepts (TestCanonicalTimeIsADateTime);
// asking the schema costs ten times more, so it only sees the others.
func canonicalTime(s string) bool {
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return false
	}
	for _, f := range [...][2]int{{0, 4}, {5, 7}, {8, 10}, {11, 13}, {14, 16}, {17, 19}} {
		if !digits(s[f[0]:f[1]]) {
			return false
		}
	}
	if !inRange(s[5:7], 1, 12) || !inRange(s[8:10], 1, 31) || !inRange(s[11:13], 0, 23) ||
		!inRange(s[14:16], 0, 59) || !inRange(s[17:19], 0, 59) {
		return false
	}
	rest := s[19:]
	if rest[0] == '.' {
		n := 1
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n == 1 {
			return false
		}
		rest = rest[n:]
	}
	if rest == "Z" {
		return true
	}
	return len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':' &&
		digits(rest[1:3]) && digits(rest[4:6]) && inRange(rest[1:3], 0, 23) && inRange(rest[4:6], 0, 59)
}

func digits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// inRange reports whether the two digits d are a number in [lo, hi].
func inRange(d string, lo, hi int) bool {
	n := int(d[0]-'0')*10 + int(d[1]-'0')
	return n >= lo && n <= hi
}

var (
	jsonNull    = []byte("null")
	emptyString = []byte(`""`)
)

// inbound decodes raw and reports whether it is certainly a valid inbound
// event. false says nothing: the caller asks the schema.
func (q *quick) inbound(raw []byte) (Inbound, bool) {
	var in Inbound
	if bytes.Contains(raw, jsonNull) || bytes.Contains(raw, emptyString) || mayHoldHugeNumber(raw) {
		return in, false
	}
	if json.Unmarshal(raw, &in, q.opts) != nil {
		return in, false
	}
	return in, in.valid() && q.currencyOK(in.Data.Order.PricingDetails.Currency)
}

func (q *quick) currencyOK(c string) bool { return c == "" || q.currency.Validate(c) == nil }

// valid checks what the schemas say beyond the Go types, for a document
// with no null and no empty string (so "" means absent).
func (in *Inbound) valid() bool {
	e, d := &in.Envelope, &in.Data
	if e.SpecVersion != "1.0" || !length(e.ID, 1, 200) || e.Source == "" || !length(e.Subject, 1, 50) ||
		e.Time.IsZero() || (e.DataContentType != "" && e.DataContentType != "application/json") {
		return false
	}
	if d.OrderVersion <= 0 || !d.Order.valid() {
		return false
	}
	switch e.Type {
	case OrderStateChanged:
		return d.State != ""
	case ParcelStateChanged, LineItemGroupStateChanged:
		return d.State != "" && d.EntityID != ""
	case RefreshOrderTaxes, VoidOrderTaxes:
		return d.Workflow == "" || d.Workflow == "order" || d.Workflow == "parcel" || d.Workflow == "line_item_group"
	case RefundOrderTaxes:
		r := d.Return
		return (d.Workflow == "" || d.Workflow == "line_item_group") && r != nil && r.ID != "" &&
			len(r.LineItemGroupIDs) > 0 && !slices.Contains(r.LineItemGroupIDs, "") && unique(r.LineItemGroupIDs)
	}
	return false
}

func (o *Order) valid() bool {
	if !length(o.ID, 1, 50) || o.Date.IsZero() || o.SalesChannel == "" || o.OrderItems == nil || o.LineItemGroups == nil ||
		!length(o.Customer.ID, 0, 50) || !length(o.Customer.EntityUseCode, 0, 25) || !length(o.Customer.ExemptionNo, 0, 25) ||
		!length(o.DocumentCode, 0, 50) || (o.DocumentType != "" && o.DocumentType != "SalesInvoice" && o.DocumentType != "PurchaseInvoice") {
		return false
	}
	for _, a := range []*Address{o.Delivery.Destination.Address, o.Origin} {
		if a != nil && (len(a.Lines) > 3 || !length(a.Country, 2, 3)) {
			return false
		}
	}
	if t := o.TaxesInformation; t != nil && (!length(t.ProviderTransactionID, 1, 50) || !length(t.ExemptionCode, 0, 25)) {
		return false
	}
	for _, it := range o.OrderItems {
		if it.ID == "" || it.ItemID == "" || it.Quantity <= 0 || it.PricingDetails.Price.IsZero() || !taxIDs(it.PricingDetails.Taxes) ||
			!length(it.TaxCode, 0, 25) {
			return false
		}
	}
	for _, g := range o.LineItemGroups {
		if g.ID == "" || g.OrderItemID == "" || g.Quantity <= 0 || g.State == "" {
			return false
		}
	}
	for _, p := range o.Parcels {
		if p.ID == "" || p.State == "" {
			return false
		}
	}
	for _, f := range o.ShippingFees {
		if f.ID == "" || f.Price.IsZero() || !taxIDs(f.Taxes) {
			return false
		}
	}
	return true
}

func taxIDs(ids []TaxID) bool {
	return !slices.ContainsFunc(ids, func(t TaxID) bool { return t.ID == "" })
}

// length reports whether s has between lo and hi characters, counted as
// JSON Schema counts them (code points).
func length(s string, lo, hi int) bool {
	n := utf8.RuneCountInString(s)
	return n >= lo && n <= hi
}

func unique(ss []string) bool {
	for i := range ss {
		if slices.Contains(ss[i+1:], ss[i]) {
			return false
		}
	}
	return true
}

// mayHoldHugeNumber reports whether raw may hold a number that
// schemas.NumberInRange refuses: digits plus exponent beyond
// schemas.MaxNumberDigits. It errs on the side of true (a string such as
// "SKU1e100" counts) and costs little: such a number has either an
// exponent of three digits or more, found from the e and E in raw, or,
// with an exponent below 100, a run of more than 900 number characters,
// which a look every hugeRunStep bytes cannot miss.
func mayHoldHugeNumber(raw []byte) bool {
	for _, e := range [...]byte{'e', 'E'} {
		for i := 0; ; {
			j := bytes.IndexByte(raw[i:], e)
			if j < 0 {
				break
			}
			i += j + 1
			if i >= 2 && isDigit(raw[i-2]) && exponentDigits(raw[i:]) >= 3 {
				return true
			}
		}
	}
	for i := hugeRunStep; i < len(raw); i += hugeRunStep {
		if !numberChar(raw[i]) {
			continue
		}
		lo, hi := i, i
		for lo > 0 && numberChar(raw[lo-1]) {
			lo--
		}
		for hi < len(raw) && numberChar(raw[hi]) {
			hi++
		}
		if hi-lo >= hugeRun {
			return true
		}
	}
	return false
}

const (
	// hugeRun is shorter than any number beyond schemas.MaxNumberDigits
	// whose exponent is below 100 (more than 900 digits)...
	hugeRun = schemas.MaxNumberDigits - 200
	// ...and hugeRunStep no longer than hugeRun, so that every such run
	// holds a byte mayHoldHugeNumber looks at.
	hugeRunStep = hugeRun / 2
)

// exponentDigits counts the digits of the exponent b starts with, after
// its sign.
func exponentDigits(b []byte) int {
	if len(b) > 0 && (b[0] == '+' || b[0] == '-') {
		b = b[1:]
	}
	n := 0
	for n < len(b) && isDigit(b[n]) {
		n++
	}
	return n
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// numberChar reports whether c may be part of a JSON number.
func numberChar(c byte) bool {
	return isDigit(c) || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E'
}
