// Package bufpool recycles the buffers HTTP bodies are read into: every
// AvaTax call reads its answer (the client) and copies both bodies (the
// audit trail), a few KiB each, on the worker's hot path.
package bufpool

import (
	"bytes"
	"sync"
)

// maxKept caps the buffers kept for reuse: larger ones, rare, go to the
// garbage collector.
const maxKept = 1 << 20

var pool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Get returns an empty buffer with room for n bytes (n < 0: unknown; a
// larger n announced is not trusted) and the extra bytes.Buffer.ReadFrom
// wants to see EOF without growing.
func Get(n int64) *bytes.Buffer {
	buf := pool.Get().(*bytes.Buffer)
	if n >= 0 && n < maxKept {
		buf.Grow(int(n) + bytes.MinRead)
	}
	return buf
}

// Put gives buf back for reuse; nothing may use it or its bytes after.
func Put(buf *bytes.Buffer) {
	if buf.Cap() <= maxKept {
		buf.Reset()
		pool.Put(buf)
	}
}
