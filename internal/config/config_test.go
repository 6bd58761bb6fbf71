package config

import (
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
		{"three replicas on a cluster", map[string]string{"TAXBRIDGE_NATS_URL": url, "TAXBRIDGE_NATS_REPLICAS": "3"}, "",
			func(c *Config) bool { return c.NATSReplicas == 3 }},
		{"five replicas on a cluster", map[string]string{"TAXBRIDGE_NATS_URL": url, "TAXBRIDGE_NATS_REPLICAS": "5"}, "",
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
