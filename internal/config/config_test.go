package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"
)

func TestDefaultsUseEmbeddedNATSAndSandbox(t *testing.T) {
	t.Setenv("NATS_URL", "nats://stray:4222") // unprefixed: must be ignored
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.NATSURL != "" || !c.UsesSandbox() || c.Concurrency != 32 || c.AvaTaxMaxConcurrency != 16 {
		t.Fatalf("defaults: %+v", c)
	}
	if os.Getenv("NATS_URL") != "nats://stray:4222" {
		t.Fatal("unprefixed variable was not restored")
	}
}

func TestLicenseKeyFromFile(t *testing.T) {
	f := t.TempDir() + "/key"
	if err := os.WriteFile(f, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TAXBRIDGE_AVATAX_ACCOUNT_ID", "1234")
	t.Setenv("TAXBRIDGE_AVATAX_LICENSE_KEY_FILE", f)
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.AvaTaxLicenseKey != "s3cret" || c.UsesSandbox() {
		t.Fatalf("license from file: %+v", c.UsesSandbox())
	}
}

func TestInvalidSettingsAreNamed(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"TAXBRIDGE_CONCURRENCY": "zero"}, "CONCURRENCY"},
		{map[string]string{"TAXBRIDGE_CONCURRENCY": "0"}, "TAXBRIDGE_CONCURRENCY 0"},
		{map[string]string{"TAXBRIDGE_AVATAX_ACCOUNT_ID": "1"}, "must be set together"},
		{map[string]string{"TAXBRIDGE_AVATAX_URL": "sandbox"}, "TAXBRIDGE_AVATAX_URL \"sandbox\""},
		{map[string]string{"TAXBRIDGE_AVATAX_TIMEOUT": "40s"}, "TAXBRIDGE_AVATAX_TIMEOUT 40s"},
		{map[string]string{"TAXBRIDGE_LOG_LEVEL": "loud"}, "TAXBRIDGE_LOG_LEVEL"},
	}
	for _, tt := range tests {
		for k, v := range tt.env {
			t.Setenv(k, v)
		}
		_, err := Load()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: err = %v, want %q", tt.env, err, tt.want)
		}
		for k := range tt.env {
			os.Unsetenv(k)
		}
	}
}

func TestSecretsNeverInErrors(t *testing.T) {
	t.Setenv("TAXBRIDGE_AVATAX_LICENSE_KEY", "very-secret-key")
	_, err := Load()
	if err == nil {
		t.Fatal("license without account accepted")
	}
	if strings.Contains(err.Error(), "very-secret-key") {
		t.Fatalf("error shows the license key: %v", err)
	}
}

func TestObservabilitySettings(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPListen != "127.0.0.1:8080" || c.AuditMaxAge != 90*24*time.Hour {
		t.Errorf("defaults: HTTP %q, audit %s", c.HTTPListen, c.AuditMaxAge)
	}
	t.Setenv("TAXBRIDGE_HTTP_LISTEN", "")
	t.Setenv("TAXBRIDGE_AUDIT_MAX_AGE", "0")
	if c, err = Load(); err != nil || c.HTTPListen != "" || c.AuditMaxAge != 0 {
		t.Errorf("empty listener and unlimited audit: %+v %v", c, err)
	}
	for k, v := range map[string]string{"TAXBRIDGE_HTTP_LISTEN": "8080", "TAXBRIDGE_AUDIT_MAX_AGE": "-1h"} {
		t.Run(k, func(t *testing.T) {
			t.Setenv(k, v)
			if _, err := Load(); err == nil || !strings.Contains(err.Error(), k) {
				t.Errorf("%s=%s: err = %v", k, v, err)
			}
		})
	}
}

