// Package bus is taxbridge's NATS JetStream wiring: subjects, the streams,
// consumer and KV bucket it provisions, publishing with dedup ids, and the
// embedded server used when no NATS URL is configured.
package bus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/fastjson"
)

// Names of the JetStream resources taxbridge uses.
const (
	EventsStream  = "OMS"             // inbound OMS events: oms.<type>.<order>
	ResultsStream = "TAX"             // outbound results and errors
	DLQStream     = "TAXBRIDGE_DLQ"   // dead letters
	AuditStream   = "TAXBRIDGE_AUDIT" // every AvaTax exchange: tax.audit.<order>
	OrdersBucket  = "tax_orders"      // per-order records
	// UnfinishedBucket lists the orders whose record may hold an intent
	// no delivery will finish, for the sweep.
	UnfinishedBucket = "tax_unfinished"
	WorkerName       = "taxbridge" // durable consumer of EventsStream
)

// Subject prefixes.
const (
	EventsPrefix  = "oms."
	PlexPrefix    = "plex." // events of the Plex poller: plex.<type>.<order>
	ResultsPrefix = "tax.results."
	ErrorsPrefix  = "tax.errors."
	DLQPrefix     = "taxbridge.dlq."
	AuditPrefix   = "tax.audit."
)

// Headers taxbridge sets on the messages it publishes.
const (
	HeaderValidationError = "Taxbridge-Validation-Error"
	HeaderDeadLetterFrom  = "Taxbridge-Dead-Letter-Subject"
	HeaderDeliveries      = "Taxbridge-Deliveries"
)

// EventSubject is the subject an inbound event of type t for an order
// goes to: under PlexPrefix for the Plex poller's events, EventsPrefix
// for the OMS's.
func EventSubject(t events.Type, orderID string) string {
	if t.IsPlex() {
		return PlexPrefix + string(t) + "." + Token(orderID)
	}
	return EventsPrefix + string(t) + "." + Token(orderID)
}

// ResultSubject and ErrorSubject are where an order's results and errors go.
func ResultSubject(orderID string) string { return ResultsPrefix + Token(orderID) }

// ErrorSubject is where an order's tax errors go.
func ErrorSubject(orderID string) string { return ErrorsPrefix + Token(orderID) }

// AuditSubject is where the AvaTax exchanges made for an order go.
func AuditSubject(orderID string) string { return AuditPrefix + Token(orderID) }

// Token escapes an id so that it is one subject token and a valid KV key:
// letters, digits, '-' and '_' stay, '_' and everything else become _XX hex.
func Token(id string) string {
	var b strings.Builder
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "_%02X", c)
		}
	}
	return b.String()
}

// Topology sets the replication and retention of the provisioned resources.
type Topology struct {
	// Replicas of every stream, the consumer and the buckets (1, 3 or 5;
	// more than 1 needs a JetStream cluster).
	Replicas        int
	DuplicateWindow time.Duration // broker-side dedup of event ids
	EventsMaxAge    time.Duration
	ResultsMaxAge   time.Duration
	DLQMaxAge       time.Duration
	AuditMaxAge     time.Duration // 0: kept forever
	RecordMaxAge    time.Duration // TTL of an order's record after its last write; 0: kept forever
	AckWait         time.Duration
	MaxDeliver      int
	MaxAckPending   int
}

// DefaultTopology is what taxbridge provisions unless configured otherwise.
var DefaultTopology = Topology{
	Replicas:        1,
	DuplicateWindow: 2 * time.Minute,
	EventsMaxAge:    7 * 24 * time.Hour,
	ResultsMaxAge:   7 * 24 * time.Hour,
	DLQMaxAge:       30 * 24 * time.Hour,
	AuditMaxAge:     90 * 24 * time.Hour,
	AckWait:         30 * time.Second,
	MaxDeliver:      20,
	MaxAckPending:   1000,
}

// Resources are the provisioned consumer and buckets.
type Resources struct {
	Consumer   jetstream.Consumer
	Orders     jetstream.KeyValue
	Unfinished jetstream.KeyValue
}

