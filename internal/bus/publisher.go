package bus

import (
	"context"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/taxbridge/taxbridge/internal/events"
)

// Publisher publishes to JetStream what the worker publishes: events under
// their id as message id (Publish), and messages as they are (PublishMsg).
type Publisher struct {
	JS jetstream.JetStream
}

// Publish sends an event; see the package function Publish.
func (p Publisher) Publish(ctx context.Context, subject string, env events.Envelope) error {
	_, err := Publish(ctx, p.JS, subject, env, nil)
	return err
}

// PublishMsg sends a message with no message id of its own.
func (p Publisher) PublishMsg(ctx context.Context, m *nats.Msg) error {
	_, err := PublishMsg(ctx, p.JS, m, "")
	return err
}
