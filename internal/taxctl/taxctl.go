// Package taxctl is the operator CLI of taxbridge (cmd/taxctl only wires
// it): it reads what taxbridge keeps in NATS, and replays dead letters.
//
//	taxctl audit [-json] [-bodies] <order>   the order's AvaTax exchanges, in order
//	taxctl order show [-json] <order>        the order's tax record
//	taxctl dlq list [-json] [-subject <filter> | -order <order>]
//	taxctl dlq show [-json] <seq>            one dead letter in full
//	taxctl dlq replay <seq>... | -all        publish dead letters again, then delete them
//	taxctl credentials set|list|delete       the sealed credentials store
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
	"net/url"
	"os"
	"strings"
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
  order show [-json] <order>        print the order's tax record: state, order version, documents,
                                    returns waiting or refused, the AvaTax call in flight, and the
                                    last actions with their outcomes (-json: the record as stored)
  dlq list [-json] [-subject <filter> | -order <order>]
                                    list the dead letters of stream TAXBRIDGE_DLQ, oldest first:
                                    sequence, time, original subject, event id, deliveries, reason
                                    (-json: one JSON object a line with headers and payload)
  dlq show [-json] <seq>            print one dead letter in full: headers, reason, payload
  dlq replay [-file <path>] [-keep] [-force] [-dry-run] <seq>...
  dlq replay -all [-subject <filter> | -order <order>] [-keep] [-force] [-dry-run]
                                    publish dead letters again to their original subject, then
                                    delete them from TAXBRIDGE_DLQ (see below)
  credentials set [-from-file <path>] <name>
                                    seal a credential with TAXBRIDGE_SECRETS_KEY and store it in KV
                                    bucket taxbridge_credentials; the value is read from stdin (or the
                                    file), never from the command line
  credentials list [-json]          the stored credentials: name, when set, whether the key opens it
  credentials delete <name>         remove a stored credential
                                    names: avatax.license_key, plex.api_key, plex.api_secret,
                                    plex.oauth_client_secret

  <filter> is a NATS subject filter on the original subject, e.g. 'oms.refund_order_taxes.>'
  or 'oms.*.WEB-3'; -order <order> is 'oms.*.<order>' with the order id escaped as taxbridge
  does. Flags may also follow the arguments.

dlq replay:
  Each dead letter's payload, or for a single <seq> the corrected event in -file, is published
  to the subject it was dead-lettered from, with a new Nats-Msg-Id '<event id>/replay/<seq>'
  ('.../fixed-<hash>' added for a -file payload), so that the OMS stream's 2-minute duplicate
  window does not drop it, and with the headers Taxbridge-Replay-Of: <seq> and
  Taxbridge-Replay-Of-Msg-Id: <event id>. The dead letter is deleted only after the OMS stream
  acknowledged the publish; -keep keeps it. A payload the worker would dead-letter again (still
  invalid, or its type and order do not match the subject) is not published unless -force is
  given. Dead letters are replayed in the order given, -all oldest first. -dry-run says what
  would be published and publishes nothing.
  The worker drops an event whose CloudEvents id the order's record has already applied, and a
  replay keeps that id (unless the -file payload changes it). A dead-lettered event was normally
  never applied: an invalid one never reached the record, and one out of deliveries failed
  before its outcome was written. So the replay is processed like a first delivery. If the
  record did apply it meanwhile (the sweep, or a later event of the order, found its AvaTax call
  done), the replay is acknowledged as a duplicate and changes nothing, though the worker still
  finishes what the order waits for (an AvaTax call left in flight, a refund waiting for the
  commit). A replayed refresh or void older than one already applied is answered as stale and
  changes nothing; a state change no newer than the record's snapshot changes nothing.

environment:
  TAXBRIDGE_NATS_URL    NATS server of taxbridge (default ` + DefaultNATSURL + `, the embedded server of
                        'taxbridge' and 'taxbridge demo --hold')
  TAXBRIDGE_NATS_CREDS  NATS credentials (.creds) file
  TAXBRIDGE_SECRETS_KEY, TAXBRIDGE_SECRETS_KEY_FILE
                        key of the credentials store (credentials commands), as taxbridge has it
  TAXBRIDGE_NATS_REPLICAS
                        replicas of bucket taxbridge_credentials when credentials set creates it

