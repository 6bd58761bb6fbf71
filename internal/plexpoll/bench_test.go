package plexpoll_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/taxbridge/taxbridge/internal/plexpoll"
	"github.com/taxbridge/taxbridge/internal/plexpoll/loadtest"
)

// BenchmarkPollCycle runs full cycles over 10,000 sales orders of 500
// customers: "changed" changes every order before each cycle (10,000
// events), "unchanged" publishes nothing. Plex calls are counted, not
// throttled; budget-min/op is calls/200, the minutes of Plex's budget a
// cycle spends.
func BenchmarkPollCycle(b *testing.B) {
	spec := loadtest.Spec{SalesOrders: 10000, Customers: 500, PurchaseOrders: 100, Suppliers: 10}
	for _, bc := range []struct {
		name    string
		changed bool
		opts    []plexpoll.Option
	}{
		{"changed", true, nil},
		{"unchanged", false, nil},
		// Customers and suppliers read by an earlier cycle within the
		// hour are not read again: the lists are the only calls.
		{"unchanged-refs-1h", false, []plexpoll.Option{plexpoll.WithReferenceMaxAge(time.Hour)}},
	} {
		changed := bc.changed
		b.Run(bc.name, func(b *testing.B) {
			e, err := loadtest.New(spec, bc.opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			ctx := context.Background()
			if _, err := e.Poller.Poll(ctx); err != nil {
				b.Fatal(err)
			}
			var total plexpoll.Cycle
			bump := 0
			b.ResetTimer()
			for b.Loop() {
				if changed {
					b.StopTimer()
					bump++
					s := e.Spec
					for i := range s.SalesOrders {
						e.Sandbox.PutSalesOrder(loadtest.SalesOrder(i, fmt.Sprintf("C-%d", i%s.Customers), s.Lines, bump))
					}
					b.StartTimer()
				}
				c, err := e.Poller.Poll(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if c.Failed != 0 || (changed && c.Published != spec.SalesOrders) || (!changed && c.Published != 0) {
					b.Fatalf("cycle %+v", c)
				}
				total.Calls += c.Calls
				total.Published += c.Published
				total.Seen += c.Seen
			}
			n := float64(b.N)
			b.ReportMetric(float64(total.Calls)/n, "calls/op")
			b.ReportMetric(float64(total.Calls)/n/200, "budget-min/op")
			b.ReportMetric(float64(total.Published)/n, "published/op")
			b.ReportMetric(float64(total.Seen)/n, "orders/op")
		})
	}
}

// TestLoadFigures prints the figures of loadtest.Run at a tenth of the
// benchmark's scale (go test -run LoadFigures -v).
func TestLoadFigures(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	r, err := loadtest.Run(context.Background(), loadtest.Spec{SalesOrders: 1000, Customers: 50, PurchaseOrders: 10, Suppliers: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + r.String())
	if r.First.Published != 1010 || r.Second.Published != 0 || r.First.Calls != 2+2*50+3*2 || r.Requests != r.First.Calls+r.Second.Calls {
		t.Fatalf("%+v", r)
	}
}
