package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/taxbridge/taxbridge/internal/bus"
	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/lifecycle"
)

func newStore(t *testing.T) *Store {
	t.Helper()
	emb, err := bus.StartEmbedded(t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	nc, err := emb.Connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close(); emb.Shutdown() })
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	res, err := bus.Provision(context.Background(), js, bus.DefaultTopology)
	if err != nil {
		t.Fatal(err)
	}
	return New(res.Orders)
}

func TestPutIsCompareAndSwap(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	r, rev, err := s.Get(ctx, "O.1 x") // needs escaping to be a key
	if err != nil || rev != 0 || r.State != lifecycle.None {
		t.Fatalf("unknown order: %+v rev %d err %v", r, rev, err)
	}
	r.State = lifecycle.Uncommitted
	rev1, err := s.Put(ctx, r, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, r, 0); !errors.Is(err, ErrConflict) {
		t.Fatalf("second create: %v, want ErrConflict", err)
	}
	r.State = lifecycle.Committed
	if _, err := s.Put(ctx, r, rev1); err != nil {
		t.Fatal(err)
	}
	r.State = lifecycle.Void
	if _, err := s.Put(ctx, r, rev1); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale revision: %v, want ErrConflict", err)
	}
	got, _, _ := s.Get(ctx, "O.1 x")
	if got.State != lifecycle.Committed || got.OrderID != "O.1 x" {
		t.Fatalf("record %+v: the stale write must not land", got)
	}
}

// Concurrent updates all land: none is lost to a lost race.
func TestUpdateRetriesOnConflict(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if _, _, err := s.Update(ctx, "O-2", func(r *Record) error {
				r.MarkSeen(fmt.Sprint("e", i))
				return nil
			}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	r, _, _ := s.Get(ctx, "O-2")
	if len(r.Seen) != 20 {
		t.Fatalf("%d of 20 concurrent updates landed", len(r.Seen))
	}
}

func TestOlderSnapshotNeverReplacesNewer(t *testing.T) {
	var r Record
	if !r.MergeSnapshot(3, events.Order{ID: "O", State: "v3"}) {
		t.Fatal("first snapshot not taken")
	}
	state := func() string {
		o, err := r.Order.Order()
		if err != nil {
			t.Fatal(err)
		}
		return o.State
	}
	if r.MergeSnapshot(2, events.Order{ID: "O", State: "v2"}) || state() != "v3" || r.OrderVersion != 3 {
		t.Fatalf("older snapshot replaced newer: %s", state())
	}
	if !r.MergeSnapshot(4, events.Order{ID: "O", State: "v4"}) || state() != "v4" {
		t.Fatal("newer snapshot not taken")
	}
}

func TestBoundedLists(t *testing.T) {
	var r Record
	for i := range MaxSeen + 10 {
		r.MarkSeen(fmt.Sprint(i))
		r.Record(Transition{EventID: fmt.Sprint(i)})
	}
	if len(r.Seen) != MaxSeen || len(r.History) != MaxHistory || !r.HasSeen(fmt.Sprint(MaxSeen+9)) || r.HasSeen("0") {
		t.Fatalf("seen %d history %d", len(r.Seen), len(r.History))
	}
}
