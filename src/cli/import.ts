import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { parseAllDocuments, parse, stringify } from 'yaml';
import { importObjects, type SourceObject } from '../import/import.ts';
import type { ServiceAddress } from '../import/result.ts';
import { parseHostPort } from '../spec/address.ts';

export interface ImportFlags {
  readonly out?: string;
  readonly addresses?: string;
  readonly namespace?: string;
  readonly kubernetes: boolean;
}

async function filesOf(path: string): Promise<string[]> {
  if (!(await stat(path)).isDirectory()) return [path];
  return (await readdir(path))
    .filter((name) => ['.yaml', '.yml', '.json'].includes(extname(name)))
    .sort()
    .map((name) => join(path, name));
}

async function readObjects(paths: readonly string[]): Promise<SourceObject[]> {
  const objects: SourceObject[] = [];
  for (const path of paths) {
    for (const file of await filesOf(path)) {
      const documents = parseAllDocuments(await readFile(file, 'utf8'));
      documents.forEach((document, index) => {
        const value: unknown = document.toJS();
        if (value == null) return;
        const source = documents.length > 1 ? `${file} (document ${String(index + 1)})` : file;
        objects.push({ source, value });
      });
    }
  }
  return objects;
}

/**
 * The mapping file: service name → "host:port", or { address | url, protocol?, model? }.
 * Returns the addresses or the first problem.
 */
function readAddresses(text: string): Map<string, ServiceAddress> | string {
  const value: unknown = parse(text);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return 'the addresses file must map service names to "host:port" or { address, protocol, model }';
  }
  const addresses = new Map<string, ServiceAddress>();
  for (const [name, entry] of Object.entries(value as Record<string, unknown>)) {
    const spec: Record<string, unknown> =
      typeof entry === 'string' ? { address: entry } : (entry as Record<string, unknown>);
    const address = spec.address;
    const url = spec.url;
    let endpoint: ServiceAddress['endpoint'];
    if (typeof address === 'string' && parseHostPort(address)) endpoint = { addresses: [address] };
    else if (typeof url === 'string') endpoint = { url };
    else return `${name}: give "host:port", or address: host:port, or url: http://host:port`;
    const protocol = spec.protocol;
    if (protocol !== undefined && protocol !== 'v1' && protocol !== 'v2' && protocol !== 'seldon') {
      return `${name}: protocol is v1, v2 or seldon`;
    }
    addresses.set(name, {
      endpoint,
      ...(protocol !== undefined && { protocol }),
      ...(typeof spec.model === 'string' && { model: spec.model }),
    });
  }
  return addresses;
}

/**
 * `switchyard import FILE|DIR...`: KServe InferenceGraphs and Seldon
 * SeldonDeployments to Switchyard graph files (into --out, else stdout),
 * what was not carried over on stderr. Exit 1 when nothing could be
 * imported or an object is of another kind.
 */
export async function importCommand(paths: readonly string[], flags: ImportFlags): Promise<number> {
  let addresses: Map<string, ServiceAddress> | undefined;
  if (flags.addresses !== undefined) {
    const read = readAddresses(await readFile(flags.addresses, 'utf8'));
    if (typeof read === 'string') {
      process.stderr.write(`${flags.addresses}: ${read}\n`);
      return 1;
    }
    addresses = read;
  }
  const result = importObjects(await readObjects(paths), {
    ...(flags.namespace !== undefined && { namespace: flags.namespace }),
    ...(addresses && { addresses }),
  });
  for (const note of result.notes) {
    process.stderr.write(
      `${note.source}${note.path === '' ? '' : `: ${note.path}`}: ${note.message}\n`,
    );
  }
  if (flags.kubernetes) {
    process.stderr.write(
      'note: --kubernetes: endpoints are written as cluster DNS URLs; Services as endpoints come with the Kubernetes source\n',
    );
  }
  for (const graph of result.graphs) {
    const yaml = stringify(graph, { lineWidth: 0 });
    if (flags.out === undefined) {
      process.stdout.write(`---\n${yaml}`);
      continue;
    }
    await mkdir(flags.out, { recursive: true });
    const file = join(
      flags.out,
      `${graph.metadata.namespace ?? 'default'}.${graph.metadata.name}.yaml`,
    );
    await writeFile(file, yaml);
    process.stderr.write(`wrote ${file}\n`);
  }
  process.stderr.write(
    `${String(result.graphs.length)} graph(s) imported, ${String(result.refused.length)} object(s) not\n`,
  );
  // Something that is no KServe or Seldon graph at all is a mistake in the input; a graph that
  // could not be carried over is reported, and the others are still written.
  return result.graphs.length > 0 && result.foreign.length === 0 ? 0 : 1;
}
