package taxctl

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/taxbridge/taxbridge/internal/bus"
	"github.com/taxbridge/taxbridge/internal/events"
)

// Headers taxctl sets on a replayed event, so that its result, or its next
// dead letter, leads back to the dead letter it came from.
const (
	// HeaderReplayOf is the replayed dead letter's sequence in TAXBRIDGE_DLQ.
	HeaderReplayOf = "Taxbridge-Replay-Of"
	// HeaderReplayOfMsgID is the message id the event had before it was
	// dead-lettered (its CloudEvents id when the dead letter kept none).
	HeaderReplayOfMsgID = "Taxbridge-Replay-Of-Msg-Id"
)

// DeadLetter is one message of the dead-letter stream as `dlq list -json`
// and `dlq show -json` print it.
type DeadLetter struct {
	Sequence uint64    `json:"sequence"` // in TAXBRIDGE_DLQ
	Time     time.Time `json:"time"`
	Subject  string    `json:"subject"` // taxbridge.dlq.<original subject>
	// OriginalSubject is where the event was consumed from, and where a
	// replay publishes it.
	OriginalSubject string `json:"original_subject"`
	// EventID, Type and OrderID are the CloudEvents id, type and subject
	// read from the payload, when it has them.
	EventID string `json:"event_id,omitempty"`
	Type    string `json:"type,omitempty"`
	OrderID string `json:"order_id,omitempty"`
	// MsgID is the original Nats-Msg-Id, if the dead letter kept it.
	MsgID      string `json:"msg_id,omitempty"`
	Deliveries uint64 `json:"deliveries,omitempty"` // Taxbridge-Deliveries
	Reason     string `json:"reason"`               // Taxbridge-Validation-Error
	// ReplayOf is the dead letter this event was replayed from, when it
	// came back to the dead-letter stream after a replay.
	ReplayOf string `json:"replay_of,omitempty"`
	// Headers are all the headers, values that look like credentials
	// redacted.
	Headers nats.Header `json:"headers"`
	// Payload is the event when it is JSON, PayloadText when it is not.
	Payload     json.RawMessage `json:"payload,omitempty"`
	PayloadText string          `json:"payload_text,omitempty"`

	data      []byte      // the payload as stored
	rawHeader nats.Header // the headers as stored
}

// newDeadLetter reads what taxbridge put in a dead letter.
func newDeadLetter(seq uint64, at time.Time, subject string, h nats.Header, data []byte) DeadLetter {
	if h == nil {
		h = nats.Header{}
	}
	dl := DeadLetter{Sequence: seq, Time: at.UTC(), Subject: subject, MsgID: h.Get(jetstream.MsgIDHeader),
		Reason: h.Get(bus.HeaderValidationError), ReplayOf: h.Get(HeaderReplayOf),
		Headers: redactHeaders(h), data: data, rawHeader: h}
	dl.OriginalSubject = h.Get(bus.HeaderDeadLetterFrom)
	if dl.OriginalSubject == "" {
		dl.OriginalSubject = strings.TrimPrefix(subject, bus.DLQPrefix)
	}
	dl.Deliveries, _ = strconv.ParseUint(h.Get(bus.HeaderDeliveries), 10, 64)
	// Best effort: a dead letter may hold anything, even no JSON at all.
	var env struct{ ID, Type, Subject json.RawMessage }
	if json.Valid(data) {
		dl.Payload = data
		if json.Unmarshal(data, &env) == nil {
			dl.EventID, dl.Type, dl.OrderID = jsonString(env.ID), jsonString(env.Type), jsonString(env.Subject)
		}
	} else {
		dl.PayloadText = string(data)
	}
	return dl
}

func jsonString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// redactHeaders copies headers, hiding the values of those that look like
// credentials: an OMS may forward any header with its events.
func redactHeaders(h nats.Header) nats.Header {
	out := make(nats.Header, len(h))
	for k, vs := range h {
		if sensitiveHeader(k) {
			vs = slices.Repeat([]string{"[REDACTED]"}, len(vs))
		}
		out[k] = slices.Clone(vs)
	}
	return out
}

