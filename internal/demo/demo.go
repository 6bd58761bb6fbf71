// Package demo replays the OneStock flows through a running taxbridge and
// reports, per order, the state transitions and the AvaTax documents; then
// it sends Order Administration's tax requests to the tax service and
// reports its answers; then it changes orders in a Plex sandbox and
// reports how they were polled, taxed and written back.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/taxbridge/taxbridge/internal/app"
	"github.com/taxbridge/taxbridge/internal/avatax"
	"github.com/taxbridge/taxbridge/internal/bus"
	"github.com/taxbridge/taxbridge/internal/config"
	"github.com/taxbridge/taxbridge/internal/scenario"
	"github.com/taxbridge/taxbridge/internal/store"
)

// Configure makes cfg a demo configuration, whatever the environment says:
// an embedded, in-process NATS server storing in dir, the built-in AvaTax
// sandbox and no HTTP listener. With hold, the server also listens on
// TAXBRIDGE_NATS_LISTEN, so that taxctl can read the demo's audit trail.
func Configure(cfg *config.Config, dir string, hold bool) {
	listen := cfg.NATSListen
	cfg.NATSURL, cfg.NATSListen, cfg.DataDir, cfg.HTTPListen = "", "", dir, ""
	if hold {
		cfg.NATSListen = listen
	}
	cfg.AvaTax, cfg.AvaTaxURL, cfg.AvaTaxAccountID, cfg.AvaTaxLicenseKey = config.AvaTaxSandbox, "", "", ""
}

// Play runs the worker, replays the flows, sends the Order Administration
// requests and, with a Plex sandbox, plays the Plex story (PlexSteps), and
// reports them to out; with hold it then keeps the app up until ctx ends.
func Play(ctx context.Context, a *app.App, flows []scenario.Flow, plexSB *PlexSandbox, out io.Writer, hold bool) error {
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()
	fmt.Fprintf(out, "taxbridge demo: %d OneStock flows through an embedded NATS server and the built-in AvaTax sandbox\n", len(flows))
	_, err := Run(ctx, a, flows, out, 30*time.Second)
	// The tax service is told apart from the worker: its requests run even
	// when a flow failed, and either failure fails the demo.
	_, oaErr := OrderAdministration(ctx, a.NC, OASteps(time.Now().UTC().Format(time.DateOnly)), out, 30*time.Second)
	err = errors.Join(err, oaErr)
	if plexSB != nil {
		err = errors.Join(err, Plex(ctx, a, plexSB.Sandbox, PlexSteps(), out, 30*time.Second))
	}
	if hold && err == nil {
		fmt.Fprintf(out, "\nthe demo's NATS server listens on %s until you press Ctrl-C; in another terminal try\n"+
			"  TAXBRIDGE_NATS_URL=%s go run ./cmd/taxctl audit WEB-3\n", a.NATSURL(), a.NATSURL())
		<-ctx.Done()
	}
	cancel()
	if runErr := <-done; runErr != nil {
		return runErr
	}
	return err
}

// Outcome is what one flow ended with.
type Outcome struct {
	Flow      scenario.Flow
	Record    *store.Record
	Documents []*avatax.TransactionModel
	OK        bool
	Problem   string
}

// Run publishes each flow's events one at a time, as the OMS would, waiting
// until taxbridge has applied each; then it prints the order's transitions
// and AvaTax documents to out. It returns an error when an order did not end
// in its expected state.
func Run(ctx context.Context, a *app.App, flows []scenario.Flow, out io.Writer, timeout time.Duration) ([]Outcome, error) {
	var outcomes []Outcome
	failed := 0
	for _, f := range flows {
		for _, env := range f.Events {
			if _, err := bus.Publish(ctx, a.JS, bus.EventSubject(env.Type, env.Subject), env, nil); err != nil {
				return nil, err
			}
			if err := Applied(ctx, a, f.OrderID, env.ID, timeout); err != nil {
				return nil, err
			}
		}
		o := wait(ctx, a, f, timeout)
		if !o.OK {
			failed++
		}
		outcomes = append(outcomes, o)
		report(out, o)
	}
	if failed > 0 {
		return outcomes, fmt.Errorf("%d of %d flows did not end as expected", failed, len(flows))
	}
	fmt.Fprintf(out, "all %d flows ended in their expected state\n", len(flows))
	return outcomes, nil
}

// Applied waits until the order's record shows the event as applied.
func Applied(ctx context.Context, a *app.App, orderID, eventID string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		rec, _, err := a.Store.Get(ctx, orderID)
		if err == nil && rec.HasSeen(eventID) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("event %s of order %s not applied within %s", eventID, orderID, timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// wait polls the order's record until it reaches the flow's final state
// with nothing in progress, then fetches its documents from AvaTax.
func wait(ctx context.Context, a *app.App, f scenario.Flow, timeout time.Duration) Outcome {
	o := Outcome{Flow: f}
	deadline := time.Now().Add(timeout)
	for {
		rec, _, err := a.Store.Get(ctx, f.OrderID)
		if err == nil {
			o.Record = rec
			if rec.State == f.Final && rec.Intent == nil && rec.HasSeen(f.Events[len(f.Events)-1].ID) {
				break
			}
		}
		if time.Now().After(deadline) {
			o.Problem = fmt.Sprintf("after %s the order is %s, want %s", timeout, stateOf(o.Record), f.Final)
			return o
		}
		time.Sleep(20 * time.Millisecond)
	}
	company := a.TaxConfig.Provider.CompanyCode
	for _, d := range docsOf(o.Record) {
		t, err := a.AvaTax.Get(ctx, company, d.Code, d.Type)
		if err != nil {
			o.Problem = fmt.Sprintf("document %s: %v", d.Code, err)
			return o
		}
		o.Documents = append(o.Documents, t)
	}
	o.OK = true
	return o
}

func stateOf(r *store.Record) string {
	if r == nil {
		return "unknown"
	}
	return string(r.State)
}

func docsOf(r *store.Record) []*store.Document {
	var out []*store.Document
	if r.Sale != nil {
		out = append(out, r.Sale)
	}
	for i := range r.Returns {
		if d := r.Returns[i].Document; d != nil {
			out = append(out, d)
		}
	}
	return out
}

func report(w io.Writer, o Outcome) {
	mark := "ok"
	if !o.OK {
		mark = "FAILED: " + o.Problem
	}
	fmt.Fprintf(w, "\n== %s  order %s  (%s)  [%s]\n", o.Flow.Name, o.Flow.OrderID, o.Flow.Description, mark)
	if o.Record == nil {
		return
	}
	fmt.Fprintln(w, "   transitions:")
	for _, t := range o.Record.History {
		line := fmt.Sprintf("     %-20s %-16s → %-16s", t.Action, t.From, t.To)
		if t.Effect != "" {
			line += " AvaTax " + string(t.Effect)
		}
		if t.Note != "" {
			line += " (" + t.Note + ")"
		}
		fmt.Fprintln(w, line)
	}
	fmt.Fprintf(w, "   final state: %s\n", o.Record.State)
	for _, d := range o.Documents {
		fmt.Fprintf(w, "   document %s %s %s: amount %s, tax %s\n", d.Type, d.Code, d.Status,
			d.TotalAmount.StringFixed(2), d.TotalTax.StringFixed(2))
		for _, l := range d.Lines {
			fmt.Fprintf(w, "     line %-10s %-16s qty %s amount %9s tax %7s\n", l.LineNumber, l.ItemCode,
				l.Quantity.String(), l.LineAmount.StringFixed(2), l.Tax.StringFixed(2))
		}
	}
}