func TestNATSSettings(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.NATSConnectTimeout != 2*time.Minute || c.NATSReplicas != 1 || c.RecordMaxAge != 0 {
		t.Errorf("defaults: connect timeout %s, replicas %d, record max age %s", c.NATSConnectTimeout, c.NATSReplicas, c.RecordMaxAge)
	}
	const url = "nats://nats.internal:4222"
	tests := []struct {
		name string
		env  map[string]string
		// want is a part of the error; empty when the settings are valid.
		want string
		// check holds for a valid configuration.
		check func(*Config) bool
	}{
		{"wait forever", map[string]string{"TAXBRIDGE_NATS_CONNECT_TIMEOUT": "0"}, "",
			func(c *Config) bool { return c.NATSConnectTimeout == 0 }},
		{"wait 30s", map[string]string{"TAXBRIDGE_NATS_CONNECT_TIMEOUT": "30s"}, "",
			func(c *Config) bool { return c.NATSConnectTimeout == 30*time.Second }},
		{"negative wait", map[string]string{"TAXBRIDGE_NATS_CONNECT_TIMEOUT": "-1s"}, "TAXBRIDGE_NATS_CONNECT_TIMEOUT -1s", nil},
		{"wait not a duration", map[string]string{"TAXBRIDGE_NATS_CONNECT_TIMEOUT": "soon"}, "NATS_CONNECT_TIMEOUT", nil},
		{"three replicas on a cluster", map[string]string{"TAXBRIDGE_NATS_URL": url, "TAXBRIDGE_NATS_REPLICAS": "3", "TAXBRIDGE_AVATAX": "sandbox"}, "",
			func(c *Config) bool { return c.NATSReplicas == 3 }},
		{"five replicas on a cluster", map[string]string{"TAXBRIDGE_NATS_URL": url, "TAXBRIDGE_NATS_REPLICAS": "5", "TAXBRIDGE_AVATAX": "sandbox"}, "",
			func(c *Config) bool { return c.NATSReplicas == 5 }},
		{"even replicas", map[string]string{"TAXBRIDGE_NATS_URL": url, "TAXBRIDGE_NATS_REPLICAS": "2"}, "TAXBRIDGE_NATS_REPLICAS 2: want 1, 3 or 5", nil},
		{"no replicas", map[string]string{"TAXBRIDGE_NATS_URL": url, "TAXBRIDGE_NATS_REPLICAS": "0"}, "TAXBRIDGE_NATS_REPLICAS 0: want 1, 3 or 5", nil},
		{"replicas not a number", map[string]string{"TAXBRIDGE_NATS_REPLICAS": "three"}, "NATS_REPLICAS", nil},
		{"three replicas on the embedded server", map[string]string{"TAXBRIDGE_NATS_REPLICAS": "3"}, "TAXBRIDGE_NATS_REPLICAS 3: the embedded nats-server", nil},
		{"records for 30 days", map[string]string{"TAXBRIDGE_RECORD_MAX_AGE": "720h"}, "",
			func(c *Config) bool { return c.RecordMaxAge == 30*24*time.Hour }},
		{"records for exactly a day", map[string]string{"TAXBRIDGE_RECORD_MAX_AGE": "24h"}, "",
			func(c *Config) bool { return c.RecordMaxAge == 24*time.Hour }},
		{"records for an hour", map[string]string{"TAXBRIDGE_RECORD_MAX_AGE": "1h"}, "TAXBRIDGE_RECORD_MAX_AGE 1h0m0s: want 0 (records kept forever) or at least 24h", nil},
		{"negative record age", map[string]string{"TAXBRIDGE_RECORD_MAX_AGE": "-24h"}, "TAXBRIDGE_RECORD_MAX_AGE -24h0m0s", nil},
		{"record age not a duration", map[string]string{"TAXBRIDGE_RECORD_MAX_AGE": "30d"}, "RECORD_MAX_AGE", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, err := Load()
			if tt.want == "" {
				if err != nil || !tt.check(c) {
					t.Errorf("%v: err = %v, config %+v", tt.env, err, c)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%v: err = %v, want %q", tt.env, err, tt.want)
			}
		})
	}
}

