// Package taxconfig loads the tax configuration document: global settings,
// sales channel overrides, the AvaTax provider settings and stock locations,
// mirroring OneStock's Avalara tax connector. Credentials are never part of it.
package taxconfig

import (
	"bytes"
	"cmp"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"sync"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/shopspring/decimal"
	"go.yaml.in/yaml/v3"

	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/schemas"
)

// Example is the complete example configuration shipped with taxbridge and
// used by `taxbridge demo` and when no configuration file is given.
//
//go:embed example.json
var Example []byte

// Config is the tax configuration.
type Config struct {
	Global         Global                   `json:"global"`
	SalesChannels  map[string]SalesChannel  `json:"sales_channels"`
	Provider       Provider                 `json:"provider"`
	StockLocations map[string]StockLocation `json:"stock_locations"`
	// OrderAdministration configures the tax request service for Oracle
	// Retail Order Administration; nil serves every company with
	// Provider.CompanyCode and the default codes.
	OrderAdministration *OrderAdministration `json:"order_administration,omitempty"`
}

// OrderAdministration is how Order Administration's tax requests are
// served: per company, the charges' tax codes, the cross reference.
type OrderAdministration struct {
	// Companies by Order Administration company number (a string of
	// digits, as JSON object keys are).
	Companies map[string]OACompany `json:"companies,omitempty"`
	// ServeUnlistedCompanies serves companies not listed with
	// Provider.CompanyCode (default true); false refuses them.
	ServeUnlistedCompanies *bool             `json:"serve_unlisted_companies,omitempty"`
	ChargeTaxCodes         map[string]string `json:"charge_tax_codes,omitempty"`
	DefaultTaxCode         string            `json:"default_tax_code,omitempty"`
	CrossReference         []OACrossRef      `json:"cross_reference,omitempty"`
}

// OACompany is one Order Administration company's settings.
type OACompany struct {
	AvaTaxCompany           string                     `json:"avatax_company,omitempty"`
	SendQuoteNotInvoice     bool                       `json:"send_quote_not_invoice,omitempty"`
	FallbackToStandardRates bool                       `json:"fallback_to_standard_rates,omitempty"`
	StandardRates           map[string]decimal.Decimal `json:"standard_rates,omitempty"`
}

// OACrossRef is a row of the tax product code cross reference.
type OACrossRef struct {
	ItemClass  string `json:"item_class,omitempty"`
	Division   string `json:"division,omitempty"`
	Department string `json:"department,omitempty"`
	Class      string `json:"class,omitempty"`
	TaxCode    string `json:"tax_code"`
}

// Global holds the settings that apply to every sales channel.
type Global struct {
	RemovedLineItemStates   []string `json:"removed_line_item_states"`
	CommitableParcelStates  []string `json:"commitable_parcel_states"`
	EstimationStockLocation string   `json:"estimation_stock_location,omitempty"`
	TaxesIncludedInPrice    bool     `json:"taxes_included_in_price,omitempty"`
}

// SalesChannel overrides global settings for one sales channel.
type SalesChannel struct {
	OrderInStore            bool   `json:"order_in_store,omitempty"`
	EstimationStockLocation string `json:"estimation_stock_location,omitempty"`
	TaxesIncludedInPrice    *bool  `json:"taxes_included_in_price,omitempty"`
	TaxProvider             string `json:"tax_provider,omitempty"`
	// CommitOrderStates are order states in which the order's tax is
	// committed whatever its parcels (Plex: Closed, Invoiced).
	CommitOrderStates []string `json:"commit_order_states,omitempty"`
}

// Provider holds the AvaTax settings.
type Provider struct {
	CompanyCode                 string                 `json:"company_code"`
	DefaultLocationCode         string                 `json:"default_location_code,omitempty"`
	UseEndpointIDAsLocationCode bool                   `json:"use_endpoint_id_as_location_code,omitempty"`
	DisableTaxRecording         bool                   `json:"disable_tax_recording,omitempty"`
	FeaturesLanguage            string                 `json:"features_language,omitempty"`
	DefaultDescription          string                 `json:"default_description,omitempty"`
	DescriptionFeature          string                 `json:"description_feature,omitempty"`
	DefaultHSCode               string                 `json:"default_hs_code,omitempty"`
	HSCodeFeature               string                 `json:"hs_code_feature,omitempty"`
	DefaultTaxCode              string                 `json:"default_tax_code,omitempty"`
	TaxCodeFeature              string                 `json:"tax_code_feature,omitempty"`
	ShippingFees                map[string]ShippingFee `json:"shipping_fees,omitempty"`
}

// ShippingFee gives the codes of the shipping fee line of a delivery option.
type ShippingFee struct {
	TaxCode  string `json:"tax_code"`
	ItemCode string `json:"item_code,omitempty"`
}

// StockLocation is an OMS endpoint that holds or ships stock.
type StockLocation struct {
	LocationCode string         `json:"location_code,omitempty"`
	Address      events.Address `json:"address"`
}

// Load reads and validates the configuration file at path; an empty path
// loads the built-in Example.
func Load(path string) (*Config, error) {
	raw := Example
	name := "built-in example configuration"
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read tax configuration: %w", err)
		}
		raw, name = b, path
	}
	c, err := Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("tax configuration %s: %w", name, err)
	}
	return c, nil
}

