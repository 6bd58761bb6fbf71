package bus

import (
	"log/slog"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// LogConnectionEvents returns the options that make a connection log its
// life: a lost connection once, with the error, its recovery once, with the
// server and how long it was down, and its end. Failed reconnect attempts
// are not logged: nats.go retries every ReconnectWait, and a line per
// attempt per replica drowns the one that matters. Use one call per
// connection: the options share the time of the last disconnection.
func LogConnectionEvents(log *slog.Logger) []nats.Option {
	var downSince atomic.Int64 // unix nanoseconds; 0 while connected
	return []nats.Option{
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			// Close calls this handler too; ClosedHandler reports that.
			if nc.IsClosed() {
				return
			}
			downSince.Store(time.Now().UnixNano())
			log.Warn("NATS connection lost; reconnecting", "err", errText(err))
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			attrs := []any{"url", nc.ConnectedUrlRedacted()}
			if since := downSince.Swap(0); since != 0 {
				attrs = append(attrs, "down_for", time.Since(time.Unix(0, since)).Round(time.Millisecond))
			}
			log.Info("NATS reconnected", attrs...)
		}),
		nats.ClosedHandler(func(nc *nats.Conn) {
			if err := nc.LastError(); err != nil {
				log.Error("NATS connection closed", "err", err)
				return
			}
			// Closed on purpose (shutdown, the demo's end): nothing to act on.
			log.Debug("NATS connection closed")
		}),
	}
}

// errText names a disconnection's cause: nats.go passes nil when the
// server closed the connection without saying why.
func errText(err error) string {
	if err == nil {
		return "connection closed by the server"
	}
	return err.Error()
}

// RedactURL returns a NATS URL, or a comma-separated list of them, fit for
// logs and errors: a password, or a token given as the user, is replaced
// by xxxxx.
func RedactURL(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		parts[i] = redactOne(strings.TrimSpace(p))
	}
	return strings.Join(parts, ",")
}

func redactOne(s string) string {
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return s
	}
	parse := s
	if !strings.Contains(s, "://") {
		parse = "nats://" + s // nats.go accepts host:port alone
	}
	u, err := url.Parse(parse)
	if err != nil || u.User == nil {
		// Whatever precedes the @ may be a secret.
		if i := strings.Index(s, "://"); i >= 0 && i < at {
			return s[:i+3] + "xxxxx" + s[at:]
		}
		return "xxxxx" + s[at:]
	}
	if _, hasPassword := u.User.Password(); hasPassword {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	} else {
		u.User = url.User("xxxxx") // nats.go takes a user without password as a token
	}
	out := u.String()
	if parse != s {
		out = strings.TrimPrefix(out, "nats://")
	}
	return out
}
