package main

import (
	"context"
	"time"

	"github.com/taxbridge/taxbridge/internal/plexpoll"
	"github.com/taxbridge/taxbridge/internal/plexpoll/loadtest"
)

// plexPollResult is the plexpoll phase: Plex poll cycles over many sales
// orders, against the Plex sandbox over HTTP with the real client, its
// calls counted rather than throttled.
type plexPollResult struct {
	Orders    int `json:"sales_orders"`
	Customers int `json:"customers"`
	// First is a cold cycle: every order new, every customer read.
	// Second is the next one, nothing changed, customers reused within
	// TAXBRIDGE_PLEX_REFERENCE_MAX_AGE's default.
	First  plexCycle `json:"first_cycle"`
	Second plexCycle `json:"second_cycle"`
}

type plexCycle struct {
	Seconds   float64 `json:"seconds"`
	Published int     `json:"published"`
	Calls     int     `json:"plex_calls"`
	// BudgetMinutes is the calls in minutes of Plex's 200 calls per
	// minute: how long the cycle takes at least once the client is held
	// to that budget, during which the write-back has no calls left.
	BudgetMinutes float64 `json:"budget_minutes"`
}

// plexPoll seeds the Plex sandbox with orders of customers and runs two
// poll cycles.
func (b *bench) plexPoll(ctx context.Context, orders, customers int) error {
	r, err := loadtest.Run(ctx, loadtest.Spec{SalesOrders: orders, Customers: customers},
		plexpoll.WithReferenceMaxAge(10*time.Minute))
	if err != nil {
		return err
	}
	cycle := func(c plexpoll.Cycle) plexCycle {
		return plexCycle{Seconds: c.Duration.Seconds(), Published: c.Published, Calls: c.Calls, BudgetMinutes: loadtest.BudgetMinutes(c)}
	}
	b.rep.PlexPoll = &plexPollResult{Orders: r.Spec.SalesOrders, Customers: r.Spec.Customers, First: cycle(r.First), Second: cycle(r.Second)}
	return nil
}
