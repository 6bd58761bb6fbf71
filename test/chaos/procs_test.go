//go:build unix

package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestMarkerWriterFindsTheMarkerAcrossWrites(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ready := make(chan struct{})
	w := &markerWriter{out: f, marker: []byte("Server is ready"), ready: ready}
	for _, s := range []string{"starting\nServer is", " re", "ady\nmore\n"} {
		if _, err := w.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	if !closed(ready) {
		t.Fatal("marker split over three writes not found")
	}
	if _, err := w.Write([]byte("Server is ready again\n")); err != nil {
		t.Fatal(err) // a second marker must not close ready twice
	}
}

func TestProcKillsItsProcessGroup(t *testing.T) {
	dir := t.TempDir()
	// The shell starts a child that would outlive a kill of the shell alone.
	p := &proc{name: "sh", bin: "/bin/sh", args: []string{"-c", "sleep 60 & echo up; wait"},
		env: cleanEnv(), log: filepath.Join(dir, "sh.log"), marker: "up"}
	if err := p.start(); err != nil {
		t.Fatal(err)
	}
	if err := p.waitReady(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	pgid := p.cmd.Process.Pid
	if !p.kill() {
		t.Fatal("kill found nothing running")
	}
	if p.running() {
		t.Fatal("still running after kill")
	}
	if _, killed := p.exit(); !killed {
		t.Error("exit not marked as the suite's")
	}
	// The group is gone once its last member has been reaped; the sleep's
	// parent is init after the kill, which reaps it at once.
	deadline := time.Now().Add(5 * time.Second)
	for groupAlive(pgid) {
		if time.Now().After(deadline) {
			t.Fatal("a member of the killed process group survived")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if p.kill() {
		t.Error("a second kill found something running")
	}
}
