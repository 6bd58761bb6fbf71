package avataxsim

import (
	"fmt"
	"net/http"
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

// decodeCreate decodes and canonicalises a create request.
func decodeCreate(req *createReq) *apiError {
	if req.Type == "" {
		req.Type = avatax.SalesOrder
	} else if t, ok := documentTypes.parse(req.Type); ok && t != "Any" {
		req.Type = t
	} else {
		return errInvalidEnum("type", req.Type)
	}
	if req.TaxOverride != nil && req.TaxOverride.Type != "" {
		t, ok := taxOverrideTypes.parse(req.TaxOverride.Type)
		if !ok {
			return errInvalidEnum("taxOverride.type", req.TaxOverride.Type)
		}
		req.TaxOverride.Type = t
	}
	for i := range req.Lines {
		if o := req.Lines[i].TaxOverride; o != nil && o.Type != "" {
			t, ok := taxOverrideTypes.parse(o.Type)
			if !ok {
				return errInvalidEnum(fmt.Sprintf("lines[%d].taxOverride.type", i), o.Type)
			}
			o.Type = t
		}
	}
	return nil
}

// companyOf returns the request's company code, or the default company.
func (s *Sandbox) companyOf(code string) string {
	if strings.TrimSpace(code) == "" {
		return s.opts.Companies[0]
	}
	return code
}

func (s *Sandbox) create(req *request) (int, any, *apiError) {
	var cr createReq
	empty, apiErr := decodeLenient(req.body, &cr)
	if apiErr != nil {
		return 0, nil, apiErr
	}
	if empty {
		return 0, nil, errModelRequired()
	}
	if apiErr := s.forceTimeout(req); apiErr != nil {
		return 0, nil, apiErr
	}
	v, _, apiErr := s.createDocument(&cr, false, "", "")
	if apiErr != nil {
		return 0, nil, apiErr
	}
	return http.StatusCreated, s.out(v, req), nil
}

func (s *Sandbox) createOrAdjust(req *request) (int, any, *apiError) {
	var car createOrAdjustReq
	empty, apiErr := decodeLenient(req.body, &car)
	if apiErr != nil {
		return 0, nil, apiErr
	}
	if empty {
		return 0, nil, errModelRequired()
	}
	if car.CreateTransactionModel == nil {
		return 0, nil, newErrorDetail(http.StatusBadRequest, "ValueRequiredError", "IncorrectData", avatax.ErrorDetail{
			Code: "ValueRequiredError", Message: "Field createTransactionModel is required.",
			Description: "Please provide a value for field createTransactionModel.",
		})
	}
	if apiErr := s.forceTimeout(req); apiErr != nil {
		return 0, nil, apiErr
	}
	reason := ""
	if car.AdjustmentReason != nil {
		r, ok := adjustmentReasons.parse(*car.AdjustmentReason)
		if !ok {
			return 0, nil, errEnumConversion("adjustmentReason", *car.AdjustmentReason, "AdjustmentReason")
		}
		reason = r
	}
	v, created, apiErr := s.createDocument(car.CreateTransactionModel, true, reason, car.AdjustmentDescription)
	if apiErr != nil {
		return 0, nil, apiErr
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return status, s.out(v, req), nil
}

// createDocument runs create (allowAdjust false) or createoradjust (true).
// It reports whether a new document was created (as opposed to adjusted).
func (s *Sandbox) createDocument(cr *createReq, allowAdjust bool, reason, description string) (docVersion, bool, *apiError) {
	if apiErr := decodeCreate(cr); apiErr != nil {
		return docVersion{}, false, apiErr
	}
	if strings.TrimSpace(cr.CustomerCode) == "" {
		return docVersion{}, false, errValueRequired("customerCode")
	}
	company := s.companyOf(cr.CompanyCode)
	if !s.companyExists(company) {
		return docVersion{}, false, errCompanyNotFound(company)
	}
	if strings.TrimSpace(cr.Code) == "" {
		cr.Code = newUUID()
	}
	tm, ex, apiErr := s.calculate(cr, cr.Type)
	if apiErr != nil {
		return docVersion{}, false, apiErr
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if isOrderType(cr.Type) {
		s.stamp(&tm, company, avatax.StatusTemporary, 1)
		return docVersion{tm: tm, ex: ex}, true, nil
	}
	status := avatax.StatusSaved
	if cr.Commit {
		status = avatax.StatusCommitted
	}
	key := keyOf(company, cr.Code, cr.Type)
	rec := s.docs[key]
	if rec != nil && allowAdjust && rec.cur().Status != avatax.StatusCancelled {
		if rec.locked {
			return docVersion{}, false, errLocked(cr.Code)
		}
		if reason == "" {
			reason = "Other"
		}
		s.adjustRecord(rec, tm, ex, company, status, reason, description)
		return rec.curVersion(), false, nil
	}
	if rec != nil && !allowAdjust {
		if rec.locked {
			return docVersion{}, false, errLocked(cr.Code)
		}
		if rec.cur().Status == avatax.StatusCommitted {
			return docVersion{}, false, errDocStatus()
		}
	}
	// New document, or an overwrite of a Saved/Posted/Cancelled one.
	s.stamp(&tm, company, status, 1)
	tm.AdjustmentReason = "NotAdjusted"
	s.docs[key] = &docRecord{companyCode: company, versions: []docVersion{{tm: tm, ex: ex}}}
	return docVersion{tm: cloneTM(tm), ex: ex.clone()}, true, nil
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

func (s *Sandbox) get(req *request) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, apiErr := s.lookup(req)
	if apiErr != nil {
		return 0, nil, apiErr
	}
	return http.StatusOK, render(rec.latest(), renderOpts{include: req.query["$include"], history: rec.versions}), nil
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

func (s *Sandbox) commit(req *request) (int, any, *apiError) {
	var cm commitReq
	empty, apiErr := decodeLenient(req.body, &cm)
	if apiErr != nil {
		return 0, nil, apiErr
	}
	if empty || cm.Commit == nil {
		return 0, nil, errValueRequired("commit")
	}
	return s.transition(req, func(_ *docRecord, tm *avatax.TransactionModel) *apiError {
		switch tm.Status {
		case avatax.StatusSaved, avatax.StatusPosted, avatax.StatusCommitted:
		default:
			return errDocStatus()
		}
		if *cm.Commit {
			tm.Status = avatax.StatusCommitted
		} else if tm.Status == avatax.StatusCommitted {
			tm.Status = avatax.StatusSaved
		}
		return nil
	})
}

func (s *Sandbox) void(req *request) (int, any, *apiError) {
	var vr voidReq
	empty, apiErr := decodeLenient(req.body, &vr)
	if apiErr != nil {
		return 0, nil, apiErr
	}
	if empty || strings.TrimSpace(vr.Code) == "" {
		return 0, nil, errValueRequired("code")
	}
	reasonCode, ok := voidReasons.parse(vr.Code)
	if !ok {
		return 0, nil, errEnumConversion("code", vr.Code, "VoidReasonCode")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, apiErr := s.lookupModifiable(req)
	if apiErr != nil {
		return 0, nil, apiErr
	}
	cur := rec.cur()
	if cur.Status == avatax.StatusCancelled {
		return 0, nil, errAlreadyCancelled()
	}
	defer s.touch(rec.cur())
	switch reasonCode {
	case "DocDeleted":
		if cur.Status != avatax.StatusCommitted {
			// An uncommitted document is deleted outright.
			cur.Status = avatax.StatusCancelled
			s.touch(cur)
			out := rec.latest()
			for k, r := range s.docs {
				if r == rec {
					delete(s.docs, k)
				}
			}
			return http.StatusOK, s.out(out, req), nil
		}
	case "PostFailed":
		// The document goes back to an unposted (Saved) status.
		cur.Status = avatax.StatusSaved
		return http.StatusOK, s.out(rec.latest(), req), nil
	case "AdjustmentCancelled":
		if len(rec.versions) > 1 {
			// Undo the last adjustment: the previous version is current
			// again.
			status := cur.Status
			rec.versions = rec.versions[:len(rec.versions)-1]
			rec.cur().Status = status
			return http.StatusOK, s.out(rec.latest(), req), nil
		}
	}
	rec.voidedFrom = cur.Status
	cur.Status = avatax.StatusCancelled
	return http.StatusOK, s.out(rec.latest(), req), nil
}

// out renders a document for an answer, honouring $include.
func (s *Sandbox) out(v docVersion, req *request) *transactionWire {
	return render(v, renderOpts{include: req.query["$include"]})
}
