package plexsim

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/internal/plex"
)

func (s *Sandbox) routes() {
	m := s.mux
	m.HandleFunc("GET /sales/v1/orders", func(w http.ResponseWriter, r *http.Request) {
		// Plex has no pagination and may ignore filters: every order, always.
		s.mu.Lock()
		out := sortedValues(s.orders)
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, out)
	})
	m.HandleFunc("GET /sales/v1/orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		s.get(w, r, "sales order", func(id string) (any, bool) { v, ok := s.orders[id]; return v, ok })
	})
	m.HandleFunc("GET /mdm/v1/customers/{id}", func(w http.ResponseWriter, r *http.Request) {
		s.get(w, r, "customer", func(id string) (any, bool) { v, ok := s.customers[id]; return v, ok })
	})
	m.HandleFunc("GET /mdm/v1/customers/{id}/addresses", func(w http.ResponseWriter, r *http.Request) {
		s.get(w, r, "customer", func(id string) (any, bool) {
			if _, ok := s.customers[id]; !ok {
				return nil, false
			}
			return append([]plex.CustomerAddress{}, s.addresses[id]...), true
		})
	})
	m.HandleFunc("GET /purchasing/v1/purchase-orders", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		out := sortedValues(s.pos)
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, out)
	})
	m.HandleFunc("GET /purchasing/v1/purchase-orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		s.get(w, r, "purchase order", func(id string) (any, bool) { v, ok := s.pos[id]; return v, ok })
	})
	m.HandleFunc("GET /mdm/v1/suppliers/{id}", func(w http.ResponseWriter, r *http.Request) {
		s.get(w, r, "supplier", func(id string) (any, bool) { v, ok := s.suppliers[id]; return v, ok })
	})
	m.HandleFunc("GET /mdm/v1/suppliers/{id}/addresses", func(w http.ResponseWriter, r *http.Request) {
		s.get(w, r, "supplier", func(id string) (any, bool) {
			if _, ok := s.suppliers[id]; !ok {
				return nil, false
			}
			return append([]plex.SupplierAddress{}, s.supAddrs[id]...), true
		})
	})
	m.HandleFunc("GET /mdm/v1/suppliers/{id}/purchasing-defaults", func(w http.ResponseWriter, r *http.Request) {
		// 404 for an unknown supplier and for one without defaults, as Plex.
		s.get(w, r, "purchasing defaults of supplier", func(id string) (any, bool) {
			if _, ok := s.suppliers[id]; !ok {
				return nil, false
			}
			v, ok := s.purDefaults[id]
			return v, ok
		})
	})
	m.HandleFunc("PUT /purchasing/v1/purchase-orders/{id}/line-items/{lineItemId}", s.writeLineTax)
	m.HandleFunc("GET /sales/v1/orders/{id}/price-adjustments", func(w http.ResponseWriter, r *http.Request) {
		s.get(w, r, "sales order", func(id string) (any, bool) {
			if _, ok := s.orders[id]; !ok {
				return nil, false
			}
			return append([]plex.PriceAdjustment{}, s.adjustments[id]...), true
		})
	})
	m.HandleFunc("PUT /sales/v1/orders/{id}/price-adjustments", s.writeAdjustment)
	m.HandleFunc("POST /sales/v1/orders/{id}/price-adjustments", s.writeAdjustment)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "no such resource", nil)
	})
}

