import { resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { bootstrapConfig } from '../envoy/bootstrap.ts';
import type { ListenerOptions } from '../envoy/options.ts';
import { socketDirProblem } from '../envoy/sockets.ts';
import { DEFAULT_MAX_ANSWER_BYTES } from '../executor/transport/hop-client.ts';
import { isValidHost } from '../spec/address.ts';
import { compileCommand } from './compile.ts';
import { devCommand } from './dev.ts';
import { executorCommand } from './executor.ts';
import { importCommand, type ImportFlags } from './import.ts';
import { defaultWorkers } from '../runtime/workers.ts';
import { serveCommand } from './serve.ts';
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

function collectGroup(value: string, groups: Map<string, string>): Map<string, string> {
  const match = /^([^=]+)=(.+)$/.exec(value);
  if (!match?.[1] || !match[2]) throw new InvalidArgumentError('must be group=directory');
  return new Map([...groups, [match[1], match[2]]]);
}

interface DataPlaneFlags {
  listenAddress: string;
  listenPort: number;
  hopPort: number;
  executorAddress: string;
  executorPort: number;
  executorWorkers: number;
  sockets?: string;
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
      "port of Envoy's loopback hop listener, through which the executor calls nodes",
      port,
      10001,
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
    .hook('preAction', (_command, action) => {
      const flags = action.opts<DataPlaneFlags>();
      if (!isValidHost(flags.executorAddress)) {
        action.error(
          `error: --executor-address: "${flags.executorAddress}" is neither an IP address nor a DNS name`,
        );
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

function listenerOptions(flags: DataPlaneFlags): ListenerOptions {
  return {
    address: flags.listenAddress,
    port: flags.listenPort,
    hopPort: flags.hopPort,
    executor: {
      address: flags.executorAddress,
      port: flags.executorPort,
      workers: flags.executorWorkers,
    },
    ...(flags.sockets !== undefined && { sockets: resolve(flags.sockets) }),
  };
}

const program = new Command('switchyard')
  .description('Run ML inference graphs on Envoy.')
  .showHelpAfterError();

withDataPlaneFlags(
  program
    .command('validate')
    .description('check graph files and report every problem; exit 1 if there is any')
    .argument('<files...>', 'graph files or directories'),
).action(async (files: string[], options: DataPlaneFlags) => {
  process.exitCode = await validateCommand(files, listenerOptions(options));
});

withDataPlaneFlags(
  program
    .command('compile')
    .description('print the Envoy resources compiled from graph files, as JSON')
    .argument('<files...>', 'graph files or directories'),
).action(async (files: string[], options: DataPlaneFlags) => {
  process.exitCode = await compileCommand(files, listenerOptions(options));
});

withDataPlaneFlags(
  program
    .command('serve')
    .description('serve the graphs of a directory to Envoy over xDS, following every change')
    .requiredOption('--graphs <dir>', 'directory of graph files every Envoy gets')
    .option(
      '--group <group=dir>',
      'graphs for the Envoys of one node group (their node.cluster) instead; repeatable',
      collectGroup,
      new Map<string, string>(),
    )
    .option('--xds-address <address>', 'address the xDS server listens on', '127.0.0.1')
    .option('--xds-port <port>', 'port the xDS server listens on', port, 18000)
    .option('--status-address <address>', 'address of the status endpoint', '127.0.0.1')
    .option('--status-port <port>', 'port of the status endpoint (GET /status)', port, 18001),
).action(
  async (
    options: DataPlaneFlags & {
      graphs: string;
      xdsAddress: string;
      xdsPort: number;
      statusAddress: string;
      statusPort: number;
      group: Map<string, string>;
    },
  ) => {
    await serveCommand(
      {
        graphsDir: options.graphs,
        groups: options.group,
        xdsHost: options.xdsAddress,
        xdsPort: options.xdsPort,
        listener: listenerOptions(options),
      },
      { host: options.statusAddress, port: options.statusPort },
    );
  },
);

program
  .command('executor')
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
  .action(
    async (
      options: {
        address: string;
        port: number;
        hopUrl: string;
        workers: number;
        maxAnswerBytes: number;
        sockets?: string;
      },
      command: Command,
    ) => {
      const { sockets, ...rest } = options;
      const [flags, problem] =
        sockets === undefined
          ? ['--port/--workers', portsProblem(options.port, options.workers)]
          : ['--sockets', socketDirProblem(sockets, options.workers)];
      if (problem) command.error(`error: ${flags}: ${problem}`);
      await executorCommand({
        ...rest,
        ...(sockets !== undefined && { sockets: resolve(sockets) }),
      });
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
  .action(async (options: { url: string; json: boolean }) => {
    process.exitCode = await statusCommand(options.url, options.json);
  });

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
  .action(
    (options: {
      nodeId: string;
      nodeCluster: string;
      xdsAddress: string;
      xdsPort: number;
      adminPort: number;
      delta: boolean;
    }) => {
      const bootstrap = bootstrapConfig({
        nodeId: options.nodeId,
        nodeCluster: options.nodeCluster,
        xdsAddress: options.xdsAddress,
        xdsPort: options.xdsPort,
        adminPort: options.adminPort,
        delta: options.delta,
      });
      process.stdout.write(`${JSON.stringify(bootstrap, null, 2)}\n`);
    },
  );

program
  .command('dev')
  .description('the demo: control plane, a real Envoy and sample models serving examples/')
  .option('--graphs <dir>', 'directory of graph files', 'examples')
  .action(async (options: { graphs: string }) => {
    await devCommand(options.graphs);
  });

await program.parseAsync();
