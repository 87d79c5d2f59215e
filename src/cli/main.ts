import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { statusGuardProblem } from '../controller/status-access.ts';
import { bootstrapConfig } from '../envoy/bootstrap.ts';
import { xdsSdsFiles } from '../envoy/xds-tls.ts';
import { otlpEndpoint, type ListenerOptions } from '../envoy/options.ts';
import { socketDirProblem } from '../envoy/sockets.ts';
import { DEFAULT_MAX_ANSWER_BYTES } from '../executor/transport/hop-client.ts';
import { isIpAddress, isValidHost } from '../spec/address.ts';
import { parseDuration } from '../spec/duration.ts';
import type { HopsMode } from '../spec/schema.ts';
import { compileCommand } from './compile.ts';
import { devCommand } from './dev.ts';
import { executorCommand } from './executor.ts';
import { graphCommand, pictureFormats, type PictureFormat } from './graph.ts';
import { importCommand, type ImportFlags } from './import.ts';
import { LOG_LEVELS, setLogLevel } from '../runtime/log.ts';
import { defaultWorkers } from '../runtime/workers.ts';
import { caBundle } from '../runtime/tls-material.ts';
import { serveCommand } from './serve.ts';
import { writeSdsFiles } from './sds-files.ts';
import { statusCommand } from './status.ts';
import { validateCommand } from './validate.ts';

function port(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535) {
    throw new InvalidArgumentError('must be a port number (0-65535)');
  }
  return parsed;
}

function count(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new InvalidArgumentError('must be 1 or more');
  return parsed;
}

function durationMs(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0)
    throw new InvalidArgumentError('must be a duration such as 15s or 500ms');
  return ms;
}

