//go:build unix

package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is one child process, started in a process group of its own so
// that a kill reaches everything it started, with its stdout and stderr
// appended to a log file that survives its restarts.
type proc struct {
	name   string
	bin    string
	args   []string
	env    []string
	log    string // log file path
	marker string // a line containing it means the process is ready

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{} // closed when the current run exited
	ready   chan struct{} // closed when the current run printed marker
	waitErr error
	killed  bool // the current run was stopped by the suite
	starts  int
}

// start runs the process once more. It fails when the previous run is
// still going.
func (p *proc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && !closed(p.done) {
		return fmt.Errorf("%s: already running", p.name)
	}
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("%s log: %w", p.name, err)
	}
	p.starts++
	fmt.Fprintf(f, "=== chaos: start %d of %s at %s\n", p.starts, p.name, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(p.bin, p.args...)
	cmd.Env = p.env
	cmd.SysProcAttr = sysProcAttr()
	ready := make(chan struct{})
	w := &markerWriter{out: f, marker: []byte(p.marker), ready: ready}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	done := make(chan struct{})
	p.cmd, p.done, p.ready, p.killed, p.waitErr = cmd, done, ready, false, nil
	go func() {
		err := cmd.Wait()
		fmt.Fprintf(f, "=== chaos: %s exited at %s: %v\n", p.name, time.Now().Format(time.RFC3339Nano), err)
		f.Close()
		p.mu.Lock()
		p.waitErr = err
		p.mu.Unlock()
		close(done)
	}()
	return nil
}

// current returns the channels of the current run.
func (p *proc) current() (done, ready chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done, p.ready
}

// running reports whether the current run has not exited.
func (p *proc) running() bool {
	done, _ := p.current()
	return done != nil && !closed(done)
}

// exit reports how the last run ended and whether the suite ended it.
func (p *proc) exit() (err error, killed bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waitErr, p.killed
}

// waitReady waits until the current run printed its marker, exited, or
// the timeout passed.
func (p *proc) waitReady(timeout time.Duration) error {
	done, ready := p.current()
	if done == nil {
		return fmt.Errorf("%s: not started", p.name)
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-ready:
		return nil
	case <-done:
		err, _ := p.exit()
		return fmt.Errorf("%s exited before it was ready (%v); log %s:\n%s", p.name, err, p.log, tail(p.log, 15))
	case <-t.C:
		return fmt.Errorf("%s: not ready within %s; log %s:\n%s", p.name, timeout, p.log, tail(p.log, 15))
	}
}

// signal sends sig to the current run's process group and reports whether
// there was a running process to send it to. killed marks the exit as the
// suite's doing.
func (p *proc) signal(sig syscall.Signal) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || closed(p.done) {
		return false
	}
	p.killed = true
	// The group id is the child's pid (Setpgid).
	return syscall.Kill(-p.cmd.Process.Pid, sig) == nil
}

// kill sends SIGKILL to the process group and waits for the exit. It
// reports whether a running process was killed.
func (p *proc) kill() bool {
	done, _ := p.current()
	if !p.signal(syscall.SIGKILL) {
		return false
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		// A SIGKILLed process that does not exit is the kernel's business;
		// the wait goroutine closes done whenever it does.
	}
	return true
}

// stop asks the process to end (SIGTERM) and kills it after grace.
func (p *proc) stop(grace time.Duration) {
	done, _ := p.current()
	if !p.signal(syscall.SIGTERM) {
		return
	}
	select {
	case <-done:
	case <-time.After(grace):
		p.kill()
	}
}

func closed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// markerWriter copies a child's output to its log and closes ready at the
// first line holding marker. exec calls Write from one goroutine at a time
// when Stdout and Stderr are the same writer.
type markerWriter struct {
	out    *os.File
	marker []byte
	ready  chan struct{}
	line   []byte // the unfinished last line, while not ready
	seen   bool
}

func (w *markerWriter) Write(b []byte) (int, error) {
	if !w.seen {
		w.line = append(w.line, b...)
		if i := bytes.Index(w.line, w.marker); i >= 0 && len(w.marker) > 0 {
			w.seen = true
			close(w.ready)
			w.line = nil
		} else if j := bytes.LastIndexByte(w.line, '\n'); j >= 0 {
			w.line = append(w.line[:0], w.line[j+1:]...)
		}
	}
	// A failing log write must not kill the child with EPIPE-like errors.
	_, _ = w.out.Write(b)
	return len(b), nil
}

// freePort asks the kernel for a free loopback port. Another process may
// take it before it is used, which the callers' readiness waits report.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// tail returns the last n lines of a file, for error messages.
func tail(path string, n int) string {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// cleanEnv is the environment of this process without the TAXBRIDGE_*,
// AVATAX_SANDBOX_* and OTEL_* settings of the machine, so that only the
// suite's settings reach the children.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "TAXBRIDGE_") || strings.HasPrefix(kv, "AVATAX_SANDBOX_") || strings.HasPrefix(kv, "OTEL_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// groupAlive reports whether a process group still has members.
func groupAlive(pgid int) bool {
	return syscall.Kill(-pgid, 0) == nil
}
