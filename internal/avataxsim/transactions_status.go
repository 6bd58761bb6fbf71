package avataxsim

import (
	"net/http"
	"strings"
	"time"

	"github.com/taxbridge/taxbridge/internal/avatax"
)

// uncommit moves a committed, unlocked document back to Saved.
func (s *Sandbox) uncommit(req *request) (int, any, *apiError) {
	return s.transition(req, func(rec *docRecord, tm *avatax.TransactionModel) *apiError {
		if tm.Status != avatax.StatusCommitted {
			return newError(http.StatusBadRequest, "DocumentNotCommitted", "The document is not committed.",
				"Only a committed document can be uncommitted; "+tm.Code+" is "+tm.Status+".", "IncorrectData")
		}
		tm.Status = avatax.StatusSaved
		return nil
	})
}

// unvoid brings a cancelled document back to the status it had.
func (s *Sandbox) unvoid(req *request) (int, any, *apiError) {
	return s.transition(req, func(rec *docRecord, tm *avatax.TransactionModel) *apiError {
		if tm.Status != avatax.StatusCancelled {
			return newError(http.StatusBadRequest, "InvalidDocumentStatus", "The document status is invalid for this operation.",
				"Only a cancelled document can be unvoided.", "IncorrectData")
		}
		tm.Status = firstNonEmpty(rec.voidedFrom, avatax.StatusCommitted)
		return nil
	})
}

// lock is the test hook behind CannotModifyLockedTransaction: it locks (or
// unlocks) a committed document as Avalara's Managed Returns does once a
// document is reported.
func (s *Sandbox) lock(req *request) (int, any, *apiError) {
	var lr lockReq
	if _, apiErr := decodeLenient(req.body, &lr); apiErr != nil {
		return 0, nil, apiErr
	}
	locked := lr.IsLocked == nil || *lr.IsLocked
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, apiErr := s.lookup(req)
	if apiErr != nil {
		return 0, nil, apiErr
	}
	cur := rec.cur()
	if locked && cur.Status != avatax.StatusCommitted {
		return 0, nil, newError(http.StatusBadRequest, "DocumentNotCommitted", "The document is not committed.",
			"Only a committed document can be locked.", "IncorrectData")
	}
	rec.locked = locked
	cur.Locked = locked
	s.touch(cur)
	return http.StatusOK, s.out(rec.latest(), req), nil
}

// Lock locks or unlocks a stored document, as a test hook; it reports
// whether the document exists.
func (s *Sandbox) Lock(companyCode, code, docType string, locked bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.find(companyCode, code, docType)
	if rec == nil {
		return false
	}
	rec.locked = locked
	rec.cur().Locked = locked
	return true
}

// verify checks date and totals of a Saved document and posts it.
func (s *Sandbox) verify(req *request) (int, any, *apiError) {
	var vr verifyReq
	if _, apiErr := decodeLenient(req.body, &vr); apiErr != nil {
		return 0, nil, apiErr
	}
	return s.transition(req, func(rec *docRecord, tm *avatax.TransactionModel) *apiError {
		return verifyDoc(tm, &vr)
	})
}

// verifyDoc checks a document against a verify request and posts it.
func verifyDoc(tm *avatax.TransactionModel, vr *verifyReq) *apiError {
	if tm.Status != avatax.StatusSaved && tm.Status != avatax.StatusPosted {
		return newError(http.StatusBadRequest, "InvalidDocumentStatusForVerify", "Document status is invalid for verify.",
			"Only Saved or Posted documents can be verified; "+tm.Code+" is "+tm.Status+".", "IncorrectData")
	}
	if vr.VerifyTransactionDate != "" && normDate(vr.VerifyTransactionDate, time.Time{}) != tm.Date {
		return newError(http.StatusBadRequest, "DateMismatch", "The transaction date does not match.",
			"Expected "+tm.Date+".", "IncorrectData")
	}
	if vr.VerifyTotalAmount != nil && !vr.VerifyTotalAmount.Equal(tm.TotalAmount) {
		return newError(http.StatusBadRequest, "TotalAmountMismatch", "The total amount does not match.",
			"Expected "+tm.TotalAmount.String()+".", "IncorrectData")
	}
	if vr.VerifyTotalTax != nil && !vr.VerifyTotalTax.Equal(tm.TotalTax) {
		return newError(http.StatusBadRequest, "TotalTaxMismatch", "The total tax does not match.",
			"Expected "+tm.TotalTax.String()+".", "IncorrectData")
	}
	tm.Status = avatax.StatusPosted
	return nil
}

