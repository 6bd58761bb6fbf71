package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// limitCPUs makes this process behave as if the machine had n CPUs: every
// thread is pinned to the first n CPUs it may use and GOMAXPROCS is n.
// Threads made later inherit the pinning, and so does a sandbox child
// started meanwhile: the whole benchmark, nats-server and AvaTax sandbox
// included, shares those n CPUs, as on a machine of that size. restore
// gives the threads their CPUs back and GOMAXPROCS its value.
func limitCPUs(n int) (restore func(), err error) {
	var all unix.CPUSet
	if err := unix.SchedGetaffinity(0, &all); err != nil {
		return nil, fmt.Errorf("read CPU affinity: %w", err)
	}
	if n < 1 || n > all.Count() {
		return nil, fmt.Errorf("-cpus %d: this process may use %d CPUs", n, all.Count())
	}
	var some unix.CPUSet
	for cpu, left := 0, n; left > 0; cpu++ {
		if all.IsSet(cpu) {
			some.Set(cpu)
			left--
		}
	}
	if err := pinThreads(&some); err != nil {
		_ = pinThreads(&all)
		return nil, err
	}
	prev := runtime.GOMAXPROCS(n)
	return func() {
		runtime.GOMAXPROCS(prev)
		_ = pinThreads(&all)
	}, nil
}

// pinThreads sets the affinity of every thread of this process. It goes
// over them twice: a thread started during the first pass may have
// inherited the old set.
func pinThreads(set *unix.CPUSet) error {
	for range 2 {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return fmt.Errorf("list threads: %w", err)
		}
		for _, t := range tasks {
			tid, err := strconv.Atoi(t.Name())
			if err != nil {
				continue
			}
			if err := unix.SchedSetaffinity(tid, set); err != nil && !errors.Is(err, syscall.ESRCH) {
				return fmt.Errorf("set CPU affinity of thread %d: %w", tid, err)
			}
		}
	}
	return nil
}
