package avatax_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/internal/avatax"
)

// liveClient returns a client for Avalara's own sandbox, or skips the test
// when no credentials are given.
func liveClient(t *testing.T, licenseKey string) (*avatax.Client, avatax.Credentials, string) {
	t.Helper()
	account, key := os.Getenv("TAXBRIDGE_AVATAX_ACCOUNT_ID"), os.Getenv("TAXBRIDGE_AVATAX_LICENSE_KEY")
	if account == "" || key == "" {
		t.Skip("live AvaTax test skipped: set TAXBRIDGE_AVATAX_ACCOUNT_ID and TAXBRIDGE_AVATAX_LICENSE_KEY " +
			"(and optionally TAXBRIDGE_AVATAX_URL, default " + avatax.SandboxURL +
			", and TAXBRIDGE_AVATAX_COMPANY, default DEFAULT) to run it against Avalara's sandbox")
	}
	if licenseKey != "" {
		key = licenseKey
	}
	url := os.Getenv("TAXBRIDGE_AVATAX_URL")
	if url == "" {
		url = avatax.SandboxURL
	}
	creds := avatax.Credentials{AccountID: account, LicenseKey: key}
	c := avatax.New(url, creds, avatax.WithTimeout(20*time.Second), avatax.WithClientHeader("taxbridge-live-test", "dev"),
		avatax.WithRetry(avatax.RetryPolicy{MaxAttempts: 3, MaxElapsed: 60 * time.Second}), avatax.WithRateLimit(5, 2))
	return c, creds, url
}

// TestLivePingAndSalesOrder pings Avalara's sandbox with the given
// credentials and calculates a SalesOrder (a temporary document: nothing is
// recorded in the account) through createoradjust.
func TestLivePingAndSalesOrder(t *testing.T) {
	c, _, url := liveClient(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	ping, err := c.Ping(ctx)
	if err != nil {
		t.Fatalf("ping %s: %v", url, err)
	}
	if !ping.Authenticated {
		t.Fatalf("ping %s: not authenticated (%s); check the account id and license key", url, ping.AuthenticationType)
	}
	t.Logf("AvaTax %s at %s, authenticated as %s", ping.Version, url, ping.AuthenticationType)

	companyCode := os.Getenv("TAXBRIDGE_AVATAX_COMPANY")
	if companyCode == "" {
		companyCode = "DEFAULT"
	}
	code := fmt.Sprintf("taxbridge-live-%d", time.Now().UnixNano())
	doc, err := c.CreateOrAdjust(ctx, avatax.CreateOrAdjustTransactionModel{CreateTransactionModel: avatax.CreateTransactionModel{
		Code: code, Type: avatax.SalesOrder, CompanyCode: companyCode, Date: time.Now().Format("2006-01-02"),
		CustomerCode: "TAXBRIDGE-LIVE", CurrencyCode: "USD",
		Addresses: &avatax.AddressesModel{
			ShipFrom: &avatax.AddressLocationInfo{Line1: "100 Ravine Ln NE", City: "Bainbridge Island", Region: "WA", PostalCode: "98110", Country: "US"},
			ShipTo:   &avatax.AddressLocationInfo{Line1: "2000 Main St", City: "Irvine", Region: "CA", PostalCode: "92614", Country: "US"},
		},
		Lines: []avatax.LineItemModel{{Number: "1", Quantity: decimal.NewFromInt(2), Amount: decimal.RequireFromString("100.00"), TaxCode: "P0000000", ItemCode: "SKU-1"}},
	}})
	if err != nil {
		t.Fatalf("createoradjust SalesOrder in company %s: %v", companyCode, err)
	}
	if doc.Type != avatax.SalesOrder || len(doc.Lines) != 1 || !doc.TotalAmount.Equal(decimal.RequireFromString("100")) {
		t.Fatalf("unexpected SalesOrder: type %s, %d lines, amount %s", doc.Type, len(doc.Lines), doc.TotalAmount)
	}
	t.Logf("SalesOrder %s: status %s, tax %s on %s", doc.Code, doc.Status, doc.TotalTax, doc.TotalAmount)
}

// TestLiveWrongKey checks against Avalara that a wrong license key is an
// authentication error whose text does not carry the key.
func TestLiveWrongKey(t *testing.T) {
	wrongKey := "WRONG-" + strings.Repeat("0", 16)
	c, _, _ := liveClient(t, wrongKey)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, err := c.CreateOrAdjust(ctx, avatax.CreateOrAdjustTransactionModel{CreateTransactionModel: avatax.CreateTransactionModel{
		Type: avatax.SalesOrder, Date: time.Now().Format("2006-01-02"), CustomerCode: "X",
		Lines: []avatax.LineItemModel{{Quantity: decimal.NewFromInt(1), Amount: decimal.NewFromInt(1)}},
	}})
	if avatax.KindOf(err) != avatax.KindAuth {
		t.Fatalf("wrong key: %v (kind %s), want an auth error", err, avatax.KindOf(err))
	}
	if s := fmt.Sprintf("%v %+v", err, err); strings.Contains(s, wrongKey) {
		t.Fatalf("error text carries the license key: %s", s)
	}
}
