package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/taxbridge/taxbridge/internal/bus"
	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/lifecycle"
	"github.com/taxbridge/taxbridge/internal/scenario"
	"github.com/taxbridge/taxbridge/internal/store"
)

var jsonUnmarshal = json.Unmarshal

// placeholder is the order id the templates are built with; instances
// replace it with a unique id in the encoded events.
const placeholder = "ZZBENCHORDERZZ"

// msg is one encoded event ready to publish.
type msg struct {
	subject string
	id      string
	data    []byte
	action  bool
}

// template is a flow built once, encoded, and stamped out per order.
type template struct {
	name    string
	orderID string // with the placeholder
	final   lifecycle.State
	calls   int // least AvaTax calls (scenario.Flow.Calls)
	msgs    []msg
}

// lifecycleT is one order's life: its id, its flow and its events.
type lifecycleT struct {
	orderID string
	unique  string // what replaced the placeholder in ids and payloads
	tpl     *template
	msgs    []msg
}

// padded adds, after every order or parcel state change, the state change
// of each line item group it moves (as an OMS raises them), so that the
// OneStock flows become lifecycles of about eight events: 4 for a straight
// fulfil, 8 for home delivery and cancelled, 10 for returned.
func padded(f scenario.Flow) ([]events.Envelope, error) {
	var out []events.Envelope
	for _, e := range f.Events {
		out = append(out, e)
		if e.Type != events.OrderStateChanged && e.Type != events.ParcelStateChanged {
			continue
		}
		var d events.OrderEvent
		if err := json.Unmarshal(e.Data, &d); err != nil {
			return nil, err
		}
		for _, g := range d.Order.LineItemGroups {
			gd := d
			gd.Workflow, gd.EntityID, gd.PreviousState, gd.State = "", g.ID, "", g.State
			env, err := events.New(e.ID+"-"+g.ID, e.Source, events.LineItemGroupStateChanged, e.Subject, e.Time, gd)
			if err != nil {
				return nil, err
			}
			out = append(out, env)
		}
	}
	return out, nil
}

func newTemplate(f scenario.Flow, evs []events.Envelope) (*template, error) {
	t := &template{name: f.Name, orderID: f.OrderID, final: f.Final, calls: f.Calls}
	for _, e := range evs {
		raw, err := json.Marshal(e)
		if err != nil {
			return nil, err
		}
		t.msgs = append(t.msgs, msg{subject: string(e.Type), id: e.ID, data: raw, action: e.Type.IsAction()})
	}
	return t, nil
}

// templates are the OneStock flows, padded, by name, and the mix.
type templates struct {
	byName map[string]*template
	names  []string    // in scenario.OneStock order
	mix    []*template // the realistic mix, cycled by order index
	open   *template   // an order paid and estimated: left uncommitted
}

// mixNames is the realistic mix: of six orders, two are delivered, one
// returned, one cancelled, one partly cancelled and one an Order In Store
// sale: 8 events and 2.2 AvaTax calls per order on average.
var mixNames = []string{"home-delivery", "returned", "cancelled", "home-delivery", "partial-cancel", "straight-fulfil"}

func newTemplates() (*templates, error) {
	ts := &templates{byName: map[string]*template{}}
	for _, f := range scenario.OneStock(placeholder + "-") {
		evs, err := padded(f)
		if err != nil {
			return nil, err
		}
		t, err := newTemplate(f, evs)
		if err != nil {
			return nil, err
		}
		ts.byName[f.Name] = t
		ts.names = append(ts.names, f.Name)
	}
	for _, n := range mixNames {
		t, ok := ts.byName[n]
		if !ok {
			return nil, fmt.Errorf("scenario.OneStock has no flow %q", n)
		}
		ts.mix = append(ts.mix, t)
	}
	hd := scenario.HomeDelivery(placeholder)
	hd.Name, hd.Final, hd.Calls, hd.Events = "open", lifecycle.Uncommitted, 1, hd.Events[:2]
	open, err := newTemplate(hd, hd.Events)
	if err != nil {
		return nil, err
	}
	ts.open = open
	return ts, nil
}

