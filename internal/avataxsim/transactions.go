package avataxsim

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/taxbridge/taxbridge/internal/avatax"
)

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

// create answers transactions/create: a new document, or the overwrite
// of an uncommitted one of the same code and type.
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

// createOrAdjust answers transactions/createoradjust: a new document, or
// a new version of the existing one (201 created, 200 adjusted).
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

// out renders a document for an answer, honouring $include.
func (s *Sandbox) out(v docVersion, req *request) *avatax.TransactionModel {
	return render(v, renderOpts{include: req.query["$include"]})
}

// adjust replaces a document by a new version (AdjustTransaction): the old
// version becomes Adjusted; the new one gets a new id, version + 1 and the
// adjustment reason. Cancelled documents cannot be adjusted, nor can the
// document type change.
func (s *Sandbox) adjust(req *request) (int, any, *apiError) {
	var ar adjustReq
	empty, apiErr := decodeLenient(req.body, &ar)
	if apiErr != nil {
		return 0, nil, apiErr
	}
	if empty {
		return 0, nil, errModelRequired()
	}
	if ar.AdjustmentReason == nil {
		return 0, nil, errValueRequired("adjustmentReason")
	}
	reason, ok := adjustmentReasons.parse(*ar.AdjustmentReason)
	if !ok {
		return 0, nil, errEnumConversion("adjustmentReason", *ar.AdjustmentReason, "AdjustmentReason")
	}
	if reason == "Other" && strings.TrimSpace(ar.AdjustmentDescription) == "" {
		return 0, nil, errValueRequired("adjustmentDescription")
	}
	if ar.NewTransaction == nil {
		return 0, nil, errValueRequired("newTransaction")
	}
	cr := ar.NewTransaction
	if apiErr := decodeCreate(cr); apiErr != nil {
		return 0, nil, apiErr
	}
	if strings.TrimSpace(cr.CustomerCode) == "" {
		return 0, nil, errValueRequired("customerCode")
	}

	// Calculate first (no lock needed), then check and store atomically.
	cr.Code = req.params["code"]
	tm, ex, apiErr := s.calculate(cr, cr.Type)
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, lookupErr := s.lookupModifiable(req)
	if lookupErr != nil {
		return 0, nil, lookupErr
	}
	cur := rec.cur()
	if cur.Status == avatax.StatusCancelled {
		return 0, nil, newError(http.StatusBadRequest, "InvalidDocumentStatus", "The document status is invalid for this operation.",
			"A cancelled document cannot be adjusted.", "IncorrectData")
	}
	if cr.Type != cur.Type {
		return 0, nil, newError(http.StatusBadRequest, "CannotAdjustDocumentType", "You cannot change the document type of a transaction.",
			"The document type of "+cur.Code+" is "+cur.Type+".", "IncorrectData")
	}
	if apiErr != nil {
		return 0, nil, apiErr
	}
	tm.Code = cur.Code
	status := avatax.StatusSaved
	if cr.Commit || cur.Status == avatax.StatusCommitted {
		status = avatax.StatusCommitted
	}
	s.adjustRecord(rec, tm, ex, rec.companyCode, status, reason, ar.AdjustmentDescription)
	return http.StatusOK, s.out(rec.latest(), req), nil
}