// Parse validates a JSON or YAML document against
// schemas/taxconfig.schema.json and checks the references between
// sections. Errors name the offending field, as a JSON pointer whatever
// the format (a YAML syntax error gives its line instead).
func Parse(raw []byte) (*Config, error) {
	raw, err := asJSON(raw)
	if err != nil {
		return nil, err
	}
	schema, err := compiledSchema()
	if err != nil {
		return nil, err
	}
	if p := schemas.ValidateJSON(schema, raw); p != nil {
		return nil, errors.New(strings.Join(p, "; "))
	}
	var c Config
	if err := jsonv2.Unmarshal(raw, &c, strict); err != nil {
		return nil, fieldError(err)
	}
	if err := c.checkReferences(); err != nil {
		return nil, err
	}
	return &c, nil
}

const schemaFile = "taxconfig.schema.json"

// compiledSchema compiles the schema once: it does not change, and
// compiling it costs more than checking a configuration.
var compiledSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	c, err := schemas.Compile(schemaFile)
	if err != nil {
		return nil, err
	}
	return c[schemaFile], nil
})

// strict decodes a document the schema accepted as the schema read it.
// Member names must match exactly and be given once: encoding/json filled
// the address's country from a member "COUNTRY", which the schema does
// not know and so never checked. Members the Go types do not know are
// refused.
var strict = jsonv2.JoinOptions(jsonv2.DefaultOptionsV2(), jsonv2.RejectUnknownMembers(true))

// fieldError names the field a decode error is about, "<pointer>: ...",
// its pointer written as the schema's problems write theirs.
func fieldError(err error) error {
	return fmt.Errorf("%s: %w", schemas.ErrorPointer(err), err)
}

// asJSON returns the document as JSON: as it is when it is a JSON object,
// else read as YAML and encoded as JSON, so that the schema checks both
// alike. YAML 1.2 is read: no, off, NO (Norway) stay strings, and a
// setting written as no instead of false is refused by the schema, naming
// the setting, rather than taken silently.
func asJSON(raw []byte) ([]byte, error) {
	if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '{' {
		return raw, nil
	}
	var doc any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("read as YAML: %w", err)
	}
	doc, err := jsonable(doc, "")
	if err != nil {
		return nil, err
	}
	return json.Marshal(doc)
}

// jsonable makes what YAML decoded encodable as JSON: YAML mapping keys
// need not be strings (a delivery option named 1 is a number), JSON's are.
// What JSON cannot hold is refused, naming the field: .inf and .nan, and
// two keys that become one string (1 and 1.0).
func jsonable(v any, ptr string) (any, error) {
	var err error
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if x[k], err = jsonable(e, ptr+"/"+k); err != nil {
				return nil, err
			}
		}
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			key := fmt.Sprint(k)
			if _, dup := m[key]; dup {
				return nil, fmt.Errorf("%s/%s: two YAML keys both read as %q", ptr, key, key)
			}
			if m[key], err = jsonable(e, ptr+"/"+key); err != nil {
				return nil, err
			}
		}
		return m, nil
	case []any:
		for i, e := range x {
			if x[i], err = jsonable(e, fmt.Sprintf("%s/%d", ptr, i)); err != nil {
				return nil, err
			}
		}
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return nil, fmt.Errorf("%s: %v is not a number JSON can hold", cmp.Or(ptr, "/"), x)
		}
	}
	return v, nil
}

func (c *Config) checkReferences() error {
	var errs []error
	ref := func(field, id string) {
		if id == "" {
			return
		}
		if _, ok := c.StockLocations[id]; !ok {
			errs = append(errs, fmt.Errorf("%s: stock location %q is not defined in /stock_locations", field, id))
		}
	}
	ref("/global/estimation_stock_location", c.Global.EstimationStockLocation)
	for _, name := range sortedKeys(c.SalesChannels) {
		ref("/sales_channels/"+name+"/estimation_stock_location", c.SalesChannels[name].EstimationStockLocation)
	}
	return errors.Join(errs...)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Channel returns the effective settings of a sales channel.
func (c *Config) Channel(name string) ChannelSettings {
	sc := c.SalesChannels[name]
	s := ChannelSettings{
		Name:                    name,
		OrderInStore:            sc.OrderInStore,
		EstimationStockLocation: c.Global.EstimationStockLocation,
		TaxesIncludedInPrice:    c.Global.TaxesIncludedInPrice,
		Enabled:                 sc.TaxProvider != "none",
		CommitOrderStates:       sc.CommitOrderStates,
	}
	if sc.EstimationStockLocation != "" {
		s.EstimationStockLocation = sc.EstimationStockLocation
	}
	if sc.TaxesIncludedInPrice != nil {
		s.TaxesIncludedInPrice = *sc.TaxesIncludedInPrice
	}
	return s
}

// KnowsChannel reports whether orders of the sales channel may be taxed:
// it is listed in sales_channels, or none is listed (every channel then
// takes the global settings). An order from an unlisted channel is more
// likely a typo or a new channel nobody configured than one meant to take
// the defaults.
func (c *Config) KnowsChannel(name string) bool {
	_, ok := c.SalesChannels[name]
	return ok || len(c.SalesChannels) == 0
}

// ChannelSettings are a sales channel's settings after overrides.
type ChannelSettings struct {
	Name                    string
	OrderInStore            bool
	EstimationStockLocation string
	TaxesIncludedInPrice    bool
	Enabled                 bool
	CommitOrderStates       []string
}

// IsRemoved reports whether a line item group state means removed.
func (c *Config) IsRemoved(state string) bool {
	return slices.Contains(c.Global.RemovedLineItemStates, state)
}

// IsCommitableParcel reports whether a parcel state triggers the commit.
func (c *Config) IsCommitableParcel(state string) bool {
	return slices.Contains(c.Global.CommitableParcelStates, state)
}
