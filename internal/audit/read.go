package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/taxbridge/taxbridge/internal/bus"
)

// Entry is a record as stored, with its place in the stream.
type Entry struct {
	Sequence uint64 `json:"sequence"`
	Record
}

// Read returns the exchanges recorded for an order, oldest first. An
// orderID of "" reads the exchanges made outside any order.
func Read(ctx context.Context, js jetstream.JetStream, orderID string) ([]Entry, error) {
	cons, err := js.OrderedConsumer(ctx, bus.AuditStream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{Subject(orderID)}, DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, fmt.Errorf("no audit stream %s on this server: is it taxbridge's NATS server?", bus.AuditStream)
	}
	if err != nil {
		return nil, fmt.Errorf("read audit trail of order %s: %w", orderID, err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("read audit trail of order %s: %w", orderID, err)
	}
	var out []Entry
	for pending := int(info.NumPending); len(out) < pending; {
		batch, err := cons.Fetch(pending-len(out), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return nil, fmt.Errorf("read audit trail of order %s: %w", orderID, err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			var e Entry
			if err := json.Unmarshal(m.Data(), &e.Record); err != nil {
				return nil, fmt.Errorf("audit record on %s: %w", m.Subject(), err)
			}
			if md, err := m.Metadata(); err == nil {
				e.Sequence = md.Sequence.Stream
			}
			out = append(out, e)
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return nil, fmt.Errorf("read audit trail of order %s: %w", orderID, err)
		}
		if n == 0 {
			break
		}
	}
	return out, nil
}

// PrintOptions tune Print.
type PrintOptions struct {
	// Bodies prints the request and response bodies and headers.
	Bodies bool
}

// Print writes the entries as a table, one exchange a line, and with
// Bodies set the request and response of each below it.
func Print(w io.Writer, order string, entries []Entry, o PrintOptions) error {
	if len(entries) == 0 {
		_, err := fmt.Fprintf(w, "no AvaTax exchanges recorded for order %s\n", order)
		return err
	}
	fmt.Fprintf(w, "AvaTax exchanges of order %s (%d):\n", order, len(entries))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tTIME\tOPERATION\tREQUEST\tSTATUS\tMS\tDOCUMENT\tEVENT\tTRACE")
	for i, e := range entries {
		status := "—"
		if e.Response != nil {
			status = strconv.Itoa(e.Response.Status)
		}
		if e.AvaTaxErrorCode != "" {
			status += " " + e.AvaTaxErrorCode
		}
		if e.Error != "" && e.Response == nil {
			status = "error"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s %s\t%s\t%.1f\t%s\t%s\t%s\n", i+1, e.Time.Format("2006-01-02T15:04:05.000Z07:00"),
			e.Operation, e.Request.Method, pathOf(e.Request.URL), status, e.RoundTripMS, dash(e.DocumentCode), dash(e.EventID), dash(e.TraceID))
		if o.Bodies {
			tw.Flush()
			printDetail(w, e)
		}
	}
	return tw.Flush()
}

func printDetail(w io.Writer, e Entry) {
	if e.Error != "" {
		fmt.Fprintf(w, "    error: %s\n", e.Error)
	}
	fmt.Fprintf(w, "    > %s %s\n", e.Request.Method, e.Request.URL)
	printHeaders(w, "    > ", e.Request.Headers)
	printBody(w, "    > ", e.Request.Body, e.Request.Truncated)
	if r := e.Response; r != nil {
		fmt.Fprintf(w, "    < %d\n", r.Status)
		printHeaders(w, "    < ", r.Headers)
		printBody(w, "    < ", r.Body, r.Truncated)
	}
	fmt.Fprintln(w)
}

func printHeaders(w io.Writer, prefix string, h map[string][]string) {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range h[k] {
			fmt.Fprintf(w, "%s%s: %s\n", prefix, k, v)
		}
	}
}

func printBody(w io.Writer, prefix string, b json.RawMessage, truncated bool) {
	if len(b) == 0 {
		return
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, prefix, "  "); err != nil {
		buf.Reset()
		buf.Write(b)
	}
	fmt.Fprintf(w, "%s%s\n", prefix, buf.String())
	if truncated {
		fmt.Fprintf(w, "%s(body truncated)\n", prefix)
	}
}

func pathOf(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.RequestURI()
	}
	return raw
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