func sensitiveHeader(k string) bool {
	k = strings.ToLower(k)
	for _, s := range []string{"authorization", "cookie", "password", "secret", "token", "api-key", "apikey", "license", "credential"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

func (c *cli) dlq(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usagef("dlq wants a subcommand: list, show or replay")
	}
	switch args[0] {
	case "list":
		return c.dlqList(ctx, args[1:])
	case "show":
		return c.dlqShow(ctx, args[1:])
	case "replay":
		return c.dlqReplay(ctx, args[1:])
	case "-h", "-help", "--help", "help":
		return flag.ErrHelp
	}
	return usagef("unknown dlq subcommand %q (want list, show or replay)", args[0])
}

// selection is the -subject and -order flags of list and replay -all.
type selection struct{ subject, order string }

func (s *selection) flags(fs *flag.FlagSet) {
	fs.StringVar(&s.subject, "subject", "", "only dead letters whose original subject matches this NATS filter")
	fs.StringVar(&s.order, "order", "", "only dead letters of this order")
}

// filter is the subject filter on the dead-letter stream.
func (s *selection) filter() (string, error) {
	switch {
	case s.subject != "" && s.order != "":
		return "", usagef("give -subject or -order, not both")
	case s.order != "":
		return bus.DLQPrefix + bus.EventsPrefix + "*." + bus.Token(s.order), nil
	case s.subject == "":
		return bus.DLQPrefix + ">", nil
	}
	f := s.subject
	if !strings.HasPrefix(f, bus.DLQPrefix) {
		f = bus.DLQPrefix + f
	}
	if err := checkFilter(f); err != nil {
		return "", usagef("-subject %q: %v", s.subject, err)
	}
	return f, nil
}

// checkFilter refuses what NATS would refuse as a subject filter, so that
// the error names the flag instead of coming back from the server.
func checkFilter(f string) error {
	if strings.ContainsAny(f, " \t\r\n") {
		return errors.New("a subject has no white space")
	}
	tokens := strings.Split(f, ".")
	for i, t := range tokens {
		switch {
		case t == "":
			return errors.New("empty token (two dots, or a dot at an end)")
		case t == ">" && i != len(tokens)-1:
			return errors.New("'>' may only be the last token")
		case t != "*" && t != ">" && strings.ContainsAny(t, "*>"):
			return fmt.Errorf("wildcard inside token %q: '*' and '>' stand alone", t)
		}
	}
	return nil
}

func (c *cli) dlqList(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("dlq list", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print every dead letter in full, one JSON object a line")
	var sel selection
	sel.flags(fs)
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return usagef("dlq list takes no arguments, got %q (select with -subject or -order)", rest)
	}
	filter, err := sel.filter()
	if err != nil {
		return err
	}
	ctx, js, done, err := c.connectJS(ctx, 0)
	if err != nil {
		return err
	}
	defer done()
	dls, err := readDeadLetters(ctx, js, filter)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(c.stdout)
		for _, dl := range dls {
			if err := enc.Encode(dl); err != nil {
				return err
			}
		}
		return nil
	}
	return printDeadLetters(c.stdout, dls, filter)
}

