//go:build unix

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/time/rate"

	"github.com/taxbridge/taxbridge/internal/bus"
	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/scenario"
)

// copySuffix makes the Nats-Msg-Id of an event's second copy differ from
// the first's, so that the broker stores both and the worker must drop one.
const copySuffix = "~copy"

// order is one order of the run and how its events are published.
type order struct {
	flow scenario.Flow
	// earlyRefund: the return (its line item group change and the refund)
	// is published before the dispatch that commits the sale.
	earlyRefund bool
	// sequence is the publishing order of the order's messages.
	sequence []message
}

// message is one publish: an event, or its second copy.
type message struct {
	env   events.Envelope
	msgID string
	copy  bool
}

// flowMakers are the five OneStock flows, taken in turn.
var flowMakers = []func(string) scenario.Flow{
	scenario.StraightFulfil, scenario.HomeDelivery, scenario.Cancelled, scenario.Returned, scenario.PartialCancel,
}

// planOrders builds the run's orders with ids unique to the run.
func planOrders(cfg *Config, runID string, rng *rand.Rand) []*order {
	orders := make([]*order, cfg.Orders)
	for i := range orders {
		f := flowMakers[i%len(flowMakers)](fmt.Sprintf("%s-%04d", runID, i))
		o := &order{flow: f}
		evs := slices.Clone(f.Events)
		if f.Name == "returned" && rng.Float64() < cfg.EarlyRefunds {
			if moved, ok := refundBeforeCommit(evs); ok {
				evs, o.earlyRefund = moved, true
			}
		}
		o.sequence = withCopies(evs, rng)
		orders[i] = o
	}
	return orders
}

// refundBeforeCommit moves the return (the line item group change and the
// refund after it) in front of the parcel dispatch and the refresh that
// commits.
func refundBeforeCommit(evs []events.Envelope) ([]events.Envelope, bool) {
	dispatch := slices.IndexFunc(evs, func(e events.Envelope) bool { return e.Type == events.ParcelStateChanged })
	refund := slices.IndexFunc(evs, func(e events.Envelope) bool { return e.Type == events.RefundOrderTaxes })
	if dispatch < 0 || refund < 1 || evs[refund-1].Type != events.LineItemGroupStateChanged || refund < dispatch {
		return evs, false
	}
	ret := slices.Clone(evs[refund-1 : refund+1])
	out := slices.Concat(evs[:dispatch], ret, evs[dispatch:refund-1], evs[refund+1:])
	return out, true
}

// withCopies publishes every event twice: the copy goes after a random
// later point of the order's sequence, so that it may arrive after events
// that followed the original.
func withCopies(evs []events.Envelope, rng *rand.Rand) []message {
	after := make([][]message, len(evs))
	for i, e := range evs {
		j := i + rng.IntN(len(evs)-i)
		after[j] = append(after[j], message{env: e, msgID: e.ID + copySuffix, copy: true})
	}
	var out []message
	for i, e := range evs {
		out = append(out, message{env: e, msgID: e.ID})
		rng.Shuffle(len(after[i]), func(a, b int) { after[i][a], after[i][b] = after[i][b], after[i][a] })
		out = append(out, after[i]...)
	}
	return out
}

// schedule interleaves the orders' sequences: window orders are open at a
// time, each step publishes the next message of a random open order.
func schedule(orders []*order, window int, rng *rand.Rand) []message {
	var out []message
	next := make([]int, len(orders))
	var open []int
	started := 0
	for {
		for len(open) < window && started < len(orders) {
			open = append(open, started)
			started++
		}
		if len(open) == 0 {
			return out
		}
		k := rng.IntN(len(open))
		o := open[k]
		out = append(out, orders[o].sequence[next[o]])
		next[o]++
		if next[o] == len(orders[o].sequence) {
			open = slices.Delete(open, k, k+1)
		}
	}
}

// publisher sends the schedule at a bounded rate, each message retried
// until the stream acknowledges it (the same Nats-Msg-Id, so a retry after
// a lost acknowledgement is dropped by the broker).
type publisher struct {
	js      jetstream.JetStream
	limiter *rate.Limiter
	// onProgress is called after every acknowledged message with the count.
	onProgress func(n int)
	retries    int
}

// publishAll publishes msgs in order. A message not acknowledged within
// giveUp fails the run.
func (p *publisher) publishAll(ctx context.Context, msgs []message, giveUp time.Duration) error {
	for i, m := range msgs {
		if err := p.limiter.Wait(ctx); err != nil {
			return err
		}
		if err := p.publish(ctx, m, giveUp); err != nil {
			return err
		}
		if p.onProgress != nil {
			p.onProgress(i + 1)
		}
	}
	return nil
}

func (p *publisher) publish(ctx context.Context, m message, giveUp time.Duration) error {
	data, err := json.Marshal(m.env)
	if err != nil {
		return fmt.Errorf("encode %s: %w", m.env.ID, err)
	}
	deadline := time.Now().Add(giveUp)
	for {
		msg := nats.NewMsg(bus.EventSubject(m.env.Type, m.env.Subject))
		msg.Data = data
		msg.Header.Set("Content-Type", "application/cloudevents+json")
		c, cancel := context.WithTimeout(ctx, 3*time.Second)
		_, err := p.js.PublishMsg(c, msg, jetstream.WithMsgID(m.msgID))
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("publish %s: not acknowledged within %s: %w", m.msgID, giveUp, err)
		}
		p.retries++
		time.Sleep(100 * time.Millisecond)
	}
}