// check validates one instance of every template against the schemas, so
// a change in the scenario or the schemas fails here and not as a run full
// of dead letters.
func (ts *templates) check() error {
	v, err := events.NewValidator()
	if err != nil {
		return err
	}
	all := []*template{ts.open}
	for _, t := range ts.byName {
		all = append(all, t)
	}
	for _, t := range all {
		for _, m := range t.instance("CHECK-1").msgs {
			if _, err := v.Inbound(m.data); err != nil {
				return fmt.Errorf("flow %s event %s: %w", t.name, m.id, err)
			}
		}
	}
	return nil
}

// instance stamps the template out with unique in place of the placeholder.
func (t *template) instance(unique string) lifecycleT {
	ph, id := []byte(placeholder), []byte(unique)
	orderID := strings.ReplaceAll(t.orderID, placeholder, unique)
	lc := lifecycleT{orderID: orderID, unique: unique, tpl: t, msgs: make([]msg, len(t.msgs))}
	for i, m := range t.msgs {
		lc.msgs[i] = msg{
			subject: bus.EventSubject(events.Type(m.subject), orderID),
			id:      string(bytes.ReplaceAll([]byte(m.id), ph, id)),
			data:    bytes.ReplaceAll(m.data, ph, id),
			action:  m.action,
		}
	}
	return lc
}

// templateStreet is the delivery street of the home-delivery flows.
const templateStreet = "350 5th Ave"

// setStreet gives the order its own delivery street.
func (lc *lifecycleT) setStreet(street string) {
	from, to := []byte(templateStreet), []byte(street)
	for i := range lc.msgs {
		lc.msgs[i].data = bytes.ReplaceAll(lc.msgs[i].data, from, to)
	}
}

// mixed returns n lifecycles of the realistic mix with ids prefix-<i>.
func (ts *templates) mixed(prefix string, n int) []lifecycleT {
	out := make([]lifecycleT, n)
	for i := range out {
		out[i] = ts.mix[i%len(ts.mix)].instance(fmt.Sprintf("%s-%06d", prefix, i))
	}
	return out
}

// of returns n lifecycles of one template.
func (t *template) of(prefix string, n int) []lifecycleT {
	out := make([]lifecycleT, n)
	for i := range out {
		out[i] = t.instance(fmt.Sprintf("%s-%06d", prefix, i))
	}
	return out
}

// interleave orders the events of many lifecycles as an OMS with many
// orders open at once publishes them: the first event of every order, then
// the second, and so on. Each order's events keep their order.
func interleave(lcs []lifecycleT) []msg {
	var out []msg
	for k := 0; ; k++ {
		added := false
		for _, lc := range lcs {
			if k < len(lc.msgs) {
				out = append(out, lc.msgs[k])
				added = true
			}
		}
		if !added {
			return out
		}
	}
}

// minRound is the fewest orders any round of interleave holds: the gap, in
// stream positions, between two events of one order.
func minRound(lcs []lifecycleT) int {
	most := 0
	for _, lc := range lcs {
		most = max(most, len(lc.msgs))
	}
	out := len(lcs)
	for k := 0; k < most; k++ {
		n := 0
		for _, lc := range lcs {
			if k < len(lc.msgs) {
				n++
			}
		}
		out = min(out, n)
	}
	return out
}

func countEvents(lcs []lifecycleT) (evs, actions, calls int) {
	for _, lc := range lcs {
		evs += len(lc.msgs)
		calls += lc.tpl.calls
		for _, m := range lc.msgs {
			if m.action {
				actions++
			}
		}
	}
	return
}

// natsMsg builds the message the way bus.Publish does: CloudEvents content
// type, event id as Nats-Msg-Id.
func natsMsg(subject string, data []byte) *nats.Msg {
	nm := nats.NewMsg(subject)
	nm.Data = data
	nm.Header.Set("Content-Type", "application/cloudevents+json")
	return nm
}

