//go:build unix

package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/taxbridge/taxbridge/internal/avataxsim"
)

// binaries are the programs the suite runs, built from this module.
type binaries struct {
	natsServer, taxbridge, sandbox string
}

// build compiles nats-server (from the module's requirement), taxbridge and
// the AvaTax sandbox into dir.
func build(ctx context.Context, dir string) (binaries, error) {
	b := binaries{
		natsServer: filepath.Join(dir, "nats-server"),
		taxbridge:  filepath.Join(dir, "taxbridge"),
		sandbox:    filepath.Join(dir, "avatax-sandbox"),
	}
	for out, pkg := range map[string]string{
		b.natsServer: "github.com/nats-io/nats-server/v2",
		b.taxbridge:  "github.com/taxbridge/taxbridge/cmd/taxbridge",
		b.sandbox:    "github.com/taxbridge/taxbridge/cmd/avatax-sandbox",
	} {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
		// The compilers go starts die with it when the run is interrupted.
		cmd.SysProcAttr = sysProcAttr()
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
		if msg, err := cmd.CombinedOutput(); err != nil {
			return b, fmt.Errorf("go build %s: %w\n%s", pkg, err, msg)
		}
	}
	return b, nil
}

// revision says which commit the binaries were built from, and whether
// tracked files had uncommitted changes: the suite builds the working tree
// as it is, and other work in progress goes into the binaries.
func revision(ctx context.Context) string {
	dir, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		return "unknown"
	}
	git := func(args ...string) (string, error) {
		out, err := exec.CommandContext(ctx, "git", append([]string{"-C", strings.TrimSpace(string(dir))}, args...)...).Output()
		return strings.TrimSpace(string(out)), err
	}
	rev, err := git("rev-parse", "--short=12", "HEAD")
	if err != nil {
		return "unknown (not a git checkout)"
	}
	if changed, err := git("status", "--porcelain", "--untracked-files=no"); err == nil && changed != "" {
		rev += fmt.Sprintf(" with uncommitted changes in %d files", len(strings.Split(changed, "\n")))
	}
	return rev
}

// natsNode is one nats-server with JetStream; a restart keeps its port and
// store directory.
type natsNode struct {
	*proc
	port, clusterPort int
}

func (n *natsNode) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.port) }

// startNATS starts one server, or three clustered ones.
func startNATS(bin, dir string, cluster bool) ([]*natsNode, error) {
	count := 1
	if cluster {
		count = 3
	}
	nodes := make([]*natsNode, count)
	for i := range nodes {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		cport := 0
		if cluster {
			if cport, err = freePort(); err != nil {
				return nil, err
			}
		}
		name := fmt.Sprintf("nats-%d", i+1)
		store := filepath.Join(dir, name)
		if err := os.MkdirAll(store, 0o755); err != nil {
			return nil, err
		}
		nodes[i] = &natsNode{port: port, clusterPort: cport, proc: &proc{name: name, bin: bin, env: cleanEnv(),
			log: filepath.Join(dir, name+".log"), marker: "Server is ready",
			args: []string{"-a", "127.0.0.1", "-p", strconv.Itoa(port), "-js", "-sd", store, "-n", name}}}
	}
	if cluster {
		for i, n := range nodes {
			var routes []string
			for j, o := range nodes {
				if j != i {
					routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", o.clusterPort))
				}
			}
			n.args = append(n.args, "--cluster", fmt.Sprintf("nats://127.0.0.1:%d", n.clusterPort),
				"--cluster_name", "chaos", "--routes", strings.Join(routes, ","))
		}
	}
	for _, n := range nodes {
		if err := n.start(); err != nil {
			return nodes, err
		}
	}
	for _, n := range nodes {
		if err := n.waitReady(30 * time.Second); err != nil {
			return nodes, err
		}
	}
	return nodes, nil
}

// natsURLs is the comma-separated server list clients connect to.
func natsURLs(nodes []*natsNode) string {
	urls := make([]string, len(nodes))
	for i, n := range nodes {
		urls[i] = n.url()
	}
	return strings.Join(urls, ",")
}

