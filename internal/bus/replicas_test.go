package bus

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestReplicasReachEveryResource provisions on a three-server JetStream
// cluster with Replicas 3 and checks every stream, the consumer and both
// buckets are replicated three times.
func TestReplicasReachEveryResource(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-server cluster")
	}
	urls := startCluster(t, 3)
	nc, err := nats.Connect(strings.Join(urls, ","))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	topo := DefaultTopology
	topo.Replicas = 3
	var res *Resources
	// The cluster elects its JetStream leader after the servers are up.
	for {
		actx, acancel := context.WithTimeout(ctx, 2*time.Second)
		res, err = Provision(actx, js, topo)
		acancel()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("provision on the cluster: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, name := range []string{EventsStream, ResultsStream, DLQStream, AuditStream,
		"KV_" + OrdersBucket, "KV_" + UnfinishedBucket} {
		s, err := js.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if r := s.CachedInfo().Config.Replicas; r != 3 {
			t.Errorf("stream %s: %d replicas, want 3", name, r)
		}
	}
	info, err := res.Consumer.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.Replicas != 3 {
		t.Errorf("consumer %s: %d replicas, want 3", WorkerName, info.Config.Replicas)
	}
}

// startCluster runs n clustered nats-servers with JetStream and returns
// their client URLs.
func startCluster(t *testing.T, n int) []string {
	t.Helper()
	routePorts := make([]int, n)
	var routes []string
	for i := range routePorts {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		routePorts[i] = l.Addr().(*net.TCPAddr).Port
		l.Close()
		routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", routePorts[i]))
	}
	var urls []string
	for i := range n {
		opts := &server.Options{
			ServerName: fmt.Sprintf("s%d", i), Host: "127.0.0.1", Port: server.RANDOM_PORT,
			JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true,
			Cluster: server.ClusterOpts{Name: "taxbridge-test", Host: "127.0.0.1", Port: routePorts[i]},
			Routes:  server.RoutesFromStr(strings.Join(routes, ",")),
		}
		s, err := server.NewServer(opts)
		if err != nil {
			t.Fatal(err)
		}
		go s.Start()
		t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
		if !s.ReadyForConnections(10 * time.Second) {
			t.Fatalf("server %d did not start", i)
		}
		urls = append(urls, s.ClientURL())
	}
	return urls
}
