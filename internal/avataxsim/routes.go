package avataxsim

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
)

// request is a matched API request.
type request struct {
	r      *http.Request
	params map[string]string
	body   []byte
	query  map[string]string // lower-cased keys
}

// lowerQuery keeps the first value of each query parameter under its
// lower-cased name: AvaTax reads parameter names in any case.
func lowerQuery(q url.Values) map[string]string {
	m := make(map[string]string, len(q))
	for k, v := range q {
		if len(v) > 0 {
			m[strings.ToLower(k)] = v[0]
		}
	}
	return m
}

// handler answers a matched request with a status and a value to encode,
// or an AvaTax error.
type handler func(s *Sandbox, req *request) (int, any, *apiError)

// route is one endpoint of the API.
type route struct {
	method    string
	pattern   []string // literal segments, or "{name}"
	op        string
	anonymous bool
	handle    handler
}

// routes are the endpoints the sandbox serves, by resource. No two match
// the same request, so their order does not matter.
var routes = []route{
	// utilities.go
	{method: "GET", pattern: split("utilities/ping"), op: "ping", anonymous: true, handle: (*Sandbox).ping},
	{method: "GET", pattern: split("utilities/subscriptions"), op: "subscriptions", handle: (*Sandbox).subscriptions},
	// transactions.go: documents calculated from a request
	{method: "POST", pattern: split("transactions/create"), op: "create", handle: (*Sandbox).create},
	{method: "POST", pattern: split("transactions/createoradjust"), op: "createoradjust", handle: (*Sandbox).createOrAdjust},
	{method: "POST", pattern: split("companies/{company}/transactions/{code}/adjust"), op: "adjust", handle: (*Sandbox).adjust},
	// transactions_read.go
	{method: "GET", pattern: split("companies/{company}/transactions/{code}"), op: "get", handle: (*Sandbox).get},
	{method: "GET", pattern: split("companies/{company}/transactions/{code}/types/{type}"), op: "get", handle: (*Sandbox).get},
	{method: "GET", pattern: split("transactions/{id}"), op: "get", handle: (*Sandbox).getByID},
	{method: "GET", pattern: split("companies/{company}/transactions"), op: "list", handle: (*Sandbox).list},
	// transactions_status.go
	{method: "POST", pattern: split("companies/{company}/transactions/{code}/commit"), op: "commit", handle: (*Sandbox).commit},
	{method: "POST", pattern: split("companies/{company}/transactions/{code}/void"), op: "void", handle: (*Sandbox).void},
	{method: "POST", pattern: split("companies/{company}/transactions/{code}/uncommit"), op: "uncommit", handle: (*Sandbox).uncommit},
	{method: "POST", pattern: split("companies/{company}/transactions/{code}/unvoid"), op: "unvoid", handle: (*Sandbox).unvoid},
	{method: "POST", pattern: split("companies/{company}/transactions/{code}/lock"), op: "lock", handle: (*Sandbox).lock},
	{method: "POST", pattern: split("companies/{company}/transactions/{code}/verify"), op: "verify", handle: (*Sandbox).verify},
	{method: "POST", pattern: split("companies/{company}/transactions/{code}/changecode"), op: "changecode", handle: (*Sandbox).changeCode},
	{method: "POST", pattern: split("companies/{company}/transactions/{code}/settle"), op: "settle", handle: (*Sandbox).settle},
	// transactions_refund.go
	{method: "POST", pattern: split("companies/{company}/transactions/{code}/refund"), op: "refund", handle: (*Sandbox).refund},
	// addresses_resolve.go
	{method: "GET", pattern: split("addresses/resolve"), op: "resolve", handle: (*Sandbox).resolveGet},
	{method: "POST", pattern: split("addresses/resolve"), op: "resolve", handle: (*Sandbox).resolvePost},
	// taxrates.go
	{method: "GET", pattern: split("taxrates/bypostalcode"), op: "taxrates", handle: (*Sandbox).taxRatesByPostalCode},
	{method: "GET", pattern: split("taxrates/byaddress"), op: "taxrates", handle: (*Sandbox).taxRatesByAddress},
	// definitions.go
	{method: "GET", pattern: split("definitions/taxcodes"), op: "taxcodes", handle: (*Sandbox).taxCodes},
}

func split(p string) []string { return strings.Split(p, "/") }

// match finds the route of a request path (escaped, as on the wire).
// Literal segments compare case-insensitively, as on Avalara's servers;
// parameters are unescaped, including Avalara's _-ava2f-_ style markers.
func match(method, escapedPath string) (route, map[string]string, bool) {
	const prefix = "/api/v2/"
	if len(escapedPath) < len(prefix) || !strings.EqualFold(escapedPath[:len(prefix)], prefix) {
		return route{}, nil, false
	}
	rest := strings.TrimSuffix(escapedPath[len(prefix):], "/")
	segs := strings.Split(rest, "/")
	for _, rt := range routes {
		// Literals first: the parameters are only bound, which allocates,
		// for the route whose literals match.
		if rt.method != method || len(rt.pattern) != len(segs) || !literalsMatch(rt.pattern, segs) {
			continue
		}
		if params, ok := bindParams(rt.pattern, segs); ok {
			return rt, params, true
		}
	}
	return route{}, nil, false
}

// literalsMatch reports whether the literal segments of a pattern equal
// the path's segments, ignoring case.
func literalsMatch(pattern, segs []string) bool {
	for i, p := range pattern {
		if !strings.HasPrefix(p, "{") && !strings.EqualFold(p, segs[i]) {
			return false
		}
	}
	return true
}

// bindParams returns the path's values of the pattern's parameters; an
// empty or badly escaped value matches nothing.
func bindParams(pattern, segs []string) (map[string]string, bool) {
	params := map[string]string{}
	for i, p := range pattern {
		if !strings.HasPrefix(p, "{") {
			continue
		}
		if segs[i] == "" {
			return nil, false
		}
		v, err := url.PathUnescape(segs[i])
		if err != nil {
			return nil, false
		}
		params[strings.Trim(p, "{}")] = decodeCodeMarkers(v)
	}
	return params, true
}

var codeMarkers = strings.NewReplacer("_-ava2f-_", "/", "_-ava2b-_", "+", "_-ava3f-_", "?", "_-ava25-_", "%", "_-ava23-_", "#")

func decodeCodeMarkers(s string) string { return codeMarkers.Replace(s) }

// authenticate checks HTTP Basic account id and license key.
func (s *Sandbox) authenticate(r *http.Request) *apiError {
	if s.authenticated(r) {
		return nil
	}
	return errAuthentication()
}

func (s *Sandbox) authenticated(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	if len(h) < 6 || !strings.EqualFold(h[:6], "Basic ") {
		return false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(h[6:]))
	if err != nil {
		return false
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	return ok && user == s.opts.AccountID && pass == s.opts.LicenseKey
}
