package worker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/taxbridge/taxbridge/internal/audit"
	"github.com/taxbridge/taxbridge/internal/avatax"
	"github.com/taxbridge/taxbridge/internal/bus"
	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/lifecycle"
	"github.com/taxbridge/taxbridge/internal/store"
	"github.com/taxbridge/taxbridge/internal/taxdoc"
)

// call is a planned AvaTax call: the intent to record and how to make it.
type call struct {
	intent store.Intent
	do     func(context.Context) (*avatax.TransactionModel, error)
	action lifecycle.Action
	from   lifecycle.State
}

// act decides what a workflow action does to the order and performs it.
func (w *Worker) act(ctx context.Context, env events.Envelope, data *events.OrderEvent, rec *store.Record, rev uint64) error {
	action := lifecycle.Action(env.Type)
	now := w.opts.Now()
	finish := func(t store.Transition) error {
		rec.MarkSeen(env.ID)
		rec.Record(t)
		rec.UpdatedAt = now
		// Every action gets an answer, also one that changes no document.
		// It goes out before the record is written: a crash in between
		// publishes it again under the same id, which the stream drops.
		if err := w.answer(ctx, rec, env.ID+"/no_effect", events.ResultData{Action: env.Type,
			PreviousState: string(t.From), CauseEventID: env.ID, Note: t.Note}); err != nil {
			return err
		}
		_, err := w.store.Put(ctx, rec, rev)
		return err
	}
	tr := store.Transition{At: now, EventID: env.ID, Action: string(action), From: rec.State, To: rec.State}

	if rec.Stale(action, data.OrderVersion) {
		tr.Note = fmt.Sprintf("stale: order version %d, an action of version %d already applied", data.OrderVersion, rec.ActionVersion)
		return finish(tr)
	}
	o, err := snapshot(rec)
	if err != nil {
		return err
	}
	cfg := w.mapper.Config()
	if !cfg.KnowsChannel(o.SalesChannel) {
		return w.refuse(ctx, env, data, rec, rev, tr, errorInfo{Code: "invalid_order_data", Field: "/data/order/sales_channel",
			Message: fmt.Sprintf("sales channel %q is not in the tax configuration's sales_channels (%s): add it there, or correct the order",
				o.SalesChannel, strings.Join(slices.Sorted(maps.Keys(cfg.SalesChannels)), ", "))})
	}
	ch := cfg.Channel(o.SalesChannel)
	if !ch.Enabled {
		tr.Note = "sales channel " + o.SalesChannel + " has no tax provider"
		return finish(tr)
	}
	if action == lifecycle.Refund {
		if r, ok := rec.Return(data.Return.ID); ok && r.Done() {
			tr.Note = "return " + r.ID + " already refunded as " + r.Code
			return finish(tr)
		} else if ok && r.Refused != "" {
			// The OMS corrected a refused return: take its new data, keep its code.
			r.LineItemGroupIDs, r.RefundShipping = slices.Clone(data.Return.LineItemGroupIDs), data.Return.RefundShipping
			r.EventID, r.At, r.Refused = env.ID, env.Time, ""
		}
	}

	if rec.State == lifecycle.None && rec.Sale == nil && taxdoc.ECommerce(o) {
		// The e-commerce front end created the uncommitted document.
		rec.Sale = &store.Document{Code: o.TaxesInformation.ProviderTransactionID, Type: avatax.SalesInvoice, Status: avatax.StatusSaved}
		rec.State, tr.From = lifecycle.Uncommitted, lifecycle.Uncommitted
		rec.Record(store.Transition{At: now, EventID: env.ID, Action: string(action), From: lifecycle.None, To: lifecycle.Uncommitted,
			Note: "document " + rec.Sale.Code + " created by the e-commerce front end"})
	}
	facts := lifecycle.Facts{
		Commitable:        w.mapper.Commitable(o),
		OrderInStore:      ch.OrderInStore,
		RecordingDisabled: cfg.Provider.DisableTaxRecording,
	}
	var sale avatax.CreateTransactionModel
	var saleHash string
	if action == lifecycle.Refresh && (rec.State == lifecycle.None || rec.State == lifecycle.Uncommitted) {
		sale, err = w.mapper.Sale(o, saleCode(rec, o))
		if errors.Is(err, taxdoc.ErrNothingToTax) {
			tr.Note = err.Error()
			return finish(tr)
		}
		if err != nil {
			return w.refuse(ctx, env, data, rec, rev, tr, dataErrorInfo(err))
		}
		saleHash = taxdoc.Hash(sale)
		facts.ContentChanged = rec.Sale == nil || rec.Sale.Hash != saleHash
	}

	d := w.decide(ctx, rec.OrderID, rec.State, action, facts)
	tr.To, tr.Effect = d.To, d.Effect
	if d.Refusal != nil {
		info := errorInfo{Code: d.Refusal.Code, Message: d.Refusal.Message}
		if action == lifecycle.Refund && d.Refusal.Code == lifecycle.RefusedRefundBeforeCommit {
			addReturn(rec, o, data, env)
			info.Message += "; the return is kept and will be refunded as soon as the order's tax is committed"
		}
		return w.refuse(ctx, env, data, rec, rev, tr, info)
	}
	if action != lifecycle.Refund {
		rec.ActionVersion = data.OrderVersion
	}
	if d.Effect == lifecycle.NoEffect {
		rec.State = d.To
		tr.Note = noEffectNote(tr.From, action)
		return finish(tr)
	}
	if sale.Code != "" && d.Effect != lifecycle.CommitDocument && d.Effect != lifecycle.VoidDocument {
		info, err := w.validateAddresses(ctx, rec, &sale)
		if err != nil {
			return err
		}
		if info != nil {
			return w.refuse(ctx, env, data, rec, rev, tr, *info)
		}
	}

	c, err := w.plan(rec, o, d, sale, saleHash, data, env, now)
	if err != nil {
		return w.refuse(ctx, env, data, rec, rev, tr, dataErrorInfo(err))
	}
	c.action, c.from = action, rec.State
	return w.perform(ctx, env, rec, rev, c)
}

