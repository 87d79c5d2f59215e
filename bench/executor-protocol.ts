import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startEnvoyProcess, type RunningEnvoy } from '../src/runtime/envoy-process.ts';
import { freePort } from '../test/support/ports.ts';
import { countArgument } from './count-argument.ts';
import { median } from './data-plane/closed-loop.ts';
import {
  startNodeProcess,
  stopNodeProcesses,
  type NodeProcess,
} from './data-plane/node-process.ts';
import { plainEnvoyBootstrap } from './data-plane/plain-envoy.ts';
import { treeCpuSeconds } from './data-plane/process-cpu.ts';
import { attack, vegetaPath } from './data-plane/vegeta.ts';
import { writeResults } from './results-file.ts';

/**
 * What the protocol between Envoy and the executor costs the executor's
 * side: a Node server that only reads the body and answers (the least an
 * executor does), behind a static Envoy, on HTTP/1.1 and on HTTP/2 (h2c, as
 * Envoy reaches the executor today). Closed loop through Envoy, alternating
 * rounds; CPU per request of the server and of Envoy from /proc.
 *   npx tsx bench/executor-protocol.ts [--rounds 4] [--seconds 5]
 */
const { values: options } = parseArgs({
  options: {
    rounds: { type: 'string', default: '4' },
    seconds: { type: 'string', default: '5' },
  },
});
const rounds = countArgument('--rounds', options.rounds);
const seconds = countArgument('--seconds', options.seconds);
const protocols = ['http1', 'http2'] as const;
type Protocol = (typeof protocols)[number];

const dir = mkdtempSync(join(tmpdir(), 'switchyard-protocol-bench-'));
const body = join(dir, 'body.json');
writeFileSync(
  body,
  JSON.stringify({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }),
);
const vegeta = await vegetaPath();

interface Pair {
  readonly server: NodeProcess;
  readonly envoy: RunningEnvoy;
  readonly port: number;
}

async function start(protocol: Protocol): Promise<Pair> {
  const server = await startNodeProcess(
    join(import.meta.dirname, 'executor-protocol', 'answer-server.ts'),
    [protocol, String(await freePort())],
  );
  const port = await freePort();
  const bootstrap = plainEnvoyBootstrap(
    port,
    await freePort(),
    [{ match: { prefix: '/' }, route: { cluster: 'executor', timeout: '30s' } }],
    { executor: server.port },
  );
  if (protocol === 'http2') {
    const [cluster] = (bootstrap.static_resources as { clusters: Record<string, unknown>[] })
      .clusters;
    Object.assign(cluster ?? {}, {
      typed_extension_protocol_options: {
        'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
          '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
          explicit_http_config: { http2_protocol_options: {} },
        },
      },
    });
  }
  const envoy = await startEnvoyProcess({ bootstrap, name: `protocol-${protocol}` });
  return { server, envoy, port };
}

const pairs = new Map<Protocol, Pair>();
for (const protocol of protocols) pairs.set(protocol, await start(protocol));
const samples = new Map<Protocol, { rps: number; p50: number; server: number; envoy: number }[]>(
  protocols.map((protocol) => [protocol, []]),
);
try {
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? protocols : [...protocols].reverse();
    for (const protocol of order) {
      const pair = pairs.get(protocol);
      if (!pair) continue;
      const url = `http://127.0.0.1:${String(pair.port)}/v2/models/m/infer`;
      await attack(vegeta, body, { url, rate: 0, durationSeconds: 1 });
      const server = treeCpuSeconds(pair.server.pid);
      const envoy = treeCpuSeconds(pair.envoy.pid);
      const report = await attack(vegeta, body, { url, rate: 0, durationSeconds: seconds });
      if (report.success < 1) throw new Error(`${protocol}: ${report.errors.join('; ')}`);
      const perRequest = (cpu: number) => (cpu * 1e6) / report.requests;
      const sample = {
        rps: report.throughput,
        p50: report.p50Ms,
        server: perRequest(treeCpuSeconds(pair.server.pid) - server),
        envoy: perRequest(treeCpuSeconds(pair.envoy.pid) - envoy),
      };
      samples.get(protocol)?.push(sample);
      console.log(`round ${String(round)} ${protocol}: ${JSON.stringify(sample)}`);
    }
  }
} finally {
  for (const pair of pairs.values()) await pair.envoy.stop();
  await stopNodeProcesses([...pairs.values()].map((pair) => pair.server.child));
  rmSync(dir, { recursive: true, force: true });
}

const rows = protocols.map((protocol) => {
  const of = (field: 'rps' | 'p50' | 'server' | 'envoy') =>
    median((samples.get(protocol) ?? []).map((sample) => sample[field]));
  return {
    'Envoy → server': protocol === 'http1' ? 'HTTP/1.1' : 'HTTP/2 (h2c)',
    'requests/s': of('rps').toFixed(0),
    'p50 ms': of('p50').toFixed(2),
    'server CPU µs/request': of('server').toFixed(0),
    'Envoy CPU µs/request': of('envoy').toFixed(0),
  };
});
writeResults(
  'executor-protocol',
  rows,
  `# The protocol between Envoy and the executor\n\nA Node server that reads the body and answers a small V2 JSON body (bench/executor-protocol/answer-server.ts), behind a static Envoy, closed loop (vegeta, 16 workers) through Envoy; ${String(rounds)} rounds of ${String(seconds)} s alternating, medians. \`npx tsx bench/executor-protocol.ts --rounds ${String(rounds)} --seconds ${String(seconds)}\``,
);