func (s *Sandbox) get(w http.ResponseWriter, r *http.Request, what string, find func(id string) (any, bool)) {
	id := r.PathValue("id")
	s.mu.Lock()
	v, ok := find(id)
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("%s %q not found", what, id), nil)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// writeAdjustment records a price adjustment. Type and description
// identify it: writing the same pair again replaces the amount (or changes
// nothing), so a repeated write-back never adds a second adjustment.
func (s *Sandbox) writeAdjustment(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var in plex.PriceAdjustmentInput
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	if err := dec.Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "INVALID_REQUEST", "the body is not a price adjustment", []plex.FieldError{{Field: "body", Message: err.Error()}})
		return
	}
	var fields []plex.FieldError
	if strings.TrimSpace(in.Type) == "" {
		fields = append(fields, plex.FieldError{Field: "type", Message: "is required"})
	}
	if strings.TrimSpace(in.Description) == "" {
		fields = append(fields, plex.FieldError{Field: "description", Message: "is required"})
	}
	if fields != nil {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "invalid price adjustment", fields)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.orders[id]; !ok {
		writeError(w, http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("sales order %q not found", id), nil)
		return
	}
	list := s.adjustments[id]
	for i, a := range list {
		if a.Type == in.Type && a.Description == in.Description {
			if a.Amount.Equal(in.Amount) {
				s.stats.WritesUnchanged++
			} else {
				list[i].Amount = in.Amount
				list[i].UpdatedDate = plex.Date(s.opts.Now())
				s.stats.WritesChanged++
			}
			writeJSON(w, http.StatusOK, list[i])
			return
		}
	}
	s.adjSeq++
	a := plex.PriceAdjustment{ID: fmt.Sprintf("PA-%d", s.adjSeq), OrderID: id, Type: in.Type, Description: in.Description,
		Amount: in.Amount, UpdatedDate: plex.Date(s.opts.Now())}
	s.adjustments[id] = append(list, a)
	s.stats.WritesChanged++
	writeJSON(w, http.StatusCreated, a)
}

// writeLineTax records the tax of a purchase order line item. The same
// amount again changes nothing, so the write is idempotent.
func (s *Sandbox) writeLineTax(w http.ResponseWriter, r *http.Request) {
	id, lineID := r.PathValue("id"), r.PathValue("lineItemId")
	var in struct {
		TaxAmount *decimal.Decimal `json:"taxAmount"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	if err := dec.Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "INVALID_REQUEST", "the body is not a line item tax", []plex.FieldError{{Field: "body", Message: err.Error()}})
		return
	}
	if in.TaxAmount == nil {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "invalid line item tax", []plex.FieldError{{Field: "taxAmount", Message: "is required"}})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	po, ok := s.pos[id]
	if !ok {
		writeError(w, http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("purchase order %q not found", id), nil)
		return
	}
	for i, l := range po.Lines {
		if l.ID != lineID {
			continue
		}
		if l.TaxAmount != nil && l.TaxAmount.Equal(*in.TaxAmount) {
			s.stats.WritesUnchanged++
		} else {
			// Copy on write: a GET may be encoding the old lines.
			tax := *in.TaxAmount
			po.Lines = slices.Clone(po.Lines)
			po.Lines[i].TaxAmount = &tax
			s.pos[id] = po
			s.stats.WritesChanged++
		}
		writeJSON(w, http.StatusOK, po.Lines[i])
		return
	}
	writeError(w, http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("line item %q of purchase order %q not found", lineID, id), nil)
}

// token serves the client-credentials grant.
func (s *Sandbox) token(w http.ResponseWriter, r *http.Request) {
	if s.opts.OAuthClientID == "" {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "OAuth is not enabled", nil)
		return
	}
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if r.PostForm.Get("grant_type") != "client_credentials" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
		return
	}
	if id != s.opts.OAuthClientID || secret != s.opts.OAuthClientSecret {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	tok := hex.EncodeToString(b)
	s.mu.Lock()
	s.tokens[tok] = time.Now().Add(s.opts.TokenTTL)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": int(s.opts.TokenTTL.Seconds())})
}

func (s *Sandbox) validBearer(r *http.Request) bool {
	tok := bearer(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.tokens[tok]
	return ok && time.Now().Before(exp)
}

// Tokens returns how many OAuth tokens the sandbox holds as valid.
func (s *Sandbox) Tokens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tokens)
}

// RevokeTokens forgets every issued OAuth token, as when Plex revokes them
// before they expire.
func (s *Sandbox) RevokeTokens() {
	s.mu.Lock()
	clear(s.tokens)
	s.mu.Unlock()
}
