package taxdoc_test

import (
	"encoding/json"
	"testing"

	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/scenario"
	"github.com/taxbridge/taxbridge/internal/taxconfig"
	"github.com/taxbridge/taxbridge/internal/taxdoc"
)

// lastOrder is the snapshot of a flow's last event.
func lastOrder(b *testing.B, f scenario.Flow) *events.Order {
	b.Helper()
	var d events.OrderEvent
	if err := json.Unmarshal(f.Events[len(f.Events)-1].Data, &d); err != nil {
		b.Fatal(err)
	}
	return &d.Order
}

// BenchmarkSale maps an order snapshot to the AvaTax SalesInvoice request,
// then fingerprints it (taxdoc.Hash), as the worker does on every refresh.
func BenchmarkSale(b *testing.B) {
	cfg, err := taxconfig.Parse(taxconfig.Example)
	if err != nil {
		b.Fatal(err)
	}
	m := taxdoc.NewMapper(cfg)
	for _, f := range []scenario.Flow{scenario.HomeDelivery("BENCH-1"), scenario.StraightFulfil("BENCH-2")} {
		o := lastOrder(b, f)
		b.Run(f.Name+"/sale", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Sale(o, o.ID); err != nil {
					b.Fatal(err)
				}
			}
		})
		sale, err := m.Sale(o, o.ID)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(f.Name+"/hash", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				taxdoc.Hash(sale)
			}
		})
		b.Run(f.Name+"/commitable", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m.Commitable(o)
			}
		})
	}
}
