// Package config reads taxbridge's process settings from TAXBRIDGE_*
// environment variables.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/taxbridge/taxbridge/internal/secrets"
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
	AvaTaxLicenseKey string `envconfig:"AVATAX_LICENSE_KEY" json:"-" desc:"AvaTax license key (or use TAXBRIDGE_AVATAX_LICENSE_KEY_FILE, or the credentials store: avatax.license_key)"`
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

	// SecretsKey opens the credentials store (package secrets): the
	// secrets the environment does not give are read from there.
	SecretsKey     string `envconfig:"SECRETS_KEY" json:"-" desc:"key of the credentials store (KV bucket taxbridge_credentials, managed with taxctl credentials): 32 random bytes as base64 or 64 hex digits, e.g. openssl rand -base64 32 (or use TAXBRIDGE_SECRETS_KEY_FILE); empty: no credentials store"`
	SecretsKeyFile string `envconfig:"SECRETS_KEY_FILE" desc:"file holding TAXBRIDGE_SECRETS_KEY"`
	// NATSStoreKey encrypts the embedded server's JetStream store at rest.
	NATSStoreKey     string `envconfig:"NATS_STORE_KEY" json:"-" desc:"encrypt the embedded nats-server's JetStream store at rest (AES-GCM) with a key derived from this secret, e.g. openssl rand -base64 32 (or use TAXBRIDGE_NATS_STORE_KEY_FILE); refused with TAXBRIDGE_NATS_URL, whose server's operator configures its own"`
	NATSStoreKeyFile string `envconfig:"NATS_STORE_KEY_FILE" desc:"file holding TAXBRIDGE_NATS_STORE_KEY"`

	// PlexURL turns the Plex integration on.
	PlexURL                   string        `envconfig:"PLEX_URL" desc:"Plex Connect API base URL; empty: Plex integration off"`
	PlexAPIKey                string        `envconfig:"PLEX_API_KEY" json:"-" desc:"Plex Connect API key (or use TAXBRIDGE_PLEX_API_KEY_FILE, or the credentials store: plex.api_key)"`
	PlexAPIKeyFile            string        `envconfig:"PLEX_API_KEY_FILE" desc:"file holding the Plex API key"`
	PlexTenantID              string        `envconfig:"PLEX_TENANT_ID" desc:"Plex tenant id (header X-Plex-Connect-Tenant-Id); empty: the API key's default tenant"`
	PlexOAuthTokenURL         string        `envconfig:"PLEX_OAUTH_TOKEN_URL" desc:"OAuth2 token URL for Plex (client credentials); empty: API key only"`
	PlexOAuthClientID         string        `envconfig:"PLEX_OAUTH_CLIENT_ID" desc:"OAuth2 client id for Plex"`
	PlexOAuthClientSecret     string        `envconfig:"PLEX_OAUTH_CLIENT_SECRET" json:"-" desc:"OAuth2 client secret for Plex (or use TAXBRIDGE_PLEX_OAUTH_CLIENT_SECRET_FILE, or the credentials store: plex.oauth_client_secret)"`
	PlexOAuthClientSecretFile string        `envconfig:"PLEX_OAUTH_CLIENT_SECRET_FILE" desc:"file holding the Plex OAuth2 client secret"`
	PlexPollInterval          time.Duration `envconfig:"PLEX_POLL_INTERVAL" default:"1m" desc:"how often Plex is polled for new and changed sales orders; 0: no poller"`
	PlexSalesChannel          string        `envconfig:"PLEX_SALES_CHANNEL" default:"plex" desc:"sales channel of the orders that come from Plex"`
	PlexCancelStatuses        []string      `envconfig:"PLEX_CANCEL_STATUSES" default:"Cancelled" desc:"comma-separated Plex order statuses that cancel the order (void its tax)"`
	PlexDocumentPrefix        string        `envconfig:"PLEX_DOCUMENT_PREFIX" default:"PLEX" desc:"prefix of the AvaTax document codes of Plex orders"`
	PlexBudget                int           `envconfig:"PLEX_BUDGET" default:"200" desc:"Plex API calls per minute, all of taxbridge's processes together"`
	PlexLeaseTTL              time.Duration `envconfig:"PLEX_LEASE_TTL" default:"30s" desc:"lease of the Plex poller: another process takes over this long after the holder stops renewing it"`
	// PlexReferenceMaxAge and PlexMaxCallsPerCycle keep a poll cycle
	// within Plex's budget: re-reading every customer each cycle costs
	// two calls per customer.
	PlexReferenceMaxAge  time.Duration `envconfig:"PLEX_REFERENCE_MAX_AGE" default:"10m" desc:"how long a poll may reuse a customer or supplier (addresses, exemption, tax code) read by an earlier one; a change to them is seen this late at most (changes to orders are seen at the next poll); 0: read them every poll"`
	PlexMaxCallsPerCycle int           `envconfig:"PLEX_MAX_CALLS_PER_CYCLE" default:"150" desc:"Plex calls one poll may make, leaving the rest of TAXBRIDGE_PLEX_BUDGET to the write-back; orders whose customer was never read wait for the next poll; 0: no cap"`
	PlexWriteback        bool          `envconfig:"PLEX_WRITEBACK" default:"true" desc:"write the calculated tax back to the Plex order"`
	PlexAdjustmentType   string        `envconfig:"PLEX_ADJUSTMENT_TYPE" default:"Sales Tax" desc:"type of the price adjustment that carries a sales order's tax in Plex (its description is \"AvaTax <document code>\"); purchase orders get the tax on their lines"`

	// credentialsFromStore: the process reads the credentials store once
	// NATS is up (CredentialsFromStore), so Load leaves the check of the
	// secrets to ValidateCredentials.
	credentialsFromStore bool
}

