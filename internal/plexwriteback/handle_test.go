package plexwriteback

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/internal/bus"
	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/plex"
	"github.com/taxbridge/taxbridge/internal/plexsim"
)

func TestRetryDelay(t *testing.T) {
	w := New(nil, nil, WithBackoff(100*time.Millisecond, 2*time.Second))
	tests := []struct {
		name      string
		err       error
		delivery  uint64
		min, max  time.Duration
		permanent bool
	}{
		{"network, first", errors.New("connection refused"), 1, 50 * time.Millisecond, 100 * time.Millisecond, false},
		{"503, third", &plex.Error{Status: 503}, 3, 200 * time.Millisecond, 400 * time.Millisecond, false},
		{"capped", &plex.Error{Status: 500}, 40, time.Second, 2 * time.Second, false},
		{"429 with Retry-After", &plex.Error{Status: 429, RetryAfter: 5 * time.Second}, 1, 5 * time.Second, 5 * time.Second, false},
		{"408", &plex.Error{Status: 408}, 1, 50 * time.Millisecond, 100 * time.Millisecond, false},
		{"400", &plex.Error{Status: 400}, 1, 2 * time.Second, 2 * time.Second, true},
		{"401", &plex.Error{Status: 401}, 1, 2 * time.Second, 2 * time.Second, true},
		{"no token", plex.ErrToken, 1, 2 * time.Second, 2 * time.Second, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for range 20 {
				d, perm := w.retryDelay(tc.delivery, tc.err)
				if d < tc.min || d > tc.max || perm != tc.permanent {
					t.Fatalf("delay %v, permanent %v", d, perm)
				}
			}
		})
	}
}

// hooked calls before ahead of the first write of an amount.
type hooked struct {
	c      *plex.Client
	amount decimal.Decimal
	before func()
}

func (h *hooked) PutPriceAdjustment(ctx context.Context, id string, in plex.PriceAdjustmentInput) (*plex.PriceAdjustment, error) {
	if f := h.before; f != nil && in.Amount.Equal(h.amount) {
		h.before = nil
		f()
	}
	return h.c.PutPriceAdjustment(ctx, id, in)
}

func (h *hooked) PutPurchaseOrderLineTax(ctx context.Context, po, l string, tax decimal.Decimal) (*plex.PurchaseOrderLine, error) {
	return h.c.PutPurchaseOrderLineTax(ctx, po, l, tax)
}

func delivered(version int64, tax string, seq uint64) *delivery {
	return &delivery{kind: events.PlexSalesOrder, plexID: "SO-1", seq: seq, deliveries: 1, res: result{ID: "r", Type: events.TaxResult,
		Data: events.ResultData{OrderID: "plex-so-SO-1", OrderVersion: version, State: "committed",
			Document: &events.Document{Code: "D", Type: "SalesInvoice", TotalTax: decimal.RequireFromString(tax)}}}}
}

// TestLostSwap makes another writer record a result between this one's
// Plex write and its compare-and-swap: whichever is newer ends in Plex.
func TestLostSwap(t *testing.T) {
	ctx := context.Background()
	emb, err := bus.StartEmbedded(t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Shutdown()
	nc, err := emb.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	if _, err := bus.Provision(ctx, js, bus.DefaultTopology); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name            string
		this, other     *delivery
		outcome         string
		writesChanged   int
		writesUnchanged int
	}{
		// The other (newer) writes 5 and records it; this one's 4.44
		// reaches Plex after, loses the swap, and puts 5 back.
		{"this is older", delivered(1, "4.44", 10), delivered(2, "5", 20), OutcomeStale, 3, 0},
		// The other (older) writes 4.44 and records it; this one's 5
		// reaches Plex after, loses the swap, and is written again.
		{"this is newer", delivered(2, "5", 20), delivered(1, "4.44", 10), OutcomeWritten, 2, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb := plexsim.New(plexsim.WithAPIKey("k-123456"), plexsim.WithBudget(-1, 0))
			sb.PutSalesOrder(plex.SalesOrder{ID: "SO-1"})
			srv := httptest.NewServer(sb)
			defer srv.Close()
			c, _ := plex.New(srv.URL, plex.Credentials{APIKey: "k-123456"}, plex.WithBudget(-1, 0))
			other := New(js, c)
			if _, err := other.Provision(ctx); err != nil {
				t.Fatal(err)
			}
			_ = other.kv.Purge(ctx, bus.Token("plex-so-SO-1"))
			h := &hooked{c: c, amount: tc.this.res.Data.Document.TotalTax}
			this := New(js, h)
			if _, err := this.Provision(ctx); err != nil {
				t.Fatal(err)
			}
			h.before = func() {
				if out, err := other.apply(ctx, tc.other); err != nil || out != OutcomeWritten {
					t.Errorf("other: %s, %v", out, err)
				}
			}
			out, err := this.apply(ctx, tc.this)
			if err != nil || out != tc.outcome {
				t.Fatalf("this: %s, %v", out, err)
			}
			adj := sb.PriceAdjustments("SO-1")
			if len(adj) != 1 || !adj[0].Amount.Equal(decimal.NewFromInt(5)) {
				t.Fatalf("adjustments = %+v: the newer tax must end in Plex", adj)
			}
			rec, _, err := this.load(ctx, bus.Token("plex-so-SO-1"))
			if err != nil || rec.OrderVersion != 2 || !rec.Written.Amount.Equal(decimal.NewFromInt(5)) {
				t.Fatalf("record = %+v, %v", rec, err)
			}
			if st := sb.Stats(); st.WritesChanged != tc.writesChanged || st.WritesUnchanged != tc.writesUnchanged {
				t.Fatalf("stats = %+v", st)
			}
		})
	}
}
