// Package config reads taxbridge's process settings from TAXBRIDGE_*
// environment variables.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"
)

// Prefix of every environment variable.
const Prefix = "TAXBRIDGE"

// Config holds the process settings.
type Config struct {
	// NATSURL of an existing NATS server; empty starts an embedded one.
	NATSURL string `envconfig:"NATS_URL" desc:"NATS server URL; empty: start an embedded nats-server with JetStream"`
	// NATSCredsFile is a NATS credentials file for NATSURL.
	NATSCredsFile string `envconfig:"NATS_CREDS" desc:"NATS credentials (.creds) file"`
	// DataDir stores the embedded server's JetStream data.
	DataDir string `envconfig:"DATA_DIR" default:"./taxbridge-data" desc:"JetStream storage directory of the embedded nats-server"`
	// NATSListen makes the embedded server listen on TCP, for the nats CLI.
	NATSListen string `envconfig:"NATS_LISTEN" default:"127.0.0.1:4222" desc:"host:port the embedded nats-server listens on; empty: in-process only"`
	// NATSConnectTimeout bounds how long a start waits for NATSURL to
	// answer and take the streams, so that a replica started before its
	// server comes up waits instead of exiting.
	NATSConnectTimeout time.Duration `envconfig:"NATS_CONNECT_TIMEOUT" default:"2m" desc:"how long a start waits for TAXBRIDGE_NATS_URL to be reachable and its streams provisioned before exiting with an error; 0: wait forever"`
	// NATSReplicas is the replication of the streams, the consumer and the
	// buckets: JetStream's quorum needs an odd count.
	NATSReplicas int `envconfig:"NATS_REPLICAS" default:"1" desc:"replicas of taxbridge's streams, consumer and KV buckets: 1, 3 or 5 (more than 1 needs a JetStream cluster at TAXBRIDGE_NATS_URL)"`
	// RecordMaxAge is the TTL of the per-order records.
	RecordMaxAge time.Duration `envconfig:"RECORD_MAX_AGE" default:"0" desc:"how long an order's record in KV tax_orders is kept after its last change (at least 24h; 0: forever); it must outlive the order's last event, returns included, or a late event finds no record and is taken for a new order"`

	// AvaTax chooses the AvaTax service; see AvaTaxService.
	AvaTax           string `envconfig:"AVATAX" desc:"sandbox: the built-in AvaTax sandbox, which invents tax; avalara: Avalara's service, credentials required; empty: avalara, except with nothing configured at all (no NATS URL, tax configuration or credentials), which runs the sandbox"`
	AvaTaxURL        string `envconfig:"AVATAX_URL" desc:"AvaTax base URL, e.g. https://sandbox-rest.avatax.com (the default with credentials); https://rest.avatax.com for production"`
	AvaTaxAccountID  string `envconfig:"AVATAX_ACCOUNT_ID" desc:"AvaTax account id"`
	AvaTaxLicenseKey string `envconfig:"AVATAX_LICENSE_KEY" desc:"AvaTax license key (or use TAXBRIDGE_AVATAX_LICENSE_KEY_FILE)"`
	// AvaTaxLicenseKeyFile holds the license key, e.g. a mounted secret.
	AvaTaxLicenseKeyFile string        `envconfig:"AVATAX_LICENSE_KEY_FILE" desc:"file holding the AvaTax license key"`
	AvaTaxTimeout        time.Duration `envconfig:"AVATAX_TIMEOUT" default:"10s" desc:"timeout of one AvaTax HTTP exchange"`

	AvaTaxRateLimit float64 `envconfig:"AVATAX_RATE_LIMIT" default:"0" desc:"AvaTax requests per second per process, retries included; 0: no limit (Avalara publishes none)"`
	AvaTaxBurst     int     `envconfig:"AVATAX_BURST" default:"10" desc:"requests allowed at once above TAXBRIDGE_AVATAX_RATE_LIMIT"`

	TaxConfigFile string `envconfig:"TAX_CONFIG" desc:"tax configuration file (JSON or YAML); empty: the built-in example"`

	Concurrency int `envconfig:"CONCURRENCY" default:"32" desc:"events processed at once per process"`
	// AvaTaxMaxConcurrency caps AvaTax requests in flight: fewer than
	// events in flight, so events that need no call keep moving while
	// others wait on AvaTax (test/bench measured 32/16 best on 2 cores).
	AvaTaxMaxConcurrency int           `envconfig:"AVATAX_MAX_CONCURRENCY" default:"16" desc:"AvaTax requests in flight per process"`
	AckWait              time.Duration `envconfig:"ACK_WAIT" default:"30s" desc:"redelivery timeout of an unacknowledged event; also the lease of an AvaTax call in progress"`
	MaxDeliver           int           `envconfig:"MAX_DELIVER" default:"20" desc:"deliveries of a failing event before it is dead-lettered"`

	LogLevel string `envconfig:"LOG_LEVEL" default:"info" desc:"debug, info, warn or error"`

	// HTTPListen serves /healthz, /readyz and /metrics.
	HTTPListen string `envconfig:"HTTP_LISTEN" default:"127.0.0.1:8080" desc:"host:port of the HTTP listener (/healthz, /readyz, /metrics); empty: none"`
	// AuditMaxAge is how long AvaTax exchanges stay in the audit stream.
	AuditMaxAge time.Duration `envconfig:"AUDIT_MAX_AGE" default:"2160h" desc:"how long the audit trail keeps AvaTax exchanges (2160h = 90 days; 0: forever)"`
}

