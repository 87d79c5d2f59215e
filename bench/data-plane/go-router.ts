import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * B2, the Go baseline: bench/go-router, a small router with the shape of
 * KServe's InferenceGraph router, built with the machine's Go toolchain into
 * .cache (never committed), again whenever its source changes.
 */
const run = promisify(execFile);
const source = join(import.meta.dirname, '..', 'go-router');
const cacheDir = join(import.meta.dirname, '..', '..', '.cache', 'go-router');

export async function goRouterPath(): Promise<string> {
  const hash = createHash('sha256');
  for (const file of readdirSync(source).sort())
    hash.update(file).update(readFileSync(join(source, file)));
  const binary = join(cacheDir, hash.digest('hex').slice(0, 16), 'go-router');
  if (existsSync(binary)) return binary;
  mkdirSync(join(binary, '..'), { recursive: true });
  const started = performance.now();
  process.stdout.write('building the Go router (B2) from bench/go-router with go build...');
  try {
    const { stdout: version } = await run('go', ['version'], {
      env: { ...process.env, GOTOOLCHAIN: 'local' },
    });
    await run('go', ['build', '-trimpath', '-o', binary, '.'], {
      cwd: source,
      // Standard library only: nothing to fetch, and no other toolchain either.
      env: { ...process.env, GOTOOLCHAIN: 'local', GOPROXY: 'off' },
    });
    process.stdout.write(
      ` done in ${((performance.now() - started) / 1000).toFixed(1)} s (${version.trim()})\n`,
    );
  } catch (error) {
    process.stdout.write(' failed\n');
    throw new Error(`could not build bench/go-router (needs Go 1.26 on PATH): ${String(error)}`);
  }
  return binary;
}

/** A node of a B2 graph, in bench/go-router's graph format. */
interface GoNode {
  readonly kind: 'sequence' | 'splitter' | 'switch' | 'ensemble';
  readonly steps: readonly {
    readonly name?: string;
    readonly url?: string;
    readonly node?: string;
    readonly input?: 'response';
    readonly weight?: number;
    readonly when?: { readonly path: readonly string[]; readonly equals: string };
  }[];
  readonly combine?: 'merge' | 'mean';
}

/**
 * The reference graphs as B2 runs them, written the way a KServe
 * InferenceGraph would say them: one model is a one-step sequence, the
 * transformer chain and the two-step sequence pass each answer on, the
 * ensemble with a combiner is a sequence of the ensemble (merged answers)
 * and the combiner. Keys are the router's paths without the slash.
 */
export function goRouterGraphs(
  models: string,
): Record<string, { root: string; nodes: Record<string, GoNode> }> {
  const url = (model: string) => `${models}/v2/models/${model}/infer`;
  const one = (node: GoNode) => ({ root: 'root', nodes: { root: node } });
  const chain = (...chained: string[]): GoNode => ({
    kind: 'sequence',
    steps: chained.map((model, i) => ({
      url: url(model),
      ...(i > 0 && { input: 'response' as const }),
    })),
  });
  const ensemble = (combine: 'merge' | 'mean'): GoNode => ({
    kind: 'ensemble',
    combine,
    steps: ['e1', 'e2', 'e3'].map((model) => ({ name: model, url: url(model) })),
  });
  return {
    g1: one(chain('m')),
    g2: one({
      kind: 'splitter',
      steps: [
        { url: url('m-a'), weight: 90 },
        { url: url('m-b'), weight: 10 },
      ],
    }),
    g3: one(chain('pre', 'm', 'post')),
    g4: one(ensemble('mean')),
    g5: one({
      kind: 'switch',
      steps: [
        { url: url('m-a'), when: { path: ['parameters', 'tier'], equals: 'gold' } },
        { url: url('m-b') },
      ],
    }),
    g6: {
      root: 'root',
      nodes: {
        root: {
          kind: 'sequence',
          steps: [{ node: 'all' }, { url: url('comb'), input: 'response' }],
        },
        all: ensemble('merge'),
      },
    },
    g7: one(chain('m-a', 'm-b')),
  };
}
