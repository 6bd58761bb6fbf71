package worker

import (
	"context"
	"errors"

	"github.com/taxbridge/taxbridge/internal/avatax"
	"github.com/taxbridge/taxbridge/internal/bus"
	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/lifecycle"
	"github.com/taxbridge/taxbridge/internal/store"
	"github.com/taxbridge/taxbridge/internal/taxdoc"
)

// publishResult publishes the result of a call, with the document it made.
func (j *job) publishResult(ctx context.Context, c *call, doc *avatax.TransactionModel) error {
	o, err := snapshot(j.rec)
	if err != nil {
		return err
	}
	d := taxdoc.Summarize(doc, taxdoc.LineRefs(o))
	id := c.intent.EventID + "/" + string(c.intent.Effect)
	if c.intent.ReturnID != "" {
		id += "/" + c.intent.ReturnID
	}
	return j.answer(ctx, id, events.ResultData{Action: events.Type(c.action), PreviousState: string(c.from),
		CauseEventID: c.intent.EventID, Document: &d})
}

// answer publishes a tax_result under id with the order as the record has
// it; data brings what belongs to the action.
func (j *job) answer(ctx context.Context, id string, data events.ResultData) error {
	rec := j.rec
	data.OrderID, data.OrderVersion, data.State = rec.OrderID, rec.OrderVersion, string(rec.State)
	data.Documents = []events.Document{}
	for _, d := range documents(rec) {
		data.Documents = append(data.Documents, events.Document{Code: d.Code, Type: d.Type, Status: d.Status,
			TotalAmount: d.TotalAmount, TotalTaxable: d.TotalTaxable, TotalTax: d.TotalTax, Lines: []events.DocumentLine{}})
	}
	env, err := events.New(id, j.w.opts.Source, events.TaxResult, rec.OrderID, j.w.opts.Now(), data)
	if err != nil {
		return err
	}
	if err := j.w.pub.Publish(ctx, bus.ResultSubject(rec.OrderID), env); err != nil {
		return err
	}
	j.results = append(j.results, data)
	return nil
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

// errorInfo is the content of a tax error.
type errorInfo struct {
	Code, Message, AvaTaxCode, Field string
}

func dataErrorInfo(err error) errorInfo {
	var de *taxdoc.DataError
	if errors.As(err, &de) {
		return errorInfo{Code: CodeInvalidOrderData, Message: de.Message, Field: de.Field}
	}
	return errorInfo{Code: CodeInvalidOrderData, Message: err.Error()}
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

// publishError publishes a tax error answering cause.
func (j *job) publishError(ctx context.Context, cause events.Envelope, version int64, action lifecycle.Action, state lifecycle.State, info errorInfo) error {
	data := events.ErrorData{OrderID: cause.Subject, OrderVersion: version, Action: events.Type(action), State: string(state),
		Code: info.Code, Message: info.Message, AvaTaxCode: info.AvaTaxCode, Field: info.Field, CauseEventID: cause.ID}
	out, err := events.New(cause.ID+"/error", j.w.opts.Source, events.TaxError, cause.Subject, j.w.opts.Now(), data)
	if err != nil {
		return err
	}
	j.w.log.InfoContext(ctx, "tax error", "order", cause.Subject, "event", cause.ID, "code", info.Code, "message", info.Message)
	if err := j.w.pub.Publish(ctx, bus.ErrorSubject(cause.Subject), out); err != nil {
		return err
	}
	j.taxErrors = append(j.taxErrors, info.Code)
	return nil
}