// TestAvaTaxService checks which AvaTax taxbridge calls, and that a
// configuration that names a NATS server or a tax configuration but no
// AvaTax credentials is refused with what to set, unless the sandbox is
// asked for.
func TestAvaTaxService(t *testing.T) {
	const (
		natsURL = "nats://nats.internal:4222"
		license = "very-secret-key"
	)
	creds := map[string]string{"TAXBRIDGE_AVATAX_ACCOUNT_ID": "1100012345", "TAXBRIDGE_AVATAX_LICENSE_KEY": license}
	with := func(base map[string]string, kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name string
		env  map[string]string
		// want is the service, or empty when the configuration is refused.
		want string
		// errWants are parts of the refusal.
		errWants []string
	}{
		{"nothing configured: the sandbox", nil, AvaTaxSandbox, nil},
		{"credentials", creds, AvaTaxAvalara, nil},
		{"NATS URL and credentials", with(creds, "TAXBRIDGE_NATS_URL", natsURL), AvaTaxAvalara, nil},
		{"tax configuration and credentials", with(creds, "TAXBRIDGE_TAX_CONFIG", "/etc/taxbridge/tax.json"), AvaTaxAvalara, nil},
		{"NATS URL without credentials", map[string]string{"TAXBRIDGE_NATS_URL": natsURL}, "",
			[]string{"no AvaTax credentials", "TAXBRIDGE_NATS_URL is set", "TAXBRIDGE_AVATAX_ACCOUNT_ID", "TAXBRIDGE_AVATAX_LICENSE_KEY", "TAXBRIDGE_AVATAX=sandbox"}},
		{"tax configuration without credentials", map[string]string{"TAXBRIDGE_TAX_CONFIG": "/etc/taxbridge/tax.json"}, "",
			[]string{"TAXBRIDGE_TAX_CONFIG is set", "TAXBRIDGE_AVATAX_ACCOUNT_ID", "TAXBRIDGE_AVATAX=sandbox"}},
		{"both without credentials", map[string]string{"TAXBRIDGE_NATS_URL": natsURL, "TAXBRIDGE_TAX_CONFIG": "tax.json"}, "",
			[]string{"TAXBRIDGE_NATS_URL and TAXBRIDGE_TAX_CONFIG are set"}},
		{"NATS URL with the sandbox asked for", map[string]string{"TAXBRIDGE_NATS_URL": natsURL, "TAXBRIDGE_AVATAX": "sandbox"}, AvaTaxSandbox, nil},
		{"tax configuration with the sandbox asked for", map[string]string{"TAXBRIDGE_TAX_CONFIG": "tax.json", "TAXBRIDGE_AVATAX": "sandbox"}, AvaTaxSandbox, nil},
		{"the sandbox asked for alone", map[string]string{"TAXBRIDGE_AVATAX": "sandbox"}, AvaTaxSandbox, nil},
		{"the sandbox asked for with credentials", with(creds, "TAXBRIDGE_AVATAX", "sandbox"), "",
			[]string{"TAXBRIDGE_AVATAX=sandbox", "unset them", "TAXBRIDGE_AVATAX=avalara"}},
		{"the sandbox asked for with a URL", map[string]string{"TAXBRIDGE_AVATAX": "sandbox", "TAXBRIDGE_AVATAX_URL": "https://rest.avatax.com"}, "",
			[]string{"TAXBRIDGE_AVATAX=sandbox", "TAXBRIDGE_AVATAX_URL"}},
		{"Avalara asked for with credentials", with(creds, "TAXBRIDGE_AVATAX", "avalara"), AvaTaxAvalara, nil},
		{"Avalara asked for without credentials", map[string]string{"TAXBRIDGE_AVATAX": "avalara"}, "",
			[]string{"TAXBRIDGE_AVATAX=avalara needs AvaTax credentials", "TAXBRIDGE_AVATAX_ACCOUNT_ID", "TAXBRIDGE_AVATAX_LICENSE_KEY_FILE"}},
		{"an unknown service", map[string]string{"TAXBRIDGE_AVATAX": "production"}, "",
			[]string{`TAXBRIDGE_AVATAX "production": want avalara, sandbox or empty`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, err := Load()
			if tt.want != "" {
				if err != nil {
					t.Fatalf("%v: %v", tt.env, err)
				}
				if got, err := c.AvaTaxService(); got != tt.want || err != nil {
					t.Errorf("%v: service %q (%v), want %q", tt.env, got, err, tt.want)
				}
				if c.UsesSandbox() != (tt.want == AvaTaxSandbox) {
					t.Errorf("%v: UsesSandbox() = %v", tt.env, c.UsesSandbox())
				}
				return
			}
			if err == nil {
				t.Fatalf("%v: accepted", tt.env)
			}
			for _, w := range tt.errWants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%v: error %q does not say %q", tt.env, err, w)
				}
			}
			if strings.Contains(err.Error(), license) {
				t.Errorf("error shows the license key: %v", err)
			}
		})
	}
}

// TestAvaTaxServiceOfAConfigBuiltInCode checks the rule on a Config that
// did not come from Load, as tests and taxbridge demo build them.
func TestAvaTaxServiceOfAConfigBuiltInCode(t *testing.T) {
	if s, err := (&Config{}).AvaTaxService(); s != AvaTaxSandbox || err != nil {
		t.Errorf("empty config: %q, %v", s, err)
	}
	if _, err := (&Config{NATSURL: "nats://x:4222"}).AvaTaxService(); err == nil || !strings.Contains(err.Error(), "TAXBRIDGE_NATS_URL") {
		t.Errorf("NATS URL without credentials: %v", err)
	}
	if s, err := (&Config{NATSURL: "nats://x:4222", AvaTax: AvaTaxSandbox}).AvaTaxService(); s != AvaTaxSandbox || err != nil {
		t.Errorf("NATS URL with the sandbox asked for: %q, %v", s, err)
	}
}

