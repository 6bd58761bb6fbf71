package circuit

import (
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time { return c.t }

func TestBreaker(t *testing.T) {
	type step struct {
		do     string // "ok", "fail", "reject", "ignore", "probe-ok", "probe-fail", "trip"
		open   bool   // the state after it
		wait   time.Duration
		opened bool // Record reports that it opened the circuit
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"failures in a row open it", []step{{do: "fail"}, {do: "fail"}, {do: "fail", open: true, wait: time.Second, opened: true}}},
		{"a success in between resets the count", []step{{do: "fail"}, {do: "fail"}, {do: "ok"}, {do: "fail"}, {do: "fail"}}},
		{"rate limits say nothing", []step{{do: "fail"}, {do: "ignore"}, {do: "fail"}, {do: "ignore"}, {do: "fail", open: true, wait: time.Second, opened: true}}},
		{"refused credentials open it at once", []step{{do: "reject", open: true, wait: time.Second, opened: true}}},
		{"failed probes double the wait up to the maximum", []step{{do: "trip", open: true, wait: time.Second},
			{do: "probe-fail", open: true, wait: 2 * time.Second}, {do: "probe-fail", open: true, wait: 4 * time.Second},
			{do: "probe-fail", open: true, wait: 4 * time.Second}}},
		{"a probe that succeeds closes it", []step{{do: "reject", open: true, wait: time.Second, opened: true},
			{do: "probe-ok"}, {do: "fail"}, {do: "fail"}}},
		{"calls while open change nothing", []step{{do: "trip", open: true, wait: time.Second}, {do: "ok", open: true, wait: time.Second}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &fakeClock{t: time.Unix(1000, 0)}
			b := New(WithFailures(3), WithPauses(time.Second, 4*time.Second), WithClock(clk.Now))
			for i, s := range tt.steps {
				opened := false
				switch s.do {
				case "ok":
					opened = b.Record(Success, "")
				case "fail":
					opened = b.Record(Failure, "503")
				case "reject":
					opened = b.Record(Rejected, "401")
				case "ignore":
					opened = b.Record(Ignored, "")
				case "probe-ok":
					b.Probed(true, "")
				case "probe-fail":
					b.Probed(false, "still down")
				case "trip":
					b.Trip("at start")
				}
				st, _ := b.State()
				if st.Open != s.open || opened != s.opened {
					t.Fatalf("step %d (%s): open %v opened %v, want %v %v", i, s.do, st.Open, opened, s.open, s.opened)
				}
				if st.Open && st.Probe.Sub(clk.t) != s.wait {
					t.Fatalf("step %d (%s): next probe in %s, want %s", i, s.do, st.Probe.Sub(clk.t), s.wait)
				}
				if err := b.Allow(); (err != nil) != s.open {
					t.Fatalf("step %d (%s): Allow = %v with the circuit open %v", i, s.do, err, s.open)
				}
			}
		})
	}
}

func TestStateSignalsEveryChange(t *testing.T) {
	b := New(WithFailures(1))
	_, changed := b.State()
	b.Record(Failure, "down")
	select {
	case <-changed:
	default:
		t.Fatal("opening did not signal")
	}
	_, changed = b.State()
	b.Probed(true, "")
	select {
	case <-changed:
	default:
		t.Fatal("closing did not signal")
	}
}
