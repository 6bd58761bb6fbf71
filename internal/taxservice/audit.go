package taxservice

import (
	"context"
	"encoding/json"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/trace"

	"github.com/taxbridge/taxbridge/internal/audit"
)

// OperationTaxRequest is the audit operation of a tax request.
const OperationTaxRequest = "tax_request"

// maxAuditBody caps a recorded body, as the audit transport does.
const maxAuditBody = 256 << 10

// record appends the request and its answer to the audit trail. A failure
// to record is logged; the answer is given anyway, as for the AvaTax
// exchanges.
func (s *Service) record(ctx context.Context, start time.Time, order, method, url string, raw []byte, resp *Response, err error) {
	if s.audit == nil {
		return
	}
	rec := audit.Record{Time: start.UTC(), OrderID: order, Operation: OperationTaxRequest,
		RoundTripMS: float64(time.Since(start).Microseconds()) / 1000}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		rec.TraceID, rec.SpanID = sc.TraceID().String(), sc.SpanID().String()
	}
	rec.Request.Method, rec.Request.URL = method, url
	rec.Request.Body, rec.Request.Truncated = auditBody(raw)
	var out []byte
	status := 200
	if err != nil {
		e := AsError(err)
		status = e.Status()
		out, _ = json.Marshal(e.body())
	} else {
		out, _ = json.Marshal(resp)
		rec.DocumentCode = resp.DocumentCode
	}
	rec.Response = &audit.Response{Status: status}
	rec.Response.Body, rec.Response.Truncated = auditBody(out)
	data, mErr := json.Marshal(rec)
	if mErr == nil {
		msg := nats.NewMsg(audit.Subject(order))
		msg.Data = data
		msg.Header.Set("Content-Type", "application/json")
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		_, mErr = s.audit.PublishMsg(pctx, msg)
		cancel()
	}
	if mErr != nil {
		s.log.WarnContext(ctx, "tax request not recorded in the audit trail", "order", order, "err", mErr)
	}
}

// auditBody is raw as JSON, or the start of it as a JSON string when it is
// not valid JSON or too long.
func auditBody(raw []byte) (json.RawMessage, bool) {
	if len(raw) <= maxAuditBody && json.Valid(raw) {
		return raw, false
	}
	b, _ := json.Marshal(string(raw[:min(len(raw), maxAuditBody)]))
	return b, len(raw) > maxAuditBody
}