// secretValues are set in the tests below; none may be printed.
var secretValues = map[string]string{
	"TAXBRIDGE_AVATAX_LICENSE_KEY":       "lic-s3cret-value",
	"TAXBRIDGE_PLEX_API_KEY":             "plex-api-s3cret",
	"TAXBRIDGE_PLEX_OAUTH_CLIENT_SECRET": "oauth-client-s3cret",
	"TAXBRIDGE_SECRETS_KEY":              "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
	"TAXBRIDGE_NATS_STORE_KEY":           "nats-store-s3cret-key",
}

func setAllSecrets(t *testing.T) {
	t.Helper()
	for k, v := range secretValues {
		t.Setenv(k, v)
	}
	t.Setenv("TAXBRIDGE_AVATAX_ACCOUNT_ID", "1100012345")
	t.Setenv("TAXBRIDGE_PLEX_URL", "https://plex.example.com")
	t.Setenv("TAXBRIDGE_PLEX_OAUTH_TOKEN_URL", "https://plex.example.com/oauth/token")
	t.Setenv("TAXBRIDGE_PLEX_OAUTH_CLIENT_ID", "taxbridge")
}

// TestPrintingHidesSecrets: %v, %+v, %#v, %s, slog (text and JSON) and
// encoding/json never show a secret, and show the other settings.
func TestPrintingHidesSecrets(t *testing.T) {
	setAllSecrets(t)
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.AvaTaxLicenseKey != secretValues["TAXBRIDGE_AVATAX_LICENSE_KEY"] || c.NATSStoreKey != secretValues["TAXBRIDGE_NATS_STORE_KEY"] {
		t.Fatal("secrets not loaded")
	}
	var text, js bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("start", "config", c, "value", *c)
	slog.New(slog.NewJSONHandler(&js, nil)).Info("start", "config", c)
	j, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"%v": fmt.Sprintf("%v", c), "%+v": fmt.Sprintf("%+v", c), "%#v": fmt.Sprintf("%#v", c),
		"%s": fmt.Sprintf("%s", *c), "%+v value": fmt.Sprintf("%+v", *c), "%#v value": fmt.Sprintf("%#v", *c),
		"slog text": text.String(), "slog JSON": js.String(), "json": string(j),
	}
	for how, out := range outputs {
		for k, v := range secretValues {
			if strings.Contains(out, v) {
				t.Errorf("%s shows %s: %s", how, k, out)
			}
		}
		if !strings.Contains(out, "1100012345") || !strings.Contains(out, "plex.example.com") {
			t.Errorf("%s does not show the settings: %s", how, out)
		}
		if how != "json" && !strings.Contains(out, "REDACTED") {
			t.Errorf("%s does not say REDACTED: %s", how, out)
		}
	}
	// Printing did not change the configuration.
	if c.PlexAPIKey != secretValues["TAXBRIDGE_PLEX_API_KEY"] {
		t.Errorf("printing changed the API key to %q", c.PlexAPIKey)
	}
}

