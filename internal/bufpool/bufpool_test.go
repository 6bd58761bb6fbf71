package bufpool

import (
	"bytes"
	"testing"
)

func TestGetIsEmptyWithRoom(t *testing.T) {
	for _, n := range []int64{-1, 0, 6400, maxKept, maxKept + 1} {
		used := Get(100)
		used.WriteString("left over by an earlier answer")
		Put(used)
		buf := Get(n)
		if buf.Len() != 0 {
			t.Errorf("Get(%d) holds %q", n, buf.String())
		}
		if n >= 0 && n < maxKept && buf.Cap()-buf.Len() < int(n)+bytes.MinRead {
			t.Errorf("Get(%d): room for %d bytes only", n, buf.Cap())
		}
		if n >= maxKept && buf.Cap() >= int(n) {
			t.Errorf("Get(%d) trusted the announced size: capacity %d", n, buf.Cap())
		}
		Put(buf)
	}
}

func TestPutDropsLargeBuffers(t *testing.T) {
	big := bytes.NewBuffer(make([]byte, 0, 2*maxKept))
	Put(big)
	for range 10 {
		if b := Get(-1); b == big {
			t.Fatal("a buffer over the cap was kept")
		}
	}
}
