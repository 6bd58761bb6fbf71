package taxctl

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/taxbridge/taxbridge/internal/secrets"
)

// maxCredential bounds a credential value read from stdin or a file.
const maxCredential = 64 << 10

// credentials runs `taxctl credentials set|list|delete`. A value is never
// taken from the command line, where shell history and ps would keep it,
// and never printed.
func (c *cli) credentials(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usagef("credentials wants a subcommand: set, list or delete")
	}
	switch args[0] {
	case "set":
		return c.credentialsSet(ctx, args[1:])
	case "list":
		return c.credentialsList(ctx, args[1:])
	case "delete":
		return c.credentialsDelete(ctx, args[1:])
	case "-h", "-help", "--help":
		return flag.ErrHelp
	}
	return usagef("unknown credentials subcommand %q", args[0])
}

// credentialName checks the one argument of set and delete: a known name.
// The error does not repeat the arguments: one may be a value typed by
// mistake.
func credentialName(cmd string, rest []string) (string, error) {
	if len(rest) != 1 {
		return "", usagef("credentials %s wants one credential name, got %d arguments "+
			"(the value is read from stdin or -from-file, never from the command line)", cmd, len(rest))
	}
	if err := secrets.CheckName(rest[0]); err != nil {
		return "", usagef("credentials %s: unknown credential name: want one of %s", cmd, strings.Join(secrets.KnownNames(), ", "))
	}
	return rest[0], nil
}

func (c *cli) credentialsSet(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("credentials set", flag.ContinueOnError)
	fromFile := fs.String("from-file", "", "read the value from this file instead of stdin")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	name, err := credentialName("set", rest)
	if err != nil {
		return err
	}
	key, err := c.secretsKey()
	if err != nil {
		return err
	}
	value, err := c.readCredential(name, *fromFile)
	if err != nil {
		return err
	}
	replicas := 1
	if r := c.getenv("TAXBRIDGE_NATS_REPLICAS"); r != "" {
		if replicas, err = strconv.Atoi(r); err != nil || replicas < 1 {
			return fmt.Errorf("TAXBRIDGE_NATS_REPLICAS %q: want 1, 3 or 5", r)
		}
	}
	ctx, js, done, err := c.connectJS(ctx, commandLimit)
	if err != nil {
		return err
	}
	defer done()
	store, err := secrets.Open(ctx, js, key, secrets.WithReplicas(replicas))
	if err != nil {
		return err
	}
	if err := store.Set(ctx, name, value); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "credential %s set in bucket %s\n", name, secrets.Bucket)
	return nil
}

// readCredential reads the value from path, or from stdin, trimmed of
// surrounding white space (the trailing newline of echo or of an editor).
func (c *cli) readCredential(name, path string) (string, error) {
	var r io.Reader
	from := "stdin"
	if path != "" {
		f, err := os.Open(path)
		if err != nil {
			return "", fmt.Errorf("-from-file: %w", err)
		}
		defer f.Close()
		r, from = f, path
	} else {
		if c.stdin == nil {
			return "", errors.New("no stdin to read the value from: give -from-file")
		}
		if f, ok := c.stdin.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				fmt.Fprintf(c.stderr, "type the value of %s, then Enter and Ctrl-D (it is shown as typed: prefer piping it or -from-file)\n", name)
			}
		}
		r = c.stdin
	}
	b, err := io.ReadAll(io.LimitReader(r, maxCredential+1))
	if err != nil {
		return "", fmt.Errorf("read the value of %s from %s: %w", name, from, err)
	}
	if len(b) > maxCredential {
		return "", fmt.Errorf("the value of %s in %s is longer than %d bytes", name, from, maxCredential)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("the value of %s in %s is empty", name, from)
	}
	return v, nil
}

// credentialInfo is a line of credentials list -json.
type credentialInfo struct {
	Name     string    `json:"name"`
	Set      time.Time `json:"set"`
	Revision uint64    `json:"revision"`
	// Opens tells whether the secrets key opens the value.
	Opens bool `json:"opens"`
}

