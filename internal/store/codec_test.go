package store

import (
	"bytes"
	stdjson "encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/fastjson"
	"github.com/taxbridge/taxbridge/internal/lifecycle"
	"github.com/taxbridge/taxbridge/internal/scenario"
)

// richRecord has every field of a record set, as an order that was
// committed and partly refunded has them.
func richRecord(t testing.TB) *Record {
	t.Helper()
	evs := scenario.Returned("CODEC-1").Events
	raw, err := stdjson.Marshal(evs[len(evs)-1])
	if err != nil {
		t.Fatal(err)
	}
	var in events.Inbound
	if err := stdjson.Unmarshal(raw, &in); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 21, 9, 30, 0, 123456789, time.UTC)
	doc := &Document{Code: "CODEC-1", Type: "SalesInvoice", Status: "Committed", TotalAmount: decimal.RequireFromString("120.50"),
		TotalTaxable: decimal.RequireFromString("100"), TotalTax: decimal.RequireFromString("8.88"), Hash: "0123456789abcdef"}
	r := &Record{OrderID: "CODEC-1", State: lifecycle.CommittedRefund, ActionVersion: 7,
		Sale: doc, Intent: &Intent{EventID: "e-9", Effect: lifecycle.RefundDocument, Code: "CODEC-1-R2", Type: "ReturnInvoice",
			Hash: "fedcba", ReturnID: "RET-2", Target: lifecycle.CommittedRefund, At: at},
		Returns: []Return{{ID: "RET-1", Code: "CODEC-1-R1", LineItemGroupIDs: []string{"LIG1"}, RefundShipping: true, EventID: "e-8", At: at, Document: doc},
			{ID: "RET-2", Code: "CODEC-1-R2", LineItemGroupIDs: []string{"LIG2", "LIG3"}, EventID: "e-9", At: at, Refused: "no <such> line & co"}},
		Addresses: []string{"a1", "b2"}, UpdatedAt: at}
	r.MergeSnapshot(9, in.Data.Order)
	for _, id := range []string{"e-1", "e-2", "e-3"} {
		r.MarkSeen(id)
		r.Record(Transition{At: at, EventID: id, Action: "refresh_order_taxes", From: lifecycle.Uncommitted, To: lifecycle.Committed,
			Effect: lifecycle.CommitDocument, Note: "é \u2028 \"quoted\""})
	}
	return r
}

// TestRecordJSONCompatible: records written before the codec changed (by
// encoding/json) read the same, and records written now are byte for byte
// what encoding/json writes, so any taxbridge version reads any record.
func TestRecordJSONCompatible(t *testing.T) {
	for name, r := range map[string]*Record{"rich": richRecord(t), "new order": {OrderID: "N-1", State: lifecycle.None}} {
		t.Run(name, func(t *testing.T) {
			old, err := stdjson.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			now, err := fastjson.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(now, old) {
				t.Errorf("written differently:\nencoding/json %s\ncodec         %s", old, now)
			}
			var back Record
			if err := fastjson.Unmarshal(old, &back); err != nil {
				t.Fatal(err)
			}
			again, _ := stdjson.Marshal(&back)
			if !bytes.Equal(again, old) {
				t.Errorf("read differently:\nwritten %s\nread    %s", old, again)
			}
		})
	}
}

// TestSnapshotReadLazily: a record read keeps its snapshot as stored,
// writes it back byte for byte without decoding it, and decodes it to the
// order that was stored when asked; a snapshot that does not decode fails
// only the use that needs it, naming what failed.
func TestSnapshotReadLazily(t *testing.T) {
	r := richRecord(t)
	want, err := r.Order.Order()
	if err != nil {
		t.Fatal(err)
	}
	stored, err := fastjson.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back Record
	if err := fastjson.Unmarshal(stored, &back); err != nil {
		t.Fatal(err)
	}
	if back.Order.order != nil {
		t.Error("the snapshot was decoded on read")
	}
	again, err := fastjson.Marshal(&back)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, stored) || back.Order.order != nil {
		t.Errorf("written back differently or decoded to write:\nstored %s\nagain  %s", stored, again)
	}
	got, err := back.Order.Order()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded %+v, stored %+v", got, want)
	}

	broken := bytes.Replace(stored, []byte(`"order":{`), []byte(`"order":{"date":7,`), 1)
	var bad Record
	if err := fastjson.Unmarshal(broken, &bad); err != nil {
		t.Fatalf("the record does not read: %v", err)
	}
	if _, err := bad.Order.Order(); err == nil || !strings.Contains(err.Error(), "order snapshot") {
		t.Errorf("a broken snapshot decoded, or its error does not say what: %v", err)
	}
}

// BenchmarkRecord is the codec work every event does on its order's
// record: one decode (read) and one encode (compare-and-swap write).
func BenchmarkRecord(b *testing.B) {
	r := richRecord(b)
	raw, err := fastjson.Marshal(r)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			var back Record
			if err := fastjson.Unmarshal(raw, &back); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			if _, err := fastjson.Marshal(r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
