package avataxsim

import (
	"strings"

	"github.com/taxbridge/taxbridge/internal/avatax"
)

// docKey identifies a document: (companyCode, code, type). Company codes
// and document codes compare case-insensitively, as on Avalara.
type docKey struct {
	company string
	code    string
	docType string
}

// keyOf is the key of a document.
func keyOf(company, code, docType string) docKey {
	return docKey{company: strings.ToUpper(company), code: strings.ToUpper(code), docType: docType}
}

// docRecord is a stored document with its version history; the last
// version is current, earlier ones are Adjusted.
type docRecord struct {
	companyCode string
	versions    []docVersion
	locked      bool
	voidedFrom  string // status before the last void, for unvoid
}

// docVersion is one version of a document.
type docVersion struct {
	tm avatax.TransactionModel
	ex *docExtras
}

func (r *docRecord) current() avatax.TransactionModel {
	return cloneTM(r.versions[len(r.versions)-1].tm)
}

func (r *docRecord) cur() *avatax.TransactionModel { return &r.versions[len(r.versions)-1].tm }

// latest returns the current version itself, not a copy. It is for
// rendering an answer while s.mu is held: render only reads, and copying
// every line and detail first would cost about as much as rendering.
func (r *docRecord) latest() docVersion { return r.versions[len(r.versions)-1] }

// curVersion returns a copy of the current version with its extras.
func (r *docRecord) curVersion() docVersion {
	v := r.versions[len(r.versions)-1]
	return docVersion{tm: cloneTM(v.tm), ex: v.ex.clone()}
}

// history returns copies of every version, oldest first.
func (r *docRecord) history() []docVersion {
	out := make([]docVersion, len(r.versions))
	for i, v := range r.versions {
		out[i] = docVersion{tm: cloneTM(v.tm), ex: v.ex.clone()}
	}
	return out
}

// cloneTM copies a document deeply enough that callers cannot change the
// stored one.
func cloneTM(t avatax.TransactionModel) avatax.TransactionModel {
	out := t
	out.Lines = make([]avatax.TransactionLineModel, len(t.Lines))
	for i, l := range t.Lines {
		l.Details = append([]avatax.TransactionLineDetailModel(nil), l.Details...)
		out.Lines[i] = l
	}
	if t.Lines == nil {
		out.Lines = nil
	}
	out.Addresses = append([]avatax.TransactionAddressModel(nil), t.Addresses...)
	out.Summary = append([]avatax.TransactionSummary(nil), t.Summary...)
	out.Messages = append([]avatax.AvaTaxMessage(nil), t.Messages...)
	return out
}

// find returns the document of (company, code, type); an empty type picks
// the only document of that code, or SalesInvoice when several share it.
// Callers hold s.mu.
func (s *Sandbox) find(company, code, docType string) *docRecord {
	if docType != "" && docType != "Any" {
		return s.docs[keyOf(company, code, docType)]
	}
	if rec := s.docs[keyOf(company, code, avatax.SalesInvoice)]; rec != nil {
		return rec
	}
	var found *docRecord
	for k, rec := range s.docs {
		if k.company == strings.ToUpper(company) && k.code == strings.ToUpper(code) {
			if found == nil || rec.cur().Type < found.cur().Type {
				found = rec
			}
		}
	}
	return found
}

func (s *Sandbox) newID() int64 {
	s.nextID++
	return s.nextID
}

// stamp gives a computed document its ids, status, version and dates.
// Callers hold s.mu.
func (s *Sandbox) stamp(tm *avatax.TransactionModel, companyCode, status string, version int) {
	id := int64(0)
	if status != avatax.StatusTemporary {
		id = s.newID()
	}
	tm.ID = id
	tm.CompanyID = s.companyID(companyCode)
	tm.Status = status
	tm.Version = version
	tm.ModifiedDate = s.now().UTC().Format("2006-01-02T15:04:05.0000000Z")
	addrIDs := map[int]int64{}
	for i := range tm.Addresses {
		a := &tm.Addresses[i]
		a.ID = s.newID()
		if id == 0 {
			a.ID = 0
		}
		a.TransactionID = id
		addrIDs[i] = a.ID
	}
	for i := range tm.Lines {
		l := &tm.Lines[i]
		l.TransactionID = id
		if id != 0 {
			l.ID = s.newID()
		} else {
			l.ID = 0
		}
		for j := range l.Details {
			dt := &l.Details[j]
			dt.TransactionID = id
			dt.TransactionLineID = l.ID
			if id != 0 {
				dt.ID = s.newID()
			} else {
				dt.ID = 0
			}
		}
	}
}

// adjustRecord makes tm the new version of rec: the old one becomes
// Adjusted, the new one gets a new id and version + 1. Callers hold s.mu.
func (s *Sandbox) adjustRecord(rec *docRecord, tm avatax.TransactionModel, ex *docExtras, company, status, reason, description string) {
	old := rec.cur()
	old.Status = avatax.StatusAdjusted
	s.stamp(&tm, company, status, old.Version+1)
	tm.AdjustmentReason = reason
	tm.AdjustmentDescription = description
	rec.versions = append(rec.versions, docVersion{tm: tm, ex: ex})
}

// lookup finds the document a by-code call acts on, or the API's 404.
// Callers hold s.mu.
func (s *Sandbox) lookup(req *request) (*docRecord, *apiError) {
	company, code := req.params["company"], req.params["code"]
	if !s.companyExists(company) {
		return nil, errCompanyNotFound(company)
	}
	docType := req.params["type"]
	if docType == "" {
		docType = req.query["documenttype"]
	}
	if docType != "" {
		t, ok := documentTypes.parse(docType)
		if !ok {
			return nil, errInvalidEnum("documentType", docType)
		}
		docType = t
	}
	rec := s.find(company, code, docType)
	if rec == nil {
		return nil, errDocumentNotFound(company, code)
	}
	return rec, nil
}

// lookupModifiable finds the by-code document of req and checks that it
// may change. s.mu must be held.
func (s *Sandbox) lookupModifiable(req *request) (*docRecord, *apiError) {
	rec, apiErr := s.lookup(req)
	if apiErr != nil {
		return nil, apiErr
	}
	if rec.locked {
		return nil, errLocked(rec.cur().Code)
	}
	return rec, nil
}

func (s *Sandbox) touch(tm *avatax.TransactionModel) {
	tm.ModifiedDate = s.now().UTC().Format("2006-01-02T15:04:05.0000000Z")
}

// isOrderType reports whether a document type is temporary (never stored).
func isOrderType(docType string) bool { return strings.HasSuffix(docType, "Order") }

// appendLine adds a line to a document, and its amounts to the document's
// totals.
func appendLine(tm *avatax.TransactionModel, l avatax.TransactionLineModel) {
	tm.Lines = append(tm.Lines, l)
	tm.TotalAmount = tm.TotalAmount.Add(l.LineAmount)
	tm.TotalTax = tm.TotalTax.Add(l.Tax)
	tm.TotalTaxable = tm.TotalTaxable.Add(l.TaxableAmount)
	tm.TotalExempt = tm.TotalExempt.Add(l.ExemptAmount)
	tm.TotalDiscount = tm.TotalDiscount.Add(l.DiscountAmount)
	tm.TotalTaxCalculated = tm.TotalTaxCalculated.Add(l.TaxCalculated)
}
