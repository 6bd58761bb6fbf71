// Package store keeps the per-order tax record in a JetStream KV bucket,
// written only with compare-and-swap on its revision.
//
// Records are JSON, read and written with fastjson: every event reads and
// writes its order's record, and it decodes one in half the time
// encoding/json takes, byte for byte compatible with it.
package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/shopspring/decimal"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/taxbridge/taxbridge/internal/bus"
	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/fastjson"
	"github.com/taxbridge/taxbridge/internal/lifecycle"
	"github.com/taxbridge/taxbridge/internal/taxdoc"
	"github.com/taxbridge/taxbridge/internal/telemetry"
)

// Record is everything taxbridge knows about one order's tax.
type Record struct {
	OrderID string          `json:"order_id"`
	State   lifecycle.State `json:"state"`
	// OrderVersion and Order are the newest snapshot seen; an older one
	// never replaces a newer one.
	OrderVersion int64     `json:"order_version"`
	Order        *Snapshot `json:"order,omitempty"`
	// ActionVersion is the order version of the last refresh or void that
	// took effect; older ones are stale and ignored.
	ActionVersion int64 `json:"action_version"`
	// Sale is the order's SalesInvoice, once one exists.
	Sale *Document `json:"sale,omitempty"`
	// Returns are the refunds asked for, by return id, in arrival order.
	Returns []Return `json:"returns,omitempty"`
	// Intent is an AvaTax call started and not yet recorded as done.
	Intent *Intent `json:"intent,omitempty"`
	// Addresses are digests of the addresses AvaTax resolved for this
	// order, so they are validated once per order whatever the process.
	Addresses []string `json:"addresses,omitempty"`
	// Seen holds the ids of the most recent events applied, for dedup
	// beyond the stream's duplicate window.
	Seen []string `json:"seen,omitempty"`
	// History is the most recent transitions, newest last.
	History   []Transition `json:"history,omitempty"`
	UpdatedAt time.Time    `json:"updated_at"`
}

// Document is an AvaTax document of the order as last seen.
type Document struct {
	Code         string          `json:"code"`
	Type         string          `json:"type"`
	Status       string          `json:"status"`
	TotalAmount  decimal.Decimal `json:"total_amount"`
	TotalTaxable decimal.Decimal `json:"total_taxable"`
	TotalTax     decimal.Decimal `json:"total_tax"`
	// Hash fingerprints the content last sent (taxdoc.Hash).
	Hash string `json:"hash,omitempty"`
}

// Return is one refund_order_taxes request and its refund document.
type Return struct {
	ID               string    `json:"id"`
	Code             string    `json:"code"` // refund document code
	LineItemGroupIDs []string  `json:"line_item_group_ids"`
	RefundShipping   bool      `json:"refund_shipping,omitempty"`
	EventID          string    `json:"event_id"`
	At               time.Time `json:"at"`
	// Refunded is what the refund document takes back, so that the
	// order's later returns never refund more than was sold.
	Refunded *taxdoc.Refund `json:"refunded,omitempty"`
	// Document is the refund document once it exists.
	Document *Document `json:"document,omitempty"`
	// Refused says why the refund cannot be made (a tax error was
	// published). A refused return waits for the OMS to send it again with
	// corrected data; it no longer counts as pending.
	Refused string `json:"refused,omitempty"`
}

// Done reports whether the refund document exists.
func (r *Return) Done() bool { return r.Document != nil }

// Pending reports whether the return still waits for its refund.
func (r *Return) Pending() bool { return r.Document == nil && r.Refused == "" }

// Intent records an AvaTax call before it is made, so that a redelivered
// event can find out whether it happened instead of repeating it.
type Intent struct {
	EventID  string           `json:"event_id"`
	Effect   lifecycle.Effect `json:"effect"`
	Code     string           `json:"code"`
	Type     string           `json:"type"`
	Hash     string           `json:"hash,omitempty"`
	ReturnID string           `json:"return_id,omitempty"`
	Target   lifecycle.State  `json:"target"`
	At       time.Time        `json:"at"`
	// Released says the delivery that made the call saw it fail and let it
	// go: nothing is running it any more, so the next delivery or the
	// sweep finishes it at once instead of waiting out the lease.
	Released bool `json:"released,omitempty"`
}

// Expired reports whether the intent may be finished by another delivery
// than the one that made it: it was released, or its lease has passed.
func (i *Intent) Expired(now time.Time, lease time.Duration) bool {
	return i.Released || now.Sub(i.At) >= lease
}

// Same reports whether o is this intent. Times are compared with Equal:
// a time read back from JSON has no monotonic reading.
func (i *Intent) Same(o *Intent) bool {
	return i != nil && o != nil && i.EventID == o.EventID && i.Effect == o.Effect &&
		i.Code == o.Code && i.ReturnID == o.ReturnID && i.At.Equal(o.At)
}

