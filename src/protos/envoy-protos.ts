import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import protobuf from 'protobufjs';

const require = createRequire(import.meta.url);

/**
 * Envoy's API protos are not vendored: they ship inside @grpc/grpc-js-xds
 * together with the xds, googleapis and protoc-gen-validate protos they import.
 */
function includeDirs(): string[] {
  const xdsPackage = dirname(require.resolve('@grpc/grpc-js-xds/package.json'));
  const protobufjsPackage = dirname(require.resolve('protobufjs/package.json'));
  return [
    join(xdsPackage, 'deps', 'envoy-api'),
    join(xdsPackage, 'deps', 'xds'),
    join(xdsPackage, 'deps', 'googleapis'),
    join(xdsPackage, 'deps', 'protoc-gen-validate'),
    protobufjsPackage,
  ];
}

/** Every type Switchyard emits, directly or inside an Any, must be reachable from these. */
const entryFiles = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/service/ext_proc/v3/external_processor.proto',
  'envoy/config/bootstrap/v3/bootstrap.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/filters/http/ext_proc/v3/ext_proc.proto',
  'envoy/config/trace/v3/opentelemetry.proto',
  'envoy/extensions/filters/http/buffer/v3/buffer.proto',
  'envoy/extensions/filters/http/json_to_metadata/v3/json_to_metadata.proto',
  'envoy/extensions/filters/http/health_check/v3/health_check.proto',
  'envoy/extensions/filters/http/lua/v3/lua.proto',
  'envoy/extensions/path/match/uri_template/v3/uri_template_match.proto',
  'envoy/extensions/path/rewrite/uri_template/v3/uri_template_rewrite.proto',
  'envoy/extensions/access_loggers/filters/cel/v3/cel.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/extensions/retry/host/previous_hosts/v3/previous_hosts.proto',
  'envoy/extensions/access_loggers/stream/v3/stream.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/config/common/mutation_rules/v3/mutation_rules.proto',
  'envoy/config/metrics/v3/metrics_service.proto',
  'envoy/service/metrics/v3/metrics_service.proto',
];

/**
 * Envoy's metrics service sends Prometheus' client model, which the bundle
 * imports but does not ship. These are the parts the stat sink reads (names,
 * labels, counter values), at the field numbers of prometheus/client_model's
 * metrics.proto; a decoder skips the fields left out.
 */
const PROMETHEUS_CLIENT_MODEL = 'io/prometheus/client/metrics.proto';
const prometheusClientModel = `syntax = "proto2";
package io.prometheus.client;
message LabelPair { optional string name = 1; optional string value = 2; }
enum MetricType { COUNTER = 0; GAUGE = 1; SUMMARY = 2; UNTYPED = 3; HISTOGRAM = 4; GAUGE_HISTOGRAM = 5; }
message Gauge { optional double value = 1; }
message Counter { optional double value = 1; }
message Metric {
  repeated LabelPair label = 1;
  optional Gauge gauge = 2;
  optional Counter counter = 3;
  optional int64 timestamp_ms = 6;
}
message MetricFamily {
  optional string name = 1;
  optional string help = 2;
  optional MetricType type = 3;
  repeated Metric metric = 4;
}`;

/**
 * Fields and types that the Envoy we run (1.40) understands but the API
 * protos bundled with @grpc/grpc-js-xds predate. Each is covered by an end-to-end test
 * against the real Envoy, which is what proves the field number right.
 */
function addFieldsNewerThanBundledProtos(root: protobuf.Root): void {
  // WeightedCluster.use_hash_policy (random_value_specifier oneof): weighted
  // choice driven by the route's hash policy, i.e. sticky splits.
  root
    .lookupType('envoy.config.route.v3.WeightedCluster')
    .add(new protobuf.Field('use_hash_policy', 5, 'google.protobuf.BoolValue'));
  // The early header mutation extension (scoped routing keys on the path
  // through it) is missing from the bundle altogether; this is its definition.
  protobuf.parse(
    `syntax = "proto3";
    package envoy.extensions.http.early_header_mutation.header_mutation.v3;
    message HeaderMutation {
      repeated envoy.config.common.mutation_rules.v3.HeaderMutation mutations = 1
        [(validate.rules).repeated = {min_items: 1}];
    }`,
    root,
    { keepCase: true },
  );
  // The body size limit filter (streamed bodies counted, 413 past the limit) and the filter
  // chain filter (a chain of filters per route, which carries each graph's own limit and
  // readiness check) came after the bundle; these are their definitions.
  protobuf.parse(
    `syntax = "proto3";
    package envoy.extensions.filters.http.body_size_limit.v3;
    message BodySizeLimit {
      google.protobuf.UInt32Value max_request_bytes = 1 [(validate.rules).uint32 = {gt: 0}];
    }`,
    root,
    { keepCase: true },
  );
  protobuf.parse(
    `syntax = "proto3";
    package envoy.extensions.filters.http.filter_chain.v3;
    message FilterChain {
      repeated envoy.config.core.v3.TypedExtensionConfig filters = 1
        [(validate.rules).repeated = {min_items: 1}];
    }
    message FilterChainConfig {
      FilterChain filter_chain = 1;
      map<string, FilterChain> filter_chains = 2;
    }
    message FilterChainConfigPerRoute {
      FilterChain filter_chain = 1;
      string filter_chain_name = 2;
    }`,
    root,
    { keepCase: true },
  );
  root.resolveAll();
}