// publishAll publishes the messages asynchronously and waits for every
// acknowledgement. subjectPrefix, when set, replaces the "oms." prefix (the
// ceiling's own stream). It reports how many the stream saw as duplicates.
func publishAll(ctx context.Context, js jetstream.JetStream, msgs []msg, subjectPrefix string) (dups int, err error) {
	futures := make([]jetstream.PubAckFuture, 0, len(msgs))
	for _, m := range msgs {
		subj := m.subject
		if subjectPrefix != "" {
			subj = subjectPrefix + subj[len(bus.EventsPrefix):]
		}
		for {
			f, err := js.PublishMsgAsync(natsMsg(subj, m.data), jetstream.WithMsgID(m.id))
			if errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
				select {
				case <-js.PublishAsyncComplete():
				case <-time.After(time.Second):
				}
				continue
			}
			if err != nil {
				return 0, fmt.Errorf("publish %s: %w", m.id, err)
			}
			futures = append(futures, f)
			break
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(2 * time.Minute):
		return 0, errors.New("publishing did not complete within 2 minutes")
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	for _, f := range futures {
		select {
		case ack := <-f.Ok():
			if ack.Duplicate {
				dups++
			}
		case err := <-f.Err():
			return dups, fmt.Errorf("publish %s: %w", f.Msg().Header.Get(jetstream.MsgIDHeader), err)
		}
	}
	return dups, nil
}

// closedLoop drives lifecycles as an OMS does: for each order, publish the
// state changes and the workflow action of one step, wait for the action's
// result (tax.results / tax.errors, matched by cause_event_id), then go on.
// inFlight orders are driven at once. Latency is measured for workflow
// actions only, from the start of the action's publish to the arrival of
// its result; state changes produce no result.
// onDone, when set, is called after each lifecycle.
func closedLoop(ctx context.Context, js jetstream.JetStream, sink *resultSink, lcs []lifecycleT, inFlight int, timeout time.Duration, onDone func()) (lat []time.Duration, timeouts int, elapsed time.Duration, err error) {
	work := make(chan lifecycleT)
	var mu sync.Mutex
	var firstErr error
	var lost atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < inFlight; i++ {
		wg.Go(func() {
			var mine []time.Duration
			defer func() {
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			}()
			for lc := range work {
				err := driveOne(ctx, js, sink, lc, timeout, &mine)
				switch {
				case errors.Is(err, errTimeout):
					lost.Add(1)
				case err != nil:
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
				if onDone != nil {
					onDone()
				}
			}
		})
	}
	for _, lc := range lcs {
		select {
		case work <- lc:
		case <-ctx.Done():
		}
	}
	close(work)
	wg.Wait()
	return lat, int(lost.Load()), time.Since(start), firstErr
}

var errTimeout = errors.New("no result in time")

func driveOne(ctx context.Context, js jetstream.JetStream, sink *resultSink, lc lifecycleT, timeout time.Duration, lat *[]time.Duration) error {
	for _, m := range lc.msgs {
		var ch chan time.Time
		if m.action {
			ch = sink.await(m.id)
		}
		t0 := time.Now()
		if _, err := js.PublishMsg(ctx, natsMsg(m.subject, m.data), jetstream.WithMsgID(m.id)); err != nil {
			return fmt.Errorf("publish %s: %w", m.id, err)
		}
		if ch == nil {
			continue
		}
		select {
		case t1 := <-ch:
			*lat = append(*lat, t1.Sub(t0))
		case <-time.After(timeout):
			sink.forget(m.id)
			return errTimeout
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// verify reads every order's record and counts those not in the flow's
// final state or with an unfinished AvaTax call.
func verify(ctx context.Context, st *store.Store, lcs []lifecycleT) (bad int, example string, err error) {
	for _, lc := range lcs {
		rec, _, err := st.Get(ctx, lc.orderID)
		if err != nil {
			return bad, example, err
		}
		if rec.State != lc.tpl.final || rec.Intent != nil {
			bad++
			if example == "" {
				example = fmt.Sprintf("order %s (%s) ended %s, want %s", lc.orderID, lc.tpl.name, rec.State, lc.tpl.final)
			}
		}
	}
	return bad, example, nil
}