exit status: 0 done, 1 failed, 2 bad usage
`

// Run executes the command line args (without the program name) and
// returns the exit status: 0 done, 1 failed, 2 bad usage.
func Run(ctx context.Context, args []string, env Env, stdout, stderr io.Writer) int {
	c := &cli{stdout: stdout, stderr: stderr, now: time.Now, env: env, stdin: os.Stdin,
		dial: func() (jetstream.JetStream, func(), error) {
			nc, err := connect(env)
			if err != nil {
				return nil, nil, err
			}
			js, err := jetstream.New(nc)
			if err != nil {
				nc.Close()
				return nil, nil, err
			}
			return js, nc.Close, nil
		}}
	return c.run(ctx, args)
}

// cli is one invocation. dial is apart so that tests can hand it the
// connection of an in-process server.
type cli struct {
	stdout, stderr io.Writer
	now            func() time.Time
	dial           func() (js jetstream.JetStream, closeConn func(), err error)
	// env and stdin are read by the credentials commands only.
	env   Env
	stdin io.Reader
}

func (c *cli) run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(c.stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "audit":
		err = c.audit(ctx, args[1:])
	case "order":
		err = c.order(ctx, args[1:])
	case "dlq":
		err = c.dlq(ctx, args[1:])
	case "credentials":
		err = c.credentials(ctx, args[1:])
	case "help", "-h", "-help", "--help":
		fmt.Fprint(c.stdout, usage)
		return 0
	default:
		fmt.Fprintf(c.stderr, "taxctl: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	var ue usageError
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(c.stdout, usage)
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(c.stderr, "taxctl: %s\n\n%s", ue.msg, usage)
		return 2
	case err != nil:
		fmt.Fprintln(c.stderr, "taxctl:", err)
		return 1
	}
	return 0
}

type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// parse parses flags wherever they are among the arguments (an operator
// types `order show WEB-3 -json` as readily as the other way round) and
// returns the arguments; those after "--" are never flags.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard) // Run prints the usage once, with the error
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usagef("%s: %v", fs.Name(), err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if i := len(args) - len(rest); i > 0 && args[i-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// connectJS dials NATS and gives a JetStream context with the command's
// time limit. A limit of 0 sets none: commands that go through a whole
// stream run as long as it takes, each request still bounded by the
// JetStream client's own timeout.
func (c *cli) connectJS(ctx context.Context, limit time.Duration) (context.Context, jetstream.JetStream, func(), error) {
	js, closeConn, err := c.dial()
	if err != nil {
		return nil, nil, nil, err
	}
	cancel := context.CancelFunc(func() {})
	if limit > 0 {
		ctx, cancel = context.WithTimeout(ctx, limit)
	}
	return ctx, js, func() { cancel(); closeConn() }, nil
}

// commandLimit bounds a command that reads one thing.
const commandLimit = 30 * time.Second

func (c *cli) audit(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print the records as JSON lines")
	bodies := fs.Bool("bodies", false, "also print headers and bodies of each request and response")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usagef("audit wants one order id, got %d arguments", len(rest))
	}
	order := rest[0]
	ctx, js, done, err := c.connectJS(ctx, commandLimit)
	if err != nil {
		return err
	}
	defer done()
	entries, err := audit.Read(ctx, js, order)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(c.stdout)
		for _, e := range entries {
			if err := enc.Encode(e); err != nil {
				return err
			}
		}
		return nil
	}
	return audit.Print(c.stdout, order, entries, audit.PrintOptions{Bodies: *bodies})
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
		return nil, fmt.Errorf("connect to NATS at %s (set TAXBRIDGE_NATS_URL): %w", redactURL(url), err)
	}
	return nc, nil
}

// redactURL hides the password or token a NATS URL (or comma-separated
// list of them) may carry, so that an error never shows it.
func redactURL(list string) string {
	parts := strings.Split(list, ",")
	for i, p := range parts {
		u, err := url.Parse(strings.TrimSpace(p))
		if err != nil {
			if strings.Contains(p, "@") {
				parts[i] = "(unreadable URL with credentials)"
			}
			continue
		}
		if u.User == nil {
			continue
		}
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "REDACTED")
		} else {
			u.User = url.User("REDACTED") // a lone user part is a token
		}
		parts[i] = u.String()
	}
	return strings.Join(parts, ",")
}
