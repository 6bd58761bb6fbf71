//go:build !linux

package main

import "errors"

// limitCPUs needs Linux's per-thread CPU affinity.
func limitCPUs(int) (func(), error) {
	return nil, errors.New("-cpus needs Linux")
}