func (c *cli) credentialsList(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("credentials list", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print one JSON object a line")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return usagef("credentials list takes no arguments, got %d", len(rest))
	}
	key, err := c.secretsKey()
	if err != nil {
		return err
	}
	ctx, js, done, err := c.connectJS(ctx, commandLimit)
	if err != nil {
		return err
	}
	defer done()
	store, err := secrets.Open(ctx, js, key, secrets.WithoutCreate())
	var infos []secrets.Info
	switch {
	case errors.Is(err, secrets.ErrNoBucket):
	case err != nil:
		return err
	default:
		if infos, err = store.List(ctx); err != nil {
			return err
		}
	}
	lines := make([]credentialInfo, 0, len(infos))
	for _, in := range infos {
		_, err := store.Get(ctx, in.Name) // the value is dropped at once
		switch {
		case err == nil, errors.Is(err, secrets.ErrWrongKey):
		case errors.Is(err, secrets.ErrNotFound), errors.Is(err, secrets.ErrUnknownName):
			continue // deleted meanwhile, or not taxbridge's
		default:
			return err
		}
		lines = append(lines, credentialInfo{Name: in.Name, Set: in.Set.UTC(), Revision: in.Revision, Opens: err == nil})
	}
	if *asJSON {
		enc := json.NewEncoder(c.stdout)
		for _, l := range lines {
			if err := enc.Encode(l); err != nil {
				return err
			}
		}
		return nil
	}
	if len(lines) == 0 {
		fmt.Fprintf(c.stdout, "no credentials in bucket %s\n", secrets.Bucket)
		return nil
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSET\tKEY")
	wrong := 0
	for _, l := range lines {
		opens := "opens"
		if !l.Opens {
			opens, wrong = "does not open: sealed with another key", wrong+1
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", l.Name, l.Set.Format(time.RFC3339), opens)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if wrong > 0 {
		fmt.Fprintf(c.stdout, "\n%d credential(s) do not open with this TAXBRIDGE_SECRETS_KEY: set them again (credentials set) to seal them with it\n", wrong)
	}
	return nil
}

func (c *cli) credentialsDelete(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("credentials delete", flag.ContinueOnError)
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	name, err := credentialName("delete", rest)
	if err != nil {
		return err
	}
	key, err := c.secretsKey()
	if err != nil {
		return err
	}
	ctx, js, done, err := c.connectJS(ctx, commandLimit)
	if err != nil {
		return err
	}
	defer done()
	store, err := secrets.Open(ctx, js, key, secrets.WithoutCreate())
	if errors.Is(err, secrets.ErrNoBucket) {
		return fmt.Errorf("credential %s: %w", name, secrets.ErrNotFound)
	}
	if err != nil {
		return err
	}
	if err := store.Delete(ctx, name); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "credential %s deleted from bucket %s\n", name, secrets.Bucket)
	return nil
}

func (c *cli) getenv(k string) string {
	if c.env == nil {
		return ""
	}
	return c.env(k)
}

// secretsKey reads the credentials store key as taxbridge does:
// TAXBRIDGE_SECRETS_KEY, or the file TAXBRIDGE_SECRETS_KEY_FILE names.
func (c *cli) secretsKey() ([]byte, error) {
	v, file := c.getenv("TAXBRIDGE_SECRETS_KEY"), c.getenv("TAXBRIDGE_SECRETS_KEY_FILE")
	switch {
	case v != "" && file != "":
		return nil, errors.New("TAXBRIDGE_SECRETS_KEY and TAXBRIDGE_SECRETS_KEY_FILE are both set: give the key one way")
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("TAXBRIDGE_SECRETS_KEY_FILE: %w", err)
		}
		v = string(b)
	case v == "":
		return nil, errors.New("no secrets key: set TAXBRIDGE_SECRETS_KEY or TAXBRIDGE_SECRETS_KEY_FILE to the key taxbridge runs with " +
			"(32 random bytes as base64 or 64 hex digits, e.g. openssl rand -base64 32)")
	}
	key, err := secrets.ParseKey(v)
	if err != nil {
		return nil, fmt.Errorf("TAXBRIDGE_SECRETS_KEY: %w", err)
	}
	return key, nil
}
