package taxservice

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
)

// The NATS micro service.
const (
	// ServiceName is the micro service's name, as $SRV.PING, $SRV.INFO and
	// $SRV.STATS report it.
	ServiceName = "taxbridge-tax-requests"
	// ServiceVersion is its version (semver).
	ServiceVersion = "1.0.0"
	// Subject takes a CWTaxRequest and answers a CWTaxResponse; the
	// request type is in the body.
	Subject = "tax.requests"
	// QueueGroup makes replicas share the requests.
	QueueGroup = "taxbridge-tax-requests"
	// HTTPPath is where Handler is mounted.
	HTTPPath = "/v1/tax-requests"
	// FieldHeader names the offending field of a micro error answer.
	FieldHeader = "Taxbridge-Error-Field"
)

// maxBody bounds a request: 999 detail lines fit with room to spare.
const maxBody = 4 << 20

// ErrorBody is the JSON body of an error answer, over NATS and HTTP.
type ErrorBody struct {
	Code      string `json:"code"`
	Field     string `json:"field,omitempty"`
	Message   string `json:"message"`
	Retryable bool   `json:"retryable"`
}

// Status is the HTTP status of an error, also the micro error code.
func (e *Error) Status() int {
	switch e.Code {
	case CodeInvalidRequest:
		return http.StatusBadRequest
	case CodeExemptionExpired, CodeCompanyRefused, CodeAvaTaxRefused:
		return http.StatusUnprocessableEntity
	case CodeAvaTaxUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func (e *Error) body() ErrorBody {
	return ErrorBody{Code: e.Code, Field: e.Field, Message: e.Message, Retryable: e.Retryable}
}

// serveSettings are what the ServeOption values of Serve set.
type serveSettings struct {
	concurrency int
}

// ServeOption shapes the micro service started by Serve.
type ServeOption func(*serveSettings)

// WithConcurrency bounds the requests answered at once by this replica
// (default 32; n <= 0 keeps the default); more wait in the subscription,
// and other replicas of the queue group take them meanwhile.
func WithConcurrency(n int) ServeOption { return func(s *serveSettings) { s.concurrency = n } }

// Serve starts the micro service on nc: the endpoint Subject in the queue
// group QueueGroup, discoverable through $SRV.PING, $SRV.INFO and
// $SRV.STATS. Requests are answered until ctx ends or the returned
// service is stopped. options shape the service.
func (s *Service) Serve(ctx context.Context, nc *nats.Conn, options ...ServeOption) (micro.Service, error) {
	var opt serveSettings
	for _, o := range options {
		o(&opt)
	}
	if opt.concurrency <= 0 {
		opt.concurrency = 32
	}
	svc, err := micro.AddService(nc, micro.Config{
		Name: ServiceName, Version: ServiceVersion, QueueGroup: QueueGroup,
		Description: "Order Administration tax requests (CWTaxRequest → CWTaxResponse) answered with AvaTax",
	})
	if err != nil {
		return nil, err
	}
	slots := make(chan struct{}, opt.concurrency)
	handler := func(ctx context.Context, req micro.Request) {
		// The subscription delivers one message at a time: answer in a
		// goroutine so that one slow AvaTax call does not hold the others.
		slots <- struct{}{}
		go func() {
			defer func() { <-slots }()
			s.respond(ctx, req)
		}()
	}
	err = svc.AddEndpoint("tax-requests", micro.ContextHandler(ctx, handler), micro.WithEndpointSubject(Subject),
		micro.WithEndpointMetadata(map[string]string{"request_schema": RequestSchema, "response_schema": ResponseSchema}))
	if err != nil {
		_ = svc.Stop()
		return nil, err
	}
	go func() {
		<-ctx.Done()
		_ = svc.Stop()
	}()
	return svc, nil
}

func (s *Service) respond(ctx context.Context, req micro.Request) {
	resp, err := s.handleVia(ctx, "NATS", "nats:"+req.Subject(), req.Data())
	if err == nil {
		_ = req.RespondJSON(resp)
		return
	}
	e := AsError(err)
	body, _ := json.Marshal(e.body())
	// A header holds one line.
	desc := strings.ReplaceAll(e.Message, "\n", " ")
	_ = req.Error(strconv.Itoa(e.Status()), desc, body, micro.WithHeaders(micro.Headers{FieldHeader: {e.Field}}))
}

// Handler answers POST HTTPPath: a CWTaxRequest in, a CWTaxResponse out;
// 400 naming the field for a bad request, 422 for a refused one, 503
// (with Retry-After) when AvaTax cannot be reached and the request may be
// sent again.
func (s *Service) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeJSON(w, http.StatusMethodNotAllowed, ErrorBody{Code: CodeInvalidRequest, Message: "use POST"})
			return
		}
		raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				writeJSON(w, http.StatusRequestEntityTooLarge, ErrorBody{Code: CodeInvalidRequest, Field: "/", Message: "request larger than 4 MiB"})
				return
			}
			writeJSON(w, http.StatusBadRequest, ErrorBody{Code: CodeInvalidRequest, Field: "/", Message: "cannot read the request"})
			return
		}
		resp, err := s.handleVia(r.Context(), r.Method, r.URL.Path, raw)
		if err != nil {
			e := AsError(err)
			if e.Retryable {
				w.Header().Set("Retry-After", "5")
			}
			writeJSON(w, e.Status(), e.body())
			return
		}
		writeJSON(w, http.StatusOK, resp)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
