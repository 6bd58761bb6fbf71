package taxservice

import (
	"fmt"

	"github.com/shopspring/decimal"
)

// Config is how the tax service treats each Order Administration company:
// the AvaTax company, the tax codes of the charges, the tax product code
// cross reference, and the fallback rates.
type Config struct {
	// Companies by Order Administration company number. A request for a
	// company not listed uses Default.
	Companies map[int]CompanyConfig
	// Default applies to companies not listed; nil refuses them.
	Default *CompanyConfig
	// ChargeTaxCodes is the AvaTax tax code of each charge type; missing
	// types use DefaultChargeTaxCodes.
	ChargeTaxCodes map[string]string
	// CrossReference maps item class + long SKU division, department and
	// class to a tax product code.
	CrossReference []CrossReference
	// DefaultTaxCode is the tax code of an item without its own code and
	// without a cross reference row (AvaTax's "unknown" code by default).
	DefaultTaxCode string
}

// CompanyConfig is one Order Administration company's settings.
type CompanyConfig struct {
	// AvaTaxCompany is the AvaTax company code of its documents.
	AvaTaxCompany string
	// TaxIncludedInPrice marks a tax-inclusive (VAT) company: AvaTax
	// cannot serve it, so it is refused.
	TaxIncludedInPrice bool
	// SendQuoteNotInvoice sends billing (INVOICE, DISTRIBUTETAX) as a
	// QUOTE, e.g. when invoices reach AvaTax through another channel.
	SendQuoteNotInvoice bool
	// FallbackToStandardRates lets a QUOTE be answered from StandardRates,
	// marked estimated, when AvaTax cannot be reached.
	FallbackToStandardRates bool
	// StandardRates are fallback rates (fractions, 0.0825 for 8.25%) by
	// "<country>" or "<country>-<region>" (the region wins).
	StandardRates map[string]decimal.Decimal
}

// CrossReference is a row of the tax product code cross reference. All
// four values must match the item's exactly; blank matches only blank.
type CrossReference struct {
	ItemClass, Division, Department, Class string
	TaxCode                                string
}

// DefaultChargeTaxCodes are the charges' tax codes when Config does not
// name them. Freight is AvaTax's "shipping only, common carrier, FOB
// destination"; the others are taxed as goods until configured otherwise,
// since their taxability depends on the company's AvaTax setup.
var DefaultChargeTaxCodes = map[string]string{
	ChargeFreight:            "FR020100",
	ChargeAdditionalFreight:  "FR020100",
	ChargeHandling:           "P0000000",
	ChargeDuty:               "P0000000",
	ChargeGiftWrap:           "P0000000",
	ChargeShipperItemCharges: "P0000000",
}

// DefaultItemTaxCode is AvaTax's code for an item of unknown taxability.
const DefaultItemTaxCode = "U0000000"

// Validate refuses a configuration AvaTax cannot serve: a tax-inclusive
// company, a company without an AvaTax company code, a negative rate, a
// cross reference row without a tax code.
func (c *Config) Validate() error {
	check := func(name string, cc *CompanyConfig) error {
		if cc.TaxIncludedInPrice {
			return fmt.Errorf("company %s: tax-inclusive pricing cannot be combined with AvaTax: use a separate company", name)
		}
		if cc.AvaTaxCompany == "" {
			return fmt.Errorf("company %s: AvaTaxCompany is required", name)
		}
		for k, r := range cc.StandardRates {
			if r.IsNegative() || r.GreaterThan(decimal.NewFromInt(1)) {
				return fmt.Errorf("company %s: standard rate %s: %s is not a fraction between 0 and 1", name, k, r)
			}
		}
		return nil
	}
	for n, cc := range c.Companies {
		if err := check(fmt.Sprint(n), &cc); err != nil {
			return err
		}
	}
	if c.Default != nil {
		if err := check("default", c.Default); err != nil {
			return err
		}
	}
	for i, x := range c.CrossReference {
		if x.TaxCode == "" {
			return fmt.Errorf("cross reference row %d (%s/%s/%s/%s): tax code is required", i, x.ItemClass, x.Division, x.Department, x.Class)
		}
	}
	return nil
}

// company returns the settings of an Order Administration company.
func (c *Config) company(n int) (*CompanyConfig, *Error) {
	cc, ok := c.Companies[n]
	switch {
	case ok:
	case c.Default != nil:
		cc = *c.Default
	default:
		return nil, &Error{Code: CodeCompanyRefused, Field: "/company", Message: fmt.Sprintf("company %d is not configured for AvaTax", n)}
	}
	if cc.TaxIncludedInPrice {
		return nil, &Error{Code: CodeCompanyRefused, Field: "/company",
			Message: fmt.Sprintf("company %d uses tax-inclusive pricing, which AvaTax does not serve", n)}
	}
	return &cc, nil
}

func (c *Config) chargeTaxCode(typ string) string {
	if code := c.ChargeTaxCodes[typ]; code != "" {
		return code
	}
	return DefaultChargeTaxCodes[typ]
}

// itemTaxCode is the line's own code, else the cross reference's, else
// the default.
func (c *Config) itemTaxCode(l *Line) string {
	if l.TaxCode != "" {
		return l.TaxCode
	}
	for _, x := range c.CrossReference {
		if x.ItemClass == l.ItemClass && x.Division == l.Division && x.Department == l.Department && x.Class == l.Class {
			return x.TaxCode
		}
	}
	if c.DefaultTaxCode != "" {
		return c.DefaultTaxCode
	}
	return DefaultItemTaxCode
}
