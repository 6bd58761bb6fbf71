//go:build unix

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/internal/avataxsim"
	"github.com/taxbridge/taxbridge/internal/bus"
)

// What the judge reads, each from where an outsider would: AvaTax over
// HTTP, the TAX and TAXBRIDGE_DLQ streams, and the tax_orders records.

// avaDoc is a document version as the sandbox lists it.
type avaDoc struct {
	ID          int64           `json:"id"`
	Code        string          `json:"code"`
	Type        string          `json:"type"`
	Status      string          `json:"status"`
	Version     int             `json:"version"`
	TotalAmount decimal.Decimal `json:"totalAmount"`
}

// answer is a tax_result or tax_error from the TAX stream.
type answer struct {
	Seq  uint64 `json:"seq"`
	ID   string `json:"id"`
	Type string `json:"type"`
	Data struct {
		OrderID      string      `json:"order_id"`
		OrderVersion int64       `json:"order_version"`
		Action       string      `json:"action"`
		State        string      `json:"state"`
		CauseEventID string      `json:"cause_event_id"`
		Code         string      `json:"code,omitempty"`
		Note         string      `json:"note,omitempty"`
		Document     *resultDoc  `json:"document,omitempty"`
		Documents    []resultDoc `json:"documents"`
	} `json:"data"`
}

// resultDoc is a document as a tax_result summarises it.
type resultDoc struct {
	Code        string          `json:"code"`
	Type        string          `json:"type"`
	Status      string          `json:"status"`
	TotalAmount decimal.Decimal `json:"total_amount"`
}

// deadLetter is a message of the TAXBRIDGE_DLQ stream.
type deadLetter struct {
	Subject string `json:"subject"`
	EventID string `json:"event_id"`
	Order   string `json:"order"`
	Reason  string `json:"reason"`
}

// record is the part of a tax_orders record the judge looks at.
type record struct {
	OrderID      string `json:"order_id"`
	State        string `json:"state"`
	OrderVersion int64  `json:"order_version"`
	Sale         *struct {
		Code   string `json:"code"`
		Type   string `json:"type"`
		Status string `json:"status"`
	} `json:"sale,omitempty"`
	Returns []struct {
		ID       string `json:"id"`
		Code     string `json:"code"`
		Refused  string `json:"refused,omitempty"`
		Document *struct {
			Code   string `json:"code"`
			Status string `json:"status"`
		} `json:"document,omitempty"`
	} `json:"returns,omitempty"`
	Intent *struct {
		EventID string `json:"event_id"`
		Effect  string `json:"effect"`
		Code    string `json:"code"`
		At      string `json:"at"`
	} `json:"intent,omitempty"`
}

// listDocuments pages through ListTransactionsByCompany with $top/$skip
// and @nextLink. The sandbox still injects its faults here, so a page is
// retried like any AvaTax client would.
func listDocuments(ctx context.Context, base, company string, timeout time.Duration) ([]avaDoc, error) {
	client := &http.Client{Timeout: timeout}
	next := "/api/v2/companies/" + url.PathEscape(company) + "/transactions?%24top=1000&%24skip=0"
	var out []avaDoc
	for pages := 0; next != ""; pages++ {
		if pages > 1000 {
			return nil, errors.New("list documents: more than 1000 pages")
		}
		var page struct {
			Value    []avaDoc `json:"value"`
			NextLink string   `json:"@nextLink"`
		}
		if err := getJSON(ctx, client, base+next, &page); err != nil {
			return nil, fmt.Errorf("list documents: %w", err)
		}
		out = append(out, page.Value...)
		next = page.NextLink
	}
	return out, nil
}

// getJSON GETs a sandbox URL with the default credentials, retrying the
// sandbox's injected 429s, 5xx and hangs a bounded number of times.
func getJSON(ctx context.Context, client *http.Client, u string, into any) error {
	var last error
	for attempt := 0; attempt < 40; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(250 * time.Millisecond):
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return err
		}
		req.SetBasicAuth(avataxsim.DefaultAccountID, avataxsim.DefaultLicenseKey)
		resp, err := client.Do(req)
		if err != nil {
			last = err
			continue
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			last = err
			continue
		}
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
			last = fmt.Errorf("GET %s: %s", u, resp.Status)
			continue
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s: %s", u, resp.Status, body)
		}
		if err := json.Unmarshal(body, into); err != nil {
			return fmt.Errorf("GET %s: %w", u, err)
		}
		return nil
	}
	return fmt.Errorf("GET %s: gave up after 40 attempts: %w", u, last)
}

// readStream returns every message of a stream, in stream order.
func readStream(ctx context.Context, js jetstream.JetStream, name string) ([]jetstream.Msg, error) {
	s, err := js.Stream(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", name, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", name, err)
	}
	if info.State.Msgs == 0 {
		return nil, nil
	}
	last := info.State.LastSeq
	oc, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", name, err)
	}
	var out []jetstream.Msg
	deadline := time.Now().Add(2 * time.Minute)
	for {
		batch, err := oc.Fetch(1000, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return nil, fmt.Errorf("read stream %s: %w", name, err)
		}
		for m := range batch.Messages() {
			md, err := m.Metadata()
			if err != nil {
				return nil, fmt.Errorf("read stream %s: %w", name, err)
			}
			out = append(out, m)
			if md.Sequence.Stream >= last {
				return out, nil
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("read stream %s: %d messages up to sequence %d within 2 minutes", name, len(out), last)
		}
	}
}

// readAnswers decodes the TAX stream.
func readAnswers(ctx context.Context, js jetstream.JetStream) ([]answer, error) {
	msgs, err := readStream(ctx, js, bus.ResultsStream)
	if err != nil {
		return nil, err
	}
	out := make([]answer, 0, len(msgs))
	for _, m := range msgs {
		var a answer
		if err := json.Unmarshal(m.Data(), &a); err != nil {
			return nil, fmt.Errorf("%s: %w", m.Subject(), err)
		}
		md, _ := m.Metadata()
		a.Seq = md.Sequence.Stream
		out = append(out, a)
	}
	return out, nil
}

// readDeadLetters decodes the TAXBRIDGE_DLQ stream.
func readDeadLetters(ctx context.Context, js jetstream.JetStream) ([]deadLetter, error) {
	msgs, err := readStream(ctx, js, bus.DLQStream)
	if err != nil {
		return nil, err
	}
	out := make([]deadLetter, 0, len(msgs))
	for _, m := range msgs {
		var env struct {
			ID      string `json:"id"`
			Subject string `json:"subject"`
		}
		_ = json.Unmarshal(m.Data(), &env) // a dead letter need not be JSON
		out = append(out, deadLetter{Subject: m.Subject(), EventID: env.ID, Order: env.Subject,
			Reason: m.Headers().Get(bus.HeaderValidationError)})
	}
	return out, nil
}

// readRecords reads the records of the given orders; a missing record is
// left out.
func readRecords(ctx context.Context, kv jetstream.KeyValue, orderIDs []string) (map[string]*record, error) {
	out := make(map[string]*record, len(orderIDs))
	for _, id := range orderIDs {
		e, err := kv.Get(ctx, bus.Token(id))
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("record %s: %w", id, err)
		}
		var r record
		if err := json.Unmarshal(e.Value(), &r); err != nil {
			return nil, fmt.Errorf("record %s: %w", id, err)
		}
		out[id] = &r
	}
	return out, nil
}