// TestSecretFiles: each secret comes from its variable or its _FILE
// (trimmed); both at once are refused naming both, never showing a value.
func TestSecretFiles(t *testing.T) {
	pairs := [][2]string{
		{"TAXBRIDGE_AVATAX_LICENSE_KEY", "TAXBRIDGE_AVATAX_LICENSE_KEY_FILE"},
		{"TAXBRIDGE_PLEX_API_KEY", "TAXBRIDGE_PLEX_API_KEY_FILE"},
		{"TAXBRIDGE_PLEX_OAUTH_CLIENT_SECRET", "TAXBRIDGE_PLEX_OAUTH_CLIENT_SECRET_FILE"},
		{"TAXBRIDGE_SECRETS_KEY", "TAXBRIDGE_SECRETS_KEY_FILE"},
		{"TAXBRIDGE_NATS_STORE_KEY", "TAXBRIDGE_NATS_STORE_KEY_FILE"},
	}
	get := func(c *Config, name string) string {
		return map[string]string{
			"TAXBRIDGE_AVATAX_LICENSE_KEY": c.AvaTaxLicenseKey, "TAXBRIDGE_PLEX_API_KEY": c.PlexAPIKey,
			"TAXBRIDGE_PLEX_OAUTH_CLIENT_SECRET": c.PlexOAuthClientSecret, "TAXBRIDGE_SECRETS_KEY": c.SecretsKey,
			"TAXBRIDGE_NATS_STORE_KEY": c.NATSStoreKey,
		}[name]
	}
	for _, p := range pairs {
		t.Run(p[1], func(t *testing.T) {
			setAllSecrets(t)
			want := secretValues[p[0]]
			f := t.TempDir() + "/secret"
			if err := os.WriteFile(f, []byte("  "+want+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			t.Setenv(p[1], f)
			_, err := Load()
			if err == nil || !strings.Contains(err.Error(), p[0]+" and "+p[1]+" are both set") {
				t.Fatalf("both set: %v", err)
			}
			for _, v := range secretValues {
				if strings.Contains(err.Error(), v) {
					t.Errorf("error shows a secret: %v", err)
				}
			}
			os.Unsetenv(p[0])
			c, err := Load()
			if err != nil {
				t.Fatal(err)
			}
			if got := get(c, p[0]); got != want {
				t.Errorf("from file: %q, want %q", got, want)
			}
			t.Setenv(p[1], t.TempDir()+"/missing")
			if _, err := Load(); err == nil || !strings.Contains(err.Error(), p[1]) {
				t.Errorf("missing file: %v", err)
			}
		})
	}
}

func TestPlexSettings(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.PlexEnabled() || c.PlexPollInterval != time.Minute || c.PlexSalesChannel != "plex" ||
		strings.Join(c.PlexCancelStatuses, "|") != "Cancelled" || c.PlexDocumentPrefix != "PLEX" ||
		c.PlexBudget != 200 || c.PlexLeaseTTL != 30*time.Second || !c.PlexWriteback {
		t.Errorf("defaults: %+v", c)
	}
	const plexURL = "https://connect.plex.com"
	tests := []struct {
		name  string
		env   map[string]string
		want  string
		check func(*Config) bool
	}{
		{"on", map[string]string{"TAXBRIDGE_PLEX_URL": plexURL, "TAXBRIDGE_PLEX_API_KEY": "k", "TAXBRIDGE_PLEX_CANCEL_STATUSES": "Cancelled, Void",
			"TAXBRIDGE_PLEX_POLL_INTERVAL": "0", "TAXBRIDGE_PLEX_WRITEBACK": "false"}, "",
			func(c *Config) bool {
				return c.PlexEnabled() && c.PlexPollInterval == 0 && !c.PlexWriteback && strings.Join(c.PlexCancelStatuses, "|") == "Cancelled|Void"
			}},
		{"no API key", map[string]string{"TAXBRIDGE_PLEX_URL": plexURL}, "TAXBRIDGE_PLEX_URL is set but no Plex API key", nil},
		{"no API key, a credentials store not read", map[string]string{"TAXBRIDGE_PLEX_URL": plexURL,
			"TAXBRIDGE_SECRETS_KEY": secretValues["TAXBRIDGE_SECRETS_KEY"]}, "TAXBRIDGE_PLEX_URL is set but no Plex API key", nil},
		{"not a URL", map[string]string{"TAXBRIDGE_PLEX_URL": "plex", "TAXBRIDGE_PLEX_API_KEY": "k"}, `TAXBRIDGE_PLEX_URL "plex"`, nil},
		{"OAuth without client", map[string]string{"TAXBRIDGE_PLEX_URL": plexURL, "TAXBRIDGE_PLEX_API_KEY": "k",
			"TAXBRIDGE_PLEX_OAUTH_TOKEN_URL": plexURL + "/token"}, "TAXBRIDGE_PLEX_OAUTH_TOKEN_URL and TAXBRIDGE_PLEX_OAUTH_CLIENT_ID", nil},
		{"OAuth without secret", map[string]string{"TAXBRIDGE_PLEX_URL": plexURL, "TAXBRIDGE_PLEX_API_KEY": "k",
			"TAXBRIDGE_PLEX_OAUTH_TOKEN_URL": plexURL + "/token", "TAXBRIDGE_PLEX_OAUTH_CLIENT_ID": "c"}, "no client secret", nil},
		{"negative poll", map[string]string{"TAXBRIDGE_PLEX_POLL_INTERVAL": "-1s"}, "TAXBRIDGE_PLEX_POLL_INTERVAL -1s", nil},
		{"no budget", map[string]string{"TAXBRIDGE_PLEX_BUDGET": "0"}, "TAXBRIDGE_PLEX_BUDGET 0", nil},
		{"short lease", map[string]string{"TAXBRIDGE_PLEX_LEASE_TTL": "10ms"}, "TAXBRIDGE_PLEX_LEASE_TTL 10ms", nil},
		{"empty sales channel", map[string]string{"TAXBRIDGE_PLEX_SALES_CHANNEL": " "}, "TAXBRIDGE_PLEX_SALES_CHANNEL is empty", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, err := Load()
			if tt.want == "" {
				if err != nil || !tt.check(c) {
					t.Errorf("%v: err = %v, config %+v", tt.env, err, c)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%v: err = %v, want %q", tt.env, err, tt.want)
			}
		})
	}
}

// TestCredentialsStoreSettings: with a secrets key the secrets may be left
// to the store, which secrets.Fill reads into Credentials; the key and the
// embedded server's store key are checked.
func TestCredentialsStoreSettings(t *testing.T) {
	t.Setenv("TAXBRIDGE_AVATAX_ACCOUNT_ID", "1100012345")
	if _, err := Load(); err == nil || !strings.Contains(err.Error(), "taxctl credentials set avatax.license_key and set TAXBRIDGE_SECRETS_KEY") {
		t.Errorf("account without license or store: %v", err)
	}
	t.Setenv("TAXBRIDGE_SECRETS_KEY", secretValues["TAXBRIDGE_SECRETS_KEY"])
	// A process that does not read the store must have the secrets.
	if _, err := Load(); err == nil || !strings.Contains(err.Error(), "must be set together") {
		t.Errorf("account without license, store not read: %v", err)
	}
	t.Setenv("TAXBRIDGE_PLEX_URL", "https://connect.plex.com")
	c, err := Load(CredentialsFromStore)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ValidateCredentials(); err == nil || !strings.Contains(err.Error(), "taxctl credentials set plex.api_key") {
		t.Errorf("before the store filled the Plex API key: %v", err)
	}
	*c.Credentials()["plex.api_key"] = "from-the-store"
	if s, _ := c.AvaTaxService(); s != AvaTaxAvalara {
		t.Errorf("service %q, want avalara", s)
	}
	if err := c.ValidateCredentials(); err == nil || !strings.Contains(err.Error(), "taxctl credentials set avatax.license_key") {
		t.Errorf("before the store filled the license: %v", err)
	}
	if k, err := c.SecretsKeyBytes(); err != nil || len(k) != 32 {
		t.Errorf("key: %d bytes, %v", len(k), err)
	}
	creds := c.Credentials()
	if len(creds) != 3 || creds["avatax.license_key"] != &c.AvaTaxLicenseKey {
		t.Fatalf("Credentials: %v", creds)
	}
	*creds["avatax.license_key"] = "from-the-store"
	if err := c.ValidateCredentials(); err != nil {
		t.Errorf("after the store filled the license: %v", err)
	}

	t.Setenv("TAXBRIDGE_SECRETS_KEY", "too-short-but-secret")
	if _, err := Load(CredentialsFromStore); err == nil || !strings.Contains(err.Error(), "TAXBRIDGE_SECRETS_KEY") || strings.Contains(err.Error(), "too-short-but-secret") {
		t.Errorf("bad secrets key: %v", err)
	}
	os.Unsetenv("TAXBRIDGE_SECRETS_KEY")
	os.Unsetenv("TAXBRIDGE_AVATAX_ACCOUNT_ID")
	os.Unsetenv("TAXBRIDGE_PLEX_URL")

	t.Setenv("TAXBRIDGE_NATS_STORE_KEY", "nats-store-s3cret-key")
	if c, err := Load(); err != nil || c.NATSStoreKey != "nats-store-s3cret-key" {
		t.Errorf("store key with the embedded server: %v", err)
	}
	t.Setenv("TAXBRIDGE_NATS_URL", "nats://nats.internal:4222")
	t.Setenv("TAXBRIDGE_AVATAX", "sandbox")
	_, err = Load()
	if err == nil || !strings.Contains(err.Error(), "TAXBRIDGE_NATS_STORE_KEY") || !strings.Contains(err.Error(), "TAXBRIDGE_NATS_URL") ||
		strings.Contains(err.Error(), "nats-store-s3cret-key") {
		t.Errorf("store key with a NATS URL: %v", err)
	}
}