// plan turns a decision into the AvaTax call that carries it out.
// saleHash is taxdoc.Hash(sale), which the decision already needed.
func (w *Worker) plan(rec *store.Record, o *events.Order, d lifecycle.Decision, sale avatax.CreateTransactionModel, saleHash string, data *events.OrderEvent, env events.Envelope, now time.Time) (*call, error) {
	company := w.mapper.Config().Provider.CompanyCode
	code := saleCode(rec, o)
	in := store.Intent{EventID: env.ID, Effect: d.Effect, Code: code, Type: avatax.SalesInvoice, Target: d.To, At: now}
	c := &call{intent: in}
	switch d.Effect {
	case lifecycle.CreateDocument, lifecycle.CreateCommitted, lifecycle.AdjustDocument:
		sale.Commit = d.Effect == lifecycle.CreateCommitted
		c.intent.Hash = saleHash
		req := avatax.CreateOrAdjustTransactionModel{CreateTransactionModel: sale}
		if d.Effect == lifecycle.AdjustDocument || rec.Sale != nil {
			req.AdjustmentReason, req.AdjustmentDescription = "Other", "order "+rec.OrderID+" changed in the OMS"
		}
		c.do = func(ctx context.Context) (*avatax.TransactionModel, error) { return w.tax.CreateOrAdjust(ctx, req) }
	case lifecycle.CommitDocument:
		c.intent.Hash = rec.Sale.Hash
		c.do = func(ctx context.Context) (*avatax.TransactionModel, error) {
			return w.tax.Commit(ctx, company, code, avatax.SalesInvoice)
		}
	case lifecycle.VoidDocument:
		c.do = func(ctx context.Context) (*avatax.TransactionModel, error) {
			return w.tax.Void(ctx, company, code, avatax.SalesInvoice, avatax.VoidDocVoided)
		}
	case lifecycle.RefundDocument:
		r := addReturn(rec, o, data, env)
		c, err := w.planRefund(rec, o, r, now)
		if err != nil {
			r.Refused = err.Error() // refuse persists it with the tax error
		}
		return c, err
	default:
		return nil, fmt.Errorf("no AvaTax call for effect %q", d.Effect)
	}
	return c, nil
}

