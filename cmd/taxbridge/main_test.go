package main

import (
	"context"
	"net"
	"testing"
	"time"
)

// TestStopWhileWaitingForNATS checks that SIGINT or SIGTERM while taxbridge
// waits for an unreachable NATS is an ordinary stop, not a failure.
func TestStopWhileWaitingForNATS(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	t.Setenv("TAXBRIDGE_NATS_URL", "nats://"+addr)
	t.Setenv("TAXBRIDGE_AVATAX", "sandbox") // a NATS URL without AvaTax credentials is refused otherwise
	t.Setenv("TAXBRIDGE_NATS_CONNECT_TIMEOUT", "0")
	t.Setenv("TAXBRIDGE_HTTP_LISTEN", "")
	t.Setenv("TAXBRIDGE_LOG_LEVEL", "error")
	// Cancelled as signal.NotifyContext cancels on a signal.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(time.Second, cancel)
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"run"}) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("stopped while waiting for NATS: %v", err)
		}
	case <-time.After(8 * time.Second):
		t.Fatal("taxbridge did not stop within 7s of its signal")
	}
}
