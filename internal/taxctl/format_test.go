package taxctl

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/internal/bus"
	"github.com/taxbridge/taxbridge/internal/lifecycle"
	"github.com/taxbridge/taxbridge/internal/store"
)

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func TestPrintRecord(t *testing.T) {
	sale := &store.Document{Code: "WEB-7", Type: "SalesInvoice", Status: "Saved", TotalAmount: dec("134.98"), TotalTaxable: dec("134.98"), TotalTax: dec("11.99")}
	tests := []struct {
		name   string
		rec    store.Record
		want   []string
		absent []string
	}{
		{"new order, nothing yet", store.Record{OrderID: "WEB-1", State: lifecycle.None},
			[]string{"order WEB-1: none\n", "documents: none\n", "AvaTax call in flight: none\n", "history: none\n"},
			[]string{"updated", "events applied", "returns not refunded"}},
		{"a commit in flight, held", store.Record{OrderID: "WEB-7", State: lifecycle.Uncommitted, OrderVersion: 2, ActionVersion: 1,
			Sale: sale, UpdatedAt: t0, Seen: []string{"e1", "e2"},
			Intent:  &store.Intent{EventID: "WEB-7-v2-refresh", Effect: lifecycle.CommitDocument, Code: "WEB-7", Type: "SalesInvoice", At: t0.Add(-12 * time.Second)},
			History: []store.Transition{{At: t0, EventID: "WEB-7-v1-refresh", Action: "refresh_order_taxes", From: lifecycle.None, To: lifecycle.Uncommitted, Effect: lifecycle.CreateDocument}}},
			[]string{"order WEB-7: uncommitted\n", "order version  2 (last refresh or void applied: version 1)\n",
				"updated        2026-11-02T09:00:00Z (1m0s ago)\n", "record         tax_orders key WEB-7, revision 9\n",
				"events applied 2 remembered, newest e2\n",
				"  sale  SalesInvoice  WEB-7  Saved   134.98  134.98   11.99  -\n",
				"AvaTax call in flight: commit SalesInvoice WEB-7 for event WEB-7-v2-refresh, started 2026-11-02T08:59:48Z (1m12s ago), held:",
				"history (1, oldest first; the record keeps the last 64):\n",
				"  2026-11-02T09:00:00Z  WEB-7-v1-refresh  refresh_order_taxes  none → uncommitted  create  -\n"},
			nil},
		{"returns pending and refused, a released refund", store.Record{OrderID: "WEB-8", State: lifecycle.Committed, Sale: sale,
			Returns: []store.Return{
				{ID: "RET-1", Code: "WEB-7-R1", LineItemGroupIDs: []string{"LIG-2"}, RefundShipping: true, EventID: "ev-r1", At: t0,
					Document: &store.Document{Code: "WEB-7-R1", Type: "ReturnInvoice", Status: "Committed", TotalAmount: dec("-85"), TotalTaxable: dec("-85"), TotalTax: dec("-7.55")}},
				{ID: "RET-2", Code: "WEB-7-R2", LineItemGroupIDs: []string{"LIG-1", "LIG-3"}, EventID: "ev-r2", At: t0},
				{ID: "RET-3", LineItemGroupIDs: []string{"LIG-9"}, EventID: "ev-r3", Refused: "/data/return/line_item_group_ids/0: no line item group LIG-9"},
			},
			Intent: &store.Intent{EventID: "ev-r2", Effect: lifecycle.RefundDocument, Code: "WEB-7-R2", Type: "ReturnInvoice", At: t0.Add(-72 * time.Hour), Released: true},
			History: []store.Transition{{At: t0, EventID: "ev-void", Action: "void_order_taxes", From: lifecycle.Committed, To: lifecycle.Committed,
				Note: "the order's tax is committed"}}},
			[]string{"  refund  ReturnInvoice  WEB-7-R1  Committed  -85.00  -85.00   -7.55  RET-1 (LIG-2, shipping)\n",
				"returns not refunded:\n",
				"  RET-2 (LIG-1, LIG-3)  WEB-7-R2  event ev-r2  2026-11-02T09:00:00Z  pending: to be refunded (a refund waits for the sale's commit)\n",
				"  RET-3 (LIG-9)         -         event ev-r3  -                     refused: /data/return/line_item_group_ids/0: no line item group LIG-9\n",
				"(3d0h ago), released: its call failed",
				"committed → committed  -       the order's tax is committed\n"},
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := printRecord(&b, &tt.rec, 9, t0.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("lacks %q:\n%s", w, b.String())
				}
			}
			for _, w := range tt.absent {
				if strings.Contains(b.String(), w) {
					t.Errorf("has %q:\n%s", w, b.String())
				}
			}
		})
	}
}