func (w *Worker) planRefund(rec *store.Record, o *events.Order, r *store.Return, now time.Time) (*call, error) {
	var earlier []taxdoc.Refund
	for i := range rec.Returns {
		if e := &rec.Returns[i]; e.ID != r.ID && e.Done() {
			earlier = append(earlier, w.refunded(o, rec, e))
		}
	}
	doc, taken, err := w.mapper.Return(o, saleCode(rec, o), asked(r), r.Code, r.At, earlier)
	if err != nil {
		return nil, err
	}
	r.Refunded = &taken
	req := avatax.CreateOrAdjustTransactionModel{CreateTransactionModel: doc}
	return &call{
		intent: store.Intent{EventID: r.EventID, Effect: lifecycle.RefundDocument, Code: r.Code, Type: avatax.ReturnInvoice,
			Hash: taxdoc.Hash(doc), ReturnID: r.ID, Target: lifecycle.CommittedRefund, At: now},
		do: func(ctx context.Context) (*avatax.TransactionModel, error) {
			return w.tax.CreateOrAdjust(ctx, req)
		},
		action: lifecycle.Refund,
		from:   rec.State,
	}, nil
}

// refunded is what a return that is done took back. Records written before
// returns kept it have it worked out again from the snapshot.
func (w *Worker) refunded(o *events.Order, rec *store.Record, r *store.Return) taxdoc.Refund {
	if r.Refunded != nil {
		return *r.Refunded
	}
	_, taken, _ := w.mapper.Return(o, saleCode(rec, o), asked(r), r.Code, r.At, nil)
	return taken
}

// asked is the return as the OMS asked for it.
func asked(r *store.Return) *events.Return {
	return &events.Return{ID: r.ID, LineItemGroupIDs: r.LineItemGroupIDs, RefundShipping: r.RefundShipping}
}

// addReturn records a return (once per return id) with its deterministic
// refund code: the sale's code, -R and the return's rank in the order.
func addReturn(rec *store.Record, o *events.Order, data *events.OrderEvent, env events.Envelope) *store.Return {
	if r, ok := rec.Return(data.Return.ID); ok {
		return r
	}
	rec.Returns = append(rec.Returns, store.Return{
		ID: data.Return.ID, Code: fmt.Sprintf("%s-R%d", saleCode(rec, o), len(rec.Returns)+1),
		LineItemGroupIDs: slices.Clone(data.Return.LineItemGroupIDs), RefundShipping: data.Return.RefundShipping,
		EventID: env.ID, At: env.Time,
	})
	return &rec.Returns[len(rec.Returns)-1]
}

// perform records the intent, makes the call, publishes the result and
// records the outcome.
func (w *Worker) perform(ctx context.Context, env events.Envelope, rec *store.Record, rev uint64, c *call) error {
	// The call is audited under the event it belongs to: a refund deferred
	// to the commit names the refund event, not the commit's.
	ctx = audit.WithOrder(ctx, rec.OrderID, c.intent.EventID)
	rec.Intent = &c.intent
	rec.UpdatedAt = c.intent.At
	rev, err := w.store.Put(ctx, rec, rev)
	if err != nil {
		return err
	}
	doc, err := c.do(ctx)
	if err != nil {
		return w.failed(ctx, env, rec, c, err)
	}
	return w.succeeded(ctx, rec.OrderID, rec, rev, c, doc)
}

