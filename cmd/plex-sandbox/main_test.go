package main

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/taxbridge/taxbridge/internal/plex"
	"github.com/taxbridge/taxbridge/internal/plexsim"
)

// TestSeedFile serves the example seed file and reads it back with the client.
func TestSeedFile(t *testing.T) {
	sb, err := newSandbox("testdata/seed.json", plexsim.WithAPIKey("k-1234"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sb)
	defer srv.Close()
	c, err := plex.New(srv.URL, plex.Credentials{APIKey: "k-1234"})
	if err != nil {
		t.Fatal(err)
	}
	o, err := c.GetSalesOrder(context.Background(), "SO-1")
	if err != nil || len(o.Lines) != 2 || o.Lines[1].Amount.String() != "12.34" {
		t.Fatalf("order = %+v, %v", o, err)
	}
	cu, err := c.GetCustomer(context.Background(), "C-2")
	if err != nil || !cu.Financials.SalesTaxExempt {
		t.Fatalf("customer = %+v, %v", cu, err)
	}
	if _, err := c.GetSupplier(context.Background(), "S-1"); err != nil {
		t.Fatal(err)
	}
	po, err := c.GetPurchaseOrder(context.Background(), "PO-1")
	if err != nil || po.SupplierAddressID != "SA-1" || po.ShipTo == "" {
		t.Fatalf("po = %+v, %v", po, err)
	}
	as, err := c.ListSupplierAddresses(context.Background(), "S-1")
	if err != nil || len(as) != 1 || as[0].ID != "SA-1" || as[0].SupplierID != "S-1" {
		t.Fatalf("supplier addresses = %+v, %v", as, err)
	}
	d, err := c.GetSupplierPurchasingDefaults(context.Background(), "S-1")
	if err != nil || d.DefaultTaxCode == "" {
		t.Fatalf("purchasing defaults = %+v, %v", d, err)
	}
}

func TestBadSeedFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(p, []byte(`{"salesOrder": []}`), 0o600)
	if _, err := newSandbox(p); err == nil {
		t.Fatal("an unknown field was accepted")
	}
	if _, err := newSandbox(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Fatal("a missing file was accepted")
	}
	if err := run([]string{"-no-such-flag"}); err == nil {
		t.Fatal("an unknown flag was accepted")
	}
}