func TestAge(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second:                       "0s",
		1500 * time.Millisecond:            "1s",
		3*time.Minute + 4*time.Second:      "3m4s",
		47 * time.Hour:                     "47h0m0s",
		50*time.Hour + 59*time.Minute:      "2d2h",
		30*24*time.Hour + 23*time.Hour:     "30d23h",
		2*time.Hour + 500*time.Millisecond: "2h0m0s",
	} {
		if got := age(d); got != want {
			t.Errorf("age(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestTrimText(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"", 10, "-"},
		{"short", 10, "short"},
		{"gave up\nafter  3\tdeliveries", 80, "gave up after 3 deliveries"},
		{"0123456789abc", 10, "012345678…"},
		{"éééééééééééé", 5, "éééé…"},
	}
	for _, tt := range tests {
		if got := trimText(tt.in, tt.n); got != tt.want {
			t.Errorf("trimText(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

func TestSelectionFilter(t *testing.T) {
	tests := []struct {
		sel  selection
		want string
	}{
		{selection{}, "taxbridge.dlq.>"},
		{selection{subject: "oms.refund_order_taxes.>"}, "taxbridge.dlq.oms.refund_order_taxes.>"},
		{selection{subject: "taxbridge.dlq.oms.*.WEB-3"}, "taxbridge.dlq.oms.*.WEB-3"},
		{selection{order: "WEB 3/x"}, "taxbridge.dlq.oms.*.WEB_203_2Fx"},
	}
	for _, tt := range tests {
		if got, err := tt.sel.filter(); err != nil || got != tt.want {
			t.Errorf("%+v: %q, %v; want %q", tt.sel, got, err, tt.want)
		}
	}
}

func TestNewDeadLetter(t *testing.T) {
	tests := []struct {
		name    string
		subject string
		hdr     nats.Header
		data    string
		want    DeadLetter
	}{
		{"an event", "taxbridge.dlq.oms.void_order_taxes.W-1",
			nats.Header{bus.HeaderDeadLetterFrom: {"oms.void_order_taxes.W-1"}, bus.HeaderDeliveries: {"20"}, bus.HeaderValidationError: {"gave up"}},
			`{"id":"W-1-void","type":"void_order_taxes","subject":"W-1"}`,
			DeadLetter{OriginalSubject: "oms.void_order_taxes.W-1", EventID: "W-1-void", Type: "void_order_taxes", OrderID: "W-1", Deliveries: 20, Reason: "gave up"}},
		{"not JSON, no from header", "taxbridge.dlq.oms.order_state_changed.W-2", nats.Header{}, "{oops",
			DeadLetter{OriginalSubject: "oms.order_state_changed.W-2", PayloadText: "{oops"}},
		{"ids of other types, a kept msg id, a replay", "taxbridge.dlq.oms.x.W-3",
			nats.Header{jetstream.MsgIDHeader: {"m-1"}, HeaderReplayOf: {"4"}}, `{"id":7,"type":["x"]}`,
			DeadLetter{OriginalSubject: "oms.x.W-3", MsgID: "m-1", ReplayOf: "4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := newDeadLetter(3, t0, tt.subject, tt.hdr, []byte(tt.data))
			w := tt.want
			if got.Sequence != 3 || !got.Time.Equal(t0) || got.Subject != tt.subject || got.OriginalSubject != w.OriginalSubject ||
				got.EventID != w.EventID || got.Type != w.Type || got.OrderID != w.OrderID || got.MsgID != w.MsgID ||
				got.Deliveries != w.Deliveries || got.Reason != w.Reason || got.ReplayOf != w.ReplayOf || got.PayloadText != w.PayloadText {
				t.Errorf("got %+v\nwant %+v", got, w)
			}
			if (got.Payload == nil) != (w.PayloadText != "") {
				t.Errorf("payload %q, payload text %q", got.Payload, got.PayloadText)
			}
		})
	}
}

func TestEventOf(t *testing.T) {
	cases := map[string]DeadLetter{
		"-":                {},
		"E-1":              {EventID: "E-1", MsgID: "E-1"},
		"E-1 (msg id M-1)": {EventID: "E-1", MsgID: "M-1"},
		"- (msg id M-2)":   {MsgID: "M-2"},
	}
	for want, dl := range cases {
		if got := eventOf(dl); got != want {
			t.Errorf("eventOf(%+v) = %q, want %q", dl, got, want)
		}
	}
}

func TestPrintDeadLetter(t *testing.T) {
	hdr := nats.Header{bus.HeaderValidationError: {"invalid order_state_changed event: /: not a JSON object"},
		"Authorization": {"Bearer abc"}, "X-Api-Token": {"t0k"}, "Content-Type": {"text/plain"}}
	tests := []struct {
		name, data string
		want       []string
	}{
		{"not JSON", "{oops", []string{"payload (5 bytes, not JSON):\n{oops\n"}},
		{"not UTF-8", "\xff\xfe", []string{"payload (2 bytes, not JSON nor UTF-8):\n\"\\xff\\xfe\"\n"}},
		{"empty", "", []string{"payload: empty\n"}},
		{"JSON", `{"a":[1]}`, []string{"payload (9 bytes):\n{\n  \"a\": [\n    1\n  ]\n}\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			dl := newDeadLetter(5, t0, "taxbridge.dlq.oms.order_state_changed.W-9", hdr, []byte(tt.data))
			if err := printDeadLetter(&b, dl); err != nil {
				t.Fatal(err)
			}
			want := append([]string{"dead letter 5 in TAXBRIDGE_DLQ\n", "  original subject  oms.order_state_changed.W-9\n",
				"  event id          -\n", "reason:\n  invalid order_state_changed event: /: not a JSON object\n",
				"  Authorization: [REDACTED]\n", "  X-Api-Token: [REDACTED]\n", "  Content-Type: text/plain\n"}, tt.want...)
			for _, w := range want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("lacks %q:\n%s", w, b.String())
				}
			}
			if strings.Contains(b.String(), "abc") || strings.Contains(b.String(), "t0k") {
				t.Errorf("shows a credential:\n%s", b.String())
			}
		})
	}
}

func TestReplayMsg(t *testing.T) {
	hdr := nats.Header{
		bus.HeaderValidationError: {"bad"}, bus.HeaderDeadLetterFrom: {"oms.refresh_order_taxes.W-1"}, bus.HeaderDeliveries: {"1"},
		"Content-Type": {"application/cloudevents+json"}, "Oms-Tenant": {"eu"}, "traceparent": {"00-x"}, "Nats-Expected-Stream": {"DLQ"},
	}
	payload := []byte(`{"id":"W-1-v2"}`)
	tests := []struct {
		name      string
		hdr       nats.Header
		data      []byte
		corrected bool
		wantID    string
		wantOf    string
	}{
		{"as dead-lettered", hdr, payload, false, "W-1-v2/replay/12", "W-1-v2"},
		{"corrected", hdr, []byte(`{"id":"W-1-v2","fixed":true}`), true, "W-1-v2/replay/12/fixed-", "W-1-v2"},
		{"a kept msg id", merge(hdr, nats.Header{jetstream.MsgIDHeader: {"oms-msg-9"}}), payload, false, "oms-msg-9/replay/12", "oms-msg-9"},
		{"dead-lettered again after a replay", merge(hdr, nats.Header{HeaderReplayOfMsgID: {"first-id"}, HeaderReplayOf: {"3"}}), payload, false,
			"first-id/replay/12", "first-id"},
		{"no id at all", nats.Header{bus.HeaderDeadLetterFrom: {"oms.refresh_order_taxes.W-1"}}, []byte("{oops"), false, "dlq-12/replay/12", "dlq-12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dl := newDeadLetter(12, t0, "taxbridge.dlq.oms.refresh_order_taxes.W-1", tt.hdr, tt.data)
			data := tt.data
			m := replayMsg(dl, data, tt.corrected)
			if m.Subject != "oms.refresh_order_taxes.W-1" || !bytes.Equal(m.Data, data) {
				t.Errorf("subject %q, data %q", m.Subject, m.Data)
			}
			if id := m.Header.Get(jetstream.MsgIDHeader); !strings.HasPrefix(id, tt.wantID) || (tt.corrected && len(id) != len(tt.wantID)+12) {
				t.Errorf("msg id %q, want %q", id, tt.wantID)
			}
			if m.Header.Get(HeaderReplayOf) != "12" || m.Header.Get(HeaderReplayOfMsgID) != tt.wantOf {
				t.Errorf("replay headers %v", m.Header)
			}
			for _, k := range []string{bus.HeaderValidationError, bus.HeaderDeadLetterFrom, bus.HeaderDeliveries, "traceparent", "Nats-Expected-Stream"} {
				if _, ok := m.Header[k]; ok {
					t.Errorf("replay carries the dead letter's %s header", k)
				}
			}
			if tt.hdr["Oms-Tenant"] != nil && (m.Header.Get("Oms-Tenant") != "eu" || m.Header.Get("Content-Type") != "application/cloudevents+json") {
				t.Errorf("replay lost the event's own headers: %v", m.Header)
			}
		})
	}
	// Two corrections of one dead letter are two messages for the stream.
	a, b := replayID("x", 1, []byte("a"), true), replayID("x", 1, []byte("b"), true)
	if a == b {
		t.Errorf("two corrections share the message id %q", a)
	}
}

func merge(a, b nats.Header) nats.Header {
	out := nats.Header{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"nats://127.0.0.1:4222":      "nats://127.0.0.1:4222",
		"nats://u:pw@h:4222":         "nats://u:REDACTED@h:4222",
		"nats://tok@h:4222":          "nats://REDACTED@h:4222",
		"nats://a:1,nats://u:pw@b:2": "nats://a:1,nats://u:REDACTED@b:2",
		"nats://u:p%zz@h":            "(unreadable URL with credentials)",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
