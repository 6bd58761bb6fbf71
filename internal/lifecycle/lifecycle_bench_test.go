package lifecycle

import "testing"

// BenchmarkDecide is the state-machine decision the worker asks for on every
// workflow action, over the transitions the OneStock flows take.
func BenchmarkDecide(b *testing.B) {
	cases := []struct {
		name string
		s    State
		a    Action
		f    Facts
	}{
		{"create", None, Refresh, Facts{ContentChanged: true}},
		{"commit", Uncommitted, Refresh, Facts{Commitable: true}},
		{"refund", Committed, Refund, Facts{}},
		{"void", Uncommitted, VoidTax, Facts{}},
		{"refused", Committed, VoidTax, Facts{}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Decide(c.s, c.a, c.f)
			}
		})
	}
}