// CredentialsFromStore is an adjust of Load for a process that, with
// TAXBRIDGE_SECRETS_KEY set, reads the secrets the environment does not
// give from the credentials store once NATS is up (secrets.Fill with
// Credentials), then calls ValidateCredentials. Without it Load requires
// every needed secret from the environment: a process that does not read
// the store must not start without them.
func CredentialsFromStore(c *Config) { c.credentialsFromStore = true }

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
	var errs []error
	for _, sf := range c.secretFiles() {
		if err := sf.read(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("configuration: %w", errors.Join(errs...))
	}
	for i, st := range c.PlexCancelStatuses {
		c.PlexCancelStatuses[i] = strings.TrimSpace(st)
	}
	for _, f := range adjust {
		f(&c)
	}
	return &c, c.validate()
}

// secretFile is a secret setting and the _FILE setting that may give it.
type secretFile struct {
	name, fileName string
	value          *string
	file           string
}

func (c *Config) secretFiles() []secretFile {
	return []secretFile{
		{"TAXBRIDGE_AVATAX_LICENSE_KEY", "TAXBRIDGE_AVATAX_LICENSE_KEY_FILE", &c.AvaTaxLicenseKey, c.AvaTaxLicenseKeyFile},
		{"TAXBRIDGE_PLEX_API_KEY", "TAXBRIDGE_PLEX_API_KEY_FILE", &c.PlexAPIKey, c.PlexAPIKeyFile},
		{"TAXBRIDGE_PLEX_OAUTH_CLIENT_SECRET", "TAXBRIDGE_PLEX_OAUTH_CLIENT_SECRET_FILE", &c.PlexOAuthClientSecret, c.PlexOAuthClientSecretFile},
		{"TAXBRIDGE_SECRETS_KEY", "TAXBRIDGE_SECRETS_KEY_FILE", &c.SecretsKey, c.SecretsKeyFile},
		{"TAXBRIDGE_NATS_STORE_KEY", "TAXBRIDGE_NATS_STORE_KEY_FILE", &c.NATSStoreKey, c.NATSStoreKeyFile},
	}
}

// read sets the value from the file, trimmed, when the file is given. The
// error names the settings and the file, never the content.
func (sf secretFile) read() error {
	if sf.file == "" {
		return nil
	}
	if *sf.value != "" {
		return fmt.Errorf("%s and %s are both set: give the secret one way", sf.name, sf.fileName)
	}
	b, err := os.ReadFile(sf.file)
	if err != nil {
		return fmt.Errorf("%s: %w", sf.fileName, err)
	}
	if *sf.value = strings.TrimSpace(string(b)); *sf.value == "" {
		return fmt.Errorf("%s: %s is empty", sf.fileName, sf.file)
	}
	return nil
}