// Transition is one entry of the record's history.
type Transition struct {
	At      time.Time        `json:"at"`
	EventID string           `json:"event_id"`
	Action  string           `json:"action"`
	From    lifecycle.State  `json:"from"`
	To      lifecycle.State  `json:"to"`
	Effect  lifecycle.Effect `json:"effect,omitempty"`
	Note    string           `json:"note,omitempty"`
}

// Limits of the bounded lists of a record.
const (
	MaxSeen    = 256
	MaxHistory = 64
)

// HasSeen reports whether the event was already applied.
func (r *Record) HasSeen(eventID string) bool { return slices.Contains(r.Seen, eventID) }

// MarkSeen remembers an applied event id.
func (r *Record) MarkSeen(eventID string) {
	if r.HasSeen(eventID) {
		return
	}
	r.Seen = append(r.Seen, eventID)
	if len(r.Seen) > MaxSeen {
		r.Seen = slices.Clone(r.Seen[len(r.Seen)-MaxSeen:])
	}
}

// Record appends a transition to the history.
func (r *Record) Record(t Transition) {
	r.History = append(r.History, t)
	if len(r.History) > MaxHistory {
		r.History = slices.Clone(r.History[len(r.History)-MaxHistory:])
	}
}

// MergeSnapshot keeps the newer of the stored and the given snapshot and
// reports whether the given one was taken.
func (r *Record) MergeSnapshot(version int64, o events.Order) bool {
	if r.Order != nil && version < r.OrderVersion {
		return false
	}
	r.OrderVersion, r.Order = version, &Snapshot{order: &o}
	return true
}

// Snapshot is the order snapshot a record holds. Most events never look at
// the stored one: a state change replaces it or finds nothing newer, and an
// action usually brings its own. So a record read keeps it as the JSON it
// was stored as, decodes it on first use, and writes it back unchanged.
type Snapshot struct {
	raw   []byte        // the JSON, once read or written
	order *events.Order // decoded, once asked for or merged
}

// Order returns the decoded snapshot, nil for a nil Snapshot. It is shared
// by every use of the record: change a record's snapshot only with
// MergeSnapshot.
func (s *Snapshot) Order() (*events.Order, error) {
	if s == nil {
		return nil, nil
	}
	if s.order == nil {
		var o events.Order
		if err := fastjson.Unmarshal(s.raw, &o); err != nil {
			return nil, fmt.Errorf("decode order snapshot: %w", err)
		}
		s.order = &o
	}
	return s.order, nil
}

// MarshalJSON writes the snapshot as read, or as encoded by the first write.
func (s *Snapshot) MarshalJSON() ([]byte, error) {
	if s.raw == nil {
		b, err := fastjson.Marshal(s.order)
		if err != nil {
			return nil, err
		}
		s.raw = b
	}
	return s.raw, nil
}

// UnmarshalJSON keeps a copy of the snapshot's JSON, decoded when asked for.
func (s *Snapshot) UnmarshalJSON(b []byte) error {
	s.raw, s.order = bytes.Clone(b), nil
	return nil
}

// Stale reports whether an action of the given order version is older than
// the last refresh or void that took effect. Refunds are never stale: each
// names its own return.
func (r *Record) Stale(a lifecycle.Action, version int64) bool {
	return a != lifecycle.Refund && version < r.ActionVersion
}

// Return finds a return by id.
func (r *Record) Return(id string) (*Return, bool) {
	for i := range r.Returns {
		if r.Returns[i].ID == id {
			return &r.Returns[i], true
		}
	}
	return nil, false
}

// ErrConflict means the record changed since it was read.
var ErrConflict = errors.New("order record changed concurrently")

// Store reads and writes records.
type Store struct {
	kv     jetstream.KeyValue
	bucket string
	tp     trace.TracerProvider
	// Names of the KV spans.
	getSpan, casSpan string
}

// Option configures a Store.
type Option func(*Store)

// WithTracerProvider makes the KV spans with tp. Without it they come from
// the provider of the span in the context, else the global one.
func WithTracerProvider(tp trace.TracerProvider) Option { return func(s *Store) { s.tp = tp } }

// New returns a Store over the orders bucket.
func New(kv jetstream.KeyValue, opts ...Option) *Store {
	s := &Store{kv: kv, bucket: kv.Bucket()}
	s.getSpan, s.casSpan = "kv get "+s.bucket, "kv cas "+s.bucket
	for _, o := range opts {
		o(s)
	}
	return s
}

// instrumentation is the OpenTelemetry scope of the store's spans.
const instrumentation = "github.com/taxbridge/taxbridge/internal/store"

// Attributes of the KV spans.
const (
	attrBucket    = attribute.Key("nats.kv.bucket")
	attrOp        = attribute.Key("nats.kv.operation")
	attrKey       = attribute.Key("nats.kv.key")
	attrRevision  = attribute.Key("nats.kv.revision")
	attrExpected  = attribute.Key("nats.kv.expected_revision")
	attrFound     = attribute.Key("nats.kv.found")
	attrConflict  = attribute.Key("nats.kv.conflict")
	attrOrderID   = attribute.Key("taxbridge.order.id")
	attrState     = attribute.Key("taxbridge.state")
	attrValueSize = attribute.Key("nats.kv.value_size")
)

