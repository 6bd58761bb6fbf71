package worker

import (
	"context"

	"github.com/taxbridge/taxbridge/internal/lifecycle"
)

// decide asks the state machine; it is the seam where the decision is
// observed (spans, metrics) without the lifecycle package doing any I/O.
func (w *Worker) decide(_ context.Context, orderID string, s lifecycle.State, a lifecycle.Action, f lifecycle.Facts) lifecycle.Decision {
	return lifecycle.Decide(s, a, f)
}