// succeeded publishes the result of a call and records its outcome. The
// result goes out first: if the process dies in between, the redelivered
// event finds the intent, looks the document up and publishes the same
// result again under the same id, which the stream deduplicates.
func (w *Worker) succeeded(ctx context.Context, orderID string, cur *store.Record, rev uint64, c *call, doc *avatax.TransactionModel) error {
	in := c.intent
	if cur == nil {
		var err error
		if cur, rev, err = w.store.Get(ctx, orderID); err != nil {
			return err
		}
	}
	if !cur.Intent.Same(&in) {
		return nil // someone else recorded or reconciled it
	}
	now := w.opts.Now()
	applyOutcome(cur, c, doc, now)
	cur.MarkSeen(in.EventID)
	if err := w.publishResult(ctx, cur, c, doc); err != nil {
		return err // the intent stays: the redelivery reconciles and publishes
	}
	if _, err := w.store.Put(ctx, cur, rev); !errors.Is(err, store.ErrConflict) {
		return err
	}
	// Another writer (a state change of the same order) got in between:
	// apply the outcome to the record as it is now.
	_, _, err := w.store.Update(ctx, orderID, func(r *store.Record) error {
		if !r.Intent.Same(&in) {
			return errRestart
		}
		applyOutcome(r, c, doc, now)
		r.MarkSeen(in.EventID)
		return nil
	})
	if errors.Is(err, errRestart) {
		err = nil
	}
	return err
}

// applyOutcome folds a successful call into the record.
func applyOutcome(r *store.Record, c *call, doc *avatax.TransactionModel, now time.Time) {
	in := c.intent
	d := &store.Document{Code: doc.Code, Type: doc.Type, Status: doc.Status,
		TotalAmount: doc.TotalAmount, TotalTaxable: doc.TotalTaxable, TotalTax: doc.TotalTax}
	if in.Effect == lifecycle.RefundDocument {
		if ret, ok := r.Return(in.ReturnID); ok {
			ret.Document = d
		}
	} else {
		d.Hash = in.Hash
		if d.Hash == "" && r.Sale != nil {
			d.Hash = r.Sale.Hash
		}
		r.Sale = d
	}
	r.Record(store.Transition{At: now, EventID: in.EventID, Action: string(c.action), From: c.from, To: in.Target, Effect: in.Effect})
	r.State = in.Target
	r.Intent = nil
	r.UpdatedAt = now
}

// failed handles a failed call: transient failures leave the intent for the
// redelivery to reconcile; the others clear it and publish a tax error.
func (w *Worker) failed(ctx context.Context, env events.Envelope, rec *store.Record, c *call, callErr error) error {
	kind := avatax.KindOf(callErr)
	if kind == avatax.KindTransient || kind == avatax.KindAuth {
		w.release(ctx, rec.OrderID, c.intent)
		var ae *avatax.Error
		if errors.As(callErr, &ae) {
			if d, ok := ae.RetryAfterDelay(); ok {
				return &retryAfter{delay: d, err: fmt.Errorf("order %s: %w", rec.OrderID, callErr)}
			}
		}
		return fmt.Errorf("order %s: %w", rec.OrderID, callErr)
	}
	if kind == avatax.KindConflict {
		// The document may already be where the call would have put it
		// (voided twice, committed by an earlier delivery): look it up.
		applied, err := w.reconcileNow(ctx, rec.OrderID, c.intent, c.from)
		if err != nil || applied {
			return err
		}
	}
	info := avataxErrorInfo(callErr)
	// The error goes out before the event is recorded as done, so a crash in
	// between repeats it (under the same id) instead of losing it.
	if err := w.publishError(ctx, env, rec.OrderVersion, c.action, c.from, info); err != nil {
		return err
	}
	_, _, err := w.store.Update(ctx, rec.OrderID, func(r *store.Record) error {
		if r.Intent.Same(&c.intent) {
			r.Intent = nil
		}
		if ret, ok := r.Return(c.intent.ReturnID); ok && !ret.Done() {
			ret.Refused = info.Message // a refund AvaTax refuses waits for corrected data
		}
		r.Record(store.Transition{At: w.opts.Now(), EventID: env.ID, Action: string(c.action), From: r.State, To: r.State,
			Note: "AvaTax refused " + string(c.intent.Effect) + ": " + info.Message})
		// The event the call belonged to is answered (a refund deferred
		// to the commit names its own event, not the delivery's).
		r.MarkSeen(c.intent.EventID)
		r.MarkSeen(env.ID)
		return nil
	})
	return err
}

