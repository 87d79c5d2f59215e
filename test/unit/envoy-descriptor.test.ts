import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import protobuf from 'protobufjs';
import { compileGraphs } from '../../src/controller/compile.ts';
import { renderResources } from '../../src/envoy/render.ts';
import {
  envoyDescriptor,
  parseEnvoyProtos,
  rootFromDescriptor,
} from '../../src/protos/envoy-protos.ts';
import { encodeAny } from '../../src/protos/proto-json.ts';
import { formatDiagnostic } from '../../src/spec/diagnostic.ts';
import { loadGraphDocuments } from '../../src/graph/load.ts';
import { defaultListener } from '../support/listener.ts';

/**
 * The production build ships Envoy's protos as a JSON descriptor instead of
 * parsing the .proto files at every start: the protos it rebuilds must be the
 * parsed ones, down to the PGV rules and the bytes every resource encodes to.
 */
const parsed = parseEnvoyProtos();
const rebuilt = rootFromDescriptor(
  JSON.parse(JSON.stringify(envoyDescriptor(parsed))) as ReturnType<typeof envoyDescriptor>,
);

function optionsByName(root: protobuf.Root): Map<string, unknown> {
  const found = new Map<string, unknown>();
  const visit = (object: protobuf.ReflectionObject) => {
    if (object.parsedOptions) found.set(object.fullName, object.parsedOptions);
    if (object instanceof protobuf.Type) {
      object.fieldsArray.forEach(visit);
      object.oneofsArray.forEach(visit);
    }
    if (object instanceof protobuf.Service) object.methodsArray.forEach(visit);
    if (object instanceof protobuf.Namespace) object.nestedArray.forEach(visit);
  };
  visit(root);
  return found;
}

/** As plain JSON: protobufjs builds some of these objects without a prototype. */
const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

test('the descriptor rebuilds every type, field and option of the parsed protos', () => {
  assert.deepEqual(plain(rebuilt.toJSON()), plain(parsed.toJSON()));
  const options = optionsByName(parsed);
  assert.ok(options.size > 500, `only ${String(options.size)} objects carry parsed options`);
  assert.deepEqual(plain([...optionsByName(rebuilt)]), plain([...options]));
});

test('graphs compile and encode to the same bytes with the rebuilt protos', () => {
  const casesDir = join(import.meta.dirname, '..', 'golden', 'cases');
  const listener = defaultListener(2);
  const graphs = readdirSync(casesDir)
    .filter((file) => file.endsWith('.yaml'))
    .flatMap(
      (file) =>
        loadGraphDocuments(`cases/${file}`, readFileSync(join(casesDir, file), 'utf8')).graphs,
    );
  // The cases' Service-served nodes compile as under a Kubernetes source, as their goldens do.
  const withParsed = compileGraphs(graphs, listener, parsed, { services: true });
  const withRebuilt = compileGraphs(graphs, listener, rebuilt, { services: true });
  assert.deepEqual(withRebuilt.diagnostics.map(formatDiagnostic), []);
  assert.equal(renderResources(withRebuilt.resources), renderResources(withParsed.resources));
  let encoded = 0;
  for (const resources of withParsed.resources.values()) {
    for (const resource of resources.values()) {
      // A copy: encodings are cached per resource object.
      const copy = structuredClone(resource);
      assert.deepEqual(encodeAny(rebuilt, copy), encodeAny(parsed, resource));
      encoded++;
    }
  }
  assert.ok(encoded > 50, `only ${String(encoded)} resources encoded`);
});
