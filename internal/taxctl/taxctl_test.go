package taxctl

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/taxbridge/taxbridge/internal/bus"
)

// TestRunAgainstAServer runs taxctl as the binary does, by URL, against a
// listening nats-server provisioned as taxbridge provisions it: exit 0 for
// an empty dead-letter stream, 1 with the input named for what is not there.
func TestRunAgainstAServer(t *testing.T) {
	emb, err := bus.StartEmbedded(t.TempDir(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emb.Shutdown)
	nc, err := nats.Connect(emb.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bus.Provision(context.Background(), js, bus.DefaultTopology); err != nil {
		t.Fatal(err)
	}
	env := func(k string) string {
		if k == "TAXBRIDGE_NATS_URL" {
			return emb.URL()
		}
		return ""
	}
	tests := []struct {
		args      []string
		code      int
		out, fail string
	}{
		{[]string{"dlq", "list"}, 0, "no dead letters in TAXBRIDGE_DLQ\n", ""},
		{[]string{"dlq", "list", "-json"}, 0, "", ""},
		{[]string{"dlq", "list", "-order", "A.B"}, 0, "no dead letters in TAXBRIDGE_DLQ on taxbridge.dlq.oms.*.A_2EB\n", ""},
		{[]string{"dlq", "show", "42"}, 1, "", "taxctl: no dead letter 42 in TAXBRIDGE_DLQ"},
		{[]string{"dlq", "replay", "42"}, 1, "", "taxctl: no dead letter 42 in TAXBRIDGE_DLQ"},
		{[]string{"dlq", "replay", "42", "43"}, 1, "", "taxctl: 2 of 2 dead letters not replayed (see above)"},
		{[]string{"dlq", "replay", "-all"}, 0, "no dead letters to replay in TAXBRIDGE_DLQ on taxbridge.dlq.>\n", ""},
		{[]string{"order", "show", "WEB-404"}, 1, "", `taxctl: order "WEB-404": no record of this order in bucket tax_orders (key WEB-404)`},
		{[]string{"audit", "WEB-404"}, 0, "no AvaTax exchanges recorded for order WEB-404\n", ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := Run(context.Background(), tt.args, env, &out, &errOut)
			if code != tt.code || out.String() != tt.out || !strings.Contains(errOut.String(), tt.fail) {
				t.Errorf("exit %d, want %d\nstdout: %q, want %q\nstderr: %q, want it to contain %q", code, tt.code, out.String(), tt.out, errOut.String(), tt.fail)
			}
		})
	}
}

// TestBadUsage exits 2 with a message naming the bad argument, before
// connecting to anything.
func TestBadUsage(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "usage: taxctl"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"audit"}, "audit wants one order id, got 0 arguments"},
		{[]string{"order"}, "order wants a subcommand: show"},
		{[]string{"order", "list"}, `unknown order subcommand "list"`},
		{[]string{"order", "show"}, "order show wants one order id, got 0 arguments"},
		{[]string{"order", "show", "A", "B"}, "order show wants one order id, got 2 arguments"},
		{[]string{"order", "show", "-yaml", "A"}, "order show: flag provided but not defined: -yaml"},
		{[]string{"dlq"}, "dlq wants a subcommand: list, show or replay"},
		{[]string{"dlq", "purge"}, `unknown dlq subcommand "purge"`},
		{[]string{"dlq", "list", "7"}, `dlq list takes no arguments, got ["7"]`},
		{[]string{"dlq", "list", "-subject", "oms..x"}, `-subject "oms..x": empty token`},
		{[]string{"dlq", "list", "-subject", "oms.>.x"}, `-subject "oms.>.x": '>' may only be the last token`},
		{[]string{"dlq", "list", "-subject", "oms.refund*"}, `-subject "oms.refund*": wildcard inside token "refund*"`},
		{[]string{"dlq", "list", "-subject", "oms.a b"}, `-subject "oms.a b": a subject has no white space`},
		{[]string{"dlq", "list", "-subject", "oms.>", "-order", "A"}, "give -subject or -order, not both"},
		{[]string{"dlq", "show"}, "dlq show wants one dead letter sequence, got 0 arguments"},
		{[]string{"dlq", "show", "abc"}, `bad dead letter sequence "abc": want a positive number`},
		{[]string{"dlq", "show", "0"}, `bad dead letter sequence "0"`},
		{[]string{"dlq", "show", "-7"}, "dlq show: flag provided but not defined: -7"},
		{[]string{"dlq", "replay"}, "dlq replay wants dead letter sequences, or -all"},
		{[]string{"dlq", "replay", "-all", "3"}, "dlq replay takes dead letter sequences or -all, not both"},
		{[]string{"dlq", "replay", "-order", "A", "3"}, "-subject and -order select dead letters for -all"},
		{[]string{"dlq", "replay", "-file", "x.json", "1", "2"}, "-file replaces the payload of one dead letter: give exactly one sequence"},
		{[]string{"dlq", "replay", "-all", "-file", "x.json"}, "-file replaces the payload of one dead letter"},
		{[]string{"dlq", "replay", "1", "x"}, `bad dead letter sequence "x"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			c := &cli{stdout: &out, stderr: &errOut, now: time.Now, dial: func() (jetstream.JetStream, func(), error) {
				t.Fatal("connected to NATS for a bad command line")
				return nil, nil, nil
			}}
			if code := c.run(context.Background(), tt.args); code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if !strings.Contains(errOut.String(), tt.want) || !strings.Contains(errOut.String(), "usage: taxctl") {
				t.Errorf("stderr %q, want %q and the usage", errOut.String(), tt.want)
			}
			if out.Len() != 0 {
				t.Errorf("stdout %q, want nothing", out.String())
			}
		})
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"dlq", "-h"}, {"dlq", "replay", "-h"}, {"order", "show", "-help"}} {
		var out, errOut bytes.Buffer
		if code := Run(context.Background(), args, func(string) string { return "" }, &out, &errOut); code != 0 {
			t.Errorf("taxctl %v: exit %d, %s", args, code, errOut.String())
		}
		for _, w := range []string{"dlq replay", "order show", "Taxbridge-Replay-Of", "new Nats-Msg-Id", "acknowledged as a duplicate", "exit status"} {
			if !strings.Contains(out.String(), w) {
				t.Errorf("taxctl %v: help lacks %q", args, w)
			}
		}
	}
}

// TestConnectErrorHidesCredentials: the URL in the error keeps its host
// and loses its password or token.
func TestConnectErrorHidesCredentials(t *testing.T) {
	for _, url := range []string{"nats://operator:s3cret-pw@127.0.0.1:1", "nats://s3cret-token@127.0.0.1:1", "nats://127.0.0.1:2,nats://u:s3cret@127.0.0.1:1"} {
		var out, errOut bytes.Buffer
		env := func(k string) string {
			if k == "TAXBRIDGE_NATS_URL" {
				return url
			}
			return ""
		}
		code := Run(context.Background(), []string{"order", "show", "A"}, env, &out, &errOut)
		if code != 1 || strings.Contains(errOut.String(), "s3cret") || !strings.Contains(errOut.String(), "127.0.0.1:1") ||
			!strings.Contains(errOut.String(), "REDACTED") {
			t.Errorf("%s: exit %d, %q", url, code, errOut.String())
		}
	}
}
