package avatax

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/taxbridge/taxbridge/internal/fastjson"
)

// FuzzDecodeAnswer feeds the client's decoding of AvaTax answers any
// status, Retry-After header and body: a successful answer decoded as
// send decodes it (a transaction, an address resolution), and a failed
// one made into an *Error by decodeError, then used as callers use it.
// The seed corpus (testdata/fuzz/FuzzDecodeAnswer) is answers recorded
// from AvaTax (copied from test/replay/testdata/avatax-recordings, named
// after their recording): every kind of document call, an address
// resolution, a ping, AvaTax's error envelopes and an empty 404; and the
// findings worth keeping.
//   - nothing panics;
//   - the error keeps the status and the Retry-After header as sent;
//   - an answer that is not an error envelope gives a message: its body
//     cut to 200 bytes, still valid UTF-8 when the body was, or the
//     status text.
func FuzzDecodeAnswer(f *testing.F) {
	f.Fuzz(func(t *testing.T, status int, retryAfter string, body []byte) {
		var tm TransactionModel
		_ = fastjson.Unmarshal(body, &tm)
		var ar AddressResolutionModel
		_ = fastjson.Unmarshal(body, &ar)

		resp := &http.Response{StatusCode: status, Header: http.Header{}}
		resp.Header.Set("Retry-After", retryAfter)
		e := decodeError("createoradjust", resp, body)
		_, _ = e.Error(), e.Kind().String()
		_, _ = e.RetryAfterDelay()
		_, _ = e.HelpLink(), e.HasSubCode("DocStatusError")
		if e.StatusCode != status || e.RetryAfter != resp.Header.Get("Retry-After") {
			t.Fatalf("status %d and Retry-After %q became %d and %q", status, retryAfter, e.StatusCode, e.RetryAfter)
		}
		if env := (ErrorResult{}); json.Unmarshal(body, &env) == nil && env.Error != nil {
			return // an error envelope: its message is AvaTax's, as sent
		}
		if len(e.Message) > 200 {
			t.Fatalf("a message of %d bytes from a body that is not an error envelope", len(e.Message))
		}
		if utf8.Valid(body) && !utf8.ValidString(e.Message) {
			t.Fatalf("the message %q of a valid UTF-8 body is not", e.Message)
		}
		if e.Message == "" && strings.TrimSpace(string(body)) != "" {
			t.Fatalf("no message for the body %q", body)
		}
	})
}
