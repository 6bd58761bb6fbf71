package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	jsonv1 "github.com/go-json-experiment/json/v1"
)

// validSeeds are texts on which JSON validators are known to disagree.
var validSeeds = []string{
	``, ` `, `null`, ` {} `, `{}x`, `[1,]`, `{"a":1,"a":2}`, "\"\xff\"", `"\ud800"`, `"\u00zz"`,
	`01`, `-0`, `1e`, `1E+2`, `.5`, `[1 2]`, `{"a" 1}`, `{"a":1}{}`, "\t[]\n", `"a` + "\x00" + `"`,
	`{"k":[true,false,null,"x",{"y":-1.5e-3}]}`, strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	strings.Repeat("[", 10000) + strings.Repeat("]", 10000), "\xef\xbb\xbf{}", `tru`, `nul`, `"\/"`,
}

// TestValidAsEncodingJSON: the validator the records use agrees with
// encoding/json.Valid, which it replaced for speed.
func TestValidAsEncodingJSON(t *testing.T) {
	for _, s := range validSeeds {
		if got, want := jsonv1.Valid([]byte(s)), json.Valid([]byte(s)); got != want {
			t.Errorf("Valid(%.40q) = %v, encoding/json says %v", s, got, want)
		}
	}
}

func FuzzValidAsEncodingJSON(f *testing.F) {
	for _, s := range validSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := jsonv1.Valid(b), json.Valid(b); got != want {
			t.Errorf("Valid(%q) = %v, encoding/json says %v", b, got, want)
		}
	})
}

type failingBody struct {
	r   io.Reader
	err error
}

func (b *failingBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		err = b.err
	}
	return n, err
}

func (b *failingBody) Close() error { return nil }

// TestAnswerReplay: the client reads the answer the transport buffered,
// then the error that cut it short; reading after Close fails as the
// original body does; buffers reused for later answers do not show
// through an answer closed earlier.
func TestAnswerReplay(t *testing.T) {
	cut := errors.New("connection reset")
	answers := []string{`{"code":"A"}`, strings.Repeat("x", 5000), `{"code":"C"}`}
	n := 0
	tr := NewTransport(roundTripFunc(func(r *http.Request) (*http.Response, error) {
		a := answers[n]
		n++
		var body io.ReadCloser = io.NopCloser(strings.NewReader(a))
		if n == 2 {
			body = &failingBody{r: strings.NewReader(a), err: cut}
		}
		return &http.Response{StatusCode: 200, ContentLength: -1, Body: body, Request: r}, nil
	}), WithPublisher(&fakePublisher{}), WithCredentials(account, key))
	ctx := WithOrder(context.Background(), "WEB-9", "EV-9")

	first, err := tr.RoundTrip(newRequest(t, ctx, "POST", "https://avatax.test/api/v2/transactions/createoradjust", `{"code":"A"}`))
	if err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 4)
	if _, err := io.ReadFull(first.Body, head); err != nil || string(head) != `{"co` {
		t.Fatalf("read %q, %v", head, err)
	}
	first.Body.Close()
	first.Body.Close()
	if _, err := first.Body.Read(head); err == nil {
		t.Error("read after Close succeeded")
	}

	second, err := tr.RoundTrip(newRequest(t, ctx, "GET", "https://avatax.test/api/v2/companies/D/transactions/B", ""))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(second.Body)
	if !errors.Is(err, cut) || string(got) != answers[1] {
		t.Errorf("read %d bytes, %v; want %d bytes, then %v", len(got), err, len(answers[1]), cut)
	}

	third, err := tr.RoundTrip(newRequest(t, ctx, "GET", "https://avatax.test/api/v2/companies/D/transactions/C", ""))
	if err != nil {
		t.Fatal(err)
	}
	second.Body.Close()
	got, err = io.ReadAll(third.Body)
	if err != nil || !bytes.Equal(got, []byte(answers[2])) {
		t.Errorf("read %q, %v; want %q", got, err, answers[2])
	}
	third.Body.Close()
}
