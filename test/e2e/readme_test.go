package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/taxbridge/taxbridge/internal/app"
	"github.com/taxbridge/taxbridge/internal/bus"
	"github.com/taxbridge/taxbridge/internal/config"
	"github.com/taxbridge/taxbridge/internal/demo"
	"github.com/taxbridge/taxbridge/internal/events"
	"github.com/taxbridge/taxbridge/internal/scenario"
)

var update = flag.Bool("update", false, "rewrite the README's generated examples from this run")

const readmePath = "../../README.md"

// TestReadmeExamples runs what the README shows and checks that it prints
// what the README says: the demo's returned order, and the tax_result its
// example refund_order_taxes event gets. With -update it rewrites those
// blocks instead, so the README's examples cannot drift from the code.
func TestReadmeExamples(t *testing.T) {
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	generated := map[string]string{
		"demo-returned": demoReturned(t),
		"refund-result": refundResult(t, block(t, readme, "example: refund_order_taxes")),
	}
	for name, want := range generated {
		if *update {
			readme = replaceBlock(t, readme, "generated: "+name, want)
			continue
		}
		if got := block(t, readme, "generated: "+name); got != want {
			t.Errorf("README block %s is not what taxbridge prints; run go test ./test/e2e -run TestReadmeExamples -update\n--- README\n%s--- taxbridge\n%s", name, got, want)
		}
	}
	if *update {
		if err := os.WriteFile(readmePath, readme, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// demoReturned is what `taxbridge demo` prints for its returned order.
func demoReturned(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cfg, err := config.Load(func(c *config.Config) { demo.Configure(c, dir, false) })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.Start(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		a.Close()
	}()
	var out bytes.Buffer
	if _, err := demo.Run(ctx, a, []scenario.Flow{scenario.Returned("WEB-3")}, &out, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	report, _, _ := strings.Cut(strings.TrimPrefix(out.String(), "\n"), "\nall 1 flows")
	return report + "\n"
}

// refundResult publishes the README's refund_order_taxes event after a
// refresh that commits its order, and renders the tax_result it gets.
func refundResult(t *testing.T, example string) string {
	t.Helper()
	var refund events.Envelope
	if err := json.Unmarshal([]byte(example), &refund); err != nil {
		t.Fatalf("the README's example event: %v", err)
	}
	// The commit before the return: the same order with nothing returned.
	commit := withVersion(t, withOrder(t, refund, func(o *events.Order) {
		for i := range o.LineItemGroups {
			o.LineItemGroups[i].State = "fulfilled"
		}
	}), 2)
	var data events.OrderEvent
	if err := decode(commit.Data, &data); err != nil {
		t.Fatal(err)
	}
	data.Return, data.Workflow, data.EntityID = nil, "parcel", data.Order.Parcels[0].ID
	commit.Type, commit.ID, commit.Data = events.RefreshOrderTaxes, refund.Subject+"-v2-refresh_order_taxes", mustJSON(t, data)

	h := start(t)
	h.Publish(commit)
	h.WaitApplied(refund.Subject, commit.ID)
	h.Publish(refund)
	h.WaitApplied(refund.Subject, refund.ID)
	msgs := h.Messages(bus.ResultsStream, bus.ResultSubject(refund.Subject))
	if len(msgs) != 2 {
		t.Fatalf("%d results, want the commit's and the refund's", len(msgs))
	}
	var result struct {
		Type    events.Type       `json:"type"`
		Subject string            `json:"subject"`
		ID      string            `json:"id"`
		Data    events.ResultData `json:"data"`
	}
	if err := decode(msgs[1].Data(), &result); err != nil {
		t.Fatal(err)
	}
	type brief struct {
		Code        string          `json:"code"`
		Type        string          `json:"type"`
		Status      string          `json:"status"`
		TotalAmount decimal.Decimal `json:"total_amount"`
		TotalTax    decimal.Decimal `json:"total_tax"`
	}
	var docs []brief
	for _, d := range result.Data.Documents {
		docs = append(docs, brief{d.Code, d.Type, d.Status, d.TotalAmount, d.TotalTax})
	}
	type shortened struct {
		events.ResultData
		Documents []brief `json:"documents"`
	}
	shown := struct {
		Type    events.Type `json:"type"`
		Subject string      `json:"subject"`
		ID      string      `json:"id"`
		Data    shortened   `json:"data"`
	}{result.Type, result.Subject, result.ID, shortened{result.Data, docs}}
	b, err := json.MarshalIndent(shown, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}

// block returns the body of the fenced code block that follows the
// README's <!-- marker --> line.
func block(t *testing.T, readme []byte, marker string) string {
	t.Helper()
	start, end := blockSpan(t, readme, marker)
	return string(readme[start:end])
}

func replaceBlock(t *testing.T, readme []byte, marker, body string) []byte {
	t.Helper()
	start, end := blockSpan(t, readme, marker)
	return []byte(string(readme[:start]) + body + string(readme[end:]))
}

// blockSpan is where the body of the code block after the marker starts
// and ends.
func blockSpan(t *testing.T, readme []byte, marker string) (int, int) {
	t.Helper()
	s := string(readme)
	m := strings.Index(s, "<!-- "+marker+" -->\n")
	if m < 0 {
		t.Fatalf("README has no <!-- %s --> marker", marker)
	}
	rest := s[m+len(marker)+len("<!--  -->\n"):]
	if !strings.HasPrefix(rest, "```") {
		t.Fatalf("README: no code block right after <!-- %s -->", marker)
	}
	open := strings.IndexByte(rest, '\n') + 1
	body := strings.Index(rest[open:], "```\n")
	if body < 0 {
		t.Fatalf("README: the code block after <!-- %s --> is not closed", marker)
	}
	base := len(s) - len(rest)
	return base + open, base + open + body
}