// release gives up an intent whose call failed, so that the next delivery
// of any event of the order, or the sweep, finishes it at once, and puts
// the order on the sweep's list in case no delivery comes. Both are best
// effort: without them the intent is still finished, once its lease has
// passed, by a redelivery.
func (w *Worker) release(ctx context.Context, orderID string, in store.Intent) {
	_, _, err := w.store.Update(ctx, orderID, func(r *store.Record) error {
		if !r.Intent.Same(&in) {
			return errRestart
		}
		r.Intent.Released = true
		return nil
	})
	if err != nil && !errors.Is(err, errRestart) {
		w.log.WarnContext(ctx, "release intent", "order", orderID, "err", err)
	}
	w.markUnfinished(ctx, orderID)
}

// refundPending refunds the returns that arrived before the order's tax
// was committed, once it is. It reads the record again for each, so it is
// safe to call after any event, and from the sweep.
func (w *Worker) refundPending(ctx context.Context, orderID string) error {
	for {
		rec, rev, err := w.store.Get(ctx, orderID)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(rec.Returns, func(r store.Return) bool { return r.Pending() })
		if i < 0 || rec.Intent != nil || (rec.State != lifecycle.Committed && rec.State != lifecycle.CommittedRefund) {
			return nil // nothing to do, or another delivery is busy with the order
		}
		o, err := snapshot(rec)
		if err != nil {
			return err
		}
		r := &rec.Returns[i]
		// The refund's answers name the event that asked for it; the
		// suffix keeps them apart from its refund_before_commit error.
		cause := events.Envelope{ID: r.EventID + "/refund", Type: events.RefundOrderTaxes, Subject: orderID}
		c, err := w.planRefund(rec, o, r, w.opts.Now())
		if err != nil {
			// The return's data cannot be refunded: refuse it for good,
			// naming the event that asked for it, and go on.
			r.Refused = err.Error()
			if err := w.publishError(ctx, cause, rec.OrderVersion, lifecycle.Refund, rec.State, dataErrorInfo(err)); err != nil {
				return err
			}
			if _, err := w.store.Put(ctx, rec, rev); err != nil && !errors.Is(err, store.ErrConflict) {
				return err
			}
			continue
		}
		if err := w.perform(ctx, cause, rec, rev, c); err != nil {
			return err
		}
	}
}

// snapshot decodes the record's order snapshot.
func snapshot(rec *store.Record) (*events.Order, error) {
	o, err := rec.Order.Order()
	if err != nil {
		return nil, fmt.Errorf("order %s: %w", rec.OrderID, err)
	}
	return o, nil
}

// saleCode is the code of the order's SalesInvoice: the order id, or the
// document an e-commerce front end created. o is the record's snapshot.
func saleCode(rec *store.Record, o *events.Order) string {
	if rec.Sale != nil {
		return rec.Sale.Code
	}
	if o != nil && o.TaxesInformation != nil {
		return o.TaxesInformation.ProviderTransactionID
	}
	return rec.OrderID
}

// documents lists the order's documents for results: the sale, then the
// refunds.
func documents(r *store.Record) []*store.Document {
	var out []*store.Document
	if r.Sale != nil {
		out = append(out, r.Sale)
	}
	for i := range r.Returns {
		if r.Returns[i].Document != nil {
			out = append(out, r.Returns[i].Document)
		}
	}
	return out
}

// publishResult publishes the result of a call, with the document it made.
func (w *Worker) publishResult(ctx context.Context, rec *store.Record, c *call, doc *avatax.TransactionModel) error {
	o, err := snapshot(rec)
	if err != nil {
		return err
	}
	d := taxdoc.Summarize(doc, taxdoc.LineRefs(o))
	id := c.intent.EventID + "/" + string(c.intent.Effect)
	if c.intent.ReturnID != "" {
		id += "/" + c.intent.ReturnID
	}
	return w.answer(ctx, rec, id, events.ResultData{Action: events.Type(c.action), PreviousState: string(c.from),
		CauseEventID: c.intent.EventID, Document: &d})
}

