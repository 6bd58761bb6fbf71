package plexpoll_test

import (
	"context"
	"errors"
	"testing"
)

// TestChangeAfterACrashGoesAboveWhatWasPublished: the poller dies after
// publishing version 1 of an order and before storing it; the order then
// changes in Plex. The next cycle must publish the change with a version
// above 1, or the worker, which applied version 1, drops it as stale.
func TestChangeAfterACrashGoesAboveWhatWasPublished(t *testing.T) {
	e := newEnv(t)
	e.seed(t, 1, 1)
	p := e.poller(t)
	crash := errors.New("crash")
	p.SetAfterPublish(func(orderID string) error {
		if orderID == "plex-so-SO-0" {
			return crash
		}
		return nil
	})
	if _, err := p.Poll(context.Background()); !errors.Is(err, crash) {
		t.Fatalf("poll: %v", err)
	}
	p.SetAfterPublish(nil)
	changed := salesOrder(0, "C-0")
	changed.Lines[0].Amount = changed.Lines[0].Amount.Add(changed.Lines[0].Amount)
	e.sb.PutSalesOrder(changed)
	if c := poll(t, p); c.Duplicates != 0 {
		t.Fatalf("cycle after the crash %+v, want the change published as new", c)
	}
	var versions []int64
	for _, m := range e.messages(t) {
		if m.Subject == "plex-so-SO-0" {
			versions = append(versions, m.Data.OrderVersion)
		}
	}
	if len(versions) != 2 || versions[0] != 1 || versions[1] != 2 {
		t.Fatalf("versions of SO-0's events %v, want 1 then the change as 2", versions)
	}
	if c := poll(t, p); c.Published != 0 {
		t.Fatalf("third cycle %+v, want nothing published", c)
	}
}
