package plexpoll

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Names of the lease.
const (
	LeaseBucket = "plex_poller_lease"
	LeaseKey    = "poller"
	// DefaultLeaseTTL is how long a lease outlives its last renewal.
	DefaultLeaseTTL = 30 * time.Second
)

// ErrNotLeader is returned by Poll when another replica holds the lease,
// and ends a cycle whose lease was lost.
var ErrNotLeader = errors.New("plexpoll: another replica holds the poller lease")

// lease is the poller's hold on the key "poller" of a bucket whose
// MaxAge is the TTL: Create takes it when nobody holds it, Update with the
// last revision renews it, and a holder that stops renewing loses it when
// the key expires. The holder considers its lease valid only until TTL
// after the start of its last successful write (a write that took long
// shortens it, never lengthens it), so it stops before anyone else can
// take over.
type lease struct {
	kv     jetstream.KeyValue
	holder string
	ttl    time.Duration
	now    func() time.Time

	mu         sync.Mutex
	rev        uint64
	validUntil time.Time
}

func newLease(ctx context.Context, js jetstream.JetStream, holder string, ttl time.Duration, replicas int, now func() time.Time) (*lease, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: LeaseBucket, History: 1, TTL: ttl, Storage: jetstream.FileStorage, Replicas: replicas,
		Description: "the Plex poller lease: the replica holding key poller polls Plex",
	})
	if err != nil {
		return nil, fmt.Errorf("plexpoll: lease bucket %s: %w", LeaseBucket, err)
	}
	return &lease{kv: kv, holder: holder, ttl: ttl, now: now}, nil
}

// valid reports whether the lease is held and not past its validity.
func (l *lease) valid() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rev != 0 && l.now().Before(l.validUntil)
}

// acquire takes the lease if nobody holds it; false when someone does.
func (l *lease) acquire(ctx context.Context) (bool, error) {
	start := l.now()
	rev, err := l.kv.Create(ctx, LeaseKey, []byte(l.holder))
	if errors.Is(err, jetstream.ErrKeyExists) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("plexpoll: acquire lease: %w", err)
	}
	l.mu.Lock()
	l.rev, l.validUntil = rev, start.Add(l.ttl)
	l.mu.Unlock()
	return true, nil
}

// renew extends the lease; on any failure the lease is dropped, since
// someone else may hold it by now.
func (l *lease) renew(ctx context.Context) error {
	l.mu.Lock()
	rev := l.rev
	l.mu.Unlock()
	if rev == 0 {
		return ErrNotLeader
	}
	start := l.now()
	next, err := l.kv.Update(ctx, LeaseKey, []byte(l.holder), rev)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rev != rev { // dropped meanwhile
		return ErrNotLeader
	}
	if err != nil {
		l.rev, l.validUntil = 0, time.Time{}
		return fmt.Errorf("plexpoll: renew lease: %w", err)
	}
	l.rev, l.validUntil = next, start.Add(l.ttl)
	return nil
}

// drop forgets the lease without releasing it (a crash, or a failed
// renewal).
func (l *lease) drop() {
	l.mu.Lock()
	l.rev, l.validUntil = 0, time.Time{}
	l.mu.Unlock()
}

// release deletes the key if this holder still has it, so another replica
// takes over at once instead of after the TTL.
func (l *lease) release(ctx context.Context) error {
	l.mu.Lock()
	rev := l.rev
	l.rev, l.validUntil = 0, time.Time{}
	l.mu.Unlock()
	if rev == 0 {
		return nil
	}
	if err := l.kv.Delete(ctx, LeaseKey, jetstream.LastRevision(rev)); err != nil {
		return fmt.Errorf("plexpoll: release lease: %w", err)
	}
	return nil
}
