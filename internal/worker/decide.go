package worker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"go.opentelemetry.io/otel/trace"

	"github.com/taxbridge/taxbridge/internal/avatax"
	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/lifecycle"
	"github.com/taxbridge/taxbridge/internal/store"
	"github.com/taxbridge/taxbridge/internal/taxdoc"
)

// act decides what a workflow action does to the order and performs it.
func (j *job) act(ctx context.Context) error {
	w, env, data, rec := j.w, j.env, j.data, j.rec
	action := lifecycle.Action(j.action)
	now := w.opts.Now()
	tr := store.Transition{At: now, EventID: env.ID, Action: string(action), From: rec.State, To: rec.State}

	if rec.Stale(action, data.OrderVersion) {
		tr.Note = fmt.Sprintf("stale: order version %d, an action of version %d already applied", data.OrderVersion, rec.ActionVersion)
		return j.finish(ctx, tr)
	}
	o, err := snapshot(rec)
	if err != nil {
		return err
	}
	cfg := w.mapper.Config()
	if !cfg.KnowsChannel(o.SalesChannel) {
		return j.refuse(ctx, tr, errorInfo{Code: CodeInvalidOrderData, Field: "/data/order/sales_channel",
			Message: fmt.Sprintf("sales channel %q is not in the tax configuration's sales_channels (%s): add it there, or correct the order",
				o.SalesChannel, strings.Join(slices.Sorted(maps.Keys(cfg.SalesChannels)), ", "))})
	}
	ch := cfg.Channel(o.SalesChannel)
	if !ch.Enabled {
		tr.Note = "sales channel " + o.SalesChannel + " has no tax provider"
		return j.finish(ctx, tr)
	}
	if action == lifecycle.Refund {
		if r, ok := rec.Return(data.Return.ID); ok && r.Done() {
			tr.Note = "return " + r.ID + " already refunded as " + r.Code
			return j.finish(ctx, tr)
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
			return j.finish(ctx, tr)
		}
		if err != nil {
			return j.refuse(ctx, tr, dataErrorInfo(err))
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
		return j.refuse(ctx, tr, info)
	}
	if action != lifecycle.Refund {
		rec.ActionVersion = data.OrderVersion
	}
	if d.Effect == lifecycle.NoEffect {
		rec.State = d.To
		tr.Note = noEffectNote(tr.From, action)
		return j.finish(ctx, tr)
	}
	if sale.Code != "" && d.Effect != lifecycle.CommitDocument && d.Effect != lifecycle.VoidDocument {
		info, err := w.validateAddresses(ctx, rec, o, &sale)
		if err != nil {
			return err
		}
		if info != nil {
			return j.refuse(ctx, tr, *info)
		}
	}

	c, err := j.plan(o, d, sale, saleHash)
	if err != nil {
		return j.refuse(ctx, tr, dataErrorInfo(err))
	}
	return j.perform(ctx, c)
}

// finish records an action that needs no AvaTax call, and answers it.
func (j *job) finish(ctx context.Context, t store.Transition) error {
	// Every action gets an answer, also one that changes no document.
	// It goes out before the record is written: a crash in between
	// publishes it again under the same id, which the stream drops.
	if err := j.answer(ctx, j.env.ID+"/no_effect", events.ResultData{Action: j.action,
		PreviousState: string(t.From), CauseEventID: j.env.ID, Note: t.Note}); err != nil {
		return err
	}
	return j.done(ctx, t)
}

// refuse records a refused action and publishes the tax error.
func (j *job) refuse(ctx context.Context, t store.Transition, info errorInfo) error {
	// Published first, recorded after: see failed.
	if err := j.publishError(ctx, j.env, j.data.OrderVersion, lifecycle.Action(j.action), j.rec.State, info); err != nil {
		return err
	}
	t.To, t.Effect, t.Note = t.From, lifecycle.NoEffect, "refused: "+info.Code
	return j.done(ctx, t)
}

// done records the event as applied, with its transition, and writes the
// record.
func (j *job) done(ctx context.Context, t store.Transition) error {
	j.rec.MarkSeen(j.env.ID)
	j.rec.Record(t)
	j.rec.UpdatedAt = t.At
	return j.save(ctx)
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

// plan turns a decision into the AvaTax call that carries it out.
// saleHash is taxdoc.Hash(sale), which the decision already needed.
func (j *job) plan(o *events.Order, d lifecycle.Decision, sale avatax.CreateTransactionModel, saleHash string) (*call, error) {
	w, rec := j.w, j.rec
	company := w.mapper.Config().Provider.CompanyCode
	code, docType := saleCode(rec, o), saleType(rec, o)
	c := &call{cause: j.env, action: lifecycle.Action(j.action), from: rec.State,
		intent: store.Intent{EventID: j.env.ID, Effect: d.Effect, Code: code, Type: docType, Target: d.To, At: w.opts.Now()}}
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
			return w.tax.Commit(ctx, company, code, docType)
		}
	case lifecycle.VoidDocument:
		c.do = func(ctx context.Context) (*avatax.TransactionModel, error) {
			return w.tax.Void(ctx, company, code, docType, avatax.VoidDocVoided)
		}
	case lifecycle.RefundDocument:
		r := addReturn(rec, o, j.data, j.env)
		c, err := j.planRefund(o, r, j.env)
		if err != nil {
			r.Refused = err.Error() // refuse persists it with the tax error
		}
		return c, err
	default:
		return nil, fmt.Errorf("no AvaTax call for effect %q", d.Effect)
	}
	return c, nil
}

// planRefund plans the ReturnInvoice of a return, answering cause.
func (j *job) planRefund(o *events.Order, r *store.Return, cause events.Envelope) (*call, error) {
	w, rec := j.w, j.rec
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
			Hash: taxdoc.Hash(doc), ReturnID: r.ID, Target: lifecycle.CommittedRefund, At: w.opts.Now()},
		do: func(ctx context.Context) (*avatax.TransactionModel, error) {
			return w.tax.CreateOrAdjust(ctx, req)
		},
		action: lifecycle.Refund,
		from:   rec.State,
		cause:  cause,
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
	if o != nil && o.DocumentCode != "" {
		return o.DocumentCode
	}
	return rec.OrderID
}

// saleType is the AvaTax type of the order's sale document: SalesInvoice,
// or PurchaseInvoice for a purchase (taxdoc.DocumentType).
func saleType(rec *store.Record, o *events.Order) string {
	if rec.Sale != nil && rec.Sale.Type != "" {
		return rec.Sale.Type
	}
	return taxdoc.DocumentType(o)
}

// decide asks the state machine; it is the seam where the decision is
// observed (a span, and the outcome of the event) without the lifecycle
// package doing any I/O.
func (w *Worker) decide(ctx context.Context, orderID string, s lifecycle.State, a lifecycle.Action, f lifecycle.Facts) lifecycle.Decision {
	_, span := w.in.tracer.Start(ctx, "decide "+string(a), trace.WithAttributes(
		attrOrderID.String(orderID), attrAction.String(string(a)), attrFrom.String(string(s)),
		attrCommitable.Bool(f.Commitable), attrInStore.Bool(f.OrderInStore),
		attrNoRecord.Bool(f.RecordingDisabled), attrChanged.Bool(f.ContentChanged)))
	d := lifecycle.Decide(s, a, f)
	span.SetAttributes(attrTo.String(string(d.To)), attrEffect.String(string(d.Effect)))
	if d.Refusal != nil {
		span.SetAttributes(attrRefusal.String(d.Refusal.Code))
	}
	span.End()
	return d
}
