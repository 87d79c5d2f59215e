// Command go-xds serves the resources Switchyard compiled (exported as proto3
// JSON by bench/xds-serving.ts) through go-control-plane's ADS server, one
// LinearCache per resource type (or one SnapshotCache), so bench/xds-serving.ts
// can time a changed route table from the cache to Envoy's ACK against
// Switchyard's own server.
//
// stdin: "change <file>" lines, each file one RouteConfiguration in proto3 JSON.
// stdout: "listening <port>", "ack <type>" per ACK, "nack <type> <message>",
// and "changed <ms>" once Envoy ACKed a change: the time from handing the
// parsed table to the cache to receiving the ACK.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/anypb"

	// The messages the compiled resources carry in Anys, registered for protojson.
	_ "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/config/metrics/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/filters/cel/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/body_size_limit/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/buffer/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/filter_chain/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/health_check/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/lua/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/http/early_header_mutation/header_mutation/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/path/match/uri_template/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/path/rewrite/uri_template/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/retry/host/previous_hosts/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
)

const routeType = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"

// resourceTypes are the types Switchyard serves; ECDS is among them even when no listener uses it.
var resourceTypes = []string{
	"type.googleapis.com/envoy.config.cluster.v3.Cluster",
	"type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",
	"type.googleapis.com/envoy.config.listener.v3.Listener",
	"type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig",
	"type.googleapis.com/envoy.config.route.v3.ScopedRouteConfiguration",
	routeType,
}

func parse(raw []byte) (types.Resource, error) {
	var wrapped anypb.Any
	if err := protojson.Unmarshal(raw, &wrapped); err != nil {
		return nil, err
	}
	message, err := wrapped.UnmarshalNew()
	if err != nil {
		return nil, err
	}
	return message, nil
}

// load reads {"<type url>": {"<name>": resource}} as bench/xds-serving.ts writes it.
func load(path string) (map[string]map[string]types.Resource, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var byType map[string]map[string]json.RawMessage
	if err := json.Unmarshal(text, &byType); err != nil {
		return nil, err
	}
	loaded := map[string]map[string]types.Resource{}
	for _, typeURL := range resourceTypes {
		loaded[typeURL] = map[string]types.Resource{}
		for name, raw := range byType[typeURL] {
			resource, err := parse(raw)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", typeURL, name, err)
			}
			loaded[typeURL][name] = resource
		}
	}
	return loaded, nil
}

// served is what a change is handed to: a LinearCache per type, or one SnapshotCache.
type served interface {
	cachev3.Cache
	update(name string, resource types.Resource) error
}

type linear struct {
	cachev3.MuxCache
	routes *cachev3.LinearCache
}

func newLinear(resources map[string]map[string]types.Resource) *linear {
	caches := map[string]cachev3.Cache{}
	var routes *cachev3.LinearCache
	for _, typeURL := range resourceTypes {
		cache := cachev3.NewLinearCache(typeURL, cachev3.WithInitialResources(resources[typeURL]))
		caches[typeURL] = cache
		if typeURL == routeType {
			routes = cache
		}
	}
	return &linear{
		MuxCache: cachev3.MuxCache{
			Classify:      func(r *cachev3.Request) string { return r.GetTypeUrl() },
			ClassifyDelta: func(r *cachev3.DeltaRequest) string { return r.GetTypeUrl() },
			Caches:        caches,
		},
		routes: routes,
	}
}

func (l *linear) update(name string, resource types.Resource) error {
	return l.routes.UpdateResource(name, resource)
}

type snapshot struct {
	cachev3.SnapshotCache
	node      string
	version   int
	resources map[string]map[string]types.Resource
}

func newSnapshot(node string, resources map[string]map[string]types.Resource) (*snapshot, error) {
	s := &snapshot{SnapshotCache: cachev3.NewSnapshotCache(true, cachev3.IDHash{}, nil), node: node, resources: resources}
	return s, s.publish()
}

func (s *snapshot) publish() error {
	s.version++
	byType := map[string][]types.Resource{}
	for typeURL, resources := range s.resources {
		for _, resource := range resources {
			byType[typeURL] = append(byType[typeURL], resource)
		}
	}
	snap, err := cachev3.NewSnapshot(strconv.Itoa(s.version), byType)
	if err != nil {
		return err
	}
	return s.SetSnapshot(context.Background(), s.node, snap)
}

func (s *snapshot) update(name string, resource types.Resource) error {
	s.resources[routeType][name] = resource
	return s.publish()
}

// acks reports ACKs and NACKs, and times the first route ACK after a change.
type acks struct {
	mu      sync.Mutex
	out     *bufio.Writer
	handed  time.Time
	pending bool
}

func (a *acks) answer(typeURL, nonce string, errorMessage *string) {
	if nonce == "" {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if errorMessage != nil {
		fmt.Fprintf(a.out, "nack %s %s\n", typeURL, strings.ReplaceAll(*errorMessage, "\n", " "))
	} else {
		if a.pending && typeURL == routeType {
			a.pending = false
			fmt.Fprintf(a.out, "changed %.3f\n", float64(time.Since(a.handed).Nanoseconds())/1e6)
		}
		fmt.Fprintf(a.out, "ack %s\n", typeURL)
	}
	a.out.Flush()
}

func (a *acks) handing() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.pending = true
	a.handed = time.Now()
}

func main() {
	file := flag.String("resources", "", "resources.json written by bench/xds-serving.ts")
	kind := flag.String("cache", "linear", "linear (a LinearCache per type) or snapshot (one SnapshotCache)")
	node := flag.String("node", "bench", "the Envoy's node id (SnapshotCache only)")
	flag.Parse()
	resources, err := load(*file)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var cache served
	switch *kind {
	case "linear":
		cache = newLinear(resources)
	case "snapshot":
		if cache, err = newSnapshot(*node, resources); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	default:
		fmt.Fprintf(os.Stderr, "unknown cache %q\n", *kind)
		os.Exit(2)
	}
	report := &acks{out: bufio.NewWriter(os.Stdout)}
	callbacks := serverv3.CallbackFuncs{
		StreamRequestFunc: func(_ int64, r *discovery.DiscoveryRequest) error {
			var message *string
			if r.ErrorDetail != nil {
				message = &r.ErrorDetail.Message
			}
			report.answer(r.TypeUrl, r.ResponseNonce, message)
			return nil
		},
		StreamDeltaRequestFunc: func(_ int64, r *discovery.DeltaDiscoveryRequest) error {
			var message *string
			if r.ErrorDetail != nil {
				message = &r.ErrorDetail.Message
			}
			report.answer(r.TypeUrl, r.ResponseNonce, message)
			return nil
		},
	}
	xds := serverv3.NewServer(context.Background(), cache, callbacks)
	grpcServer := grpc.NewServer(grpc.MaxRecvMsgSize(256 << 20))
	discovery.RegisterAggregatedDiscoveryServiceServer(grpcServer, xds)
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	report.mu.Lock()
	fmt.Fprintf(report.out, "listening %d\n", listener.Addr().(*net.TCPAddr).Port)
	report.out.Flush()
	report.mu.Unlock()
	go func() {
		if err := grpcServer.Serve(listener); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}()
	lines := bufio.NewScanner(os.Stdin)
	for lines.Scan() {
		path, ok := strings.CutPrefix(lines.Text(), "change ")
		if !ok {
			continue
		}
		text, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		table, err := parse(text)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		report.handing()
		if err := cache.update(cachev3.GetResourceName(table), table); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	// stdin closed: the bench is done with this server.
	grpcServer.Stop()
}
