package worker

import (
	"context"

	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/store"
)

// job is the work on one event: its envelope and data, the order's record
// and its revision as last read or written, and what came of it. Its
// methods are the steps of the event's path, each in the file named for
// it: load and save (job.go), apply (process.go), decide and plan
// (decide.go), write the intent, call and record the outcome (call.go),
// publish the answer (publish.go), and finish the work that waited
// (refund.go, reconcile.go). Only load, save and update touch the record.
type job struct {
	w    *Worker
	env  events.Envelope
	data *events.OrderEvent // nil for work no event brought (the sweep)
	// action is what the event asks (events.Inbound.Action): its type,
	// or the action a Plex event names; a state change is no action.
	action events.Type
	rec    *store.Record
	rev    uint64
	// What came of it, for the outcome.
	duplicate, unchanged, stale bool
	taxErrors                   []string // codes of the tax errors published
	results                     []events.ResultData
}

func (w *Worker) newJob(env events.Envelope, data *events.OrderEvent, action events.Type) *job {
	return &job{w: w, env: env, data: data, action: action}
}

// orderID is the order the job works on.
func (j *job) orderID() string { return j.env.Subject }

// load reads the order's record as it is now.
func (j *job) load(ctx context.Context) error {
	rec, rev, err := j.w.records.Get(ctx, j.orderID())
	if err != nil {
		return err
	}
	j.rec, j.rev = rec, rev
	return nil
}

// save writes the record if nobody wrote it since it was loaded or saved
// (store.ErrConflict otherwise).
func (j *job) save(ctx context.Context) error {
	rev, err := j.w.records.Put(ctx, j.rec, j.rev)
	if err != nil {
		return err
	}
	j.rev = rev
	return nil
}

// update applies fn to the record as it is now and writes it, reading
// again and reapplying fn when another writer got there first; fn's error
// aborts. The job holds the record as written.
func (j *job) update(ctx context.Context, fn func(*store.Record) error) error {
	rec, rev, err := j.w.records.Update(ctx, j.orderID(), fn)
	if err != nil {
		return err
	}
	j.rec, j.rev = rec, rev
	return nil
}

// Outcome is what came of processing one event.
type Outcome struct {
	// Kind is OutcomeApplied, OutcomeDuplicate, OutcomeUnchanged,
	// OutcomeStale or OutcomeRefused.
	Kind string
	// TaxErrors are the codes of the tax errors published for it.
	TaxErrors []string
	// Transitions are the state changes it caused, from → to, as the
	// results published say (every action not refused publishes one).
	Transitions [][2]string
}

func (j *job) outcome() Outcome {
	o := Outcome{Kind: OutcomeApplied, TaxErrors: j.taxErrors}
	switch {
	case j.duplicate:
		o.Kind = OutcomeDuplicate
	case j.unchanged:
		o.Kind = OutcomeUnchanged
	case len(j.taxErrors) > 0:
		o.Kind = OutcomeRefused
	case j.stale:
		o.Kind = OutcomeStale
	}
	for _, r := range j.results {
		if r.PreviousState != r.State {
			o.Transitions = append(o.Transitions, [2]string{r.PreviousState, r.State})
		}
	}
	return o
}
