package avataxsim

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"
)

// A small OData-style $filter: comparisons (eq, ne, gt, ge, lt, le,
// contains, startswith, endswith) joined by and / or / not with
// parentheses. Values are 'quoted strings', numbers, true/false/null or
// bare words (status eq Saved). Strings compare case-insensitively; dates
// compare as text (yyyy-MM-dd sorts correctly).

type filterNode interface {
	eval(rec map[string]any) bool
}

type andNode struct{ l, r filterNode }
type orNode struct{ l, r filterNode }
type notNode struct{ n filterNode }
type cmpNode struct {
	field, op string
	value     any // string, decimal.Decimal, bool or nil
}

func (n andNode) eval(r map[string]any) bool { return n.l.eval(r) && n.r.eval(r) }
func (n orNode) eval(r map[string]any) bool  { return n.l.eval(r) || n.r.eval(r) }
func (n notNode) eval(r map[string]any) bool { return !n.n.eval(r) }

func lookupField(rec map[string]any, field string) (any, bool) {
	if v, ok := rec[field]; ok {
		return v, true
	}
	for k, v := range rec {
		if strings.EqualFold(k, field) {
			return v, true
		}
	}
	return nil, false
}

func (n cmpNode) eval(rec map[string]any) bool {
	v, _ := lookupField(rec, n.field)
	switch want := n.value.(type) {
	case nil:
		switch n.op {
		case "eq":
			return v == nil
		case "ne":
			return v != nil
		}
		return false
	case bool:
		b, ok := v.(bool)
		if !ok {
			return false
		}
		switch n.op {
		case "eq":
			return b == want
		case "ne":
			return b != want
		}
		return false
	case decimal.Decimal:
		got, err := decimal.NewFromString(fmt.Sprint(v))
		if err != nil {
			return false
		}
		return compareOrdered(got.Cmp(want), n.op)
	case string:
		got := strings.ToLower(fmt.Sprint(v))
		w := strings.ToLower(want)
		switch n.op {
		case "contains":
			return strings.Contains(got, w)
		case "startswith":
			return strings.HasPrefix(got, w)
		case "endswith":
			return strings.HasSuffix(got, w)
		}
		if isDateLike(w) && len(got) > len(w) && isDateLike(got[:len(w)]) {
			got = got[:len(w)]
		}
		return compareOrdered(strings.Compare(got, w), n.op)
	}
	return false
}

func isDateLike(s string) bool {
	return len(s) == 10 && s[4] == '-' && s[7] == '-'
}

func compareOrdered(c int, op string) bool {
	switch op {
	case "eq":
		return c == 0
	case "ne":
		return c != 0
	case "gt":
		return c > 0
	case "ge":
		return c >= 0
	case "lt":
		return c < 0
	case "le":
		return c <= 0
	}
	return false
}

type filterParser struct {
	toks []string
	pos  int
}

// parseFilter parses a $filter expression; an empty one matches everything.
func parseFilter(s string) (filterNode, error) {
	toks, err := tokenize(s)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, nil
	}
	p := &filterParser{toks: toks}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.toks) {
		return nil, fmt.Errorf("unexpected %q", p.toks[p.pos])
	}
	return n, nil
}

func tokenize(s string) ([]string, error) {
	var out []string
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c == '(' || c == ')':
			out = append(out, string(c))
			i++
		case c == '\'':
			j := i + 1
			var b strings.Builder
			for ; j < len(s); j++ {
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' {
						b.WriteByte('\'')
						j++
						continue
					}
					break
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, fmt.Errorf("unterminated string")
			}
			out = append(out, "'"+b.String())
			i = j + 1
		default:
			j := i
			for j < len(s) && s[j] != ' ' && s[j] != '(' && s[j] != ')' && s[j] != '\t' {
				j++
			}
			out = append(out, s[i:j])
			i = j
		}
	}
	return out, nil
}

func (p *filterParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *filterParser) or() (filterNode, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for strings.EqualFold(p.peek(), "or") {
		p.pos++
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = orNode{l, r}
	}
	return l, nil
}

