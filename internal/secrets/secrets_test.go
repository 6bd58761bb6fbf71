package secrets

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/taxbridge/taxbridge/internal/bus"
)

const plaintext = "lic-PLAINTEXT-0123456789abcdef"

func newJS(t *testing.T) jetstream.JetStream {
	t.Helper()
	emb, err := bus.StartEmbedded(t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emb.Shutdown)
	nc, err := emb.Connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func newKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

// noSecret fails when err's text shows the value or the key.
func noSecret(t *testing.T, err error, key []byte) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	for _, s := range []string{plaintext, string(key), hex.EncodeToString(key), base64.StdEncoding.EncodeToString(key),
		base64.RawURLEncoding.EncodeToString(key)} {
		if s != "" && strings.Contains(msg, s) {
			t.Errorf("error shows a secret: %q", msg)
		}
	}
}

func TestRoundTripAndCiphertextAtRest(t *testing.T) {
	ctx := context.Background()
	js := newJS(t)
	key := newKey(t)
	s, err := Open(ctx, js, key)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(ctx, Bucket)
	if err != nil {
		t.Fatal(err)
	}
	st, err := kv.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.History() != 1 || st.(*jetstream.KeyValueBucketStatus).StreamInfo().Config.Storage != jetstream.FileStorage {
		t.Errorf("bucket: history %d, storage %v", st.History(), st.(*jetstream.KeyValueBucketStatus).StreamInfo().Config.Storage)
	}

	if names, err := s.Names(ctx); err != nil || len(names) != 0 {
		t.Fatalf("empty store: %v, %v", names, err)
	}
	if _, err := s.Get(ctx, AvaTaxLicenseKey); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing credential: %v, want ErrNotFound", err)
	}
	if err := s.Set(ctx, AvaTaxLicenseKey, plaintext); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, PlexAPIKey, "plex-"+plaintext); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Get(ctx, AvaTaxLicenseKey); err != nil || v != plaintext {
		t.Fatalf("Get: %q, %v", v, err)
	}

	// The raw value is ciphertext, and two seals of a value differ (nonce).
	e, err := kv.Get(ctx, AvaTaxLicenseKey)
	if err != nil {
		t.Fatal(err)
	}
	first := e.Value()
	if bytes.Contains(first, []byte(plaintext)) || bytes.Contains(first, []byte("PLAINTEXT")) {
		t.Fatalf("raw KV value holds the plaintext: %q", first)
	}
	if err := s.Set(ctx, AvaTaxLicenseKey, plaintext); err != nil {
		t.Fatal(err)
	}
	if e, err = kv.Get(ctx, AvaTaxLicenseKey); err != nil || bytes.Equal(e.Value(), first) {
		t.Fatalf("same value sealed twice gives the same bytes (%v)", err)
	}

	// Reopening with the same key reads it.
	s2, err := Open(ctx, js, key)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s2.Get(ctx, AvaTaxLicenseKey); err != nil || v != plaintext {
		t.Fatalf("reopened: %q, %v", v, err)
	}

	names, err := s.Names(ctx)
	if err != nil || strings.Join(names, ",") != AvaTaxLicenseKey+","+PlexAPIKey {
		t.Fatalf("Names: %v, %v", names, err)
	}
	infos, err := s.List(ctx)
	if err != nil || len(infos) != 2 || infos[0].Name != AvaTaxLicenseKey || infos[0].Set.IsZero() {
		t.Fatalf("List: %+v, %v", infos, err)
	}

	if err := s.Delete(ctx, PlexAPIKey); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, PlexAPIKey); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted credential: %v", err)
	}
	if err := s.Delete(ctx, PlexAPIKey); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete again: %v", err)
	}
	if names, err := s.Names(ctx); err != nil || len(names) != 1 {
		t.Fatalf("Names after delete: %v, %v", names, err)
	}
}

func TestWrongKey(t *testing.T) {
	ctx := context.Background()
	js := newJS(t)
	key, other := newKey(t), newKey(t)
	s, err := Open(ctx, js, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, AvaTaxLicenseKey, plaintext); err != nil {
		t.Fatal(err)
	}
	wrong, err := Open(ctx, js, other)
	if err != nil {
		t.Fatal(err)
	}
	v, err := wrong.Get(ctx, AvaTaxLicenseKey)
	if !errors.Is(err, ErrWrongKey) || v != "" {
		t.Fatalf("wrong key: %q, %v; want ErrWrongKey", v, err)
	}
	if !strings.Contains(err.Error(), "does not open") || !strings.Contains(err.Error(), AvaTaxLicenseKey) {
		t.Errorf("error %q does not say what failed", err)
	}
	noSecret(t, err, key)
	noSecret(t, err, other)
	// List works with any key: it does not open the values.
	if infos, err := wrong.List(ctx); err != nil || len(infos) != 1 {
		t.Errorf("List with another key: %+v, %v", infos, err)
	}
}