// Load reads the environment. Unlike envconfig alone it never falls back to
// unprefixed variables and rejects set-but-invalid values with their name.
// Each adjust, in order, changes the settings read before they are
// validated (taxbridge demo replaces NATS and AvaTax with its own).
func Load(adjust ...func(*Config)) (*Config, error) {
	var c Config
	// envconfig would read NATS_URL when TAXBRIDGE_NATS_URL is unset, because
	// the fields carry explicit names; hide such unprefixed variables.
	restore := hideUnprefixed(&c)
	err := envconfig.Process(Prefix, &c)
	restore()
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	if c.AvaTaxLicenseKeyFile != "" {
		b, err := os.ReadFile(c.AvaTaxLicenseKeyFile)
		if err != nil {
			return nil, fmt.Errorf("configuration: TAXBRIDGE_AVATAX_LICENSE_KEY_FILE: %w", err)
		}
		c.AvaTaxLicenseKey = strings.TrimSpace(string(b))
	}
	for _, f := range adjust {
		f(&c)
	}
	return &c, c.validate()
}

func (c *Config) validate() error {
	var errs []error
	if (c.AvaTaxAccountID == "") != (c.AvaTaxLicenseKey == "") {
		errs = append(errs, errors.New("TAXBRIDGE_AVATAX_ACCOUNT_ID and TAXBRIDGE_AVATAX_LICENSE_KEY must be set together"))
	}
	if c.AvaTaxURL != "" {
		if u, err := url.Parse(c.AvaTaxURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("TAXBRIDGE_AVATAX_URL %q: want an http(s) URL such as %s", c.AvaTaxURL, "https://sandbox-rest.avatax.com"))
		}
		if c.AvaTaxAccountID == "" && c.AvaTax != AvaTaxSandbox {
			errs = append(errs, errors.New("TAXBRIDGE_AVATAX_URL is set but TAXBRIDGE_AVATAX_ACCOUNT_ID and TAXBRIDGE_AVATAX_LICENSE_KEY are not"))
		}
	}
	if _, err := c.AvaTaxService(); err != nil {
		errs = append(errs, err)
	}
	if c.Concurrency < 1 {
		errs = append(errs, fmt.Errorf("TAXBRIDGE_CONCURRENCY %d: want at least 1", c.Concurrency))
	}
	if c.AvaTaxRateLimit < 0 || c.AvaTaxBurst < 1 {
		errs = append(errs, fmt.Errorf("TAXBRIDGE_AVATAX_RATE_LIMIT %g / TAXBRIDGE_AVATAX_BURST %d: want a rate of at least 0 and a burst of at least 1", c.AvaTaxRateLimit, c.AvaTaxBurst))
	}
	if c.AvaTaxMaxConcurrency < 1 {
		errs = append(errs, fmt.Errorf("TAXBRIDGE_AVATAX_MAX_CONCURRENCY %d: want at least 1", c.AvaTaxMaxConcurrency))
	}
	if c.MaxDeliver < 1 {
		errs = append(errs, fmt.Errorf("TAXBRIDGE_MAX_DELIVER %d: want at least 1", c.MaxDeliver))
	}
	if c.AckWait < time.Second {
		errs = append(errs, fmt.Errorf("TAXBRIDGE_ACK_WAIT %s: want at least 1s", c.AckWait))
	}
	if c.AvaTaxTimeout <= 0 || c.AvaTaxTimeout >= c.AckWait {
		errs = append(errs, fmt.Errorf("TAXBRIDGE_AVATAX_TIMEOUT %s: want more than 0 and less than TAXBRIDGE_ACK_WAIT (%s)", c.AvaTaxTimeout, c.AckWait))
	}
	if c.AuditMaxAge < 0 || (c.AuditMaxAge > 0 && c.AuditMaxAge < time.Minute) {
		errs = append(errs, fmt.Errorf("TAXBRIDGE_AUDIT_MAX_AGE %s: want 0 (forever) or at least 1m", c.AuditMaxAge))
	}
	if c.NATSConnectTimeout < 0 {
		errs = append(errs, fmt.Errorf("TAXBRIDGE_NATS_CONNECT_TIMEOUT %s: want 0 (wait forever) or more", c.NATSConnectTimeout))
	}
	switch {
	case c.NATSReplicas != 1 && c.NATSReplicas != 3 && c.NATSReplicas != 5:
		errs = append(errs, fmt.Errorf("TAXBRIDGE_NATS_REPLICAS %d: want 1, 3 or 5", c.NATSReplicas))
	case c.NATSReplicas > 1 && c.NATSURL == "":
		errs = append(errs, fmt.Errorf("TAXBRIDGE_NATS_REPLICAS %d: the embedded nats-server is a single server; set TAXBRIDGE_NATS_URL to a JetStream cluster, or use 1", c.NATSReplicas))
	}
	if c.RecordMaxAge < 0 || (c.RecordMaxAge > 0 && c.RecordMaxAge < 24*time.Hour) {
		errs = append(errs, fmt.Errorf("TAXBRIDGE_RECORD_MAX_AGE %s: want 0 (records kept forever) or at least 24h", c.RecordMaxAge))
	}
	if c.HTTPListen != "" {
		if _, _, err := net.SplitHostPort(c.HTTPListen); err != nil {
			errs = append(errs, fmt.Errorf("TAXBRIDGE_HTTP_LISTEN %q: want host:port, e.g. 127.0.0.1:8080 or :8080", c.HTTPListen))
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("TAXBRIDGE_LOG_LEVEL %q: want debug, info, warn or error", c.LogLevel))
	}
	if len(errs) > 0 {
		return fmt.Errorf("configuration: %w", errors.Join(errs...))
	}
	return nil
}

