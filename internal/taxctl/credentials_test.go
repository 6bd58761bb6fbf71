package taxctl

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/taxbridge/taxbridge/internal/bus"
	"github.com/taxbridge/taxbridge/internal/secrets"
)

const credValue = "lic-S3CRET-value-42"

// credServer is a listening nats-server and a client of it.
func credServer(t *testing.T) (url string, js jetstream.JetStream) {
	t.Helper()
	emb, err := bus.StartEmbedded(t.TempDir(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emb.Shutdown)
	nc, err := nats.Connect(emb.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if js, err = jetstream.New(nc); err != nil {
		t.Fatal(err)
	}
	return emb.URL(), js
}

func randomKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, secrets.KeySize)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

// runCred runs taxctl as the binary does, by URL, with stdin.
func runCred(t *testing.T, env map[string]string, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	c := &cli{stdout: &out, stderr: &errOut, now: time.Now, stdin: strings.NewReader(stdin),
		env: func(k string) string { return env[k] }}
	c.dial = func() (jetstream.JetStream, func(), error) {
		nc, err := connect(c.env)
		if err != nil {
			return nil, nil, err
		}
		js, err := jetstream.New(nc)
		return js, nc.Close, err
	}
	code = c.run(context.Background(), args)
	if strings.Contains(out.String(), credValue) || strings.Contains(errOut.String(), credValue) {
		t.Errorf("taxctl %v printed the value: %q %q", args, out.String(), errOut.String())
	}
	for _, k := range []string{env["TAXBRIDGE_SECRETS_KEY"]} {
		if k != "" && (strings.Contains(out.String(), k) || strings.Contains(errOut.String(), k)) {
			t.Errorf("taxctl %v printed the key", args)
		}
	}
	return code, out.String(), errOut.String()
}

func TestCredentials(t *testing.T) {
	url, js := credServer(t)
	ctx := context.Background()
	key := randomKey(t)
	env := map[string]string{"TAXBRIDGE_NATS_URL": url, "TAXBRIDGE_SECRETS_KEY": base64.StdEncoding.EncodeToString(key)}

	// Nothing stored yet: list does not create the bucket.
	if code, out, errOut := runCred(t, env, "", "credentials", "list"); code != 0 || out != "no credentials in bucket taxbridge_credentials\n" {
		t.Fatalf("empty list: exit %d, %q %q", code, out, errOut)
	}
	if _, err := js.KeyValue(ctx, secrets.Bucket); err == nil {
		t.Error("list created the bucket")
	}
	if code, _, errOut := runCred(t, env, "", "credentials", "delete", secrets.PlexAPIKey); code != 1 || !strings.Contains(errOut, "credential plex.api_key: credential not stored") {
		t.Errorf("delete from no bucket: exit %d, %q", code, errOut)
	}

	// set from stdin, with the newline of echo.
	code, out, errOut := runCred(t, env, credValue+"\n", "credentials", "set", secrets.AvaTaxLicenseKey)
	if code != 0 || out != "credential avatax.license_key set in bucket taxbridge_credentials\n" {
		t.Fatalf("set: exit %d, %q %q", code, out, errOut)
	}
	// set from a file, the flag after the name and with two dashes.
	f := t.TempDir() + "/secret"
	if err := os.WriteFile(f, []byte("plex-"+credValue+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runCred(t, env, "ignored", "credentials", "set", secrets.PlexAPIKey, "--from-file", f); code != 0 {
		t.Fatalf("set -from-file: exit %d, %q %q", code, out, errOut)
	}

	// The store has them, sealed.
	store, err := secrets.Open(ctx, js, key)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := store.Get(ctx, secrets.AvaTaxLicenseKey); err != nil || v != credValue {
		t.Errorf("stored license: %q, %v", v, err)
	}
	if v, err := store.Get(ctx, secrets.PlexAPIKey); err != nil || v != "plex-"+credValue {
		t.Errorf("stored API key: %q, %v", v, err)
	}
	kv, err := js.KeyValue(ctx, secrets.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	if e, err := kv.Get(ctx, secrets.AvaTaxLicenseKey); err != nil || bytes.Contains(e.Value(), []byte(credValue)) {
		t.Errorf("raw value: %v, holds the plaintext: %v", err, err == nil && bytes.Contains(e.Value(), []byte(credValue)))
	}

	// list: names and times; the same key given as hex in a file.
	kf := t.TempDir() + "/key"
	if err := os.WriteFile(kf, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fileEnv := map[string]string{"TAXBRIDGE_NATS_URL": url, "TAXBRIDGE_SECRETS_KEY_FILE": kf}
	code, out, errOut = runCred(t, fileEnv, "", "credentials", "list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[0], "NAME") ||
		!strings.HasPrefix(lines[1], "avatax.license_key") || !strings.HasPrefix(lines[2], "plex.api_key") ||
		!strings.Contains(lines[1], time.Now().UTC().Format("2006-01-02")) || !strings.HasSuffix(lines[1], "opens") {
		t.Errorf("list: exit %d, %q %q", code, out, errOut)
	}

	// Another key: list says which do not open, and how to fix that.
	other := map[string]string{"TAXBRIDGE_NATS_URL": url, "TAXBRIDGE_SECRETS_KEY": hex.EncodeToString(randomKey(t))}
	code, out, _ = runCred(t, other, "", "credentials", "list", "-json")
	var got []credentialInfo
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var ci credentialInfo
		if err := dec.Decode(&ci); err != nil {
			t.Fatal(err)
		}
		got = append(got, ci)
	}
	if code != 0 || len(got) != 2 || got[0].Opens || got[1].Opens || got[0].Set.IsZero() {
		t.Errorf("list -json with another key: exit %d, %+v", code, got)
	}
	if code, out, _ = runCred(t, other, "", "credentials", "list"); code != 0 || !strings.Contains(out, "2 credential(s) do not open") {
		t.Errorf("list with another key: exit %d, %q", code, out)
	}

	// delete.
	if code, out, errOut = runCred(t, env, "", "credentials", "delete", secrets.PlexAPIKey); code != 0 || out != "credential plex.api_key deleted from bucket taxbridge_credentials\n" {
		t.Errorf("delete: exit %d, %q %q", code, out, errOut)
	}
	if _, err := store.Get(ctx, secrets.PlexAPIKey); err == nil {
		t.Error("deleted credential still readable")
	}
	if code, _, errOut = runCred(t, env, "", "credentials", "delete", secrets.PlexAPIKey); code != 1 || !strings.Contains(errOut, "not stored") {
		t.Errorf("delete again: exit %d, %q", code, errOut)
	}
	if code, out, _ = runCred(t, env, "", "credentials", "list"); code != 0 || strings.Contains(out, "plex.api_key") || !strings.Contains(out, "avatax.license_key") {
		t.Errorf("list after delete: exit %d, %q", code, out)
	}
}

// TestCredentialsRefusals: no key, a bad key, an empty value, a value on
// the command line; none prints the value, and none connects before the
// key and value are in hand.
func TestCredentialsRefusals(t *testing.T) {
	key := base64.StdEncoding.EncodeToString(randomKey(t))
	noNATS := "nats://127.0.0.1:1"
	tests := []struct {
		name  string
		env   map[string]string
		stdin string
		args  []string
		code  int
		want  string
	}{
		{"no key", map[string]string{"TAXBRIDGE_NATS_URL": noNATS}, credValue, []string{"credentials", "set", secrets.AvaTaxLicenseKey}, 1,
			"no secrets key: set TAXBRIDGE_SECRETS_KEY or TAXBRIDGE_SECRETS_KEY_FILE"},
		{"short key", map[string]string{"TAXBRIDGE_NATS_URL": noNATS, "TAXBRIDGE_SECRETS_KEY": "c2hvcnQ="}, credValue,
			[]string{"credentials", "set", secrets.AvaTaxLicenseKey}, 1, "TAXBRIDGE_SECRETS_KEY: bad secrets key: base64 of 5 bytes, want 32"},
		{"key twice", map[string]string{"TAXBRIDGE_NATS_URL": noNATS, "TAXBRIDGE_SECRETS_KEY": key, "TAXBRIDGE_SECRETS_KEY_FILE": "/k"}, credValue,
			[]string{"credentials", "list"}, 1, "TAXBRIDGE_SECRETS_KEY and TAXBRIDGE_SECRETS_KEY_FILE are both set"},
		{"empty value", map[string]string{"TAXBRIDGE_NATS_URL": noNATS, "TAXBRIDGE_SECRETS_KEY": key}, " \n",
			[]string{"credentials", "set", secrets.PlexAPIKey}, 1, "the value of plex.api_key in stdin is empty"},
		{"missing file", map[string]string{"TAXBRIDGE_NATS_URL": noNATS, "TAXBRIDGE_SECRETS_KEY": key}, "",
			[]string{"credentials", "set", "-from-file", "/nonexistent/secret", secrets.PlexAPIKey}, 1, "-from-file: open /nonexistent/secret"},
		{"value on the command line", map[string]string{"TAXBRIDGE_SECRETS_KEY": key}, "",
			[]string{"credentials", "set", secrets.AvaTaxLicenseKey, credValue}, 2, "credentials set wants one credential name, got 2 arguments (the value is read from stdin"},
		{"unknown name", map[string]string{"TAXBRIDGE_SECRETS_KEY": key}, "",
			[]string{"credentials", "set", "avatax.licence"}, 2, "unknown credential name: want one of avatax.license_key, plex.api_key, plex.api_secret, plex.oauth_client_secret"},
		{"value as name", map[string]string{"TAXBRIDGE_SECRETS_KEY": key}, "",
			[]string{"credentials", "delete", credValue}, 2, "credentials delete: unknown credential name"},
		{"no subcommand", nil, "", []string{"credentials"}, 2, "credentials wants a subcommand: set, list or delete"},
		{"unknown subcommand", nil, "", []string{"credentials", "get", secrets.PlexAPIKey}, 2, `unknown credentials subcommand "get"`},
		{"list with arguments", nil, "", []string{"credentials", "list", "x"}, 2, "credentials list takes no arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			c := &cli{stdout: &out, stderr: &errOut, now: time.Now, stdin: strings.NewReader(tt.stdin),
				env: func(k string) string { return tt.env[k] },
				dial: func() (jetstream.JetStream, func(), error) {
					t.Fatal("connected to NATS")
					return nil, nil, nil
				}}
			code := c.run(context.Background(), tt.args)
			if code != tt.code || !strings.Contains(errOut.String(), tt.want) {
				t.Errorf("exit %d, want %d; stderr %q, want %q", code, tt.code, errOut.String(), tt.want)
			}
			if strings.Contains(out.String()+errOut.String(), credValue) || strings.Contains(out.String()+errOut.String(), key) {
				t.Errorf("printed a secret: %q %q", out.String(), errOut.String())
			}
		})
	}
}

func TestCredentialsHelp(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := Run(context.Background(), []string{"credentials", "-h"}, func(string) string { return "" }, &out, &errOut); code != 0 {
		t.Fatalf("exit %d, %s", code, errOut.String())
	}
	for _, w := range []string{"credentials set [-from-file <path>] <name>", "never from the command line", "TAXBRIDGE_SECRETS_KEY_FILE"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("help lacks %q", w)
		}
	}
}
