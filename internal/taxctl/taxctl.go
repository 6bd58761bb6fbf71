// Package taxctl is the operator CLI of taxbridge (cmd/taxctl only wires
// it): it reads what taxbridge keeps in NATS.
//
//	taxctl audit [-json] [-bodies] <order>   the order's AvaTax exchanges, in order
//
// It reaches NATS at TAXBRIDGE_NATS_URL (default nats://127.0.0.1:4222,
// where `taxbridge` and `taxbridge demo --hold` listen with their embedded
// server) with the credentials in TAXBRIDGE_NATS_CREDS, if any.
package taxctl

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/taxbridge/taxbridge/internal/audit"
)

// DefaultNATSURL is where taxbridge's embedded server listens by default.
const DefaultNATSURL = "nats://127.0.0.1:4222"

// Env reads an environment variable (os.Getenv in the binary).
type Env func(string) string

const usage = `usage: taxctl <command> [arguments]

commands:
  audit [-json] [-bodies] <order>   print the order's AvaTax exchanges (requests and responses), oldest first

environment:
  TAXBRIDGE_NATS_URL    NATS server of taxbridge (default ` + DefaultNATSURL + `, the embedded server of
                        'taxbridge' and 'taxbridge demo --hold')
  TAXBRIDGE_NATS_CREDS  NATS credentials (.creds) file
`

// Run executes the command line args (without the program name) and
// returns the exit status: 0 done, 1 failed, 2 bad usage.
func Run(ctx context.Context, args []string, env Env, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "audit":
		err = auditCmd(ctx, args[1:], env, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "taxctl: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	var ue usageError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "taxctl: %s\n\n%s", ue.msg, usage)
		return 2
	case err != nil:
		fmt.Fprintln(stderr, "taxctl:", err)
		return 1
	}
	return 0
}

type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

func auditCmd(ctx context.Context, args []string, env Env, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the records as JSON lines")
	bodies := fs.Bool("bodies", false, "also print headers and bodies of each request and response")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if fs.NArg() != 1 {
		return usageError{"audit wants one order id"}
	}
	order := fs.Arg(0)
	nc, err := connect(env)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	entries, err := audit.Read(ctx, js, order)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, e := range entries {
			if err := enc.Encode(e); err != nil {
				return err
			}
		}
		return nil
	}
	return audit.Print(stdout, order, entries, audit.PrintOptions{Bodies: *bodies})
}

func connect(env Env) (*nats.Conn, error) {
	url := env("TAXBRIDGE_NATS_URL")
	if url == "" {
		url = DefaultNATSURL
	}
	opts := []nats.Option{nats.Name("taxctl"), nats.Timeout(5 * time.Second)}
	if creds := env("TAXBRIDGE_NATS_CREDS"); creds != "" {
		opts = append(opts, nats.UserCredentials(creds))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to NATS at %s (set TAXBRIDGE_NATS_URL): %w", url, err)
	}
	return nc, nil
}