func (c *Config) validate() error {
	var errs []error
	if c.AvaTaxAccountID == "" && c.AvaTaxLicenseKey != "" {
		errs = append(errs, errors.New("TAXBRIDGE_AVATAX_ACCOUNT_ID and TAXBRIDGE_AVATAX_LICENSE_KEY must be set together"))
	}
	if c.SecretsKey != "" {
		if _, err := secrets.ParseKey(c.SecretsKey); err != nil {
			errs = append(errs, fmt.Errorf("TAXBRIDGE_SECRETS_KEY: %w", err))
		}
	}
	if c.NATSStoreKey != "" && c.NATSURL != "" {
		errs = append(errs, errors.New("TAXBRIDGE_NATS_STORE_KEY encrypts the store of the embedded nats-server, and there is none with "+
			"TAXBRIDGE_NATS_URL: the operator of that server encrypts its store (nats-server's jetstream { cipher: aes, key: ... }); unset TAXBRIDGE_NATS_STORE_KEY"))
	}
	errs = append(errs, c.plexErrors()...)
	if c.SecretsKey == "" || !c.credentialsFromStore {
		// Otherwise the credentials store may give the missing secrets:
		// ValidateCredentials checks once it has.
		errs = append(errs, c.credentialErrors()...)
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

func (c *Config) plexErrors() []error {
	var errs []error
	if c.PlexURL != "" {
		if u, err := url.Parse(c.PlexURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("TAXBRIDGE_PLEX_URL %q: want an http(s) URL", c.PlexURL))
		}
	}
	if c.PlexOAuthTokenURL != "" {
		if u, err := url.Parse(c.PlexOAuthTokenURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("TAXBRIDGE_PLEX_OAUTH_TOKEN_URL %q: want an http(s) URL", c.PlexOAuthTokenURL))
		}
	}
	if (c.PlexOAuthTokenURL == "") != (c.PlexOAuthClientID == "") {
		errs = append(errs, errors.New("TAXBRIDGE_PLEX_OAUTH_TOKEN_URL and TAXBRIDGE_PLEX_OAUTH_CLIENT_ID must be set together"))
	}
	if c.PlexPollInterval < 0 {
		errs = append(errs, fmt.Errorf("TAXBRIDGE_PLEX_POLL_INTERVAL %s: want 0 (no poller) or more", c.PlexPollInterval))
	}
	if c.PlexBudget < 1 {
		errs = append(errs, fmt.Errorf("TAXBRIDGE_PLEX_BUDGET %d: want at least 1 call per minute", c.PlexBudget))
	}
	if c.PlexWriteback && strings.TrimSpace(c.PlexAdjustmentType) == "" {
		errs = append(errs, errors.New("TAXBRIDGE_PLEX_ADJUSTMENT_TYPE is empty: the write-back needs the type of the price adjustment that carries the tax"))
	}
	if c.PlexReferenceMaxAge < 0 || c.PlexMaxCallsPerCycle < 0 {
		errs = append(errs, fmt.Errorf("TAXBRIDGE_PLEX_REFERENCE_MAX_AGE %s, TAXBRIDGE_PLEX_MAX_CALLS_PER_CYCLE %d: want 0 or more",
			c.PlexReferenceMaxAge, c.PlexMaxCallsPerCycle))
	}
	if c.PlexLeaseTTL < time.Second {
		errs = append(errs, fmt.Errorf("TAXBRIDGE_PLEX_LEASE_TTL %s: want at least 1s", c.PlexLeaseTTL))
	}
	if strings.TrimSpace(c.PlexSalesChannel) == "" {
		errs = append(errs, errors.New("TAXBRIDGE_PLEX_SALES_CHANNEL is empty"))
	}
	for _, st := range c.PlexCancelStatuses {
		if strings.TrimSpace(st) == "" {
			errs = append(errs, fmt.Errorf("TAXBRIDGE_PLEX_CANCEL_STATUSES %q: an empty status", strings.Join(c.PlexCancelStatuses, ",")))
			break
		}
	}
	return errs
}