// waitJetStream waits until JetStream answers on the connection (in a
// cluster, once a meta leader is elected).
func waitJetStream(ctx context.Context, js jetstream.JetStream, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := js.AccountInfo(c)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("JetStream not available within %s: %w", timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// connect opens the suite's own client connection: it publishes the load
// and judges, and rides out the server restarts.
func connect(urls string) (*nats.Conn, jetstream.JetStream, error) {
	nc, err := nats.Connect(urls, nats.Name("taxbridge-chaos"), nats.MaxReconnects(-1),
		nats.ReconnectWait(100*time.Millisecond), nats.Timeout(2*time.Second))
	if err != nil {
		return nil, nil, fmt.Errorf("connect to %s: %w", urls, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("jetstream: %w", err)
	}
	return nc, js, nil
}

// startSandbox runs cmd/avatax-sandbox with the configured faults.
func startSandbox(bin, dir string, cfg *Config, seed uint64) (*proc, string, error) {
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	p := &proc{name: "avatax-sandbox", bin: bin, env: cleanEnv(), log: filepath.Join(dir, "avatax-sandbox.log"),
		marker: "AvaTax sandbox listening",
		args: []string{"-addr", addr,
			"-429-rate", fmtFloat(cfg.Rate429), "-error-rate", fmtFloat(cfg.ErrorRate),
			"-after-effect-rate", fmtFloat(cfg.AfterEffectRate),
			"-hang-rate", fmtFloat(cfg.HangRate), "-hang-max", cfg.hangMax().String(),
			"-latency", cfg.Latency.String(), "-latency-jitter", cfg.LatencyJitter.String(),
			"-seed", strconv.FormatUint(seed, 10)}}
	if err := p.start(); err != nil {
		return p, "", err
	}
	if err := p.waitReady(30 * time.Second); err != nil {
		return p, "", err
	}
	base := "http://" + addr
	// The listener is up once the line is printed; one ping proves HTTP.
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(base + "/api/v2/utilities/ping")
	if err != nil {
		return p, "", fmt.Errorf("sandbox ping: %w", err)
	}
	resp.Body.Close()
	return p, base, nil
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// replica is one taxbridge process, restarted whenever it exits until the
// suite stops it.
type replica struct {
	*proc
	kills       atomic.Int64 // SIGKILLs by the suite
	crashes     atomic.Int64 // exits on its own after it was running
	failedStart atomic.Int64 // exits on its own before it was running
}

// replicaEnv is the environment of every replica.
func replicaEnv(cfg *Config, natsURL, avataxURL, dir string) []string {
	env := cleanEnv(
		"TAXBRIDGE_NATS_URL="+natsURL,
		"TAXBRIDGE_HTTP_LISTEN=",
		"TAXBRIDGE_DATA_DIR="+filepath.Join(dir, "unused-data"),
		"TAXBRIDGE_AVATAX_URL="+avataxURL,
		"TAXBRIDGE_AVATAX_ACCOUNT_ID="+avataxsim.DefaultAccountID,
		"TAXBRIDGE_AVATAX_LICENSE_KEY="+avataxsim.DefaultLicenseKey,
		"TAXBRIDGE_AVATAX_TIMEOUT="+cfg.AvaTaxTimeout.String(),
		"TAXBRIDGE_ACK_WAIT="+cfg.AckWait.String(),
		"TAXBRIDGE_LOG_LEVEL=info",
	)
	if cfg.NATSReplicas > 0 {
		env = append(env, "TAXBRIDGE_NATS_REPLICAS="+strconv.Itoa(cfg.NATSReplicas))
	}
	return env
}

// supervise restarts r whenever it exits, until ctx ends: at once after a
// kill by the suite, after a pause otherwise (a start fails while NATS is
// down).
func (r *replica) supervise(ctx context.Context, wg *sync.WaitGroup, logf func(string, ...any)) {
	defer wg.Done()
	for {
		done, ready := r.current()
		select {
		case <-ctx.Done():
			return
		case <-done:
		}
		if ctx.Err() != nil {
			return
		}
		err, killed := r.exit()
		switch {
		case killed:
		case closed(ready):
			r.crashes.Add(1)
			logf("%s exited on its own: %v; log %s:\n%s", r.name, err, r.log, tail(r.log, 5))
		default:
			r.failedStart.Add(1)
		}
		if !killed {
			select {
			case <-ctx.Done():
				return
			case <-time.After(500 * time.Millisecond):
			}
		}
		for r.start() != nil {
			select {
			case <-ctx.Done():
				return
			case <-time.After(500 * time.Millisecond):
			}
		}
	}
}
