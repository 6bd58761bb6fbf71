package avataxsim

// The sandbox stores documents as the client's avatax.TransactionModel and
// answers with that same model: render (render.go) completes a stored
// version with the fields AvaTax sends that the sandbox does not store
// (address ids, location types, FIPS codes, reporting units, ...) and with
// the values AvaTax always sends where the stored model holds none.
// docExtras keeps, per version, what the stored model cannot hold.

// docExtras is the per-version data behind the extra wire fields.
type docExtras struct {
	Roles                    []string // location type of each address, by index
	Lines                    []lineExtras
	DocFrom, DocTo           int // document origin and destination address index, or -1
	BusinessIdentificationNo string
	IsSellerImporterOfRecord bool
	ExchangeRateCurrencyCode string
	CustomerSupplierName     string
	CrossBorder              bool // a cross-border VAT supply: invoice messages apply
}

// lineExtras is the per-line data behind the extra wire fields of a line.
type lineExtras struct {
	From, To, Tax int  // address indexes, or -1
	VAT           bool // taxed under a VAT regime
}

// clone copies ex deeply; a nil ex is a document without addresses.
func (ex *docExtras) clone() *docExtras {
	if ex == nil {
		return &docExtras{DocFrom: -1, DocTo: -1}
	}
	c := *ex
	c.Roles = append([]string(nil), ex.Roles...)
	c.Lines = append([]lineExtras(nil), ex.Lines...)
	return &c
}
