package avataxsim

import (
	"testing"

	"github.com/taxbridge/taxbridge/internal/avatax"
)

func TestPing(t *testing.T) {
	e := newEnv(t, WithCredentials("123456", "secret"))
	tests := []struct {
		name       string
		user, pass string
		wantAuth   bool
		wantType   string
	}{
		{"anonymous", "", "", false, "None"},
		{"wrong key", "123456", "bad", false, "None"},
		{"account and key", "123456", "secret", true, "AccountIdLicenseKey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.callAuth("GET", "/api/v2/utilities/ping", nil, tt.user, tt.pass)
			if r.status != 200 {
				t.Fatalf("status %d", r.status)
			}
			var p avatax.PingResultModel
			mustJSON(t, r.body, &p)
			if p.Authenticated != tt.wantAuth || p.AuthenticationType != tt.wantType {
				t.Errorf("ping = %+v", p)
			}
			if tt.wantAuth && p.AuthenticatedAccountID != 123456 {
				t.Errorf("account id %d", p.AuthenticatedAccountID)
			}
		})
	}
	if got := e.sb.Calls()["ping"]; got != 3 {
		t.Errorf("Calls()[ping] = %d, want 3", got)
	}
}
