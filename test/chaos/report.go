//go:build unix

package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Report holds the figures of a run and the verdict.
type Report struct {
	Seed     uint64 `json:"seed"`
	RunID    string `json:"run_id"`
	WorkDir  string `json:"work_dir,omitempty"` // kept with -keep
	Settings string `json:"settings"`

	Orders         int            `json:"orders"`
	Flows          map[string]int `json:"flows"`
	Events         int            `json:"events"`             // distinct events
	Published      int            `json:"messages_published"` // events and their copies
	EarlyRefunds   int            `json:"early_refunds"`      // returns published before the commit
	PublishRetries int            `json:"publish_retries"`

	Build          string   `json:"build"` // the module's revision the binaries were built from
	Kills          int      `json:"kills"`
	NATSRestarts   int      `json:"nats_restarts"`
	KilledServers  []string `json:"killed_servers,omitempty"`
	ReplicaCrashes int      `json:"replica_crashes"` // replicas that exited on their own
	FailedStarts   int      `json:"failed_starts"`   // starts that failed (NATS down)
	StreamReplicas int      `json:"stream_replicas"` // of the OMS stream, as provisioned by taxbridge

	Right               int            `json:"right"`
	Wrong               int            `json:"wrong"`
	WrongOrders         []OrderFinding `json:"wrong_orders,omitempty"` // the first 10
	VoidedBeforeCreate  int            `json:"voided_before_create"`   // right: the void overtook the create
	Documents           int            `json:"documents"`              // current AvaTax documents
	DocumentVersions    int            `json:"document_versions"`      // Adjusted versions included
	DuplicateDocuments  int            `json:"duplicate_documents"`
	Duplicates          []string       `json:"duplicates,omitempty"`
	ForeignDocuments    int            `json:"foreign_documents"` // documents of no order of the run
	LostEvents          int            `json:"lost_events"`
	Lost                []string       `json:"lost,omitempty"`
	UnansweredActions   int            `json:"unanswered_actions"`
	Unanswered          []string       `json:"unanswered,omitempty"`
	ActionsAnsweredMore int            `json:"actions_answered_more_than_once"`
	AnsweredMore        []string       `json:"answered_more_than_once,omitempty"`
	DeadLetters         int            `json:"dead_letters"`
	DeadLetterList      []string       `json:"dead_letter_list,omitempty"`

	BuildSeconds float64 `json:"build_seconds"` // go build of the three binaries
	StartSeconds float64 `json:"start_seconds"` // NATS, sandbox and replicas up
	LoadSeconds  float64 `json:"load_seconds"`
	Drained      bool    `json:"drained"`
	DrainSeconds float64 `json:"drain_seconds"` // from the last publish to drained
	TotalSeconds float64 `json:"total_seconds"`

	// Problems are failures of the run itself (the load did not drain, a
	// source could not be read).
	Problems []string `json:"problems,omitempty"`
}

// Failed reports whether the run found anything wrong.
func (r *Report) Failed() bool {
	return r.Wrong > 0 || r.DuplicateDocuments > 0 || r.ForeignDocuments > 0 || r.LostEvents > 0 ||
		r.UnansweredActions > 0 || r.ActionsAnsweredMore > 0 || r.DeadLetters > 0 || !r.Drained || len(r.Problems) > 0
}

// Summary is the verdict in one line.
func (r *Report) Summary() string {
	verdict := "PASS"
	if r.Failed() {
		verdict = "FAIL"
	}
	return fmt.Sprintf("%s: %d/%d orders right, %d wrong, %d duplicate documents, %d lost events, %d unanswered actions, %d answered more than once, %d dead letters",
		verdict, r.Right, r.Orders, r.Wrong, r.DuplicateDocuments, r.LostEvents, r.UnansweredActions, r.ActionsAnsweredMore, r.DeadLetters)
}

// WriteTable prints the figures, then the first wrong orders and why.
func (r *Report) WriteTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k string, v any) { fmt.Fprintf(tw, "%s\t%v\n", k, v) }
	fmt.Fprintf(tw, "chaos run %s (seed %d)\n", r.RunID, r.Seed)
	row("settings", r.Settings)
	row("built from", r.Build)
	row("orders", fmt.Sprintf("%d (%s)", r.Orders, flowCounts(r.Flows)))
	row("events published", fmt.Sprintf("%d events, %d messages (every event twice), %d returns before their commit", r.Events, r.Published, r.EarlyRefunds))
	row("kills", fmt.Sprintf("%d replicas SIGKILLed and restarted", r.Kills))
	row("restarts", fmt.Sprintf("%d nats-server kill -9 and restart (%s)", r.NATSRestarts, strings.Join(r.KilledServers, ", ")))
	row("replica crashes", fmt.Sprintf("%d (failed starts while NATS was down: %d)", r.ReplicaCrashes, r.FailedStarts))
	row("stream replicas", r.StreamReplicas)
	row("right", r.Right)
	row("wrong", r.Wrong)
	row("voided before create", fmt.Sprintf("%d (right: the void overtook the create, no document made)", r.VoidedBeforeCreate))
	row("documents", fmt.Sprintf("%d current, %d versions", r.Documents, r.DocumentVersions))
	row("duplicate documents", r.DuplicateDocuments+r.ForeignDocuments)
	row("lost events", r.LostEvents)
	row("unanswered actions", r.UnansweredActions)
	row("answered more than once", r.ActionsAnsweredMore)
	row("dead letters", r.DeadLetters)
	row("build, start", dur(r.BuildSeconds)+", "+dur(r.StartSeconds))
	row("load", dur(r.LoadSeconds))
	if r.Drained {
		row("time to drain", dur(r.DrainSeconds))
	} else {
		row("time to drain", "did not drain")
	}
	row("total", dur(r.TotalSeconds))
	tw.Flush()
	for _, p := range r.Problems {
		fmt.Fprintf(w, "problem: %s\n", p)
	}
	list := func(title string, items []string) {
		if len(items) > 0 {
			fmt.Fprintf(w, "%s: %s\n", title, strings.Join(items, "; "))
		}
	}
	list("duplicates", r.Duplicates)
	list("lost", r.Lost)
	list("unanswered", r.Unanswered)
	list("answered more than once", r.AnsweredMore)
	list("dead letters", r.DeadLetterList)
	for i, f := range r.WrongOrders {
		fmt.Fprintf(w, "wrong %s (%s): %s\n", f.Order, f.Flow, strings.Join(f.Reasons, "; "))
		if i < 3 { // the evidence of the first few
			for _, d := range f.Documents {
				fmt.Fprintf(w, "    avatax   %s\n", d)
			}
			for _, a := range f.Answers {
				fmt.Fprintf(w, "    TAX      %s\n", a)
			}
			fmt.Fprintf(w, "    record   %s\n", f.Record)
		}
	}
	fmt.Fprintln(w, r.Summary())
}

func flowCounts(m map[string]int) string {
	var parts []string
	for _, f := range flowMakers {
		name := f("x").Name
		parts = append(parts, fmt.Sprintf("%s %d", name, m[name]))
	}
	return strings.Join(parts, ", ")
}

func dur(s float64) string {
	return (time.Duration(s * float64(time.Second))).Round(100 * time.Millisecond).String()
}

// firstN keeps at most n items of a list, saying how many were left out.
func firstN(items []string, n int) []string {
	if len(items) <= n {
		return items
	}
	return append(items[:n:n], fmt.Sprintf("… %d more", len(items)-n))
}
