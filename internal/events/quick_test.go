package events_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/scenario"
	"github.com/taxbridge/taxbridge/schemas"
)

// corpus is one event of every inbound type from the OneStock flows, plus
// a refund and a refresh that set every optional member the schemas know.
func corpus(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, f := range append(scenario.OneStock("Q"), scenario.ECommerce("Q-E"), scenario.PartialCancel("Q-P")) {
		for _, e := range f.Events {
			if _, ok := out[string(e.Type)]; ok {
				continue
			}
			raw, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			out[string(e.Type)] = raw
		}
	}
	for _, typ := range []events.Type{events.RefundOrderTaxes, events.RefreshOrderTaxes} {
		doc := generic(t, out[string(typ)])
		doc["datacontenttype"], doc["dataschema"] = "application/json", "schemas/x.schema.json"
		data := doc["data"].(map[string]any)
		data["workflow"], data["entity_id"] = "line_item_group", "LIG-1"
		if typ == events.RefundOrderTaxes {
			data["return"].(map[string]any)["refund_shipping"] = true
		}
		o := data["order"].(map[string]any)
		o["types"], o["state"] = []any{"web", "b2c"}, "paid"
		o["customer"] = map[string]any{"id": "C1", "email": "a@example.com", "entity_use_code": "G", "exemption_no": "EX-9"}
		o["document_type"], o["document_code"] = "SalesInvoice", "DOC-1"
		o["origin"] = map[string]any{"lines": []any{"9 Dock Rd"}, "city": "Toledo", "zip_code": "43604", "region": "OH", "country": "US"}
		o["delivery"] = map[string]any{"type": "home", "option": "express", "destination": map[string]any{"endpoint_id": "E1",
			"address": map[string]any{"lines": []any{"1 Main St", "Unit 2"}, "city": "Seattle", "zip_code": "98101", "region": "WA", "country": "US"}}}
		o["pricing_details"] = map[string]any{"currency": "USD"}
		o["taxes_information"] = map[string]any{"provider_transaction_id": "shop-1", "exemption_code": "EX"}
		item := o["order_items"].([]any)[0].(map[string]any)
		item["features"] = map[string]any{"en": map[string]any{"tax_code": "PC040100"}}
		item["tax_code"] = "PC030000"
		item["pricing_details"].(map[string]any)["unit_price"] = "10.50"
		item["pricing_details"].(map[string]any)["taxes"] = []any{map[string]any{"id": "T1"}}
		lig := o["line_item_groups"].([]any)[0].(map[string]any)
		lig["item_id"], lig["endpoint_id"], lig["parcel_id"] = "SKU", "E1", "P1"
		o["parcels"] = []any{map[string]any{"id": "P1", "state": "shipped", "endpoint_id": "E1"}}
		o["shipping_fees"] = []any{map[string]any{"id": "S1", "delivery_option": "express", "price": json.Number("5.00"),
			"taxes": []any{map[string]any{"id": "T2"}}}}
		out["full "+string(typ)] = marshal(t, doc)
	}
	return out
}