// answer publishes a tax_result under id with the order as the record has
// it; data brings what belongs to the action.
func (w *Worker) answer(ctx context.Context, rec *store.Record, id string, data events.ResultData) error {
	data.OrderID, data.OrderVersion, data.State = rec.OrderID, rec.OrderVersion, string(rec.State)
	for _, d := range documents(rec) {
		data.Documents = append(data.Documents, events.Document{Code: d.Code, Type: d.Type, Status: d.Status,
			TotalAmount: d.TotalAmount, TotalTaxable: d.TotalTaxable, TotalTax: d.TotalTax, Lines: []events.DocumentLine{}})
	}
	if data.Documents == nil {
		data.Documents = []events.Document{}
	}
	env, err := events.New(id, w.opts.Source, events.TaxResult, rec.OrderID, w.opts.Now(), data)
	if err != nil {
		return err
	}
	if _, err = bus.Publish(ctx, w.js, bus.ResultSubject(rec.OrderID), env, nil); err != nil {
		return err
	}
	observationOf(ctx).publishedResult(data)
	return nil
}

// noEffectNote says why an action the state machine allows needs no call.
func noEffectNote(s lifecycle.State, a lifecycle.Action) string {
	switch {
	case s == lifecycle.None && a == lifecycle.VoidTax:
		return "no document exists: nothing to void"
	case s == lifecycle.Void:
		return "already void"
	case s == lifecycle.Committed || s == lifecycle.CommittedRefund:
		return "the committed tax is not changed"
	}
	return "nothing tax-relevant changed since the last call"
}

// errorInfo is the content of a tax error.
type errorInfo struct {
	Code, Message, AvaTaxCode, Field string
}

func dataErrorInfo(err error) errorInfo {
	var de *taxdoc.DataError
	if errors.As(err, &de) {
		return errorInfo{Code: "invalid_order_data", Message: de.Message, Field: de.Field}
	}
	return errorInfo{Code: "invalid_order_data", Message: err.Error()}
}

func avataxErrorInfo(err error) errorInfo {
	info := errorInfo{Code: "avatax_" + avatax.KindOf(err).String() + "_error", Message: err.Error()}
	var ae *avatax.Error
	if errors.As(err, &ae) {
		info.AvaTaxCode = ae.Code
		for _, d := range ae.Details {
			if d.RefersTo != "" {
				info.Field = d.RefersTo
				break
			}
		}
	}
	return info
}

// refuse records a refused action and publishes the tax error.
func (w *Worker) refuse(ctx context.Context, env events.Envelope, data *events.OrderEvent, rec *store.Record, rev uint64, tr store.Transition, info errorInfo) error {
	// Published first, recorded after: see failed.
	if err := w.publishError(ctx, env, data.OrderVersion, lifecycle.Action(env.Type), rec.State, info); err != nil {
		return err
	}
	tr.To, tr.Effect, tr.Note = tr.From, lifecycle.NoEffect, "refused: "+info.Code
	rec.MarkSeen(env.ID)
	rec.Record(tr)
	rec.UpdatedAt = w.opts.Now()
	_, err := w.store.Put(ctx, rec, rev)
	return err
}

func (w *Worker) publishError(ctx context.Context, env events.Envelope, version int64, action lifecycle.Action, state lifecycle.State, info errorInfo) error {
	data := events.ErrorData{OrderID: env.Subject, OrderVersion: version, Action: events.Type(action), State: string(state),
		Code: info.Code, Message: info.Message, AvaTaxCode: info.AvaTaxCode, Field: info.Field, CauseEventID: env.ID}
	out, err := events.New(env.ID+"/error", w.opts.Source, events.TaxError, env.Subject, w.opts.Now(), data)
	if err != nil {
		return err
	}
	w.log.InfoContext(ctx, "tax error", "order", env.Subject, "event", env.ID, "code", info.Code, "message", info.Message)
	if _, err = bus.Publish(ctx, w.js, bus.ErrorSubject(env.Subject), out, nil); err != nil {
		return err
	}
	observationOf(ctx).publishedError(info.Code)
	return nil
}
