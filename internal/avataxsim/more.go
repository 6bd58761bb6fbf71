package avataxsim

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/taxbridge/taxbridge/internal/avatax"
)

// moreRoutes are the endpoints beyond the core lifecycle.
var moreRoutes = []route{
	{method: "GET", pattern: split("companies/{company}/transactions"), op: "list", handle: (*Sandbox).list},
	{method: "GET", pattern: split("transactions/{id}"), op: "get", handle: (*Sandbox).getByID},
	{method: "POST", pattern: split("companies/{company}/transactions/{code}/adjust"), op: "adjust", handle: (*Sandbox).adjust},
	{method: "POST", pattern: split("companies/{company}/transactions/{code}/uncommit"), op: "uncommit", handle: (*Sandbox).uncommit},
	{method: "POST", pattern: split("companies/{company}/transactions/{code}/unvoid"), op: "unvoid", handle: (*Sandbox).unvoid},
	{method: "POST", pattern: split("companies/{company}/transactions/{code}/lock"), op: "lock", handle: (*Sandbox).lock},
	{method: "POST", pattern: split("companies/{company}/transactions/{code}/verify"), op: "verify", handle: (*Sandbox).verify},
	{method: "POST", pattern: split("companies/{company}/transactions/{code}/changecode"), op: "changecode", handle: (*Sandbox).changeCode},
	{method: "POST", pattern: split("companies/{company}/transactions/{code}/settle"), op: "settle", handle: (*Sandbox).settle},
	{method: "GET", pattern: split("taxrates/bypostalcode"), op: "taxrates", handle: (*Sandbox).taxRatesByPostalCode},
	{method: "GET", pattern: split("taxrates/byaddress"), op: "taxrates", handle: (*Sandbox).taxRatesByAddress},
	{method: "GET", pattern: split("definitions/taxcodes"), op: "taxcodes", handle: (*Sandbox).taxCodes},
	{method: "GET", pattern: split("utilities/subscriptions"), op: "subscriptions", handle: (*Sandbox).subscriptions},
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

// getByID returns a document version by its id.
func (s *Sandbox) getByID(req *request) (int, any, *apiError) {
	id, err := strconv.ParseInt(req.params["id"], 10, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		for _, rec := range s.docs {
			for _, v := range rec.versions {
				if v.tm.ID == id {
					return http.StatusOK, render(v, renderOpts{include: req.query["$include"]}), nil
				}
			}
		}
	}
	return 0, nil, newErrorDetail(http.StatusNotFound, "EntityNotFoundError", "HttpRequest", avatax.ErrorDetail{
		Code: "EntityNotFoundError", Message: "Transaction not found.",
		Description: "The Transaction with ID '" + req.params["id"] + "' was not found.",
	})
}

// list is ListTransactionsByCompany: every version of the company's
// documents (Adjusted ones included, as on Avalara), oldest first, with
// $filter, $orderBy, $top (at most 1000), $skip and @nextLink. Without a
// date criterion in $filter only documents modified in the last 30 days are
// listed.
func (s *Sandbox) list(req *request) (int, any, *apiError) {
	company := req.params["company"]
	if !s.companyExists(company) {
		return 0, nil, errCompanyNotFound(company)
	}
	withDate := strings.Contains(strings.ToLower(req.query["$filter"]), "date")
	since := s.now().Add(-30 * 24 * time.Hour).UTC().Format("2006-01-02T15:04:05")
	type item struct {
		v       docVersion
		history []docVersion // for current versions
	}
	s.mu.Lock()
	var items []item
	for k, rec := range s.docs {
		if k.company != strings.ToUpper(company) {
			continue
		}
		for i, v := range rec.versions {
			if !withDate && v.tm.ModifiedDate < since {
				continue
			}
			it := item{v: docVersion{tm: cloneTM(v.tm), ex: v.ex.clone()}}
			if i == len(rec.versions)-1 {
				it.history = rec.history()
			}
			items = append(items, it)
		}
	}
	s.mu.Unlock()
	sort.Slice(items, func(i, j int) bool { return items[i].v.tm.ID < items[j].v.tm.ID })
	rows := make([]map[string]any, 0, len(items))
	for _, it := range items {
		// $filter and $orderBy work on the generic JSON object of a row.
		rows = append(rows, toMap(render(it.v, renderOpts{include: req.query["$include"], listItem: true, history: it.history})))
	}
	out, apiErr := fetch(rows, req, 1000)
	if apiErr != nil {
		return 0, nil, apiErr
	}
	return http.StatusOK, out, nil
}

// taxRatesByPostalCode answers from the jurisdiction table (US only).
func (s *Sandbox) taxRatesByPostalCode(req *request) (int, any, *apiError) {
	country, postal := req.query["country"], req.query["postalcode"]
	if strings.TrimSpace(country) == "" {
		return 0, nil, errValueRequired("country")
	}
	if strings.TrimSpace(postal) == "" {
		return 0, nil, errValueRequired("postalCode")
	}
	return s.taxRates(addressReq{Country: country, PostalCode: postal})
}

func (s *Sandbox) taxRatesByAddress(req *request) (int, any, *apiError) {
	q := req.query
	for _, f := range []string{"line1", "region", "postalcode", "country"} {
		if strings.TrimSpace(q[f]) == "" {
			name := f
			if f == "postalcode" {
				name = "postalCode"
			}
			return 0, nil, errValueRequired(name)
		}
	}
	return s.taxRates(addressReq{Line1: q["line1"], City: q["city"], Region: q["region"], PostalCode: q["postalcode"], Country: q["country"]})
}

func (s *Sandbox) taxRates(a addressReq) (int, any, *apiError) {
	if canonicalCountry(a.Country) != "US" {
		return 0, nil, newError(http.StatusBadRequest, "InvalidCountry", "This API only supports the United States.",
			"Tax rates by postal code are available for US addresses only.", "IncorrectData")
	}
	p, apiErr := lookupPlace(&a, 0, "ShipTo")
	if apiErr != nil {
		return 0, nil, apiErr
	}
	out := avatax.TaxRateModel{Rates: []avatax.RateModel{}}
	byType := map[string]int{}
	for _, r := range p.Rows {
		jt := r.jurisdictionType()
		i, ok := byType[jt]
		if !ok {
			i = len(out.Rates)
			byType[jt] = i
			out.Rates = append(out.Rates, avatax.RateModel{Name: r.TaxName, Type: jt})
		}
		out.Rates[i].Rate = out.Rates[i].Rate.Add(r.Rate)
		out.TotalRate = out.TotalRate.Add(r.Rate)
	}
	return http.StatusOK, out, nil
}

// taxCode is one row of definitions/taxcodes.
type taxCode struct {
	Code, Type, Description, Parent string
	Physical                        bool
}

// taxCodeTable is the sandbox's small tax code catalogue.
var taxCodeTable = []taxCode{
	{"P0000000", "P", "Tangible Personal Property (TPP)", "", true},
	{"NT", "N", "Non-Taxable Product/Service", "", false},
	{"FR", "F", "Shipping Only - common carrier - FOB destination", "", false},
	{"FR010000", "F", "Delivery by company vehicle", "FR000000", false},
	{"FR020100", "F", "Shipping Only - common carrier - FOB destination", "FR000000", false},
	{"FR020200", "F", "Shipping Only - common carrier - FOB origin", "FR000000", false},
	{"PC040000", "P", "Clothing And Related Products (B2C)", "P0000000", true},
	{"PC040100", "P", "Clothing And Related Products (B2C) - General", "PC040000", true},
	{"PC040200", "P", "Clothing And Related Products (B2C) - Accessories", "PC040000", true},
	{"PC040206", "P", "Clothing And Related Products (B2C) - Footwear", "PC040000", true},
	{"PC030000", "P", "Computers and computer hardware", "P0000000", true},
	{"PF050000", "P", "Food and Food Ingredients", "P0000000", true},
	{"PH050117", "P", "Dietary supplements", "P0000000", true},
	{"D0000000", "D", "Digital products", "", false},
	{"S0000000", "S", "Services (not otherwise classified)", "", false},
	{"O9999999", "O", "Temporary Unmapped Other SKU - taxable default", "", false},
}

func (s *Sandbox) taxCodes(req *request) (int, any, *apiError) {
	rows := make([]map[string]any, 0, len(taxCodeTable))
	for _, tc := range taxCodeTable {
		row := map[string]any{
			"id": taxCodeID(tc.Code), "companyId": 1, "taxCode": tc.Code, "taxCodeTypeId": tc.Type,
			"description": tc.Description, "isPhysical": tc.Physical, "goodsServiceCode": 0, "entityUseCode": "",
			"isActive": true, "isSSTCertified": true, "createdDate": "2006-06-16T19:40:14.52", "createdUserId": 0,
			"modifiedDate": "2021-06-29T03:21:08.86Z", "modifiedUserId": 0,
		}
		row["parentTaxCode"] = tc.Parent
		rows = append(rows, row)
	}
	out, apiErr := fetch(rows, req, 1000)
	if apiErr != nil {
		return 0, nil, apiErr
	}
	return http.StatusOK, out, nil
}

func (s *Sandbox) subscriptions(req *request) (int, any, *apiError) {
	var rows []map[string]any
	for i, name := range []string{"AvaTaxST", "AvaTaxPro", "AvaTaxGlobal"} {
		rows = append(rows, map[string]any{
			"id": 8224630 + i, "accountId": json.Number(strconv.FormatInt(parseAccountID(s.opts.AccountID), 10)),
			"subscriptionTypeId": i + 1, "subscriptionDescription": name, "effectiveDate": "2024-01-01",
			"createdDate": "2024-01-01T00:00:00", "createdUserId": 1, "modifiedDate": "2024-01-01T00:00:00", "modifiedUserId": 1,
		})
	}
	out, apiErr := fetch(rows, req, 1000)
	if apiErr != nil {
		return 0, nil, apiErr
	}
	return http.StatusOK, out, nil
}