func generic(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func marshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The values every member is replaced with: wrong types, boundary lengths
// and numbers, and strings that break the patterns and formats.
var badValues = []any{
	nil, "", "x", "ÉÉ", "abcd", strings.Repeat("a", 26), strings.Repeat("a", 51), strings.Repeat("é", 51), strings.Repeat("a", 201),
	json.Number("0"), json.Number("-1"), json.Number("1.5"), json.Number("1e2"), json.Number("99999999999999999999"),
	true, false, []any{}, []any{"a", "a"}, []any{"a", "b", "c", "d"}, []any{map[string]any{}}, map[string]any{},
	"1.5", "-2", "1e3", "1.", ".5", "USD", "usd", "US", "line_item_group", "order", "application/json", "1.0",
	"2026-11-02T10:00:00Z", "2026-11-02T10:00:00,5Z", "2026-11-02t10:00:00z", "2026-13-02T10:00:00Z", "2026-11-02T23:59:60Z",
	"2026-11-02 10:00:00Z", "2026-11-02T10:00:00+25:00",
}

// mutations calls f with every document that differs from doc by one
// member: removed, renamed to upper case, or replaced by a bad value.
func mutations(doc map[string]any, f func(doc map[string]any)) {
	var walk func(v any, path []any)
	walk = func(v any, path []any) {
		switch v := v.(type) {
		case map[string]any:
			for k, c := range v {
				p := append(append([]any{}, path...), k)
				f(edit(doc, p, func(parent any) { delete(parent.(map[string]any), k) }))
				f(edit(doc, p, func(parent any) {
					m := parent.(map[string]any)
					m[strings.ToUpper(k)] = m[k]
					delete(m, k)
				}))
				for _, bad := range badValues {
					f(edit(doc, p, func(parent any) { parent.(map[string]any)[k] = bad }))
				}
				walk(c, p)
			}
		case []any:
			for i, c := range v {
				p := append(append([]any{}, path...), i)
				for _, bad := range badValues {
					f(edit(doc, p, func(parent any) { parent.([]any)[i] = bad }))
				}
				walk(c, p)
			}
			if len(v) > 0 {
				f(edit(doc, path, func(parent any) { // the first element twice
					set(parent, path[len(path)-1], append(append([]any{}, v...), v[0]))
				}))
			}
		}
	}
	walk(doc, nil)
}

// edit copies doc and applies change to the parent of the member at path.
func edit(doc map[string]any, path []any, change func(parent any)) map[string]any {
	cp := deepCopy(doc).(map[string]any)
	var parent any = cp
	for _, k := range path[:len(path)-1] {
		parent = get(parent, k)
	}
	change(parent)
	return cp
}

func get(v any, k any) any {
	if i, ok := k.(int); ok {
		return v.([]any)[i]
	}
	return v.(map[string]any)[k.(string)]
}

func set(v any, k any, x any) {
	if i, ok := k.(int); ok {
		v.([]any)[i] = x
		return
	}
	v.(map[string]any)[k.(string)] = x
}

func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, c := range v {
			m[k] = deepCopy(c)
		}
		return m
	case []any:
		s := make([]any, len(v))
		for i, c := range v {
			s[i] = deepCopy(c)
		}
		return s
	}
	return v
}

// TestQuickNeverAcceptsWhatTheSchemaRefuses holds Inbound's fast path to
// its promise: whatever it vouches for, the schema accepts, and it decodes
// to what the schema path decodes. Every member of every corpus event is
// removed, renamed and replaced by each bad value in turn. (A member
// renamed to upper case is unknown to the schema and to both paths'
// decodes, which match names exactly.)
func TestQuickNeverAcceptsWhatTheSchemaRefuses(t *testing.T) {
	v, err := events.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	var tried, vouched, refused int
	for name, raw := range corpus(t) {
		if _, ok := v.QuickInbound(raw); !ok {
			t.Errorf("%s: the fast path does not vouch for a valid event: %s", name, raw)
		}
		mutations(generic(t, raw), func(doc map[string]any) {
			mut := marshal(t, doc)
			tried++
			fast, ok := v.QuickInbound(mut)
			slow, err := v.SchemaInbound(mut)
			if err != nil {
				refused++
			}
			if !ok {
				return
			}
			vouched++
			if err != nil {
				t.Errorf("%s: the fast path vouched for an event the schema refuses (%v): %s", name, err, mut)
			} else if !reflect.DeepEqual(fast, slow) {
				t.Errorf("%s: the paths decode differently:\nfast %+v\nslow %+v", name, fast, slow)
			}
		})
	}
	t.Logf("%d mutated events: the schema refused %d, the fast path vouched for %d", tried, refused, vouched)
	if vouched == 0 || refused == 0 {
		t.Fatal("the mutations tell nothing")
	}
}

