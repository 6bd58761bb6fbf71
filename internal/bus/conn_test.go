package bus

import (
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"nats://nats.internal:4222", "nats://nats.internal:4222"},
		{"nats://taxbridge:s3cret@nats.internal:4222", "nats://taxbridge:xxxxx@nats.internal:4222"},
		{"nats://s3cret@nats.internal:4222", "nats://xxxxx@nats.internal:4222"},
		{"taxbridge:s3cret@127.0.0.1:4222", "taxbridge:xxxxx@127.0.0.1:4222"},
		{"nats://a:4222, nats://u:s3cret@b:4222", "nats://a:4222,nats://u:xxxxx@b:4222"},
		{"nats://u:s3%cret@b:4222", "nats://xxxxx@b:4222"},
	}
	for _, tt := range tests {
		got := RedactURL(tt.in)
		if got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if strings.Contains(got, "s3") {
			t.Errorf("RedactURL(%q) = %q shows the secret", tt.in, got)
		}
	}
}