// changeCode renames an uncommitted document.
func (s *Sandbox) changeCode(req *request) (int, any, *apiError) {
	var cc changeCodeReq
	if _, apiErr := decodeLenient(req.body, &cc); apiErr != nil {
		return 0, nil, apiErr
	}
	if strings.TrimSpace(cc.NewCode) == "" {
		return 0, nil, errValueRequired("newCode")
	}
	return s.transition(req, func(rec *docRecord, tm *avatax.TransactionModel) *apiError {
		return s.rename(rec, tm, cc.NewCode)
	})
}

// rename changes a document's code; callers hold s.mu.
func (s *Sandbox) rename(rec *docRecord, tm *avatax.TransactionModel, newCode string) *apiError {
	if tm.Status != avatax.StatusSaved && tm.Status != avatax.StatusPosted {
		return newError(http.StatusBadRequest, "TransactionIsCommitted", "This transaction is committed.",
			"The code of a committed transaction cannot change.", "IncorrectData")
	}
	newKey := keyOf(rec.companyCode, newCode, tm.Type)
	if other := s.docs[newKey]; other != nil && other != rec {
		return newError(http.StatusBadRequest, "TransactionAlreadyExists", "This transaction already exists and cannot be overwritten.",
			"A "+tm.Type+" with code "+newCode+" already exists.", "IncorrectData")
	}
	for k, r := range s.docs {
		if r == rec {
			delete(s.docs, k)
		}
	}
	for i := range rec.versions {
		rec.versions[i].tm.Code = newCode
	}
	tm.Code = newCode
	s.docs[newKey] = rec
	return nil
}

// settle is changecode + verify + commit in one call on a Saved or Posted
// document.
func (s *Sandbox) settle(req *request) (int, any, *apiError) {
	var sr settleReq
	if _, apiErr := decodeLenient(req.body, &sr); apiErr != nil {
		return 0, nil, apiErr
	}
	return s.transition(req, func(rec *docRecord, tm *avatax.TransactionModel) *apiError {
		if tm.Status != avatax.StatusSaved && tm.Status != avatax.StatusPosted {
			return errDocStatus()
		}
		if sr.ChangeCode != nil && strings.TrimSpace(sr.ChangeCode.NewCode) != "" {
			if apiErr := s.rename(rec, tm, sr.ChangeCode.NewCode); apiErr != nil {
				return apiErr
			}
		}
		if sr.Verify != nil {
			if apiErr := verifyDoc(tm, sr.Verify); apiErr != nil {
				return apiErr
			}
		}
		if sr.Commit != nil && sr.Commit.Commit != nil && *sr.Commit.Commit {
			tm.Status = avatax.StatusCommitted
		}
		return nil
	})
}

// transition runs a status change on the current version of a by-code
// document.
func (s *Sandbox) transition(req *request, fn func(rec *docRecord, tm *avatax.TransactionModel) *apiError) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, apiErr := s.lookupModifiable(req)
	if apiErr != nil {
		return 0, nil, apiErr
	}
	// Work on a copy so that a failed check changes nothing.
	tm := rec.current()
	if apiErr := fn(rec, &tm); apiErr != nil {
		return 0, nil, apiErr
	}
	s.touch(&tm)
	*rec.cur() = tm
	return http.StatusOK, s.out(rec.latest(), req), nil
}

// commit answers CommitTransaction: commit true commits a Saved or Posted
// document, false takes a Committed one back to Saved.
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

// void answers VoidTransaction; the reason code decides what happens
// (DocDeleted deletes an uncommitted document, PostFailed unposts it,
// AdjustmentCancelled undoes the last adjustment, others cancel it).
func (s *Sandbox) void(req *request) (int, any, *apiError) {
	var vr avatax.VoidTransactionModel
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
