package bus

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

func TestToken(t *testing.T) {
	tests := []struct{ in, want string }{
		{"WEB-1", "WEB-1"},
		{"a.b", "a_2Eb"},
		{"a_b", "a_5Fb"},
		{"x y*>", "x_20y_2A_3E"},
		{"é", "_C3_A9"},
	}
	for _, tt := range tests {
		if got := Token(tt.in); got != tt.want {
			t.Errorf("Token(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// Escaping is injective: distinct ids never share a token.
	if Token("a_2Eb") == Token("a.b") {
		t.Error("collision between an escaped and a literal id")
	}
}

func TestProvisionIsIdempotent(t *testing.T) {
	js := startJetStream(t)
	ctx := context.Background()
	for range 2 {
		if _, err := Provision(ctx, js, DefaultTopology); err != nil {
			t.Fatal(err)
		}
	}
	changed := DefaultTopology
	changed.MaxDeliver = 5
	res, err := Provision(ctx, js, changed)
	if err != nil {
		t.Fatal(err)
	}
	info, err := res.Consumer.Info(ctx)
	if err != nil || info.Config.MaxDeliver != 5 {
		t.Fatalf("consumer not updated: %v %v", info.Config.MaxDeliver, err)
	}
	s, err := js.Stream(ctx, EventsStream)
	if err != nil || s.CachedInfo().Config.Duplicates != DefaultTopology.DuplicateWindow {
		t.Fatalf("events stream: %v", err)
	}
}

// startJetStream runs an embedded server for the test and connects to it.
func startJetStream(t *testing.T) jetstream.JetStream {
	t.Helper()
	emb, err := StartEmbedded(t.TempDir(), "")
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
	return js
}

func TestRecordMaxAgeIsTheOrdersTTL(t *testing.T) {
	js := startJetStream(t)
	ctx := context.Background()
	topo := DefaultTopology
	topo.RecordMaxAge = 30 * 24 * time.Hour
	res, err := Provision(ctx, js, topo)
	if err != nil {
		t.Fatal(err)
	}
	st, err := res.Orders.Status(ctx)
	if err != nil || st.TTL() != topo.RecordMaxAge {
		t.Fatalf("%s TTL %v (%v), want %s", OrdersBucket, st.TTL(), err, topo.RecordMaxAge)
	}
	// Unfinished entries are deleted by the sweep, never expired.
	if st, err := res.Unfinished.Status(ctx); err != nil || st.TTL() != 0 {
		t.Fatalf("%s TTL %v (%v), want none", UnfinishedBucket, st.TTL(), err)
	}
	// Back to forever on an existing bucket.
	if res, err = Provision(ctx, js, DefaultTopology); err != nil {
		t.Fatal(err)
	}
	if st, err := res.Orders.Status(ctx); err != nil || st.TTL() != 0 {
		t.Fatalf("%s TTL %v (%v) after setting 0, want none", OrdersBucket, st.TTL(), err)
	}
}