const namespaceName = /^(?=.{1,63}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function namespaceList(value: string): string[] {
  const names = value
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  if (names.length === 0 || !names.every((name) => namespaceName.test(name))) {
    throw new InvalidArgumentError('must be namespace names separated by commas');
  }
  return names;
}

function collectGroup(value: string, groups: Map<string, string>): Map<string, string> {
  const match = /^([^=]+)=(.+)$/.exec(value);
  if (!match?.[1] || !match[2]) throw new InvalidArgumentError('must be group=directory');
  return new Map([...groups, [match[1], match[2]]]);
}

interface DataPlaneFlags {
  listenAddress: string;
  listenPort: number;
  hopAddress: string;
  hopPort: number;
  executorAddress: string;
  executorPort: number;
  executorWorkers: number;
  sockets?: string;
  executorCa?: string;
  executorServerName?: string;
  hops: HopsMode;
  otlpEndpoint?: string;
}

const OTLP_HELP =
  "an OpenTelemetry Collector's OTLP/HTTP receiver (http://host:4318) to send traces to; off by default";

function otlpUrl(value: string): string {
  if (!otlpEndpoint(value)) throw new InvalidArgumentError('must be an http:// URL with a host');
  return value;
}

type Given = readonly [flag: string, value: unknown];

/** The first flag given without the one it needs, as a message: e.g. a certificate without its key. */
function unmetNeed(...needs: readonly (readonly [Given, Given])[]): string | undefined {
  const unmet = needs.find(([flag, partner]) => flag[1] !== undefined && partner[1] === undefined);
  return unmet && `${unmet[0][0]} needs ${unmet[1][0]}`;
}

const SOCKETS_HELP =
  'a directory Envoy and the executor share (one host or pod): they meet on Unix sockets in it instead of loopback ports, which costs each hop less';

/** Where a run of `workers` consecutive ports from `first` would pass the last port, why. */
function portsProblem(first: number, workers: number): string | undefined {
  if (workers > 1 && first === 0) return 'several workers need a fixed first port, not 0';
  const last = first + workers - 1;
  return last > 65535 ? `ports ${String(first)}-${String(last)} pass 65535` : undefined;
}

/** The flags that say where Envoy serves graphs and where it finds the executor. */
function withDataPlaneFlags(command: Command): Command {
  return command
    .option(
      '--listen-address <address>',
      'address of the Envoy listener serving the graphs',
      '127.0.0.1',
    )
    .option('--listen-port <port>', 'port of the Envoy listener serving the graphs', port, 10000)
    .option(
      '--hop-port <port>',
      "port of Envoy's hop listener, through which the executor calls nodes",
      port,
      10001,
    )
    .option(
      '--hop-address <address>',
      "address of Envoy's hop listener: loopback, unless the executor runs on other hosts or pods",
      '127.0.0.1',
    )
    .option('--executor-address <address>', 'address of the executor', '127.0.0.1')
    .option('--executor-port <port>', "port of the executor's first worker", port, 18081)
    .option(
      '--executor-workers <n>',
      'executor worker processes, on consecutive ports from --executor-port (default: as many as the executor starts here)',
      count,
      defaultWorkers(),
    )
    .option('--sockets <dir>', SOCKETS_HELP)
    .addOption(
      new Option(
        '--hops <mode>',
        "how the executor calls the nodes of graphs that do not set spec.hops: through Envoy's hop listener, or directly (see the README for what direct gives up)",
      )
        .choices(['envoy', 'direct'])
        .default('envoy'),
    )
    .option(
      '--executor-ca <file>',
      "Envoy reaches the executor over TLS, trusting this CA bundle (PEM) for the executor's certificate; sent to Envoy again when the file changes",
    )
    .option(
      '--executor-server-name <name>',
      "the DNS name or IP address the executor's certificate must carry (default: --executor-address)",
    )
    .option('--otlp-endpoint <url>', `${OTLP_HELP}: Envoy traces every request`, otlpUrl)
    .hook('preAction', (_command, action) => {
      const flags = action.opts<DataPlaneFlags>();
      if (flags.executorServerName !== undefined && flags.executorCa === undefined) {
        action.error('error: --executor-server-name needs --executor-ca');
      }
      if (flags.executorCa !== undefined && flags.sockets !== undefined) {
        action.error(
          'error: --executor-ca: Unix sockets (--sockets) stay inside one host or pod; TLS is for an executor reached over TCP',
        );
      }
      if (!isValidHost(flags.executorAddress)) {
        action.error(
          `error: --executor-address: "${flags.executorAddress}" is neither an IP address nor a DNS name`,
        );
      }
      if (!isIpAddress(flags.hopAddress)) {
        action.error(`error: --hop-address: "${flags.hopAddress}" is not an IP address`);
      }
      const problem = portsProblem(flags.executorPort, flags.executorWorkers);
      if (problem) action.error(`error: --executor-port/--executor-workers: ${problem}`);
      const socketProblem =
        flags.sockets === undefined
          ? undefined
          : socketDirProblem(flags.sockets, flags.executorWorkers);
      if (socketProblem) action.error(`error: --sockets: ${socketProblem}`);
    });
}

function executorServerName(flags: DataPlaneFlags): string {
  return flags.executorServerName ?? flags.executorAddress;
}

/** The CA bundle of --executor-ca, read once (validate and compile); `serve` watches it instead. */
function executorCaOf(flags: DataPlaneFlags, command: Command): string | undefined {
  if (flags.executorCa === undefined) return undefined;
  try {
    return caBundle(readFileSync(flags.executorCa)).toString('utf8');
  } catch (error) {
    return command.error(`error: --executor-ca ${flags.executorCa}: ${(error as Error).message}`);
  }
}

function listenerOptions(flags: DataPlaneFlags, executorCa?: string): ListenerOptions {
  const otlp = flags.otlpEndpoint === undefined ? undefined : otlpEndpoint(flags.otlpEndpoint);
  return {
    address: flags.listenAddress,
    port: flags.listenPort,
    hopPort: flags.hopPort,
    hopAddress: flags.hopAddress,
    executor: {
      address: flags.executorAddress,
      port: flags.executorPort,
      workers: flags.executorWorkers,
      ...(executorCa !== undefined && {
        tls: { ca: executorCa, serverName: executorServerName(flags) },
      }),
    },
    ...(flags.sockets !== undefined && { sockets: resolve(flags.sockets) }),
    hops: flags.hops,
    ...(otlp && { otlp }),
  };
}

const KUBERNETES_FILES_HELP =
  'as the Kubernetes controller reads them: nodes may be served by Services (endpoint.service)';

function logLevel(value: string): string {
  if (!(LOG_LEVELS as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`must be one of ${LOG_LEVELS.join(', ')}`);
  }
  return value;
}

/** `--log-level` for the commands that run servers; their lines are JSON on stderr. */
function withLogLevel(command: Command): Command {
  return command
    .option('--log-level <level>', LOG_LEVELS.join(', '), logLevel, 'info')
    .hook('preAction', (_command, action) => {
      const level = LOG_LEVELS.find((l) => l === action.opts<{ logLevel: string }>().logLevel);
      if (level) setLogLevel(level);
    });
}

const program = new Command('switchyard')
  .description('Run ML inference graphs on Envoy.')
  .showHelpAfterError();

withDataPlaneFlags(
  program
    .command('validate')
    .description('check graph files and report every problem; exit 1 if there is any')
    .argument('<files...>', 'graph files or directories')
    .option('--kubernetes', KUBERNETES_FILES_HELP, false),
).action(
  async (files: string[], options: DataPlaneFlags & { kubernetes: boolean }, command: Command) => {
    process.exitCode = await validateCommand(
      files,
      listenerOptions(options, executorCaOf(options, command)),
      {
        services: options.kubernetes,
      },
    );
  },
);

withDataPlaneFlags(
  program
    .command('compile')
    .description('print the Envoy resources compiled from graph files, as JSON')
    .argument('<files...>', 'graph files or directories')
    .option('--kubernetes', KUBERNETES_FILES_HELP, false),
).action(
  async (files: string[], options: DataPlaneFlags & { kubernetes: boolean }, command: Command) => {
    process.exitCode = await compileCommand(
      files,
      listenerOptions(options, executorCaOf(options, command)),
      {
        services: options.kubernetes,
      },
    );
  },
);

interface ServeFlags extends DataPlaneFlags {
  graphs?: string;
  group: Map<string, string>;
  xdsAddress: string;
  xdsPort: number;
  xdsTlsCert?: string;
  xdsTlsKey?: string;
  xdsClientCa?: string;
  statusAddress: string;
  statusPort: number;
  statusTokenFile?: string;
  statusTlsCert?: string;
  statusTlsKey?: string;
  statusClientCa?: string;
  insecureStatus: boolean;
  kubernetes: boolean;
  kubeconfig?: string;
  namespaces?: string[];
  leaderElectionNamespace?: string;
  leaderElectionId: string;
  leaseDuration: number;
  renewDeadline: number;
  retryPeriod: number;
}

withDataPlaneFlags(
  withLogLevel(program.command('serve'))
    .description(
      'serve graphs (a directory of files, InferenceGraph resources, or both) to Envoy over xDS, following every change',
    )
    .option('--graphs <dir>', 'directory of graph files every Envoy gets')
    .option(
      '--group <group=dir>',
      'graphs for the Envoys of one node group (their node.cluster) instead; repeatable',
      collectGroup,
      new Map<string, string>(),
    )
    .option('--xds-address <address>', 'address the xDS server listens on', '127.0.0.1')
    .option('--xds-port <port>', 'port the xDS server listens on', port, 18000)
    .option('--xds-tls-cert <file>', "the xDS server's TLS certificate (PEM), reloaded on change")
    .option('--xds-tls-key <file>', 'its private key (PEM), reloaded on change')
    .option(
      '--xds-client-ca <file>',
      'mutual TLS: Envoys need a client certificate from this CA bundle, and its URI SAN spiffe://<trust domain>/switchyard/group/<group> is their group (node.cluster is then ignored)',
    )
    .option('--status-address <address>', 'address of the status endpoints', '127.0.0.1')
    .option(
      '--status-port <port>',
      'port of the status endpoints (GET /status; /healthz and /readyz, open to probes)',
      port,
      18001,
    )
    .option(
      '--status-token-file <file>',
      'GET /status needs this bearer token (the file holds it; reloaded on change)',
    )
    .option('--status-tls-cert <file>', 'serve status over HTTPS with this certificate (PEM)')
    .option('--status-tls-key <file>', 'its private key (PEM)')
    .option(
      '--status-client-ca <file>',
      'GET /status needs a client certificate from this CA bundle (with --status-tls-cert/-key)',
    )
    .option(
      '--insecure-status',
      'serve status beyond loopback without a token or client certificates',
      false,
    )
    .option(
      '--kubernetes',
      'serve the InferenceGraph resources of a Kubernetes cluster, write their status, and let nodes be served by Services',
      false,
    )
    .option(
      '--kubeconfig <path>',
      "the cluster's kubeconfig (default: the pod's ServiceAccount in a cluster, else $KUBECONFIG or ~/.kube/config)",
    )
    .option(
      '--namespaces <a,b>',
      'the namespaces whose InferenceGraphs, Services and ReferenceGrants are followed (default: all)',
      namespaceList,
    )
    .option(
      '--leader-election-namespace <namespace>',
      "namespace of the Lease that elects the replica writing status (default: the pod's, else default)",
    )
    .option('--leader-election-id <name>', "the Lease's name", 'switchyard-controller')
    .addOption(
      new Option(
        '--lease-duration <duration>',
        "how long a leader's Lease holds without renewal, in whole seconds",
      )
        .argParser(durationMs)
        .default(15_000, '15s'),
    )
    .addOption(
      new Option(
        '--renew-deadline <duration>',
        'how long the leader tries to renew before it stops leading',
      )
        .argParser(durationMs)
        .default(10_000, '10s'),
    )
    .addOption(
      new Option(
        '--retry-period <duration>',
        'how often replicas try to acquire, and the leader to renew',
      )
        .argParser(durationMs)
        .default(2_000, '2s'),
    )
    .hook('preAction', (_command, action) => {
      const flags = action.opts<ServeFlags>();
      if (flags.graphs === undefined && !flags.kubernetes) {
        action.error('error: serve needs --graphs DIR, --kubernetes, or both');
      }
      if (!flags.kubernetes) return;
      if (flags.leaseDuration % 1000 !== 0) {
        action.error('error: --lease-duration: a Lease counts whole seconds');
      }
      if (!(flags.retryPeriod < flags.renewDeadline && flags.renewDeadline < flags.leaseDuration)) {
        action.error(
          'error: leader election needs --retry-period < --renew-deadline < --lease-duration',
        );
      }
    }),
).action(async (options: ServeFlags, command: Command) => {
  const cert: Given = ['--xds-tls-cert', options.xdsTlsCert];
  const key: Given = ['--xds-tls-key', options.xdsTlsKey];
  const statusCert: Given = ['--status-tls-cert', options.statusTlsCert];
  const statusKey: Given = ['--status-tls-key', options.statusTlsKey];
  const unpaired = unmetNeed(
    [cert, key],
    [key, cert],
    [['--xds-client-ca', options.xdsClientCa], cert],
    [statusCert, statusKey],
    [statusKey, statusCert],
    [['--status-client-ca', options.statusClientCa], statusCert],
  );
  if (unpaired) command.error(`error: ${unpaired}`);
  const exposure = statusGuardProblem({
    host: options.statusAddress,
    ...(options.statusTokenFile !== undefined && { tokenFile: options.statusTokenFile }),
    ...(options.statusClientCa !== undefined && { clientCa: options.statusClientCa }),
    insecure: options.insecureStatus,
  });
  if (exposure) command.error(`error: --status-address: ${exposure}`);
  const tlsFiles = (cert?: string, key?: string, clientCa?: string) =>
    cert !== undefined && key !== undefined
      ? { cert, key, ...(clientCa !== undefined && { clientCa }) }
      : undefined;
  const xdsTls = tlsFiles(options.xdsTlsCert, options.xdsTlsKey, options.xdsClientCa);
  const statusTls = tlsFiles(options.statusTlsCert, options.statusTlsKey, options.statusClientCa);
  try {
    // Loaded only here: the Kubernetes client costs every other command (and executor worker)
    // seconds of start-up on a busy machine.
    const kube = options.kubernetes ? await import('../controller/kube-config.ts') : undefined;
    await serveCommand(
      {
        ...(options.graphs !== undefined && { graphsDir: options.graphs }),
        groups: options.group,
        xdsHost: options.xdsAddress,
        xdsPort: options.xdsPort,
        ...(xdsTls && { xdsTls }),
        listener: listenerOptions(options),
        ...(options.executorCa !== undefined && {
          executorTls: { caFile: options.executorCa, serverName: executorServerName(options) },
        }),
        ...(kube && {
          kubernetes: {
            kubeConfig: kube.loadKubeConfig(options.kubeconfig),
            ...(options.namespaces !== undefined && { namespaces: options.namespaces }),
            leaderElection: {
              namespace: options.leaderElectionNamespace ?? kube.podNamespace(),
              name: options.leaderElectionId,
              identity: kube.replicaIdentity(),
              leaseDurationMs: options.leaseDuration,
              renewDeadlineMs: options.renewDeadline,
              retryPeriodMs: options.retryPeriod,
            },
          },
        }),
      },
      { host: options.statusAddress, port: options.statusPort },
      {
        ...(options.statusTokenFile !== undefined && { tokenFile: options.statusTokenFile }),
        ...(statusTls && { tls: statusTls }),
      },
    );
  } catch (error) {
    // Unreadable or unusable certificate, key, CA or token files, or kubeconfig: say which, and why.
    command.error(`error: ${(error as Error).message}`);
  }
});

withDataPlaneFlags(
  program
    .command('graph')
    .description('draw graph files (after the checks of validate) as SVG, Graphviz DOT or Mermaid')
    .argument('<files...>', 'graph files or directories')
    .addOption(
      new Option('--format <format>', 'what to draw').choices(pictureFormats).default('svg'),
    )
    .option('--out <file>', 'write the picture here (default: stdout)'),
).action(
  async (
    files: string[],
    options: DataPlaneFlags & { format: PictureFormat; out?: string },
    command: Command,
  ) => {
    process.exitCode = await graphCommand(
      files,
      { format: options.format, ...(options.out !== undefined && { out: options.out }) },
      listenerOptions(options, executorCaOf(options, command)),
    );
  },
);

withLogLevel(program.command('executor'))
  .description('run the executor: the service that runs the graph steps Envoy cannot')
  .option('--address <address>', 'address the executor listens on', '127.0.0.1')
  .option(
    '--port <port>',
    'port of the first worker; each next one takes the next port',
    port,
    18081,
  )
  .option('--hop-url <url>', "Envoy's hop listener", 'http://127.0.0.1:10001')
  .option('--sockets <dir>', `${SOCKETS_HELP} (--port and --hop-url are then not used)`)
  .option(
    '--workers <n>',
    'worker processes, each on its own port or socket (default: one per core, or per CPU of a container limit)',
    count,
    defaultWorkers(),
  )
  .option(
    '--max-answer-bytes <n>',
    "the most of one node's answer a worker holds; a larger answer fails its step (502)",
    count,
    DEFAULT_MAX_ANSWER_BYTES,
  )
  .option(
    '--tls-cert <file>',
    'serve Envoy over TLS with this certificate (PEM), reloaded on change; plaintext is then refused',
  )
  .option('--tls-key <file>', 'its private key (PEM), reloaded on change')
  .option(
    '--xds-address <address>',
    "the control plane's xDS server, which delivers the plans too large for a route header (without it, routes that name one are answered 503)",
  )
  .option('--xds-port <port>', 'port of the xDS server', port, 18000)
  .option(
    '--node-cluster <group>',
    'the node group whose plans to run: the group of the Envoys this executor serves',
    'switchyard',
  )
  .option(
    '--xds-tls-ca <file>',
    'TLS to the control plane: trust this CA bundle for its certificate',
  )
  .option(
    '--xds-tls-cert <file>',
    "mutual TLS: the executor's client certificate, whose URI SAN spiffe://<trust domain>/switchyard/group/<group> names its group",
  )
  .option('--xds-tls-key <file>', 'its private key')
  .option(
    '--xds-server-name <name>',
    "the DNS name or IP address the control plane's certificate must carry (default: --xds-address)",
  )
  .option(
    '--metrics-port <port>',
    "serve GET /metrics (Prometheus) on this port, every worker's metrics summed; off by default",
    port,
  )
  .option('--metrics-address <address>', 'address of the metrics endpoint', '127.0.0.1')
  .option(
    '--otlp-endpoint <url>',
    `${OTLP_HELP}: a span per graph request and per node call`,
    otlpUrl,
  )
  .action(
    async (
      options: {
        address: string;
        port: number;
        hopUrl: string;
        workers: number;
        maxAnswerBytes: number;
        sockets?: string;
        tlsCert?: string;
        tlsKey?: string;
        xdsAddress?: string;
        xdsPort: number;
        nodeCluster: string;
        xdsTlsCa?: string;
        xdsTlsCert?: string;
        xdsTlsKey?: string;
        xdsServerName?: string;
        metricsPort?: number;
        metricsAddress: string;
        otlpEndpoint?: string;
      },
      command: Command,
    ) => {
      const {
        sockets,
        tlsCert,
        tlsKey,
        xdsAddress,
        xdsPort,
        nodeCluster,
        xdsTlsCa,
        xdsTlsCert,
        xdsTlsKey,
        xdsServerName,
        metricsPort,
        metricsAddress,
        ...rest
      } = options;
      const xdsCa: Given = ['--xds-tls-ca', xdsTlsCa];
      const xdsCert: Given = ['--xds-tls-cert', xdsTlsCert];
      const xdsKey: Given = ['--xds-tls-key', xdsTlsKey];
      const unmetXds = unmetNeed(
        [xdsCa, ['--xds-address', xdsAddress]],
        [xdsCert, xdsKey],
        [xdsKey, xdsCert],
        [xdsCert, xdsCa],
        [['--xds-server-name', xdsServerName], xdsCa],
      );
      if (unmetXds) command.error(`error: ${unmetXds}`);
      const controlPlane =
        xdsAddress === undefined
          ? undefined
          : {
              address: xdsAddress,
              port: xdsPort,
              group: nodeCluster,
              ...(xdsTlsCa !== undefined && {
                tls: {
                  ca: resolve(xdsTlsCa),
                  ...(xdsTlsCert !== undefined &&
                    xdsTlsKey !== undefined && {
                      cert: resolve(xdsTlsCert),
                      key: resolve(xdsTlsKey),
                    }),
                  serverName: xdsServerName ?? xdsAddress,
                },
              }),
            };
      const [flags, problem] =
        sockets === undefined
          ? ['--port/--workers', portsProblem(options.port, options.workers)]
          : ['--sockets', socketDirProblem(sockets, options.workers)];
      if (problem) command.error(`error: ${flags}: ${problem}`);
      const cert: Given = ['--tls-cert', tlsCert];
      const key: Given = ['--tls-key', tlsKey];
      const unpaired = unmetNeed([cert, key], [key, cert]);
      if (unpaired) command.error(`error: ${unpaired}`);
      if (tlsCert !== undefined && sockets !== undefined) {
        command.error(
          'error: --tls-cert: Unix sockets (--sockets) stay inside one host or pod; TLS is for Envoy reaching the executor over TCP',
        );
      }
      const tls =
        tlsCert !== undefined && tlsKey !== undefined ? { cert: tlsCert, key: tlsKey } : undefined;
      try {
        await executorCommand({
          ...rest,
          ...(sockets !== undefined && { sockets: resolve(sockets) }),
          ...(tls && { tls }),
          ...(controlPlane && { controlPlane }),
          ...(metricsPort !== undefined && {
            metrics: { host: metricsAddress, port: metricsPort },
          }),
        });
      } catch (error) {
        command.error(`error: ${(error as Error).message}`);
      }
    },
  );

program
  .command('import')
  .description(
    'write Switchyard graphs for KServe InferenceGraphs and Seldon SeldonDeployments; print what is not carried over',
  )
  .argument(
    '<files...>',
    'manifest files or directories (InferenceServices among them are read too)',
  )
  .option('--out <dir>', 'write one graph file per graph here (default: stdout)')
  .option(
    '--addresses <file>',
    'YAML: service name → "host:port" or { address, protocol, model }, where each service listens',
  )
  .option('--namespace <ns>', "the graphs' namespace (default: each object's, else default)")
  .option('--kubernetes', 'address services as the Kubernetes source will', false)
  .action(async (files: string[], options: ImportFlags) => {
    process.exitCode = await importCommand(files, options);
  });

program
  .command('status')
  .description('show every connected Envoy (versions sent and ACKed, last NACK) and every graph')
  .option('--url <url>', 'the control plane status endpoint', 'http://127.0.0.1:18001')
  .option('--json', 'print the raw JSON', false)
  .option('--token-file <file>', 'send the bearer token this file holds')
  .option('--ca <file>', "trust this CA bundle for an https:// endpoint's certificate")
  .option('--cert <file>', 'present this client certificate (PEM) to an https:// endpoint')
  .option('--key <file>', 'its private key (PEM)')
  .action(
    async (
      options: {
        url: string;
        json: boolean;
        tokenFile?: string;
        ca?: string;
        cert?: string;
        key?: string;
      },
      command: Command,
    ) => {
      const cert: Given = ['--cert', options.cert];
      const key: Given = ['--key', options.key];
      const unpaired = unmetNeed([cert, key], [key, cert]);
      if (unpaired) command.error(`error: ${unpaired}`);
      process.exitCode = await statusCommand(options);
    },
  );

program
  .command('bootstrap')
  .description('print an Envoy bootstrap that points Envoy at the control plane')
  .option('--node-id <id>', 'Envoy node id', 'switchyard-envoy')
  .option(
    '--node-cluster <cluster>',
    'Envoy node cluster: the group whose config it gets',
    'switchyard',
  )
  .option('--xds-address <address>', 'address of the xDS server', '127.0.0.1')
  .option('--xds-port <port>', 'port of the xDS server', port, 18000)
  .option('--admin-port <port>', "port of Envoy's admin interface (loopback)", port, 9901)
  .option('--delta', 'use incremental (delta) xDS', false)
  .option(
    '--xds-tls-ca <file>',
    'TLS to the control plane: trust this CA bundle for its certificate (Envoy reads the file, again when it is replaced)',
  )
  .option(
    '--xds-tls-cert <file>',
    "mutual TLS: Envoy's client certificate, whose URI SAN spiffe://<trust domain>/switchyard/group/<group> names its group",
  )
  .option('--xds-tls-key <file>', 'its private key')
  .option(
    '--xds-server-name <name>',
    "the DNS name or IP address the control plane's certificate must carry (default: --xds-address)",
  )
  .option(
    '--sds-dir <dir>',
    'where to write the SDS files that point Envoy at the TLS files (Envoy reads them at this path)',
  )
  .option(
    '--ready-port <port>',
    "serve GET /ready (the admin interface's readiness, and nothing else of it) on this port, for probes from outside",
    port,
  )
  .option('--ready-address <address>', 'address of the --ready-port listener', '0.0.0.0')
  .option('--output <file>', 'write the bootstrap to this file instead of standard output')
  .option(
    '--stat-sink',
    "push Envoy's stats to the control plane (the status page's live rates), over the xDS connection's cluster",
    false,
  )
  .option('--stats-flush <seconds>', 'how often Envoy pushes them', count, 5)
  .action(
    async (
      options: {
        nodeId: string;
        nodeCluster: string;
        xdsAddress: string;
        xdsPort: number;
        adminPort: number;
        delta: boolean;
        xdsTlsCa?: string;
        xdsTlsCert?: string;
        xdsTlsKey?: string;
        xdsServerName?: string;
        sdsDir?: string;
        readyPort?: number;
        readyAddress: string;
        output?: string;
        statSink: boolean;
        statsFlush: number;
      },
      command: Command,
    ) => {
      if (!isIpAddress(options.readyAddress))
        command.error(`error: --ready-address: "${options.readyAddress}" is not an IP address`);
      const ca: Given = ['--xds-tls-ca', options.xdsTlsCa];
      const cert: Given = ['--xds-tls-cert', options.xdsTlsCert];
      const key: Given = ['--xds-tls-key', options.xdsTlsKey];
      const sds: Given = ['--sds-dir', options.sdsDir];
      const unpaired = unmetNeed(
        [cert, key],
        [key, cert],
        [cert, ca],
        [['--xds-server-name', options.xdsServerName], ca],
        [ca, sds],
        [sds, ca],
      );
      if (unpaired) command.error(`error: ${unpaired}`);
      const { xdsTlsCa, xdsTlsCert, xdsTlsKey, sdsDir } = options;
      const xdsTls =
        xdsTlsCa !== undefined && sdsDir !== undefined
          ? {
              ca: resolve(xdsTlsCa),
              ...(xdsTlsCert !== undefined &&
                xdsTlsKey !== undefined && {
                  client: { cert: resolve(xdsTlsCert), key: resolve(xdsTlsKey) },
                }),
              serverName: options.xdsServerName ?? options.xdsAddress,
              sdsDir: resolve(sdsDir),
            }
          : undefined;
      const bootstrap = bootstrapConfig({
        nodeId: options.nodeId,
        nodeCluster: options.nodeCluster,
        xdsAddress: options.xdsAddress,
        xdsPort: options.xdsPort,
        adminPort: options.adminPort,
        delta: options.delta,
        ...(xdsTls && { xdsTls }),
        ...(options.readyPort !== undefined && {
          ready: { address: options.readyAddress, port: options.readyPort },
        }),
        ...(options.statSink && { statSink: { flushIntervalMs: options.statsFlush * 1000 } }),
      });
      if (xdsTls) await writeSdsFiles(xdsSdsFiles(xdsTls));
      const text = `${JSON.stringify(bootstrap, null, 2)}\n`;
      if (options.output === undefined) process.stdout.write(text);
      else await writeFile(options.output, text);
    },
  );

withLogLevel(program.command('dev'))
  .description('the demo: control plane, a real Envoy and sample models serving examples/')
  .option('--graphs <dir>', 'directory of graph files', 'examples')
  .action(async (options: { graphs: string }) => {
    await devCommand(options.graphs);
  });

await program.parseAsync();
