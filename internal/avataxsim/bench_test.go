package avataxsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// The benchmarks drive ServeHTTP in-process, the way the end-to-end
// benchmark's in-process sandbox is driven, with the 3-line US document of
// the golden test. Each iteration acts on its own document, so the store
// grows as it would under load instead of one document collecting
// thousands of versions.

// benchRequest builds an authenticated request; the body is raw JSON.
func benchRequest(method, path string, body []byte) *http.Request {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.SetBasicAuth(DefaultAccountID, DefaultLicenseKey)
	req.Header.Set("Content-Type", "application/json")
	return req
}

// benchDo serves one request and fails the benchmark on an unexpected
// status.
func benchDo(b *testing.B, sb *Sandbox, req *http.Request) {
	w := httptest.NewRecorder()
	sb.ServeHTTP(w, req)
	if w.Code != http.StatusOK && w.Code != http.StatusCreated {
		b.Fatalf("%s %s: status %d: %s", req.Method, req.URL, w.Code, w.Body.Bytes())
	}
}

// benchDocs returns the createoradjust bodies of n distinct documents.
func benchDocs(b *testing.B, n int, commit bool) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		raw, err := json.Marshal(coa(usDoc(fmt.Sprintf("BENCH-%d", i), "SalesInvoice", commit)))
		if err != nil {
			b.Fatal(err)
		}
		out[i] = raw
	}
	return out
}

// benchStore creates n documents and returns the sandbox holding them.
func benchStore(b *testing.B, n int, commit bool) *Sandbox {
	sb := New()
	for _, body := range benchDocs(b, n, commit) {
		benchDo(b, sb, benchRequest("POST", "/api/v2/transactions/createoradjust", body))
	}
	return sb
}

func BenchmarkCreateOrAdjust(b *testing.B) {
	for _, inc := range []string{"", "Lines", "Summary,Addresses"} {
		name := "include=" + inc
		if inc == "" {
			name = "include=none"
		}
		b.Run(name, func(b *testing.B) {
			path := "/api/v2/transactions/createoradjust"
			if inc != "" {
				path += "?$include=" + inc
			}
			sb := New()
			bodies := benchDocs(b, b.N, false)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				benchDo(b, sb, benchRequest("POST", path, bodies[i]))
			}
		})
	}
}

func BenchmarkCommit(b *testing.B) {
	sb := benchStore(b, b.N, false)
	body := []byte(`{"commit":true}`)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		benchDo(b, sb, benchRequest("POST", fmt.Sprintf("/api/v2/companies/DEFAULT/transactions/BENCH-%d/commit", i), body))
	}
}

func BenchmarkVoid(b *testing.B) {
	sb := benchStore(b, b.N, true)
	body := []byte(`{"code":"DocVoided"}`)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		benchDo(b, sb, benchRequest("POST", fmt.Sprintf("/api/v2/companies/DEFAULT/transactions/BENCH-%d/void", i), body))
	}
}

// BenchmarkGet fetches documents as taxbridge's client does, with their
// lines, each having been adjusted once (so it has a history).
func BenchmarkGet(b *testing.B) {
	const docs = 100
	sb := benchStore(b, docs, false)
	for _, body := range benchDocs(b, docs, false) {
		benchDo(b, sb, benchRequest("POST", "/api/v2/transactions/createoradjust", body))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		benchDo(b, sb, benchRequest("GET", fmt.Sprintf("/api/v2/companies/DEFAULT/transactions/BENCH-%d?$include=Lines", i%docs), nil))
	}
}
