package money

import (
	"math/rand/v2"
	"testing"

	"github.com/shopspring/decimal"
)

func TestAllocate(t *testing.T) {
	tests := []struct {
		name    string
		total   string
		weights []int64
		want    []string
	}{
		{"one unit per parcel of 25.01", "25.01", []int64{1, 1}, []string{"12.51", "12.50"}},
		{"three equal thirds of 10", "10", []int64{1, 1, 1}, []string{"3.34", "3.33", "3.33"}},
		{"largest remainder wins, not the first", "10", []int64{1, 2}, []string{"3.33", "6.67"}},
		{"negative total", "-25.01", []int64{1, 1}, []string{"-12.51", "-12.50"}},
		{"four decimals rounded to cents first", "25.0150", []int64{1, 1}, []string{"12.51", "12.51"}},
		{"a zero weight gets nothing", "9.99", []int64{0, 3}, []string{"0", "9.99"}},
		{"no weight at all", "9.99", []int64{0, 0}, []string{"0", "0"}},
		{"one part takes all", "0.01", []int64{7}, []string{"0.01"}},
		{"a cent over many parts", "0.01", []int64{1, 1, 1}, []string{"0.01", "0", "0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Allocate(decimal.RequireFromString(tt.total), tt.weights)
			if len(got) != len(tt.want) {
				t.Fatalf("%d parts, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if !got[i].Equal(decimal.RequireFromString(tt.want[i])) {
					t.Errorf("Allocate(%s, %v) = %v, want %v", tt.total, tt.weights, got, tt.want)
					break
				}
			}
		})
	}
}

// TestAllocateAddsUp: whatever the total and the weights, the parts sum to
// the total in cents and each is within a cent of its exact share.
func TestAllocateAddsUp(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cent := decimal.RequireFromString("0.01")
	for n := 0; n < 5000; n++ {
		total := decimal.New(r.Int64N(2_000_000)-1_000_000, -int32(r.IntN(5)))
		weights := make([]int64, 1+r.IntN(6))
		var sum int64
		for i := range weights {
			weights[i] = r.Int64N(5)
			sum += weights[i]
		}
		parts := Allocate(total, weights)
		got := Zero
		for i, p := range parts {
			got = got.Add(p)
			if !p.Equal(Round2(p)) {
				t.Fatalf("Allocate(%s, %v): part %s is not whole cents", total, weights, p)
			}
			if sum > 0 {
				exact := Round2(total).Mul(decimal.NewFromInt(weights[i])).Div(decimal.NewFromInt(sum))
				if p.Sub(exact).Abs().GreaterThanOrEqual(cent) {
					t.Fatalf("Allocate(%s, %v): part %s is a cent or more from its share %s", total, weights, p, exact)
				}
			}
		}
		if sum > 0 && !got.Equal(Round2(total)) {
			t.Fatalf("Allocate(%s, %v) = %v sums to %s, want %s", total, weights, parts, got, Round2(total))
		}
	}
}
