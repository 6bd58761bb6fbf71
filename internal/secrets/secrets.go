// Package secrets keeps taxbridge's credentials (the AvaTax license key,
// the Plex API key and OAuth client secret) in the NATS KV bucket
// taxbridge_credentials, each value sealed with AES-256-GCM under a 32-byte
// key that only the processes hold (TAXBRIDGE_SECRETS_KEY): whoever reads
// the bucket, its stream or the server's files sees ciphertext.
//
// A stored value is
//
//	version (1 byte, 1) | nonce (12 random bytes) | AES-256-GCM ciphertext and tag
//
// sealed with the credential's name as additional authenticated data, so
// a value copied under another name does not open.
//
// No error of this package carries a value or the key.
package secrets

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Bucket is the KV bucket of the credentials.
const Bucket = "taxbridge_credentials"

// KeySize is the size of the secrets key: AES-256.
const KeySize = 32

// The names of the credentials taxbridge knows.
const (
	AvaTaxLicenseKey      = "avatax.license_key"
	PlexAPIKey            = "plex.api_key"
	PlexOAuthClientSecret = "plex.oauth_client_secret"
	PlexAPISecret         = "plex.api_secret"
)

// KnownNames returns the names a credential may have, sorted.
func KnownNames() []string {
	return []string{AvaTaxLicenseKey, PlexAPIKey, PlexAPISecret, PlexOAuthClientSecret}
}

// Errors, for errors.Is. The errors returned wrap them with the name of
// the credential, never with its value.
var (
	// ErrNotFound: no credential of that name is stored.
	ErrNotFound = errors.New("credential not stored")
	// ErrWrongKey: the secrets key does not open the stored value. Either
	// the key is not the one the value was sealed with, or the value was
	// sealed for another name.
	ErrWrongKey = errors.New("the secrets key does not open the stored value")
	// ErrUnknownName: the name is not one of KnownNames.
	ErrUnknownName = errors.New("unknown credential name")
	// ErrBadKey: the secrets key is not 32 bytes, or not readable as such.
	ErrBadKey = errors.New("bad secrets key")
)

// version is the first byte of a sealed value.
const version byte = 1

const nonceSize = 12

// Store is the credentials store. Its methods are safe for concurrent use.
type Store struct {
	kv   jetstream.KeyValue
	aead cipher.AEAD
}

// Option changes how Open creates the bucket.
type Option func(*options)

type options struct {
	replicas int
	bucket   string
	noCreate bool
}

// ErrNoBucket: Open was told not to create the bucket, and there is none.
var ErrNoBucket = errors.New("no credentials bucket")

// WithoutCreate makes Open fail with ErrNoBucket instead of creating a
// missing bucket (for commands that only read or delete).
func WithoutCreate() Option { return func(o *options) { o.noCreate = true } }

// WithReplicas sets the replicas of the bucket when Open creates it
// (default 1).
func WithReplicas(n int) Option { return func(o *options) { o.replicas = n } }

// WithBucket stores the credentials in another bucket than Bucket (tests).
func WithBucket(name string) Option { return func(o *options) { o.bucket = name } }

// Open opens the credentials bucket, creating it if missing, with key, the
// 32-byte secrets key (see ParseKey).
func Open(ctx context.Context, js jetstream.JetStream, key []byte, opts ...Option) (*Store, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	o := options{replicas: 1, bucket: Bucket}
	for _, f := range opts {
		f(&o)
	}
	kv, err := js.KeyValue(ctx, o.bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) && o.noCreate {
		return nil, fmt.Errorf("%w %s: no credential was ever stored", ErrNoBucket, o.bucket)
	}
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      o.bucket,
			Description: "taxbridge credentials, sealed with AES-256-GCM under TAXBRIDGE_SECRETS_KEY",
			History:     1,
			Storage:     jetstream.FileStorage,
			Replicas:    o.replicas,
		})
		if errors.Is(err, jetstream.ErrBucketExists) { // created meanwhile by another process
			kv, err = js.KeyValue(ctx, o.bucket)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("credentials bucket %s: %w", o.bucket, err)
	}
	return &Store{kv: kv, aead: aead}, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("%w: %d bytes, want %d (AES-256); generate one with `openssl rand -base64 32`", ErrBadKey, len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	return cipher.NewGCM(block)
}

// ParseKey reads a secrets key given as base64 (standard or URL alphabet,
// padded or not) or as 64 hexadecimal characters, surrounding white space
// ignored. The error never shows s.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) == 2*KeySize {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != KeySize {
				return nil, fmt.Errorf("%w: base64 of %d bytes, want %d (AES-256); generate one with `openssl rand -base64 32`", ErrBadKey, len(b), KeySize)
			}
			return b, nil
		}
	}
	return nil, fmt.Errorf("%w: %d characters that are neither base64 nor 64 hexadecimal digits; generate one with `openssl rand -base64 32`", ErrBadKey, len(s))
}