// credentialErrors reports the secrets that the settings need and that are
// missing: the AvaTax license key with an account id, the Plex API key with
// Plex on, the OAuth client secret with an OAuth client.
func (c *Config) credentialErrors() []error {
	var errs []error
	store := func(name string) string {
		if c.SecretsKey != "" && c.credentialsFromStore {
			return ", or store it with taxctl credentials set " + name
		}
		return ", or store it with taxctl credentials set " + name + " and set TAXBRIDGE_SECRETS_KEY"
	}
	if c.AvaTaxAccountID != "" && c.AvaTaxLicenseKey == "" {
		errs = append(errs, fmt.Errorf("TAXBRIDGE_AVATAX_ACCOUNT_ID and TAXBRIDGE_AVATAX_LICENSE_KEY must be set together: "+
			"the account id is set but no license key: set TAXBRIDGE_AVATAX_LICENSE_KEY or TAXBRIDGE_AVATAX_LICENSE_KEY_FILE%s",
			store(secrets.AvaTaxLicenseKey)))
	}
	if c.PlexURL != "" && c.PlexAPIKey == "" {
		errs = append(errs, fmt.Errorf("TAXBRIDGE_PLEX_URL is set but no Plex API key: set TAXBRIDGE_PLEX_API_KEY "+
			"or TAXBRIDGE_PLEX_API_KEY_FILE%s", store(secrets.PlexAPIKey)))
	}
	if c.PlexURL != "" && c.PlexOAuthClientID != "" && c.PlexOAuthClientSecret == "" {
		errs = append(errs, fmt.Errorf("TAXBRIDGE_PLEX_OAUTH_CLIENT_ID is set but no client secret: set TAXBRIDGE_PLEX_OAUTH_CLIENT_SECRET "+
			"or TAXBRIDGE_PLEX_OAUTH_CLIENT_SECRET_FILE%s", store(secrets.PlexOAuthClientSecret)))
	}
	return errs
}

// ValidateCredentials checks, once the credentials store has filled the
// secrets the environment did not give (Credentials, secrets.Fill), that
// none the settings need is missing. Load already did unless given
// CredentialsFromStore with TAXBRIDGE_SECRETS_KEY set.
func (c *Config) ValidateCredentials() error {
	if errs := c.credentialErrors(); len(errs) > 0 {
		return fmt.Errorf("configuration: %w", errors.Join(errs...))
	}
	return nil
}

// SecretsKeyBytes returns the credentials store key, nil when none is
// configured.
func (c *Config) SecretsKeyBytes() ([]byte, error) {
	if c.SecretsKey == "" {
		return nil, nil
	}
	k, err := secrets.ParseKey(c.SecretsKey)
	if err != nil {
		return nil, fmt.Errorf("TAXBRIDGE_SECRETS_KEY: %w", err)
	}
	return k, nil
}

// Credentials maps the names of the credentials store to the settings
// they give, for secrets.Fill: it fills those still empty, after the
// variables and their _FILE.
func (c *Config) Credentials() map[string]*string {
	return map[string]*string{
		secrets.AvaTaxLicenseKey:      &c.AvaTaxLicenseKey,
		secrets.PlexAPIKey:            &c.PlexAPIKey,
		secrets.PlexOAuthClientSecret: &c.PlexOAuthClientSecret,
	}
}

// PlexEnabled reports whether the Plex integration is on.
func (c *Config) PlexEnabled() bool { return c.PlexURL != "" }

// redacted is what String, GoString and LogValue show of a secret set.
const redacted = "REDACTED"

// plain is Config without its methods, for printing.
type plain Config

func (c Config) redact() plain {
	for _, p := range []*string{&c.AvaTaxLicenseKey, &c.PlexAPIKey, &c.PlexOAuthClientSecret, &c.SecretsKey, &c.NATSStoreKey} {
		if *p != "" {
			*p = redacted
		}
	}
	c.PlexCancelStatuses = slices.Clone(c.PlexCancelStatuses)
	return plain(c)
}

// String prints the settings with the secrets replaced by REDACTED, so
// that %v and %+v never show them.
func (c Config) String() string { return fmt.Sprintf("%+v", c.redact()) }

// GoString is %#v, secrets REDACTED.
func (c Config) GoString() string { return fmt.Sprintf("config.Config%+v", c.redact()) }

// LogValue is the configuration in logs (log/slog), secrets REDACTED.
func (c Config) LogValue() slog.Value {
	r := c.redact()
	v := reflect.ValueOf(r)
	t := v.Type()
	attrs := make([]slog.Attr, 0, t.NumField())
	for i := range t.NumField() {
		if t.Field(i).IsExported() {
			attrs = append(attrs, slog.Any(t.Field(i).Name, v.Field(i).Interface()))
		}
	}
	return slog.GroupValue(attrs...)
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
