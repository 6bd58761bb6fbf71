package taxservice

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/taxbridge/taxbridge/internal/audit"
	"github.com/taxbridge/taxbridge/internal/avatax"
)

// AvaTax is the part of the AvaTax client the service uses.
type AvaTax interface {
	CreateOrAdjust(ctx context.Context, m avatax.CreateOrAdjustTransactionModel) (*avatax.TransactionModel, error)
}

// settings are what the Options of New set on a Service.
type settings struct {
	tracerProvider trace.TracerProvider
	logger         *slog.Logger
	audit          audit.Publisher
}

// Option shapes a Service.
type Option func(*settings)

// WithTracerProvider sets the provider of the span of each request
// (default: the global one).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(s *settings) { s.tracerProvider = tp }
}

// WithLogger sets the logger that receives one record per refused or
// failed request (default: discarded).
func WithLogger(l *slog.Logger) Option { return func(s *settings) { s.logger = l } }

// WithAudit sets the publisher that receives one record per tax request
// with its answer, in the audit trail of the AvaTax exchanges (operation
// "tax_request", under the order OA-<company>-<order>); without it, or
// with nil, none is recorded. The AvaTax exchanges themselves are recorded
// by the audit transport of the client.
func WithAudit(p audit.Publisher) Option { return func(s *settings) { s.audit = p } }

// Service answers tax requests with AvaTax.
type Service struct {
	cfg    *Config
	ava    AvaTax
	tracer trace.Tracer
	log    *slog.Logger
	audit  audit.Publisher
}

// instrumentation is the OpenTelemetry scope of the service.
const instrumentation = "github.com/taxbridge/taxbridge/internal/taxservice"

// New returns a service answering with ava under cfg, which it validates,
// shaped by options.
// ava must ask AvaTax for the lines' details by jurisdiction: build it
// with avatax.WithDetails.
func New(cfg Config, ava AvaTax, options ...Option) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("tax service configuration: %w", err)
	}
	var opt settings
	for _, o := range options {
		o(&opt)
	}
	if opt.tracerProvider == nil {
		opt.tracerProvider = otel.GetTracerProvider()
	}
	if opt.logger == nil {
		opt.logger = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: &cfg, ava: ava, tracer: opt.tracerProvider.Tracer(instrumentation), log: opt.logger,
		audit: opt.audit}, nil
}

// Handle answers a raw CWTaxRequest, in one span. A refusal or failure is
// an *Error.
func (s *Service) Handle(ctx context.Context, raw []byte) (*Response, error) {
	return s.handleVia(ctx, "CALL", "taxservice", raw)
}

// handleVia answers a request that came by method and url (for the audit
// trail).
func (s *Service) handleVia(ctx context.Context, method, url string, raw []byte) (resp *Response, err error) {
	ctx, span := s.tracer.Start(ctx, "taxservice.request", trace.WithSpanKind(trace.SpanKindServer))
	defer span.End()
	var order string
	defer func(start time.Time) { s.record(ctx, start, order, method, url, raw, resp, err) }(time.Now())
	resp, err = s.handle(ctx, raw, span, &order)
	if err != nil {
		e := AsError(err)
		span.SetAttributes(attribute.String("taxservice.error_code", e.Code), attribute.String("taxservice.error_field", e.Field),
			attribute.Bool("taxservice.retryable", e.Retryable))
		span.SetStatus(codes.Error, e.Code)
		level := slog.LevelInfo
		if e.Code == CodeInternal || e.Code == CodeAvaTaxUnavailable {
			level = slog.LevelWarn
		}
		s.log.Log(ctx, level, "tax request not answered", "code", e.Code, "field", e.Field, "message", e.Message)
		return nil, e
	}
	span.SetAttributes(attribute.String("taxservice.document_type", resp.DocumentType),
		attribute.String("taxservice.total_tax", resp.TotalTax.String()), attribute.Bool("taxservice.estimated", resp.Estimated))
	return resp, nil
}

