package plexwriteback

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
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
	"github.com/taxbridge/taxbridge/internal/plex"
)

// Outcomes of a delivery, the span attribute plex.writeback.outcome.
const (
	OutcomeWritten   = "written"   // Plex accepted the tax
	OutcomeUnchanged = "unchanged" // the tax last written is the same: not written again
	OutcomeStale     = "stale"     // older than the result last written: not written
	OutcomeNothing   = "nothing"   // no sale document, not void: nothing to write
	OutcomeGone      = "gone"      // the order is not in Plex (404): nothing to write to
	OutcomeRetried   = "retried"   // failed; redelivered after a backoff
)

// Span attributes.
const (
	attrKind     = attribute.Key("plex.order_kind")
	attrPlexID   = attribute.Key("plex.order_id")
	attrOrderID  = attribute.Key("taxbridge.order_id")
	attrVersion  = attribute.Key("taxbridge.order_version")
	attrOutcome  = attribute.Key("plex.writeback.outcome")
	attrDelivery = attribute.Key("messaging.nats.delivery_count")
)

// errGone marks a write Plex answered with 404: the order (or every line
// of it) was deleted in Plex, so there is nothing left to write to.
var errGone = errors.New("the order is not in Plex")

// errConflict is a compare-and-swap of the bucket lost too often in a row.
var errConflict = errors.New("the write-back record of the order keeps changing")

// maxCAS bounds the compare-and-swap rounds of one delivery.
const maxCAS = 10

// result is a tax_result event as the worker publishes it.
type result struct {
	ID   string            `json:"id"`
	Type events.Type       `json:"type"`
	Data events.ResultData `json:"data"`
}

// content is what is written to Plex for an order: the price adjustment
// of a sales order, or the tax of each line item of a purchase order.
type content struct {
	AdjustmentType string          `json:"adjustment_type,omitempty"`
	Description    string          `json:"description,omitempty"`
	Amount         decimal.Decimal `json:"amount"`
	Lines          []lineTax       `json:"lines,omitempty"` // sorted by id
}

type lineTax struct {
	ID  string          `json:"id"`
	Tax decimal.Decimal `json:"tax"`
}

