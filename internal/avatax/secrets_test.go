package avatax_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/taxbridge/taxbridge/internal/avatax"
)

func basicToken() string {
	return base64.StdEncoding.EncodeToString([]byte(testAccount + ":" + testKey))
}

// formats prints v with every verb a log line or a debug dump might use.
func formats(v any) []string {
	var out []string
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x", "%T"} {
		out = append(out, fmt.Sprintf(f, v))
	}
	return out
}

// TestCredentialsNeverPrinted: the license key does not show in any fmt
// verb, slog handler or JSON dump of Credentials or of the Client.
func TestCredentialsNeverPrinted(t *testing.T) {
	t.Parallel()
	c := avatax.New("https://sandbox-rest.avatax.com", testCreds)
	var texts []string
	for _, v := range []any{testCreds, &testCreds, c, struct{ C avatax.Credentials }{testCreds}} {
		texts = append(texts, formats(v)...)
	}
	var logs bytes.Buffer
	for _, h := range []slog.Handler{slog.NewJSONHandler(&logs, nil), slog.NewTextHandler(&logs, nil)} {
		slog.New(h).Info("config", "creds", testCreds, "client", c)
	}
	texts = append(texts, logs.String())
	b, err := json.Marshal(struct{ C avatax.Credentials }{testCreds})
	if err != nil {
		t.Fatal(err)
	}
	texts = append(texts, string(b))
	for _, s := range texts {
		if containsSecret(s) {
			t.Errorf("secret printed: %s", s)
		}
	}
	if s := fmt.Sprint(testCreds); !strings.Contains(s, testAccount) {
		t.Errorf("credentials print %q, want the account id", s)
	}
}

// TestCredentialsNotInErrorsOrLogs: errors of a 401, a connection error,
// a timeout and an answer that echoes the request, and the retry logs,
// carry no credentials.
func TestCredentialsNotInErrorsOrLogs(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		switch r.URL.Path {
		case "/api/v2/utilities/ping":
			hang(r)
		case "/api/v2/addresses/resolve":
			// A misbehaving proxy that echoes the request headers.
			w.WriteHeader(400)
			fmt.Fprintf(w, "bad request; headers: %v", r.Header)
		default:
			fail(w, 500, "InternalServerError")
		}
	})
	// A closed port: connection refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + ln.Addr().String()
	ln.Close()

	opts := []avatax.Option{avatax.WithLogger(logger), avatax.WithTimeout(100 * time.Millisecond), avatax.WithRetry(fastRetry)}
	good := avatax.New(f.srv.URL, testCreds, opts...)
	wrong := avatax.New(f.srv.URL, avatax.Credentials{AccountID: testAccount, LicenseKey: testKey + "x"}, opts...)
	dead := avatax.New(deadURL, testCreds, opts...)
	withUserinfo := avatax.New(strings.Replace(deadURL, "http://", "http://"+testAccount+":"+testKey+"@", 1), testCreds, opts...)
	ctx := context.Background()

	var errs []error
	_, e := wrong.Get(ctx, "DEFAULT", "SO-1", "")
	errs = append(errs, e) // 401
	_, e = dead.Get(ctx, "DEFAULT", "SO-1", "")
	errs = append(errs, e) // connection refused
	_, e = withUserinfo.Get(ctx, "DEFAULT", "SO-1", "")
	errs = append(errs, e) // connection refused, URL had credentials
	_, e = good.Ping(ctx)
	errs = append(errs, e) // timeouts
	_, e = good.ResolveAddress(ctx, avatax.AddressValidationInfo{Line1: "1 Main St"})
	errs = append(errs, e) // echo
	_, e = good.CreateOrAdjust(ctx, saleModel("SO-1"))
	errs = append(errs, e) // 500s, retried and logged
	for i, err := range errs {
		if err == nil {
			t.Fatalf("call %d succeeded", i)
		}
		for _, s := range formats(err) {
			if containsSecret(s) {
				t.Errorf("call %d: secret in error text: %s", i, s)
			}
		}
	}
	if avatax.KindOf(errs[0]) != avatax.KindAuth {
		t.Errorf("401: kind %s", avatax.KindOf(errs[0]))
	}
	if !strings.Contains(errs[4].Error(), "[REDACTED]") {
		t.Errorf("echoed Authorization header not redacted: %v", errs[4])
	}
	if !strings.Contains(logs.String(), "retrying AvaTax call") {
		t.Errorf("no retry logged: %s", logs.String())
	}
	if containsSecret(logs.String()) {
		t.Errorf("secret in logs: %s", logs.String())
	}
	for _, s := range formats(withUserinfo) {
		if containsSecret(s) {
			t.Errorf("secret in client with user info: %s", s)
		}
	}
}