/**
 * Not Envoy's: the resource the control plane serves executors their plans
 * in (decision 56), the plan's JSON named by its hash, on the same xDS
 * server and encoded the same way as Envoy's resources.
 */
function addSwitchyardTypes(root: protobuf.Root): void {
  protobuf.parse(
    `syntax = "proto3";
    package switchyard.v1;
    message ExecutionPlan {
      string name = 1;
      string plan = 2;
    }`,
    root,
    { keepCase: true },
  );
  root.resolveAll();
}

/**
 * Envoy's protos parsed from the .proto files (about a second of work), with
 * field names kept in snake_case so our JSON reads like Envoy's docs and
 * config_dump.
 */
export function parseEnvoyProtos(): protobuf.Root {
  const dirs = includeDirs();
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    for (const dir of dirs) {
      const candidate = join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    return target;
  };
  protobuf.parse(prometheusClientModel, root, { keepCase: true });
  // Marked loaded, so the import of it in metrics_service.proto is not looked for on disk.
  root.files.push(PROMETHEUS_CLIENT_MODEL);
  root.loadSync(entryFiles, { keepCase: true, alternateCommentMode: false });
  root.resolveAll();
  addFieldsNewerThanBundledProtos(root);
  addSwitchyardTypes(root);
  return root;
}

/**
 * The parsed protos as JSON: protobufjs's descriptor of every type, and the
 * options it parsed into objects (the PGV rules are read from those), which
 * its descriptor leaves out. Keyed by each reflection object's full name.
 */
export interface EnvoyDescriptor {
  readonly root: protobuf.INamespace;
  readonly parsedOptions: Readonly<Record<string, readonly Record<string, unknown>[]>>;
}

function* reflectionObjects(
  namespace: protobuf.NamespaceBase,
): Generator<protobuf.ReflectionObject> {
  for (const nested of namespace.nestedArray) {
    yield nested;
    if (nested instanceof protobuf.Type) {
      yield* nested.fieldsArray;
      yield* nested.oneofsArray;
    }
    if (nested instanceof protobuf.Service) yield* nested.methodsArray;
    if (nested instanceof protobuf.Namespace) yield* reflectionObjects(nested);
  }
}

export function envoyDescriptor(root: protobuf.Root): EnvoyDescriptor {
  const parsedOptions: Record<string, Record<string, unknown>[]> = {};
  for (const object of reflectionObjects(root)) {
    if (object.parsedOptions) parsedOptions[object.fullName] = object.parsedOptions;
  }
  return { root: root.toJSON(), parsedOptions };
}

export function rootFromDescriptor(descriptor: EnvoyDescriptor): protobuf.Root {
  const root = protobuf.Root.fromJSON(descriptor.root);
  root.resolveAll();
  for (const object of reflectionObjects(root)) {
    const parsed = descriptor.parsedOptions[object.fullName];
    if (parsed) object.parsedOptions = [...parsed];
  }
  return root;
}

/**
 * Where the production build writes the descriptor: beside this module in
 * dist/. Reading it instead of the .proto files is most of a compiled
 * Switchyard's start; run from the sources, there is none, and the protos
 * are parsed (a test holds the two to the same types and encodings).
 */
export const ENVOY_DESCRIPTOR_PATH = join(import.meta.dirname, 'envoy-protos.json');

let cached: protobuf.Root | undefined;

/** Envoy's protos, loaded once per process. */
export function envoyProtos(): protobuf.Root {
  cached ??= existsSync(ENVOY_DESCRIPTOR_PATH)
    ? rootFromDescriptor(JSON.parse(readFileSync(ENVOY_DESCRIPTOR_PATH, 'utf8')) as EnvoyDescriptor)
    : parseEnvoyProtos();
  return cached;
}