// TestValueMovedToAnotherName: the name is authenticated, so a value
// copied under another name does not open.
func TestValueMovedToAnotherName(t *testing.T) {
	ctx := context.Background()
	js := newJS(t)
	key := newKey(t)
	s, err := Open(ctx, js, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, AvaTaxLicenseKey, plaintext); err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(ctx, Bucket)
	if err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(ctx, AvaTaxLicenseKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, PlexAPIKey, e.Value()); err != nil {
		t.Fatal(err)
	}
	v, err := s.Get(ctx, PlexAPIKey)
	if !errors.Is(err, ErrWrongKey) || v != "" {
		t.Fatalf("moved value: %q, %v; want ErrWrongKey", v, err)
	}
	noSecret(t, err, key)

	// A value that is not a sealed credential at all.
	if _, err := kv.Put(ctx, PlexAPISecret, []byte(plaintext)); err != nil {
		t.Fatal(err)
	}
	if _, err = s.Get(ctx, PlexAPISecret); err == nil {
		t.Fatal("plaintext value accepted")
	}
	noSecret(t, err, key)
}

func TestBadKeyAndNames(t *testing.T) {
	ctx := context.Background()
	js := newJS(t)
	for _, n := range []int{0, 16, 24, 31, 33, 64} {
		key := bytes.Repeat([]byte{'k'}, n)
		_, err := Open(ctx, js, key)
		if !errors.Is(err, ErrBadKey) || !strings.Contains(err.Error(), "want 32") {
			t.Errorf("%d-byte key: %v", n, err)
		}
		if n > 0 {
			noSecret(t, err, key)
		}
	}
	if _, err := js.KeyValue(ctx, Bucket); !errors.Is(err, jetstream.ErrBucketNotFound) {
		t.Errorf("a refused key created the bucket: %v", err)
	}
	s, err := Open(ctx, js, newKey(t))
	if err != nil {
		t.Fatal(err)
	}
	err = s.Set(ctx, "avatax.licence_key", plaintext)
	if !errors.Is(err, ErrUnknownName) {
		t.Fatalf("unknown name: %v", err)
	}
	for _, n := range KnownNames() {
		if !strings.Contains(err.Error(), n) {
			t.Errorf("error %q does not list %s", err, n)
		}
	}
	noSecret(t, err, nil)
	if _, err := s.Get(ctx, "nope"); !errors.Is(err, ErrUnknownName) {
		t.Errorf("Get unknown name: %v", err)
	}
	if err := s.Delete(ctx, "nope"); !errors.Is(err, ErrUnknownName) {
		t.Errorf("Delete unknown name: %v", err)
	}
	if err := s.Set(ctx, PlexAPIKey, ""); err == nil {
		t.Error("empty value accepted")
	}
}

func TestParseKey(t *testing.T) {
	key := newKey(t)
	for _, s := range []string{
		hex.EncodeToString(key),
		strings.ToUpper(hex.EncodeToString(key)),
		base64.StdEncoding.EncodeToString(key),
		base64.RawStdEncoding.EncodeToString(key),
		base64.URLEncoding.EncodeToString(key),
		base64.RawURLEncoding.EncodeToString(key),
		" " + base64.StdEncoding.EncodeToString(key) + "\n",
	} {
		got, err := ParseKey(s)
		if err != nil || !bytes.Equal(got, key) {
			t.Errorf("ParseKey(%q): %x, %v", s, got, err)
		}
	}
	for _, s := range []string{
		"",
		"not a key at all!",
		base64.StdEncoding.EncodeToString(key[:16]),
		hex.EncodeToString(key[:31]),
		"zz" + hex.EncodeToString(key)[2:],
	} {
		_, err := ParseKey(s)
		if !errors.Is(err, ErrBadKey) {
			t.Errorf("ParseKey(%q): %v, want ErrBadKey", s, err)
			continue
		}
		if s != "" && strings.Contains(err.Error(), strings.TrimSpace(s)) {
			t.Errorf("ParseKey error shows the input: %v", err)
		}
	}
}

func TestFill(t *testing.T) {
	ctx := context.Background()
	js := newJS(t)
	s, err := Open(ctx, js, newKey(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, AvaTaxLicenseKey, "from-store"); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, PlexAPIKey, "plex-from-store"); err != nil {
		t.Fatal(err)
	}
	license, apiKey, clientSecret := "", "from-env", ""
	err = Fill(ctx, s, map[string]*string{
		AvaTaxLicenseKey: &license, PlexAPIKey: &apiKey, PlexOAuthClientSecret: &clientSecret,
	})
	if err != nil {
		t.Fatal(err)
	}
	if license != "from-store" || apiKey != "from-env" || clientSecret != "" {
		t.Errorf("Fill: license %q, API key %q, client secret %q", license, apiKey, clientSecret)
	}
	if err := Fill(ctx, nil, map[string]*string{AvaTaxLicenseKey: new(string)}); err != nil {
		t.Errorf("nil store: %v", err)
	}
	wrong, err := Open(ctx, js, newKey(t))
	if err != nil {
		t.Fatal(err)
	}
	empty := ""
	if err := Fill(ctx, wrong, map[string]*string{AvaTaxLicenseKey: &empty}); !errors.Is(err, ErrWrongKey) || empty != "" {
		t.Errorf("Fill with another key: %q, %v", empty, err)
	}
}
