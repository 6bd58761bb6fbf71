package avataxsim

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/taxbridge/taxbridge/internal/avatax"
)

// get answers GetTransactionByCode (with or without its type), the
// current version with every version as history.
func (s *Sandbox) get(req *request) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, apiErr := s.lookup(req)
	if apiErr != nil {
		return 0, nil, apiErr
	}
	return http.StatusOK, render(rec.latest(), renderOpts{include: req.query["$include"], history: rec.versions}), nil
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
