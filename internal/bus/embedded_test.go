package bus

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

const canary = "canary-plaintext-XYZ"

// putCanary starts a server on dir, writes the canary to a file KV bucket
// and stops the server.
func putCanary(t *testing.T, dir string, opts ...EmbeddedOption) {
	t.Helper()
	emb, err := StartEmbedded(dir, "", opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Shutdown()
	kv := canaryBucket(t, emb, true)
	if _, err := kv.Put(context.Background(), "k", []byte(canary)); err != nil {
		t.Fatal(err)
	}
}

func canaryBucket(t *testing.T, emb *Embedded, create bool) jetstream.KeyValue {
	t.Helper()
	nc, err := emb.Connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if !create {
		kv, err := js.KeyValue(ctx, "canary")
		if err != nil {
			t.Fatal(err)
		}
		return kv
	}
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "canary", Storage: jetstream.FileStorage})
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

// filesHold reports whether any file under dir contains s.
func filesHold(t *testing.T, dir, s string) bool {
	t.Helper()
	found, files := false, 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files++
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(s)) {
			found = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Fatalf("no files under %s", dir)
	}
	return found
}

// TestStoreEncryptedAtRest: with a store key the canary is nowhere in the
// store's files; without one it is (so the scan can fail). The same key
// reads it back; another key, or none, is refused with ErrStoreUnreadable.
func TestStoreEncryptedAtRest(t *testing.T) {
	const key = "store-key-0123456789-abcdefghijklmnop"

	plain := t.TempDir()
	putCanary(t, plain)
	if !filesHold(t, plain, canary) {
		t.Fatal("the canary is not in the files of an unencrypted store: the scan proves nothing")
	}

	enc := t.TempDir()
	putCanary(t, enc, WithStoreKey(key))
	if filesHold(t, enc, canary) {
		t.Fatal("the canary is in clear in the files of the encrypted store")
	}

	emb, err := StartEmbedded(enc, "", WithStoreKey(key))
	if err != nil {
		t.Fatalf("restart with the same key: %v", err)
	}
	e, err := canaryBucket(t, emb, false).Get(context.Background(), "k")
	if err != nil || string(e.Value()) != canary {
		t.Fatalf("restart with the same key: %v", err)
	}
	emb.Shutdown()

	for name, tc := range map[string]struct {
		opts []EmbeddedOption
		want string
	}{
		"another key": {[]EmbeddedOption{WithStoreKey("another-key-9876543210")}, "TAXBRIDGE_NATS_STORE_KEY is not the key they were written with"},
		"no key":      {nil, "they are encrypted: set TAXBRIDGE_NATS_STORE_KEY"},
	} {
		_, err := StartEmbedded(enc, "", tc.opts...)
		if !errors.Is(err, ErrStoreUnreadable) || !strings.Contains(err.Error(), "KV_canary") ||
			!strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrStoreUnreadable naming the stream and the setting", name, err)
		}
		if err != nil && strings.Contains(err.Error(), key) {
			t.Errorf("%s: error shows the key: %v", name, err)
		}
	}

	// The refused starts left the data alone: the right key still reads it.
	emb, err = StartEmbedded(enc, "", WithStoreKey(key))
	if err != nil {
		t.Fatalf("start with the right key after refusals: %v", err)
	}
	defer emb.Shutdown()
	if e, err := canaryBucket(t, emb, false).Get(context.Background(), "k"); err != nil || string(e.Value()) != canary {
		t.Fatalf("after refusals: %v", err)
	}
}

// TestStoreKeyEncryptsAnExistingStore: a store written without a key is
// converted when the server starts with one.
func TestStoreKeyEncryptsAnExistingStore(t *testing.T) {
	const key = "store-key-for-conversion-0123456789"
	dir := t.TempDir()
	putCanary(t, dir)
	emb, err := StartEmbedded(dir, "", WithStoreKey(key))
	if err != nil {
		t.Fatal(err)
	}
	if e, err := canaryBucket(t, emb, false).Get(context.Background(), "k"); err != nil || string(e.Value()) != canary {
		t.Fatalf("converted store: %v", err)
	}
	emb.Shutdown()
	if filesHold(t, dir, canary) {
		t.Error("the canary is still in clear after the conversion")
	}
}
