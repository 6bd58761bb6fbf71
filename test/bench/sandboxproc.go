package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/taxbridge/taxbridge/internal/avataxsim"
)

// The AvaTax sandbox can run in a child process (this same binary, started
// with roleEnv=sandbox), as AvaTax is remote in production: its CPU is then
// counted apart from taxbridge's, and its documents stay out of the heap
// the memory phase measures.
const (
	roleEnv    = "TAXBRIDGE_BENCH_ROLE"
	latencyEnv = "TAXBRIDGE_BENCH_LATENCY"
	callsPath  = "/bench/calls"
)

// serveSandboxRole serves the sandbox when this process was started as
// the sandbox child, and reports whether it was. It prints the base URL on
// the first line of stdout and exits when stdin closes (the parent ended).
func serveSandboxRole() bool {
	if os.Getenv(roleEnv) != "sandbox" {
		return false
	}
	latency, _ := time.ParseDuration(os.Getenv(latencyEnv))
	sb := avataxsim.New()
	mux := http.NewServeMux()
	mux.HandleFunc(callsPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(sb.Calls())
	})
	var h http.Handler = sb
	if latency > 0 {
		h = withLatency(latency, sb)
	}
	mux.Handle("/", h)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench sandbox:", err)
		os.Exit(1)
	}
	fmt.Printf("http://%s\n", ln.Addr())
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	_ = srv.Serve(ln)
	os.Exit(0)
	return true
}

// sandboxChild is a sandbox running in a child process.
type sandboxChild struct {
	cmd   *exec.Cmd
	stdin io.Closer
	url   string
}

func startSandboxChild(latency time.Duration) (*sandboxChild, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), roleEnv+"=sandbox", latencyEnv+"="+latency.String())
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- strings.TrimSpace(s)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case u := <-line:
		if !strings.HasPrefix(u, "http://") {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			return nil, fmt.Errorf("sandbox child did not start (said %q)", u)
		}
		return &sandboxChild{cmd: cmd, stdin: stdin, url: u}, nil
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, errors.New("sandbox child did not start within 30s")
	}
}

func (c *sandboxChild) calls() (map[string]int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.url+callsPath, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out map[string]int
	return out, json.NewDecoder(resp.Body).Decode(&out)
}

// cpu is the child's CPU time so far (user + system), 0 when unknown.
func (c *sandboxChild) cpu() time.Duration {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(c.cmd.Process.Pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	const clockTicks = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / clockTicks
}

func (c *sandboxChild) close() {
	_ = c.stdin.Close()
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
}