// hash identifies a content; equal amounts hash alike whatever their
// scale (4.4 and 4.40).
func (c content) hash(kind string) string {
	var b strings.Builder
	b.WriteString(kind)
	if kind == events.PlexSalesOrder {
		fmt.Fprintf(&b, "\x00%s\x00%s\x00%s", c.AdjustmentType, c.Description, c.Amount.String())
	}
	for _, l := range c.Lines {
		fmt.Fprintf(&b, "\x00%s=%s", l.ID, l.Tax.String())
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

// record is the bucket's value per order: the last write Plex accepted.
type record struct {
	Kind         string `json:"kind"`
	PlexID       string `json:"plex_id"`
	OrderVersion int64  `json:"order_version"`
	// Sequence is the TAX stream sequence of the result: it orders results
	// of one order version (a void after a refresh).
	Sequence  uint64    `json:"stream_sequence"`
	EventID   string    `json:"event_id"`
	Hash      string    `json:"hash"`
	Written   content   `json:"written"`
	WrittenAt time.Time `json:"written_at"`
}

// newerThan reports whether the record comes from a later result than
// (version, seq).
func (r *record) newerThan(version int64, seq uint64) bool {
	return r.OrderVersion > version || (r.OrderVersion == version && r.Sequence > seq)
}

// delivery is one result being written.
type delivery struct {
	res        result
	kind       string
	plexID     string
	seq        uint64
	deliveries uint64
}

// handle writes one result back and settles the message.
func (w *Writer) handle(ctx context.Context, m jetstream.Msg) {
	d := delivery{deliveries: 1}
	if md, err := m.Metadata(); err == nil {
		d.deliveries, d.seq = md.NumDelivered, md.Sequence.Stream
	}
	if err := fastjson.Unmarshal(m.Data(), &d.res); err != nil {
		// The worker's results always decode: this is not one, and no
		// delivery will change that.
		w.log.ErrorContext(ctx, "plex write-back: a message on the results subject is not a tax result; dropped",
			"subject", m.Subject(), "err", err)
		_ = m.TermWithReason("not a tax result")
		return
	}
	var ok bool
	d.kind, d.plexID, ok = events.ParsePlexOrderID(d.res.Data.OrderID)
	if d.res.Type != events.TaxResult || !ok {
		_ = m.Ack() // an OMS order's result: the OMS writes it back
		return
	}
	producer := bus.Extract(ctx, m.Headers())
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(
		attrKind.String(d.kind), attrPlexID.String(d.plexID), attrOrderID.String(d.res.Data.OrderID),
		attrVersion.Int64(d.res.Data.OrderVersion), attrDelivery.Int64(int64(d.deliveries)))}
	if sc := trace.SpanContextFromContext(producer); sc.IsValid() {
		opts = append(opts, trace.WithLinks(trace.Link{SpanContext: sc}))
	}
	ctx, span := w.tracer.Start(producer, "plex writeback "+d.kind, opts...)
	defer span.End()

	stop := w.keepAlive(m)
	outcome, err := w.apply(ctx, &d)
	stop()
	outcome = w.settle(ctx, m, &d, outcome, err)
	span.SetAttributes(attrOutcome.String(outcome))
	if err != nil && outcome == OutcomeRetried {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
}

// keepAlive tells the server the message is being worked on every third
// of AckWait, until the returned stop is called.
func (w *Writer) keepAlive(m jetstream.Msg) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(max(w.ackWait/3, 10*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				_ = m.InProgress()
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// settle acks or naks the message after apply and returns the outcome.
func (w *Writer) settle(ctx context.Context, m jetstream.Msg, d *delivery, outcome string, err error) string {
	log := w.log.With("order", d.res.Data.OrderID, "kind", d.kind, "plex_id", d.plexID,
		"order_version", d.res.Data.OrderVersion, "delivery", d.deliveries)
	switch {
	case err == nil && outcome == OutcomeWritten:
		log.InfoContext(ctx, "plex write-back written")
	case err == nil:
		log.DebugContext(ctx, "plex write-back", "outcome", outcome)
	case errors.Is(err, errGone):
		outcome = OutcomeGone
		log.WarnContext(ctx, "plex write-back: the order is not in Plex (deleted?); nothing written", "err", err)
	default:
		delay, permanent := w.retryDelay(d.deliveries, err)
		level := slog.LevelWarn
		msg := "plex write-back failed; will retry"
		if permanent {
			level = slog.LevelError
			msg = "plex write-back refused by Plex; retried slowly until fixed"
		}
		log.Log(ctx, level, msg, "retry_in", delay, "err", err)
		if nerr := m.NakWithDelay(delay); nerr != nil {
			log.WarnContext(ctx, "nak", "err", nerr)
		}
		return OutcomeRetried
	}
	if aerr := m.Ack(); aerr != nil {
		// The next delivery finds the write recorded and skips it.
		log.WarnContext(ctx, "ack", "err", aerr)
	}
	return outcome
}

// retryDelay is the redelivery delay after err, and whether Plex refused
// the write for good (a 4xx other than 408 and 429, or no OAuth token):
// that waits the longest backoff, so the message stays pending where an
// operator sees it, until someone fixes the cause.
func (w *Writer) retryDelay(deliveries uint64, err error) (time.Duration, bool) {
	if errors.Is(err, plex.ErrToken) {
		return w.maxBackoff, true
	}
	delay := w.backoff(deliveries)
	var pe *plex.Error
	if errors.As(err, &pe) {
		if pe.Status >= 400 && pe.Status < 500 && !pe.Temporary() {
			return w.maxBackoff, true
		}
		delay = max(delay, pe.RetryAfter)
	}
	return delay, false
}

// backoff doubles from minBackoff per delivery up to maxBackoff, with
// jitter between half and all of the step.
func (w *Writer) backoff(deliveries uint64) time.Duration {
	ceiling := w.minBackoff
	for i := uint64(1); i < deliveries && ceiling < w.maxBackoff; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, w.maxBackoff)
	return ceiling/2 + rand.N(ceiling/2+1)
}

// apply writes the result to Plex unless the bucket shows it stale or
// already written, and records the write with compare-and-swap.
//
// The record is written after Plex accepted the write. When the swap is
// lost, another delivery wrote in between, perhaps to Plex after this
// one: the round starts again from the new record, and if this result
// turns out older, the record's content is written to Plex again, so
// Plex ends with what the record says.
func (w *Writer) apply(ctx context.Context, d *delivery) (string, error) {
	key := bus.Token(d.res.Data.OrderID)
	version := d.res.Data.OrderVersion
	// dirty: this result may have reached Plex without reaching the
	// bucket, in an earlier delivery or an earlier round; if it is stale,
	// it may have overwritten a newer write in Plex.
	dirty := d.deliveries > 1
	for round := 1; ; round++ {
		if round > maxCAS {
			return "", errConflict
		}
		rec, rev, err := w.load(ctx, key)
		if err != nil {
			return "", err
		}
		if rec != nil && rec.newerThan(version, d.seq) {
			if !dirty {
				return OutcomeStale, nil
			}
			// This result may have reached Plex after the newer one: put
			// the newer one back.
			w.log.InfoContext(ctx, "plex write-back: a stale result may have reached Plex after a newer one; writing the newer one again",
				"order", d.res.Data.OrderID, "order_version", version, "newer_version", rec.OrderVersion)
			var mine *content
			if c, ok := w.desired(d, nil); ok {
				mine = &c // zeroed if it is another adjustment than the record's
			}
			if err := w.write(ctx, d.kind, d.plexID, rec.Written, mine); err != nil && !errors.Is(err, errGone) {
				return "", err
			}
			if err := w.cas(ctx, key, rec, rev); errors.Is(err, errLostSwap) {
				w.lostSwap(ctx, d, round)
				continue
			} else if err != nil {
				return "", err
			}
			return OutcomeStale, nil
		}
		want, ok := w.desired(d, rec)
		if !ok {
			return OutcomeNothing, nil
		}
		hash := want.hash(d.kind)
		next := &record{Kind: d.kind, PlexID: d.plexID, OrderVersion: version, Sequence: d.seq, EventID: d.res.ID,
			Hash: hash, Written: want, WrittenAt: time.Now().UTC()}
		// The same content as the record's: Plex shows it already (a
		// writer that put something else there since lost its swap and
		// puts the record's content back).
		if rec != nil && rec.Hash == hash {
			if rec.OrderVersion == version && rec.Sequence == d.seq {
				return OutcomeUnchanged, nil
			}
			// Not written again; the record moves on to this result so an
			// older one arriving later is known stale.
			next.WrittenAt = rec.WrittenAt
			if err := w.cas(ctx, key, next, rev); errors.Is(err, errLostSwap) {
				w.lostSwap(ctx, d, round)
				continue
			} else if err != nil {
				return "", err
			}
			return OutcomeUnchanged, nil
		}
		var prev *content
		if rec != nil {
			prev = &rec.Written
		}
		if err := w.write(ctx, d.kind, d.plexID, want, prev); err != nil {
			return "", err
		}
		dirty = true
		if err := w.cas(ctx, key, next, rev); errors.Is(err, errLostSwap) {
			w.lostSwap(ctx, d, round)
			continue
		} else if err != nil {
			return "", err
		}
		return OutcomeWritten, nil
	}
}

func (w *Writer) lostSwap(ctx context.Context, d *delivery, round int) {
	w.log.DebugContext(ctx, "plex write-back: another delivery recorded the order meanwhile; reading its record again",
		"order", d.res.Data.OrderID, "order_version", d.res.Data.OrderVersion, "round", round)
}

// Document types of the sale document of a Plex order.
var saleTypes = map[string][]string{
	events.PlexSalesOrder:    {"SalesInvoice", "SalesOrder"},
	events.PlexPurchaseOrder: {"PurchaseInvoice", "PurchaseOrder"},
}

func saleDocument(kind string, d *events.Document) *events.Document {
	if d != nil && slices.Contains(saleTypes[kind], d.Type) {
		return d
	}
	return nil
}

// desired is what the result asks to be in Plex; ok is false when there
// is nothing to write: no sale document in the result, and the order not
// void.
func (w *Writer) desired(d *delivery, rec *record) (content, bool) {
	data := &d.res.Data
	doc := saleDocument(d.kind, data.Document)
	void := data.State == string(lifecycle.Void) // a cancelled order shows no tax
	if d.kind == events.PlexSalesOrder {
		c := content{AdjustmentType: w.adjType}
		switch {
		case doc != nil:
			c.Description = "AvaTax " + doc.Code
			if !void {
				c.Amount = doc.TotalTax
			}
		case !void:
			return content{}, false
		case rec != nil && rec.Written.Description != "":
			c.AdjustmentType, c.Description = rec.Written.AdjustmentType, rec.Written.Description
		default:
			for i := range data.Documents {
				if s := saleDocument(d.kind, &data.Documents[i]); s != nil {
					c.Description = "AvaTax " + s.Code
					break
				}
			}
			if c.Description == "" {
				return content{}, false
			}
		}
		return c, true
	}
	if doc == nil && !void {
		return content{}, false
	}
	taxes := map[string]decimal.Decimal{}
	if doc != nil {
		for _, l := range doc.Lines {
			if l.Kind == events.LineItemGroupLine && l.ID != "" {
				taxes[l.ID] = taxes[l.ID].Add(l.Tax)
			}
		}
	}
	// A line taxed before and not now (every line of a void order) has no
	// tax any longer.
	if rec != nil {
		for _, l := range rec.Written.Lines {
			if _, ok := taxes[l.ID]; !ok {
				taxes[l.ID] = decimal.Zero
			}
		}
	}
	if len(taxes) == 0 {
		return content{}, false
	}
	var c content
	for id, tax := range taxes {
		if void {
			tax = decimal.Zero
		}
		c.Lines = append(c.Lines, lineTax{ID: id, Tax: tax})
	}
	slices.SortFunc(c.Lines, func(a, b lineTax) int { return strings.Compare(a.ID, b.ID) })
	return c, true
}

// write puts c into Plex. For a sales order whose adjustment changed
// identity (another document code or adjustment type), the previous one
// is zeroed first so Plex does not show two. It returns errGone when Plex
// has no such order (or none of the lines).
func (w *Writer) write(ctx context.Context, kind, plexID string, c content, prev *content) error {
	if kind == events.PlexSalesOrder {
		if prev != nil && prev.Description != "" && !prev.Amount.IsZero() &&
			(prev.Description != c.Description || prev.AdjustmentType != c.AdjustmentType) {
			old := plex.PriceAdjustmentInput{Type: prev.AdjustmentType, Description: prev.Description, Amount: decimal.Zero}
			if _, err := w.plex.PutPriceAdjustment(ctx, plexID, old); err != nil {
				return goneIfNotFound(err)
			}
		}
		_, err := w.plex.PutPriceAdjustment(ctx, plexID, plex.PriceAdjustmentInput{Type: c.AdjustmentType, Description: c.Description, Amount: c.Amount})
		return goneIfNotFound(err)
	}
	missing := 0
	for _, l := range c.Lines {
		if _, err := w.plex.PutPurchaseOrderLineTax(ctx, plexID, l.ID, l.Tax); plex.IsNotFound(err) {
			// The line (or the order) was deleted in Plex.
			missing++
		} else if err != nil {
			return err
		}
	}
	if missing > 0 && missing == len(c.Lines) {
		return errGone
	}
	return nil
}

func goneIfNotFound(err error) error {
	if plex.IsNotFound(err) {
		return fmt.Errorf("%w: %w", errGone, err)
	}
	return err
}

// errLostSwap is a compare-and-swap another writer won.
var errLostSwap = errors.New("lost compare-and-swap")

// load reads the record of an order; nil and revision 0 when there is none.
func (w *Writer) load(ctx context.Context, key string) (*record, uint64, error) {
	e, err := w.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read write-back record %s: %w", key, err)
	}
	var r record
	if err := fastjson.Unmarshal(e.Value(), &r); err != nil {
		// Written by no version of this package: overwritten by the next
		// write (its revision is kept for the swap).
		w.log.WarnContext(ctx, "plex write-back: unreadable record, replaced", "key", key, "err", err)
		return nil, e.Revision(), nil
	}
	return &r, e.Revision(), nil
}

// cas writes the record if the bucket still holds revision rev (0: none).
func (w *Writer) cas(ctx context.Context, key string, r *record, rev uint64) error {
	b, err := fastjson.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode write-back record %s: %w", key, err)
	}
	if rev == 0 {
		_, err = w.kv.Create(ctx, key, b)
	} else {
		_, err = w.kv.Update(ctx, key, b, rev)
	}
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists) {
		return errLostSwap
	}
	if err != nil {
		return fmt.Errorf("write write-back record %s: %w", key, err)
	}
	return nil
}
