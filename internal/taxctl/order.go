package taxctl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/internal/bus"
	"github.com/taxbridge/taxbridge/internal/store"
)

// ErrUnknownOrder means the orders bucket holds no record of the order:
// taxbridge has applied no event of it (or the id is mistyped).
var ErrUnknownOrder = errors.New("no record of this order")

func (c *cli) order(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usagef("order wants a subcommand: show")
	}
	switch args[0] {
	case "show":
		return c.orderShow(ctx, args[1:])
	case "-h", "-help", "--help", "help":
		return flag.ErrHelp
	}
	return usagef("unknown order subcommand %q (want show)", args[0])
}

func (c *cli) orderShow(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("order show", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print the record as stored, as indented JSON")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 || rest[0] == "" {
		return usagef("order show wants one order id, got %d arguments", len(rest))
	}
	orderID := rest[0]
	ctx, js, done, err := c.connectJS(ctx, commandLimit)
	if err != nil {
		return err
	}
	defer done()
	raw, rev, err := readRecord(ctx, js, orderID)
	if err != nil {
		return err
	}
	if *asJSON {
		var buf bytes.Buffer
		if err := json.Indent(&buf, raw, "", "  "); err != nil {
			return fmt.Errorf("record of order %s (revision %d) is not JSON: %w", orderID, rev, err)
		}
		buf.WriteByte('\n')
		_, err := c.stdout.Write(buf.Bytes())
		return err
	}
	var rec store.Record
	if err := json.Unmarshal(raw, &rec); err != nil {
		return fmt.Errorf("decode record of order %s (revision %d): %w", orderID, rev, err)
	}
	if err := printRecord(c.stdout, &rec, rev, c.now()); err != nil {
		return err
	}
	return printLastTaxError(ctx, c.stdout, js, &rec)
}

// printLastTaxError writes the order's latest tax error, which says what
// to correct (the field and why), unless an event applied since has
// gone through.
func printLastTaxError(ctx context.Context, w io.Writer, js jetstream.JetStream, r *store.Record) error {
	d, at, err := bus.LastTaxError(ctx, js, r.OrderID)
	if err != nil || d == nil {
		return err
	}
	if n := len(r.History); n > 0 {
		if last := r.History[n-1]; !strings.HasPrefix(last.Note, "refused") && last.At.After(at) {
			return nil
		}
	}
	fmt.Fprintf(w, "\nlast tax error (%s, event %s):\n  %s", stamp(at), d.CauseEventID, d.Code)
	if d.Field != "" {
		fmt.Fprintf(w, " on %s", d.Field)
	}
	fmt.Fprintf(w, ": %s\n", d.Message)
	return nil
}

// readRecord returns the stored record of an order and its revision.
func readRecord(ctx context.Context, js jetstream.JetStream, orderID string) ([]byte, uint64, error) {
	kv, err := js.KeyValue(ctx, bus.OrdersBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, 0, fmt.Errorf("no bucket %s on this server: is it taxbridge's NATS server? %w", bus.OrdersBucket, err)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("open bucket %s: %w", bus.OrdersBucket, err)
	}
	key := bus.Token(orderID)
	e, err := kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, fmt.Errorf("order %q: %w in bucket %s (key %s): taxbridge has applied no event of it; check the id",
			orderID, ErrUnknownOrder, bus.OrdersBucket, key)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read record of order %q (key %s): %w", orderID, key, err)
	}
	return e.Value(), e.Revision(), nil
}