// Provision creates or updates the streams, the worker's durable consumer
// and the buckets. It is idempotent and safe to run from every replica.
func Provision(ctx context.Context, js jetstream.JetStream, t Topology) (*Resources, error) {
	streams := []jetstream.StreamConfig{
		{Name: EventsStream, Subjects: []string{EventsPrefix + ">", PlexPrefix + ">"}, Storage: jetstream.FileStorage,
			Replicas: t.Replicas, Duplicates: t.DuplicateWindow, MaxAge: t.EventsMaxAge,
			Description: "OMS order, parcel and line item group events and workflow actions"},
		{Name: ResultsStream, Subjects: []string{ResultsPrefix + ">", ErrorsPrefix + ">"}, Storage: jetstream.FileStorage,
			Replicas: t.Replicas, Duplicates: t.DuplicateWindow, MaxAge: t.ResultsMaxAge,
			Description: "computed tax for write-back, and tax errors to fix"},
		{Name: DLQStream, Subjects: []string{DLQPrefix + ">"}, Storage: jetstream.FileStorage,
			Replicas: t.Replicas, MaxAge: t.DLQMaxAge,
			Description: "events taxbridge could not process, with the reason in a header"},
		{Name: AuditStream, Subjects: []string{AuditPrefix + ">"}, Storage: jetstream.FileStorage,
			Replicas: t.Replicas, MaxAge: t.AuditMaxAge,
			Description: "every AvaTax request and response, credentials removed, by order"},
	}
	for _, cfg := range streams {
		if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return nil, fmt.Errorf("provision stream %s: %w", cfg.Name, err)
		}
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: OrdersBucket, History: 5, Replicas: t.Replicas, Storage: jetstream.FileStorage, TTL: t.RecordMaxAge,
		Description: "per-order tax records, written with compare-and-swap",
	})
	if err != nil {
		return nil, fmt.Errorf("provision bucket %s: %w", OrdersBucket, err)
	}
	unfinished, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: UnfinishedBucket, History: 1, Replicas: t.Replicas, Storage: jetstream.FileStorage,
		Description: "orders whose record may hold an AvaTax intent that no event delivery will finish",
	})
	if err != nil {
		return nil, fmt.Errorf("provision bucket %s: %w", UnfinishedBucket, err)
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, EventsStream, jetstream.ConsumerConfig{
		Durable: WorkerName, Description: "taxbridge worker",
		FilterSubjects: []string{EventsPrefix + ">", PlexPrefix + ">"}, AckPolicy: jetstream.AckExplicitPolicy,
		AckWait: t.AckWait, MaxDeliver: t.MaxDeliver, MaxAckPending: t.MaxAckPending,
		DeliverPolicy: jetstream.DeliverAllPolicy, Replicas: t.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("provision consumer %s: %w", WorkerName, err)
	}
	return &Resources{Consumer: cons, Orders: kv, Unfinished: unfinished}, nil
}

// Publish sends an event with its id as Nats-Msg-Id, so the stream drops
// a repeat inside its duplicate window. It traces the send (PublishMsg) and
// carries the trace context in the headers.
func Publish(ctx context.Context, js jetstream.JetStream, subject string, env events.Envelope, hdr nats.Header, opts ...PublishOption) (*jetstream.PubAck, error) {
	data, err := fastjson.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("encode %s event %s: %w", env.Type, env.ID, err)
	}
	msg := nats.NewMsg(subject)
	msg.Data = data
	for k, v := range hdr {
		msg.Header[k] = v
	}
	msg.Header.Set("Content-Type", "application/cloudevents+json")
	ack, err := PublishMsg(ctx, js, msg, env.ID, opts...)
	if err != nil {
		return nil, fmt.Errorf("publish %s event %s to %s: %w", env.Type, env.ID, subject, err)
	}
	return ack, nil
}

// LastTaxError is the newest tax_error published for the order and when it
// was published; nil when the order has none.
func LastTaxError(ctx context.Context, js jetstream.JetStream, orderID string) (*events.ErrorData, time.Time, error) {
	s, err := js.Stream(ctx, ResultsStream)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("open stream %s: %w", ResultsStream, err)
	}
	m, err := s.GetLastMsgForSubject(ctx, ErrorSubject(orderID))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, time.Time{}, nil
	}
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("read the last tax error of order %s: %w", orderID, err)
	}
	var env struct {
		Time time.Time        `json:"time"`
		Data events.ErrorData `json:"data"`
	}
	if err := fastjson.Unmarshal(m.Data, &env); err != nil {
		return nil, time.Time{}, fmt.Errorf("decode the last tax error of order %s (%s #%d): %w", orderID, ResultsStream, m.Sequence, err)
	}
	return &env.Data, env.Time, nil
}
