import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CRD_FILE, crdFileText } from '../src/sources/kubernetes/crd-file.ts';

/** Writes the InferenceGraph CRD into the chart, generated from the spec's schema. */
const path = join(import.meta.dirname, '..', CRD_FILE);
await mkdir(dirname(path), { recursive: true });
await writeFile(path, crdFileText());
process.stdout.write(`wrote ${CRD_FILE}\n`);