// printRecord writes a record for a person: what the order's tax is now,
// what is waiting, and how it got there.
func printRecord(w io.Writer, r *store.Record, rev uint64, now time.Time) error {
	fmt.Fprintf(w, "order %s: %s\n", r.OrderID, r.State)
	fmt.Fprintf(w, "  order version  %d (last refresh or void applied: version %d)\n", r.OrderVersion, r.ActionVersion)
	if !r.UpdatedAt.IsZero() {
		fmt.Fprintf(w, "  updated        %s (%s ago)\n", stamp(r.UpdatedAt), age(now.Sub(r.UpdatedAt)))
	}
	fmt.Fprintf(w, "  record         %s key %s, revision %d\n", bus.OrdersBucket, bus.Token(r.OrderID), rev)
	if n := len(r.Seen); n > 0 {
		fmt.Fprintf(w, "  events applied %d remembered, newest %s\n", n, r.Seen[n-1])
	}

	fmt.Fprintln(w)
	hasDocs := r.Sale != nil
	for _, ret := range r.Returns {
		hasDocs = hasDocs || ret.Document != nil
	}
	if !hasDocs {
		fmt.Fprintln(w, "documents: none")
	} else {
		fmt.Fprintln(w, "documents:")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  KIND\tTYPE\tCODE\tSTATUS\tAMOUNT\tTAXABLE\tTAX\tRETURN")
		if d := r.Sale; d != nil {
			fmt.Fprintf(tw, "  sale\t%s\t%s\t%s\t%s\t%s\t%s\t-\n", d.Type, d.Code, d.Status, money(d.TotalAmount), money(d.TotalTaxable), money(d.TotalTax))
		}
		for _, ret := range r.Returns {
			if d := ret.Document; d != nil {
				fmt.Fprintf(tw, "  refund\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.Type, d.Code, d.Status, money(d.TotalAmount), money(d.TotalTaxable), money(d.TotalTax), returnOf(ret))
			}
		}
		tw.Flush()
	}

	var waiting []store.Return
	for _, ret := range r.Returns {
		if !ret.Done() {
			waiting = append(waiting, ret)
		}
	}
	if len(waiting) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "returns not refunded:")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, ret := range waiting {
			status := "pending: to be refunded (a refund waits for the sale's commit)"
			if ret.Refused != "" {
				status = "refused: " + ret.Refused
			}
			fmt.Fprintf(tw, "  %s\t%s\tevent %s\t%s\t%s\n", returnOf(ret), dash(ret.Code), dash(ret.EventID), stampOrDash(ret.At), status)
		}
		tw.Flush()
	}

	fmt.Fprintln(w)
	if in := r.Intent; in == nil {
		fmt.Fprintln(w, "AvaTax call in flight: none")
	} else {
		fmt.Fprintf(w, "AvaTax call in flight: %s %s %s for event %s, started %s (%s ago), %s\n",
			in.Effect, dash(in.Type), in.Code, in.EventID, stamp(in.At), age(now.Sub(in.At)), intentStatus(in))
	}

	fmt.Fprintln(w)
	if len(r.History) == 0 {
		fmt.Fprintln(w, "history: none")
		return nil
	}
	fmt.Fprintf(w, "history (%d, oldest first; the record keeps the last %d):\n", len(r.History), store.MaxHistory)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  TIME\tEVENT\tACTION\tFROM → TO\tEFFECT\tNOTE")
	for _, t := range r.History {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s → %s\t%s\t%s\n", stamp(t.At), t.EventID, t.Action, t.From, t.To, dash(string(t.Effect)), dash(t.Note))
	}
	return tw.Flush()
}

func intentStatus(in *store.Intent) string {
	if in.Released {
		return "released: its call failed, the next delivery or the sweep finishes it"
	}
	return "held: the delivery that made it may still be running; finished once its lease has passed"
}

// returnOf names a return with what it takes back.
func returnOf(r store.Return) string {
	s := r.ID + " (" + strings.Join(r.LineItemGroupIDs, ", ")
	if r.RefundShipping {
		s += ", shipping"
	}
	return s + ")"
}

func money(d decimal.Decimal) string { return d.StringFixed(2) }

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func stampOrDash(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return stamp(t)
}

// age is a duration as a person reads an age: whole seconds, and days
// past 48 hours.
func age(d time.Duration) string {
	switch {
	case d < 0:
		return "0s" // clocks of two machines
	case d >= 48*time.Hour:
		return fmt.Sprintf("%dd%dh", d/(24*time.Hour), d%(24*time.Hour)/time.Hour)
	}
	return d.Truncate(time.Second).String()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