// TestQuickRefusesWhatItCannotSee covers what the mutations cannot make:
// duplicate member names, invalid UTF-8, null inside a string.
func TestQuickRefusesWhatItCannotSee(t *testing.T) {
	v, err := events.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	raw := corpus(t)[string(events.OrderStateChanged)]
	for name, mut := range map[string][]byte{
		"duplicate name": bytes.Replace(raw, []byte(`{`), []byte(`{"id":"dup",`), 1),
		"invalid UTF-8":  bytes.Replace(raw, []byte(`"source":"`), []byte("\"source\":\"\xff"), 1),
		"null in string": bytes.Replace(raw, []byte(`"source":"`), []byte(`"source":"null`), 1),
	} {
		if _, ok := v.QuickInbound(mut); ok {
			t.Errorf("%s: the fast path vouched for it", name)
		}
		if _, err := v.Inbound(mut); name == "null in string" && err != nil {
			t.Errorf("%s: refused: %v", name, err) // the schema path takes it
		}
	}
}

// TestQuickLeavesMatchTheSchema checks that the schema locations the fast
// path borrows its leaf checks from still define what it assumes: both
// timestamps alike.
func TestQuickLeavesMatchTheSchema(t *testing.T) {
	read := func(file string, path ...string) any {
		b, err := schemas.FS.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		for _, k := range path {
			v = v.(map[string]any)[k]
		}
		return v
	}
	envTime := read("common.schema.json", "$defs", "envelope", "properties", "time")
	orderDate := read("order.schema.json", "properties", "date")
	if !reflect.DeepEqual(envTime, orderDate) || envTime == nil {
		t.Errorf("the envelope's time %v and the order's date %v are defined differently: check both in the fast path", envTime, orderDate)
	}
}

// TestCanonicalTimeIsADateTime holds the fast path's timestamp check to
// the schema: whatever it and time.Parse accept, the schema accepts. The
// strings are canonical timestamps with one character replaced or cut
// short, and the cases below.
func TestCanonicalTimeIsADateTime(t *testing.T) {
	v, err := events.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{"2026-11-02T10:00:00Z", true},
		{"2026-11-02T10:00:00.123456789Z", true},
		{"2024-02-29T23:59:59-23:59", true},
		{"2026-11-02T10:00:00+05:30", true},
		{"2026-11-02t10:00:00Z", false},       // the schema's to judge
		{"2026-11-02T10:00:00z", false},       // the schema's to judge
		{"2026-11-02T10:00:00,5Z", false},     // time.Parse takes a comma, the schema does not
		{"2026-11-02T10:00:00.Z", false},      // a fraction without digits
		{"2026-11-02T24:00:00Z", false},       // hour out of range
		{"2026-11-02T23:59:60Z", false},       // leap second
		{"2026-11-02T10:00:00+24:00", false},  // time.Parse takes it, the schema does not
		{"2026-11-02T10:00:00+23:60", false},  // time.Parse takes it, the schema does not
		{"2026-11-02 10:00:00Z", false},       // no T
		{"2026-00-02T10:00:00Z", false},       // month 0
		{"2026-11-02T10:00:00+0530", false},   // offset without a colon
		{"+026-11-02T10:00:00Z", false},       // a sign in the year
		{"2026-11-02T10:00:00.1234Z ", false}, // trailing space
	} {
		if got := events.CanonicalTime(tc.s); got != tc.want {
			t.Errorf("CanonicalTime(%q) = %v, want %v", tc.s, got, tc.want)
		}
	}
	var canonical int
	for _, base := range []string{"2026-11-02T10:00:00Z", "2024-02-29T23:59:59.5+05:30", "2026-12-31T00:00:00-00:00"} {
		var variants []string
		for i := range len(base) {
			variants = append(variants, base[:i])
			for _, c := range "0123456789Tt:-+.,Zz /" {
				variants = append(variants, base[:i]+string(c)+base[i+1:])
			}
		}
		for _, s := range variants {
			if !events.CanonicalTime(s) {
				continue
			}
			if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
				continue // the fast path leaves what time.Parse refuses to the schema
			}
			canonical++
			if err := v.DateTimeSchema(s); err != nil {
				t.Errorf("CanonicalTime(%q) is true, but the schema refuses it: %v", s, err)
			}
		}
	}
	if canonical < 100 {
		t.Fatalf("only %d variants were canonical: the sweep tells little", canonical)
	}
}