// span starts a KV span named name on the order's key, only inside a
// trace: a read made outside any (a poll, a tool) would otherwise start a
// trace of its own. Its attributes are the sampler's to see, so they are
// given even when it may not record; those set later are set only on a
// span that records (with nothing exporting, none does).
func (s *Store) span(ctx context.Context, name, key, orderID string) (context.Context, trace.Span) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ctx, trace.SpanFromContext(ctx)
	}
	return telemetry.Tracer(ctx, s.tp, instrumentation).Start(ctx, name,
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attrBucket.String(s.bucket), attrKey.String(key), attrOrderID.String(orderID)))
}

func fail(span trace.Span, err error) {
	span.RecordError(err)
	span.SetStatus(codes.Error, err.Error())
}

// Get returns the order's record and its revision; a new empty record with
// revision 0 when the order is unknown.
func (s *Store) Get(ctx context.Context, orderID string) (*Record, uint64, error) {
	key := bus.Token(orderID)
	ctx, span := s.span(ctx, s.getSpan, key, orderID)
	defer span.End()
	e, err := s.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		if span.IsRecording() {
			span.SetAttributes(attrFound.Bool(false), attrRevision.Int64(0), attrState.String(string(lifecycle.None)))
		}
		return &Record{OrderID: orderID, State: lifecycle.None}, 0, nil
	}
	if err != nil {
		err = fmt.Errorf("read record of order %s: %w", orderID, err)
		fail(span, err)
		return nil, 0, err
	}
	value, rev := e.Value(), e.Revision()
	var r Record
	if err := fastjson.Unmarshal(value, &r); err != nil {
		err = fmt.Errorf("decode record of order %s (revision %d): %w", orderID, rev, err)
		fail(span, err)
		return nil, 0, err
	}
	if span.IsRecording() {
		span.SetAttributes(attrFound.Bool(true), attrRevision.Int64(int64(rev)),
			attrState.String(string(r.State)), attrValueSize.Int(len(value)))
	}
	return &r, rev, nil
}

// Put writes the record if it is still at revision rev (0: if it does not
// exist yet) and returns the new revision. It fails with ErrConflict
// otherwise.
func (s *Store) Put(ctx context.Context, r *Record, rev uint64) (uint64, error) {
	op := "update"
	if rev == 0 {
		op = "create"
	}
	// Both are compare-and-swap writes: create only if absent, update
	// only at the expected revision.
	key := bus.Token(r.OrderID)
	ctx, span := s.span(ctx, s.casSpan, key, r.OrderID)
	defer span.End()
	recording := span.IsRecording()
	if recording {
		span.SetAttributes(attrOp.String(op), attrExpected.Int64(int64(rev)), attrState.String(string(r.State)))
	}
	b, err := fastjson.Marshal(r)
	if err != nil {
		err = fmt.Errorf("encode record of order %s: %w", r.OrderID, err)
		fail(span, err)
		return 0, err
	}
	if recording {
		span.SetAttributes(attrValueSize.Int(len(b)))
	}
	var n uint64
	if rev == 0 {
		n, err = s.kv.Create(ctx, key, b)
	} else {
		n, err = s.kv.Update(ctx, key, b, rev)
	}
	// On a one-replica bucket a lost race on Create reports ErrKeyExists;
	// both carry the same code, so check the revision error first.
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists) {
		// Expected under concurrency: the caller reads again. Not an
		// error of the span.
		if recording {
			span.SetAttributes(attrConflict.Bool(true))
		}
		return 0, fmt.Errorf("write record of order %s at revision %d: %w", r.OrderID, rev, ErrConflict)
	}
	if err != nil {
		err = fmt.Errorf("write record of order %s at revision %d: %w", r.OrderID, rev, err)
		fail(span, err)
		return 0, err
	}
	if recording {
		span.SetAttributes(attrConflict.Bool(false), attrRevision.Int64(int64(n)))
	}
	return n, nil
}

// Update applies fn to the current record and writes it with CAS, reading
// again and reapplying fn when another writer got there first. fn must be a
// pure function of the record; returning an error aborts the update.
func (s *Store) Update(ctx context.Context, orderID string, fn func(*Record) error) (*Record, uint64, error) {
	for attempt := 0; ; attempt++ {
		r, rev, err := s.Get(ctx, orderID)
		if err != nil {
			return nil, 0, err
		}
		if err := fn(r); err != nil {
			return r, rev, err
		}
		n, err := s.Put(ctx, r, rev)
		if errors.Is(err, ErrConflict) && attempt < 50 {
			continue
		}
		return r, n, err
	}
}
