package bus

import (
	"fmt"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Embedded is an in-process nats-server with JetStream.
type Embedded struct {
	Server *server.Server
}

// StartEmbedded starts a nats-server with JetStream storing under dir. With
// listen empty it accepts in-process connections only; otherwise it also
// listens on that host:port (port 0 picks a free one).
func StartEmbedded(dir, listen string) (*Embedded, error) {
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
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats-server: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("embedded nats-server did not start within 10s (store %s)", dir)
	}
	return &Embedded{Server: s}, nil
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
