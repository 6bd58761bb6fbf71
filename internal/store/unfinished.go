package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/taxbridge/taxbridge/internal/bus"
)

// Unfinished is the work list of the intent sweep: the orders whose record
// may hold an intent that no delivery of an event will finish, because the
// call failed or its event was given up. It stays small: an order is put on
// it only on those failure paths, and taken off once its record holds no
// intent, so the sweep never has to read every record.
type Unfinished struct {
	kv jetstream.KeyValue
}

// NewUnfinished returns the work list kept in the bucket.
func NewUnfinished(kv jetstream.KeyValue) *Unfinished { return &Unfinished{kv: kv} }

// Add puts the order on the list.
func (u *Unfinished) Add(ctx context.Context, orderID string) error {
	if _, err := u.kv.PutString(ctx, bus.Token(orderID), orderID); err != nil {
		return fmt.Errorf("mark order %s for the intent sweep: %w", orderID, err)
	}
	return nil
}

// Remove takes the order off the list.
func (u *Unfinished) Remove(ctx context.Context, orderID string) error {
	if err := u.kv.Purge(ctx, bus.Token(orderID)); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("unmark order %s for the intent sweep: %w", orderID, err)
	}
	return nil
}

// List returns the orders on the list.
func (u *Unfinished) List(ctx context.Context) ([]string, error) {
	keys, err := u.kv.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list the orders for the intent sweep: %w", err)
	}
	defer keys.Stop()
	var out []string
	for k := range keys.Keys() {
		e, err := u.kv.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("list the orders for the intent sweep: %w", err)
		}
		out = append(out, string(e.Value()))
	}
	return out, nil
}
