// Command taxctl is taxbridge's operator CLI: an order's AvaTax exchanges
// (audit) and tax record (order show), and the dead letters (dlq list, show
// and replay). `taxctl help` describes them; see internal/taxctl.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/taxbridge/taxbridge/internal/money"
	"github.com/taxbridge/taxbridge/internal/taxctl"
)

func main() {
	money.EncodeAmountsAsNumbers() // amounts are JSON numbers in the event contract
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := taxctl.Run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