// readDeadLetters returns the dead letters on the filter, oldest first.
func readDeadLetters(ctx context.Context, js jetstream.JetStream, filter string) ([]DeadLetter, error) {
	cons, err := js.OrderedConsumer(ctx, bus.DLQStream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{filter}, DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, fmt.Errorf("no dead-letter stream %s on this server: is it taxbridge's NATS server? %w", bus.DLQStream, err)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s on %s: %w", bus.DLQStream, filter, err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("read %s on %s: %w", bus.DLQStream, filter, err)
	}
	var out []DeadLetter
	for pending := int(info.NumPending); len(out) < pending; {
		batch, err := cons.Fetch(min(pending-len(out), 256), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return nil, fmt.Errorf("read %s on %s: %w", bus.DLQStream, filter, err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			md, err := m.Metadata()
			if err != nil {
				return nil, fmt.Errorf("read %s on %s: metadata of a message on %s: %w", bus.DLQStream, filter, m.Subject(), err)
			}
			out = append(out, newDeadLetter(md.Sequence.Stream, md.Timestamp, m.Subject(), m.Headers(), m.Data()))
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return nil, fmt.Errorf("read %s on %s: %w", bus.DLQStream, filter, err)
		}
		if n == 0 {
			break // deleted (replayed) since the count was taken
		}
	}
	return out, nil
}

// printDeadLetters writes the dead letters as a table, one a line.
func printDeadLetters(w io.Writer, dls []DeadLetter, filter string) error {
	on := ""
	if filter != bus.DLQPrefix+">" {
		on = " on " + filter
	}
	if len(dls) == 0 {
		_, err := fmt.Fprintf(w, "no dead letters in %s%s\n", bus.DLQStream, on)
		return err
	}
	fmt.Fprintf(w, "%s in %s%s (taxctl dlq show <seq> for one in full):\n", deadLetters(len(dls)), bus.DLQStream, on)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tTIME\tSUBJECT\tEVENT ID\tDELIVERIES\tREASON")
	for _, dl := range dls {
		deliveries := "-"
		if dl.Deliveries > 0 {
			deliveries = strconv.FormatUint(dl.Deliveries, 10)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", dl.Sequence, stamp(dl.Time), dl.OriginalSubject, eventOf(dl), deliveries, trimText(dl.Reason, 80))
	}
	return tw.Flush()
}

// eventOf names the event of a dead letter: its CloudEvents id, and the
// message id it was published with when that was kept and differs.
func eventOf(dl DeadLetter) string {
	id := dash(dl.EventID)
	if dl.MsgID != "" && dl.MsgID != dl.EventID {
		id += " (msg id " + dl.MsgID + ")"
	}
	return id
}

// trimText puts text on one line and cuts it to n runes.
func trimText(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return "-"
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// parseSeq reads a dead letter's sequence from the command line.
func parseSeq(s string) (uint64, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n == 0 {
		return 0, usagef("bad dead letter sequence %q: want a positive number, as dlq list shows", s)
	}
	return n, nil
}

// getDeadLetter reads one dead letter by sequence.
func getDeadLetter(ctx context.Context, stream jetstream.Stream, seq uint64) (DeadLetter, error) {
	m, err := stream.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return DeadLetter{}, fmt.Errorf("no dead letter %d in %s (replayed, expired, or never there; dlq list shows them): %w", seq, bus.DLQStream, err)
	}
	if err != nil {
		return DeadLetter{}, fmt.Errorf("read dead letter %d: %w", seq, err)
	}
	return newDeadLetter(m.Sequence, m.Time, m.Subject, m.Header, m.Data), nil
}

// dlqStream opens the dead-letter stream.
func dlqStream(ctx context.Context, js jetstream.JetStream) (jetstream.Stream, error) {
	s, err := js.Stream(ctx, bus.DLQStream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, fmt.Errorf("no dead-letter stream %s on this server: is it taxbridge's NATS server? %w", bus.DLQStream, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open stream %s: %w", bus.DLQStream, err)
	}
	return s, nil
}

func (c *cli) dlqShow(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("dlq show", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print the dead letter as one JSON object")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usagef("dlq show wants one dead letter sequence, got %d arguments", len(rest))
	}
	seq, err := parseSeq(rest[0])
	if err != nil {
		return err
	}
	ctx, js, done, err := c.connectJS(ctx, commandLimit)
	if err != nil {
		return err
	}
	defer done()
	stream, err := dlqStream(ctx, js)
	if err != nil {
		return err
	}
	dl, err := getDeadLetter(ctx, stream, seq)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(dl)
	}
	return printDeadLetter(c.stdout, dl)
}

// printDeadLetter writes one dead letter in full.
func printDeadLetter(w io.Writer, dl DeadLetter) error {
	fmt.Fprintf(w, "dead letter %d in %s\n", dl.Sequence, bus.DLQStream)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  time\t%s\n", stamp(dl.Time))
	fmt.Fprintf(tw, "  subject\t%s\n", dl.Subject)
	fmt.Fprintf(tw, "  original subject\t%s\n", dl.OriginalSubject)
	fmt.Fprintf(tw, "  event id\t%s\n", dash(dl.EventID))
	fmt.Fprintf(tw, "  type\t%s\n", dash(dl.Type))
	fmt.Fprintf(tw, "  order\t%s\n", dash(dl.OrderID))
	if dl.MsgID != "" {
		fmt.Fprintf(tw, "  original msg id\t%s\n", dl.MsgID)
	}
	if dl.Deliveries > 0 {
		fmt.Fprintf(tw, "  deliveries\t%d\n", dl.Deliveries)
	}
	if dl.ReplayOf != "" {
		fmt.Fprintf(tw, "  replay of\tdead letter %s (%s)\n", dl.ReplayOf, dash(dl.Headers.Get(HeaderReplayOfMsgID)))
	}
	tw.Flush()
	fmt.Fprintf(w, "reason:\n  %s\n", dash(dl.Reason))
	fmt.Fprintln(w, "headers:")
	keys := make([]string, 0, len(dl.Headers))
	for k := range dl.Headers {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range dl.Headers[k] {
			fmt.Fprintf(w, "  %s: %s\n", k, v)
		}
	}
	var pretty bytes.Buffer
	switch {
	case len(dl.data) == 0:
		fmt.Fprintln(w, "payload: empty")
	case json.Indent(&pretty, dl.data, "", "  ") == nil:
		fmt.Fprintf(w, "payload (%d bytes):\n%s\n", len(dl.data), pretty.String())
	case utf8.Valid(dl.data):
		fmt.Fprintf(w, "payload (%d bytes, not JSON):\n%s\n", len(dl.data), dl.data)
	default:
		fmt.Fprintf(w, "payload (%d bytes, not JSON nor UTF-8):\n%q\n", len(dl.data), dl.data)
	}
	return nil
}

// replayOptions are the flags of dlq replay.
type replayOptions struct {
	keep, force, dryRun bool
}

func (c *cli) dlqReplay(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("dlq replay", flag.ContinueOnError)
	all := fs.Bool("all", false, "replay every dead letter (that -subject or -order selects)")
	file := fs.String("file", "", "publish the event in this file instead of the dead letter's payload (one <seq> only)")
	var o replayOptions
	fs.BoolVar(&o.keep, "keep", false, "keep the dead letters in "+bus.DLQStream+" after replaying them")
	fs.BoolVar(&o.force, "force", false, "publish payloads the worker would dead-letter again")
	fs.BoolVar(&o.dryRun, "dry-run", false, "say what would be published, publish and delete nothing")
	var sel selection
	sel.flags(fs)
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case *all && len(rest) > 0:
		return usagef("dlq replay takes dead letter sequences or -all, not both")
	case !*all && len(rest) == 0:
		return usagef("dlq replay wants dead letter sequences, or -all")
	case !*all && (sel.subject != "" || sel.order != ""):
		return usagef("-subject and -order select dead letters for -all; name sequences without them")
	case *file != "" && len(rest) != 1:
		return usagef("-file replaces the payload of one dead letter: give exactly one sequence")
	}
	var seqs []uint64
	for _, s := range rest {
		seq, err := parseSeq(s)
		if err != nil {
			return err
		}
		if !slices.Contains(seqs, seq) { // a dead letter is replayed once
			seqs = append(seqs, seq)
		}
	}
	filter, err := sel.filter()
	if err != nil {
		return err
	}
	var corrected []byte
	if *file != "" {
		if corrected, err = os.ReadFile(*file); err != nil {
			return fmt.Errorf("read -file %s: %w", *file, err)
		}
	}
	var v *events.Validator
	if !o.force {
		if v, err = events.NewValidator(); err != nil {
			return fmt.Errorf("load the event schemas: %w", err)
		}
	}
	ctx, js, done, err := c.connectJS(ctx, 0)
	if err != nil {
		return err
	}
	defer done()
	stream, err := dlqStream(ctx, js)
	if err != nil {
		return err
	}

	var dls []DeadLetter
	var errs []error
	if *all {
		// The dead letters as they are now: an event that is dead-lettered
		// again while this runs is not replayed again.
		if dls, err = readDeadLetters(ctx, js, filter); err != nil {
			return err
		}
		if len(dls) == 0 {
			fmt.Fprintf(c.stdout, "no dead letters to replay in %s on %s\n", bus.DLQStream, filter)
			return nil
		}
	}
	for _, seq := range seqs {
		dl, err := getDeadLetter(ctx, stream, seq)
		if err != nil {
			errs = append(errs, err)
			if len(seqs) > 1 {
				fmt.Fprintln(c.stderr, "taxctl:", err)
			}
			continue
		}
		dls = append(dls, dl)
	}
	total := len(seqs)
	if *all {
		total = len(dls)
	}
	for _, dl := range dls {
		payload := dl.data
		if corrected != nil {
			payload = corrected
		}
		line, err := c.replayOne(ctx, js, stream, v, dl, payload, o)
		if line != "" {
			fmt.Fprintln(c.stdout, line)
		}
		if err != nil {
			errs = append(errs, err)
			if total > 1 {
				fmt.Fprintln(c.stderr, "taxctl:", err)
			}
		}
	}
	switch {
	case len(errs) == 1 && total == 1:
		return errs[0]
	case len(errs) > 0:
		return fmt.Errorf("%d of %s not replayed (see above)", len(errs), deadLetters(total))
	}
	if total > 1 {
		verb := "replayed"
		if o.dryRun {
			verb = "would replay"
		}
		fmt.Fprintf(c.stdout, "%s %s\n", verb, deadLetters(total))
	}
	return nil
}

// replayOne publishes one dead letter's payload again and deletes the dead
// letter once the publish is acknowledged. It returns what it did, and
// an error naming the dead letter when it did not finish.
func (c *cli) replayOne(ctx context.Context, js jetstream.JetStream, stream jetstream.Stream, v *events.Validator,
	dl DeadLetter, payload []byte, o replayOptions) (string, error) {
	seq := dl.Sequence
	if dl.OriginalSubject == "" || !strings.HasPrefix(dl.Subject, bus.DLQPrefix) {
		return "", fmt.Errorf("dead letter %d: no original subject (no %s header, subject %q)", seq, bus.HeaderDeadLetterFrom, dl.Subject)
	}
	corrected := !bytes.Equal(payload, dl.data)
	if v != nil {
		if err := checkReplay(v, dl.OriginalSubject, payload); err != nil {
			what := "payload"
			if corrected {
				what = "-file payload"
			}
			hint := "correct it and replay it with -file"
			if corrected {
				hint = "correct the file"
			}
			return "", fmt.Errorf("dead letter %d: the %s would be dead-lettered again: %w; %s, or publish it as it is with -force", seq, what, err, hint)
		}
	}
	msg := replayMsg(dl, payload, corrected)
	msgID := msg.Header.Get(jetstream.MsgIDHeader)
	if o.dryRun {
		what := "its payload"
		if corrected {
			what = "the -file payload"
		}
		return fmt.Sprintf("dead letter %d: would publish %s (%d bytes) to %s as %s", seq, what, len(payload), dl.OriginalSubject, msgID), nil
	}
	ack, err := js.PublishMsg(ctx, msg, jetstream.WithExpectStream(bus.EventsStream))
	if err != nil {
		return "", fmt.Errorf("dead letter %d: publish to %s as %s: %w (the dead letter is kept)", seq, dl.OriginalSubject, msgID, err)
	}
	line := fmt.Sprintf("dead letter %d: replayed to %s as %s (stream %s seq %d)", seq, dl.OriginalSubject, msgID, ack.Stream, ack.Sequence)
	if ack.Duplicate {
		// Published under this id within the duplicate window already: the
		// stream holds that copy, so the dead letter may go all the same.
		line = fmt.Sprintf("dead letter %d: already replayed to %s as %s (stream %s seq %d; this copy was dropped as a duplicate)",
			seq, dl.OriginalSubject, msgID, ack.Stream, ack.Sequence)
	}
	if o.keep {
		return line + "; kept in " + bus.DLQStream + " (-keep)", nil
	}
	if err := stream.DeleteMsg(ctx, seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return line, fmt.Errorf("dead letter %d: replayed, but not deleted from %s: %w; delete it with `nats stream rmm %s %d`",
			seq, bus.DLQStream, err, bus.DLQStream, seq)
	}
	return line + "; deleted from " + bus.DLQStream, nil
}

// checkReplay refuses a payload the worker would dead-letter again: one
// that is invalid, or that is not the event its subject says (the worker
// would apply it to the order in the payload, published on another's
// subject).
func checkReplay(v *events.Validator, subject string, payload []byte) error {
	in, err := v.Inbound(payload)
	if err != nil {
		return err
	}
	if want := bus.EventSubject(in.Type, in.Subject); want != subject {
		return fmt.Errorf("it is a %s event of order %s, which belongs on %s, not on %s where it was dead-lettered", in.Type, in.Subject, want, subject)
	}
	return nil
}

// replayMsg is the message that replays a dead letter: its payload (or a
// corrected one) and the headers the event came with, under a new message
// id so that the stream's duplicate window does not drop it.
func replayMsg(dl DeadLetter, payload []byte, corrected bool) *nats.Msg {
	msg := nats.NewMsg(dl.OriginalSubject)
	msg.Data = payload
	for k, vs := range dl.rawHeader {
		switch {
		case strings.HasPrefix(k, "Nats-"), // JetStream's, for the dead letter's own publish
			k == bus.HeaderValidationError, k == bus.HeaderDeadLetterFrom, k == bus.HeaderDeliveries,
			strings.EqualFold(k, "traceparent"), strings.EqualFold(k, "tracestate"):
			continue
		}
		msg.Header[k] = slices.Clone(vs)
	}
	orig := originalID(dl)
	msg.Header.Set(jetstream.MsgIDHeader, replayID(orig, dl.Sequence, payload, corrected))
	msg.Header.Set(HeaderReplayOf, strconv.FormatUint(dl.Sequence, 10))
	msg.Header.Set(HeaderReplayOfMsgID, orig)
	return msg
}

// originalID is the message id the event was first published with: the
// one an earlier replay recorded, the one the dead letter kept, else the
// CloudEvents id (taxbridge's events use it as their message id).
func originalID(dl DeadLetter) string {
	for _, id := range []string{dl.rawHeader.Get(HeaderReplayOfMsgID), dl.MsgID, dl.EventID} {
		if id != "" {
			return id
		}
	}
	return "dlq-" + strconv.FormatUint(dl.Sequence, 10)
}

// replayID is the message id of a replay: unique per dead letter, and per
// correction, so that replaying a corrected payload after the original
// one is not dropped as a duplicate of it.
func replayID(orig string, seq uint64, payload []byte, corrected bool) string {
	id := orig + "/replay/" + strconv.FormatUint(seq, 10)
	if corrected {
		sum := sha256.Sum256(payload)
		id += "/fixed-" + hex.EncodeToString(sum[:6])
	}
	return id
}

func deadLetters(n int) string {
	if n == 1 {
		return "1 dead letter"
	}
	return strconv.Itoa(n) + " dead letters"
}
