// Package retryafter reads the HTTP Retry-After header, which AvaTax and
// Plex both send with a 429 or 503.
package retryafter

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxWait caps a hostile or broken header that would park the caller.
const maxWait = 24 * time.Hour

// Parse reads Retry-After as seconds or an HTTP date (relative to now),
// capped at a day. ok is false when v is empty or neither.
func Parse(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		return time.Duration(min(n, int64(maxWait/time.Second))) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}
