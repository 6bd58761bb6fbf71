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
