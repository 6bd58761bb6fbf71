// Package testwait polls for a condition in tests that watch asynchronous
// work (a worker consuming, a span ending). Only tests import it.
package testwait

import (
	"testing"
	"time"
)

// Timeout is how long Eventually waits: far above any wait a passing test
// sees, so a slow machine does not fail it.
const Timeout = 20 * time.Second

// Eventually polls cond every 10ms until it holds, and fails the test,
// naming what it waited for, if it does not within Timeout.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
