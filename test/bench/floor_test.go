package main

import (
	"slices"
	"testing"
)

// TestInOrder: the captured steps of an event are replayed in the order
// taxbridge takes them, whatever order the capture saw them in.
func TestInOrder(t *testing.T) {
	kv := func(v string) step { return step{kind: stepKV, data: []byte(v)} }
	call := step{kind: stepAvaTax, path: "/api/v2/transactions/createoradjust"}
	pub := func(s string) step { return step{kind: stepPublish, subject: s} }
	name := func(steps []step) []string {
		var out []string
		for _, s := range steps {
			out = append(out, string(s.data)+s.path+s.subject)
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		seen     []step
		replayed []step
	}{
		{"state change", []step{kv("record")}, []step{kv("record")}},
		{"tax error before the write", []step{pub("tax.errors.O"), kv("record")}, []step{pub("tax.errors.O"), kv("record")}},
		{"call seen before its intent", []step{call, kv("intent"), pub("tax.audit.O"), pub("tax.results.O"), kv("outcome")},
			[]step{kv("intent"), call, pub("tax.audit.O"), pub("tax.results.O"), kv("outcome")}},
		{"publishes seen before the intent", []step{pub("tax.audit.O"), kv("intent"), call, pub("tax.results.O"), kv("outcome")},
			[]step{kv("intent"), call, pub("tax.audit.O"), pub("tax.results.O"), kv("outcome")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, want := name(inOrder(slices.Clone(tc.seen))), name(tc.replayed); !slices.Equal(got, want) {
				t.Errorf("replayed %q, want %q", got, want)
			}
		})
	}
}

// TestStamp: a captured step names the replayed order everywhere the
// captured one was named, so no two orders share a document, a key or a
// message id.
func TestStamp(t *testing.T) {
	s := step{kind: stepPublish, path: "/transactions/" + captureUnique + "-WEB-1/commit", subject: "tax.results." + captureUnique + "-WEB-1",
		msgID: captureUnique + "-WEB-1-v2-refresh/commit", data: []byte(`{"code":"` + captureUnique + `-WEB-1"}`)}
	got := s.stamp("E2E-000042")
	want := step{kind: stepPublish, path: "/transactions/E2E-000042-WEB-1/commit", subject: "tax.results.E2E-000042-WEB-1",
		msgID: "E2E-000042-WEB-1-v2-refresh/commit", data: []byte(`{"code":"E2E-000042-WEB-1"}`)}
	if got.path != want.path || got.subject != want.subject || got.msgID != want.msgID || string(got.data) != string(want.data) {
		t.Errorf("stamped %+v, want %+v", got, want)
	}
	if string(s.data) != `{"code":"`+captureUnique+`-WEB-1"}` {
		t.Error("stamp changed the captured step")
	}
}
