package bus

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Embedded is an in-process nats-server with JetStream.
type Embedded struct {
	Server *server.Server
}

// EmbeddedOption changes how StartEmbedded configures the server.
type EmbeddedOption func(*server.Options)

// WithStoreKey encrypts the JetStream store at rest with AES-GCM under a
// key derived from key (TAXBRIDGE_NATS_STORE_KEY): messages, stream and
// consumer state and their metadata. Streams written without a key are
// converted when the server starts with one. An empty key changes nothing.
func WithStoreKey(key string) EmbeddedOption {
	return func(o *server.Options) {
		if key != "" {
			o.JetStreamKey, o.JetStreamCipher = key, server.AES
		}
	}
}

// ErrStoreUnreadable: streams under the store directory were not loaded,
// which with an encrypted store means another key than the one they were
// written with (or none).
var ErrStoreUnreadable = errors.New("JetStream store not readable")

// StartEmbedded starts a nats-server with JetStream storing under dir. With
// listen empty it accepts in-process connections only; otherwise it also
// listens on that host:port (port 0 picks a free one).
//
// It fails with ErrStoreUnreadable when a stream stored under dir does not
// load: the server itself would start without it, and taxbridge would
// then create the stream anew over its data.
func StartEmbedded(dir, listen string, options ...EmbeddedOption) (*Embedded, error) {
	opts := &server.Options{
		ServerName: "taxbridge-embedded", JetStream: true, StoreDir: dir,
		NoLog: true, NoSigs: true, DontListen: listen == "",
	}
	if listen != "" {
		host, port, err := splitHostPort(listen)
		if err != nil {
			return nil, err
		}
		opts.Host, opts.Port = host, port
		if port == 0 {
			opts.Port = server.RANDOM_PORT
		}
	}
	for _, o := range options {
		o(opts)
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats-server: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("embedded nats-server did not start within 10s (store %s)", dir)
	}
	e := &Embedded{Server: s}
	if missing, encrypted := e.unloadedStreams(); len(missing) > 0 {
		e.Shutdown()
		var hint string
		switch {
		case opts.JetStreamKey != "":
			hint = "TAXBRIDGE_NATS_STORE_KEY is not the key they were written with (or they are damaged); set the key they were written with"
		case encrypted:
			hint = "they are encrypted: set TAXBRIDGE_NATS_STORE_KEY to the key they were written with"
		default:
			hint = "their metadata is damaged"
		}
		return nil, fmt.Errorf("embedded nats-server: %w: stream(s) %s under %s did not load: %s",
			ErrStoreUnreadable, strings.Join(missing, ", "), dir, hint)
	}
	return e, nil
}

// unloadedStreams lists the streams stored (a directory with metadata)
// that the server did not load, and whether any of them is encrypted.
// nats-server skips, with a warning only, a stream whose metadata it
// cannot read or decrypt.
func (e *Embedded) unloadedStreams() (missing []string, encrypted bool) {
	root := e.Server.StoreDir()
	if root == "" {
		return nil, false
	}
	streams := filepath.Join(root, server.DEFAULT_GLOBAL_ACCOUNT, "streams")
	entries, err := os.ReadDir(streams)
	if err != nil {
		return nil, false // a new store
	}
	var onDisk []string
	for _, d := range entries {
		// "." marks a stream being deleted; one without metadata was never
		// fully created, and the server drops it.
		if !d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			continue
		}
		if _, err := os.Stat(filepath.Join(streams, d.Name(), "meta.inf")); err == nil {
			onDisk = append(onDisk, d.Name())
		}
	}
	if len(onDisk) == 0 {
		return nil, false
	}
	loaded := map[string]bool{}
	if acc, err := e.Server.JszAccount(&server.JSzOptions{Account: server.DEFAULT_GLOBAL_ACCOUNT, Streams: true}); err == nil {
		for _, sd := range acc.Streams {
			loaded[sd.Name] = true
		}
	}
	for _, n := range onDisk {
		if !loaded[n] {
			missing = append(missing, n)
			if _, err := os.Stat(filepath.Join(streams, n, "meta.key")); err == nil {
				encrypted = true
			}
		}
	}
	slices.Sort(missing)
	return missing, encrypted
}

// Connect opens a client connection. In-process when the server does not
// listen: its ClientURL would point at a port nobody listens on.
func (e *Embedded) Connect(opts ...nats.Option) (*nats.Conn, error) {
	opts = append(opts, nats.InProcessServer(e.Server))
	nc, err := nats.Connect("", opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to embedded nats-server: %w", err)
	}
	return nc, nil
}

// URL is the client URL when the server listens on TCP, "" otherwise.
func (e *Embedded) URL() string {
	if e.Server.Addr() == nil {
		return ""
	}
	return e.Server.ClientURL()
}

// Shutdown stops the server and waits for it.
func (e *Embedded) Shutdown() {
	e.Server.Shutdown()
	e.Server.WaitForShutdown()
}