// The values of TAXBRIDGE_AVATAX.
const (
	// AvaTaxSandbox runs the built-in AvaTax sandbox, which invents tax.
	AvaTaxSandbox = "sandbox"
	// AvaTaxAvalara calls Avalara's service with the configured credentials.
	AvaTaxAvalara = "avalara"
)

// AvaTaxService returns the AvaTax service taxbridge calls, AvaTaxSandbox
// or AvaTaxAvalara, or an error that says what to set.
//
// The sandbox answers every call with tax it invents, so a deployment that
// forgot its credentials must not start on it. It runs only when asked for
// (TAXBRIDGE_AVATAX=sandbox, as taxbridge demo does), or when nothing at
// all is configured (no NATS URL, no tax configuration, no credentials),
// which is a developer's first start.
func (c *Config) AvaTaxService() (string, error) {
	creds := c.AvaTaxAccountID != "" || c.AvaTaxLicenseKey != ""
	switch c.AvaTax {
	case AvaTaxSandbox:
		if creds || c.AvaTaxURL != "" {
			return "", errors.New("TAXBRIDGE_AVATAX=sandbox runs the built-in AvaTax sandbox, which takes no TAXBRIDGE_AVATAX_URL, " +
				"TAXBRIDGE_AVATAX_ACCOUNT_ID or TAXBRIDGE_AVATAX_LICENSE_KEY: unset them, or set TAXBRIDGE_AVATAX=avalara to call that service")
		}
		return AvaTaxSandbox, nil
	case AvaTaxAvalara:
		if !creds {
			return "", errors.New("TAXBRIDGE_AVATAX=avalara needs AvaTax credentials: set TAXBRIDGE_AVATAX_ACCOUNT_ID and " +
				"TAXBRIDGE_AVATAX_LICENSE_KEY (or TAXBRIDGE_AVATAX_LICENSE_KEY_FILE)")
		}
		return AvaTaxAvalara, nil
	case "":
	default:
		return "", fmt.Errorf("TAXBRIDGE_AVATAX %q: want %s, %s or empty", c.AvaTax, AvaTaxAvalara, AvaTaxSandbox)
	}
	if creds {
		return AvaTaxAvalara, nil
	}
	var given []string
	if c.NATSURL != "" {
		given = append(given, "TAXBRIDGE_NATS_URL")
	}
	if c.TaxConfigFile != "" {
		given = append(given, "TAXBRIDGE_TAX_CONFIG")
	}
	if len(given) > 0 {
		verb := "is"
		if len(given) > 1 {
			verb = "are"
		}
		return "", fmt.Errorf("no AvaTax credentials, although %s %s set: set TAXBRIDGE_AVATAX_ACCOUNT_ID and TAXBRIDGE_AVATAX_LICENSE_KEY "+
			"(or TAXBRIDGE_AVATAX_LICENSE_KEY_FILE), or TAXBRIDGE_AVATAX=sandbox to run the built-in sandbox, which invents tax",
			strings.Join(given, " and "), verb)
	}
	return AvaTaxSandbox, nil
}

// UsesSandbox reports whether taxbridge runs the built-in AvaTax sandbox.
func (c *Config) UsesSandbox() bool {
	s, err := c.AvaTaxService()
	return err == nil && s == AvaTaxSandbox
}

// Usage prints the variables, their defaults and descriptions.
func Usage() error { return envconfig.Usage(Prefix, &Config{}) }

// hideUnprefixed unsets, for the duration of envconfig.Process, the
// unprefixed variables envconfig would fall back to, and returns a function
// that restores them.
func hideUnprefixed(spec *Config) func() {
	saved := map[string]string{}
	t := reflect.TypeOf(spec).Elem()
	for i := 0; i < t.NumField(); i++ {
		name := t.Field(i).Tag.Get("envconfig")
		if v, ok := os.LookupEnv(name); ok && name != "" {
			saved[name] = v
			os.Unsetenv(name)
		}
	}
	return func() {
		for k, v := range saved {
			os.Setenv(k, v)
		}
	}
}