func (s *Service) handle(ctx context.Context, raw []byte, span trace.Span, order *string) (*Response, error) {
	r, err := DecodeRequest(raw)
	if err != nil {
		return nil, err
	}
	*order = OrderID(r)
	span.SetAttributes(attribute.String("taxservice.request_type", r.RequestType), attribute.String("taxservice.stage", r.Stage),
		attribute.String("taxservice.order", OrderID(r)))
	return s.Answer(ctx, r)
}

// Answer answers a decoded request: it maps it, sends it to AvaTax with
// createoradjust (so that a repeated billing or credit adjusts its
// document instead of adding one), and maps the document back. When
// AvaTax cannot be reached, a QUOTE of a company that allows it is
// estimated from its standard rates; any other request fails retryable.
func (s *Service) Answer(ctx context.Context, r *Request) (*Response, error) {
	p, err := Map(s.cfg, r)
	if err != nil {
		return nil, err
	}
	// The audit trail files the AvaTax exchanges under the order.
	ctx = audit.WithOrder(ctx, OrderID(r), "")
	doc, err := s.ava.CreateOrAdjust(ctx, avatax.CreateOrAdjustTransactionModel{CreateTransactionModel: p.Model})
	if err != nil {
		if transient(ctx, err) && p.SentAs == Quote && p.Company.FallbackToStandardRates {
			if resp, ok := estimate(r, p); ok {
				s.log.WarnContext(ctx, "AvaTax unreachable: quote estimated from standard rates", "order", OrderID(r), "error", err)
				return resp, nil
			}
		}
		return nil, avataxError(ctx, err, p)
	}
	resp, err := fromDocument(r, p, doc)
	if err != nil {
		return nil, &Error{Code: CodeInternal, Message: err.Error(), Err: err}
	}
	return resp, nil
}

// transient tells whether err means AvaTax could not be reached (after the
// client's own retries) rather than that it refused the request.
func transient(ctx context.Context, err error) bool {
	if avatax.KindOf(err) == avatax.KindTransient {
		return true
	}
	return ctx.Err() == nil && (errors.Is(err, context.DeadlineExceeded))
}

// avataxError classifies a failed AvaTax call for the caller.
func avataxError(ctx context.Context, err error, p *Plan) *Error {
	switch {
	case transient(ctx, err), ctx.Err() != nil:
		return &Error{Code: CodeAvaTaxUnavailable, Message: "AvaTax could not be reached; send the request again", Retryable: true, Err: err}
	case avatax.KindOf(err) == avatax.KindData, avatax.KindOf(err) == avatax.KindConflict:
		return &Error{Code: CodeAvaTaxRefused, Field: refusedField(err, p), Message: "AvaTax refused the request: " + err.Error(), Err: err}
	}
	// Credentials, account or company settings: a person must fix them.
	return &Error{Code: CodeInternal, Message: "AvaTax call failed: " + err.Error(), Err: err}
}

// avataxLine finds "lines[3]" in what an AvaTax error refers to.
var avataxLine = regexp.MustCompile(`(?i)\blines\[(\d+)\]`)

// refusedField names the part of the request an AvaTax data error is
// about, from the field it refers to or its description: a line of the
// plan, or an address. "" when it cannot tell.
func refusedField(err error, p *Plan) string {
	var ae *avatax.Error
	if !errors.As(err, &ae) {
		return ""
	}
	texts := []string{ae.Target}
	for _, d := range ae.Details {
		texts = append(texts, d.RefersTo, d.Description, d.Message)
	}
	for _, t := range texts {
		if m := avataxLine.FindStringSubmatch(t); m != nil {
			if i, err := strconv.Atoi(m[1]); err == nil && i < len(p.Lines) {
				return p.Lines[i].Field
			}
		}
		lower := strings.ToLower(t)
		switch {
		case strings.Contains(lower, "shipto"), strings.Contains(lower, "ship_to"):
			return "/ship_to"
		case strings.Contains(lower, "shipfrom"), strings.Contains(lower, "ship_from"):
			return "/ship_from"
		}
	}
	return ""
}