func (p *filterParser) and() (filterNode, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for strings.EqualFold(p.peek(), "and") {
		p.pos++
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = andNode{l, r}
	}
	return l, nil
}

func (p *filterParser) unary() (filterNode, error) {
	switch t := p.peek(); {
	case t == "":
		return nil, fmt.Errorf("unexpected end of filter")
	case strings.EqualFold(t, "not"):
		p.pos++
		n, err := p.unary()
		return notNode{n}, err
	case t == "(":
		p.pos++
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, fmt.Errorf("missing )")
		}
		p.pos++
		return n, nil
	}
	if p.pos+2 >= len(p.toks) {
		return nil, fmt.Errorf("incomplete comparison")
	}
	field, op, val := p.toks[p.pos], strings.ToLower(p.toks[p.pos+1]), p.toks[p.pos+2]
	p.pos += 3
	switch op {
	case "eq", "ne", "gt", "ge", "lt", "le", "contains", "startswith", "endswith":
	default:
		return nil, fmt.Errorf("unknown operator %q", op)
	}
	return cmpNode{field: field, op: op, value: literal(val)}, nil
}

func literal(tok string) any {
	if strings.HasPrefix(tok, "'") {
		return tok[1:]
	}
	switch strings.ToLower(tok) {
	case "true":
		return true
	case "false":
		return false
	case "null":
		return nil
	}
	if d, err := decimal.NewFromString(tok); err == nil {
		return d
	}
	return tok
}

// fetch applies $filter, $orderBy, $top and $skip to rows and builds a
// FetchResult with @nextLink when more rows remain.
func fetch(rows []map[string]any, req *request, maxTop int) (map[string]any, *apiError) {
	filter, err := parseFilter(req.query["$filter"])
	if err != nil {
		return nil, newError(http.StatusBadRequest, "InvalidFilter", "The $filter parameter is not valid.", err.Error(), "IncorrectData")
	}
	var kept []map[string]any
	for _, r := range rows {
		if filter == nil || filter.eval(r) {
			kept = append(kept, r)
		}
	}
	if ob := strings.TrimSpace(req.query["$orderby"]); ob != "" {
		type key struct {
			field string
			desc  bool
		}
		var keys []key
		for _, part := range strings.Split(ob, ",") {
			f := strings.Fields(part)
			if len(f) == 0 {
				continue
			}
			keys = append(keys, key{field: f[0], desc: len(f) > 1 && strings.EqualFold(f[1], "desc")})
		}
		sort.SliceStable(kept, func(i, j int) bool {
			for _, k := range keys {
				a, _ := lookupField(kept[i], k.field)
				b, _ := lookupField(kept[j], k.field)
				c := compareValues(a, b)
				if c != 0 {
					return (c < 0) != k.desc
				}
			}
			return false
		})
	}
	top, skip := maxTop, 0
	if v := req.query["$top"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, newError(http.StatusBadRequest, "RangeError", "$top must be a non-negative number.", "", "IncorrectData")
		}
		if n > 0 && n < maxTop {
			top = n
		}
	}
	if v := req.query["$skip"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, newError(http.StatusBadRequest, "RangeError", "$skip must be a non-negative number.", "", "IncorrectData")
		}
		skip = n
	}
	total := len(kept)
	page := []any{}
	for i := skip; i < total && i < skip+top; i++ {
		page = append(page, kept[i])
	}
	out := map[string]any{"@recordsetCount": total, "value": page}
	if skip+top < total {
		q := req.r.URL.Query()
		q.Set("$top", strconv.Itoa(top))
		q.Set("$skip", strconv.Itoa(skip+top))
		out["@nextLink"] = req.r.URL.Path + "?" + q.Encode()
	}
	return out, nil
}

func compareValues(a, b any) int {
	da, ea := decimal.NewFromString(fmt.Sprint(a))
	db, eb := decimal.NewFromString(fmt.Sprint(b))
	if ea == nil && eb == nil {
		return da.Cmp(db)
	}
	return strings.Compare(strings.ToLower(fmt.Sprint(a)), strings.ToLower(fmt.Sprint(b)))
}