// CheckName returns an error unless name is one of KnownNames.
func CheckName(name string) error {
	if slices.Contains(KnownNames(), name) {
		return nil
	}
	return fmt.Errorf("%w %q: want one of %s", ErrUnknownName, name, strings.Join(KnownNames(), ", "))
}

// Set stores value under name, replacing the previous one.
func (s *Store) Set(ctx context.Context, name, value string) error {
	if err := CheckName(name); err != nil {
		return err
	}
	if value == "" {
		return fmt.Errorf("credential %s: empty value; use Delete to remove it", name)
	}
	sealed, err := s.seal(name, value)
	if err != nil {
		return fmt.Errorf("credential %s: %w", name, err)
	}
	if _, err := s.kv.Put(ctx, name, sealed); err != nil {
		return fmt.Errorf("store credential %s: %w", name, err)
	}
	return nil
}

// Get returns the value stored under name: ErrNotFound when there is none,
// ErrWrongKey when the store's key does not open it.
func (s *Store) Get(ctx context.Context, name string) (string, error) {
	if err := CheckName(name); err != nil {
		return "", err
	}
	e, err := s.kv.Get(ctx, name)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return "", fmt.Errorf("credential %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("read credential %s: %w", name, err)
	}
	v, err := s.open(name, e.Value())
	if err != nil {
		return "", fmt.Errorf("credential %s: %w", name, err)
	}
	return v, nil
}

// Delete removes the credential name, and its value from the bucket's
// history: ErrNotFound when there is none.
func (s *Store) Delete(ctx context.Context, name string) error {
	if err := CheckName(name); err != nil {
		return err
	}
	if _, err := s.kv.Get(ctx, name); errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("credential %s: %w", name, ErrNotFound)
	} else if err != nil {
		return fmt.Errorf("read credential %s: %w", name, err)
	}
	if err := s.kv.Purge(ctx, name); err != nil {
		return fmt.Errorf("delete credential %s: %w", name, err)
	}
	return nil
}

// Names returns the names of the stored credentials, sorted.
func (s *Store) Names(ctx context.Context) ([]string, error) {
	names, err := s.kv.Keys(ctx)
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return []string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list credentials: %w", err)
	}
	return names, nil // sorted by Keys
}

// Info describes a stored credential, without its value.
type Info struct {
	Name string
	// Set is when the value was stored.
	Set time.Time
	// Revision is the bucket's revision of the value.
	Revision uint64
}

// List describes the stored credentials, sorted by name. It does not open
// the values: it works with any key.
func (s *Store) List(ctx context.Context) ([]Info, error) {
	names, err := s.Names(ctx)
	if err != nil {
		return nil, err
	}
	infos := make([]Info, 0, len(names))
	for _, n := range names {
		e, err := s.kv.Get(ctx, n)
		if errors.Is(err, jetstream.ErrKeyNotFound) { // deleted meanwhile
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read credential %s: %w", n, err)
		}
		infos = append(infos, Info{Name: n, Set: e.Created(), Revision: e.Revision()})
	}
	return infos, nil
}

// Fill sets each empty *targets[name] to the value stored under name, and
// leaves the others, and those with no stored value, as they are: the
// environment and its _FILE variables take precedence over the store. A
// nil store fills nothing.
func Fill(ctx context.Context, s *Store, targets map[string]*string) error {
	if s == nil {
		return nil
	}
	names := make([]string, 0, len(targets))
	for n := range targets {
		names = append(names, n)
	}
	slices.Sort(names)
	var errs []error
	for _, n := range names {
		p := targets[n]
		if p == nil || *p != "" {
			continue
		}
		v, err := s.Get(ctx, n)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			errs = append(errs, err)
		default:
			*p = v
		}
	}
	return errors.Join(errs...)
}

func (s *Store) seal(name, value string) ([]byte, error) {
	out := make([]byte, 1+nonceSize, 1+nonceSize+len(value)+s.aead.Overhead())
	out[0] = version
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("nonce: %w", err)
	}
	return s.aead.Seal(out, out[1:1+nonceSize], []byte(value), []byte(name)), nil
}

func (s *Store) open(name string, sealed []byte) (string, error) {
	if len(sealed) < 1+nonceSize+s.aead.Overhead() || sealed[0] != version {
		return "", errors.New("stored value is not a sealed credential (unknown format)")
	}
	plain, err := s.aead.Open(nil, sealed[1:1+nonceSize], sealed[1+nonceSize:], []byte(name))
	if err != nil {
		return "", fmt.Errorf("%w: it was sealed with another TAXBRIDGE_SECRETS_KEY, or for another name", ErrWrongKey)
	}
	return string(plain), nil
}
