package main

import (
	"os"
	"runtime"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// TestLimitCPUs checks that -cpus limits the whole benchmark: every thread
// of the process and the sandbox child it starts, and GOMAXPROCS; and that
// all is given back afterwards.
func TestLimitCPUs(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("needs 2 CPUs")
	}
	procs := runtime.GOMAXPROCS(0)
	restore, err := limitCPUs(1)
	if err != nil {
		t.Fatal(err)
	}
	restored := false
	defer func() {
		if !restored {
			restore()
		}
	}()
	if n := runtime.GOMAXPROCS(0); n != 1 {
		t.Errorf("GOMAXPROCS %d while limited to 1 CPU", n)
	}
	threadCPUs(t, 1)
	child, err := startSandboxChild(0)
	if err != nil {
		t.Fatal(err)
	}
	defer child.close()
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(child.cmd.Process.Pid, &set); err != nil {
		t.Fatal(err)
	}
	if set.Count() != 1 {
		t.Errorf("the sandbox child may run on %d CPUs, want 1", set.Count())
	}

	restore()
	restored = true
	if n := runtime.GOMAXPROCS(0); n != procs {
		t.Errorf("GOMAXPROCS %d after restore, want %d", n, procs)
	}
	threadCPUs(t, runtime.NumCPU())
}

// threadCPUs checks that every thread of this process may run on want CPUs.
func threadCPUs(t *testing.T, want int) {
	t.Helper()
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		tid, _ := strconv.Atoi(task.Name())
		var set unix.CPUSet
		if err := unix.SchedGetaffinity(tid, &set); err != nil {
			continue // the thread ended
		}
		if set.Count() != want {
			t.Errorf("thread %d may run on %d CPUs, want %d", tid, set.Count(), want)
		}
	}
}
