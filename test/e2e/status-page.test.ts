import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startControlPlane, type ControlPlane } from '../../src/controller/control-plane.ts';
import type { PageModel } from '../../src/controller/status-page.ts';
import { statusPageRoutes } from '../../src/controller/status-page.ts';
import { startStatusServer } from '../../src/controller/status-server.ts';
import { bootstrapConfig } from '../../src/envoy/bootstrap.ts';
import { startEnvoyProcess, type RunningEnvoy } from '../../src/runtime/envoy-process.ts';
import { startSampleModel, type SampleModel } from '../../src/samples/model-server.ts';
import { artifactPath, launchTestBrowser, type TestBrowser } from '../support/browser.ts';
import { inParallel, post, waitFor } from '../support/http.ts';
import { freePort } from '../support/ports.ts';

/**
 * The status page end to end: a real control plane serving a 90/10 canary,
 * a real Envoy pushing its stats through the metrics service stat sink, real
 * model servers (the candidate answers every request with 500), known
 * traffic, and the page in a real headless Chromium.
 */
const dir = mkdtempSync(join(tmpdir(), 'switchyard-page-'));
const requestsSent = 100;
const extraGraphs = 24;
// The status server is guarded as beyond loopback: the page's data needs the bearer token.
const token = 'page-test-token-5b1e';
const tokenFile = join(dir, 'status.token');
let current: SampleModel;
let candidate: SampleModel;
let controlPlane: ControlPlane;
let status: { port: number; stop: () => Promise<void> };
let envoy: RunningEnvoy;
let browser: TestBrowser;
let graphsUrl = '';

before(async () => {
  current = await startSampleModel({ name: 'fraud', version: 'v1' });
  candidate = await startSampleModel({ name: 'fraud-next', version: 'v2', failFirst: 1_000_000 });
  writeFileSync(
    join(dir, 'fraud.yaml'),
    `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata:
  name: fraud
spec:
  entry: canary
  nodes:
    canary:
      kind: splitter
      routes:
        - { to: current, weight: 90 }
        - { to: candidate, weight: 10 }
    current: { kind: model, model: fraud, endpoint: { addresses: ['127.0.0.1:${String(current.port)}'] } }
    candidate: { kind: model, model: fraud-next, endpoint: { addresses: ['127.0.0.1:${String(candidate.port)}'] } }
`,
  );
  // More graphs than a page shows, named to sort after the canary.
  for (let i = 0; i < extraGraphs; i++) {
    const name = `zz-${String(i).padStart(2, '0')}`;
    writeFileSync(
      join(dir, `${name}.yaml`),
      `apiVersion: switchyard.io/v1alpha1
kind: InferenceGraph
metadata:
  name: ${name}
spec:
  entry: m
  nodes:
    m: { kind: model, model: fraud, endpoint: { addresses: ['127.0.0.1:${String(current.port)}'] } }
`,
    );
  }
  writeFileSync(tokenFile, `${token}\n`);
  const listenerPort = await freePort();
  controlPlane = await startControlPlane({
    graphsDir: dir,
    xdsHost: '127.0.0.1',
    xdsPort: 0,
    log: () => undefined,
    listener: {
      address: '127.0.0.1',
      port: listenerPort,
      hopPort: await freePort(),
      executor: { address: '127.0.0.1', port: await freePort(), workers: 1 },
    },
  });
  status = await startStatusServer(
    controlPlane.status,
    { host: '127.0.0.1', port: 0 },
    { tokenFile },
    statusPageRoutes(controlPlane),
  );
  graphsUrl = `http://127.0.0.1:${String(status.port)}/ui/graphs`;
  envoy = await startEnvoyProcess({
    bootstrap: bootstrapConfig({
      nodeId: 'page-envoy',
      nodeCluster: 'switchyard',
      xdsAddress: '127.0.0.1',
      xdsPort: controlPlane.xdsPort,
      adminPort: await freePort(),
      statSink: { flushIntervalMs: 1000 },
    }),
    name: 'status-page',
  });
  browser = await launchTestBrowser();
  await waitFor(
    'every graph programmed on the Envoy',
    () => {
      const graphs = controlPlane.status().graphs;
      return graphs.length === 1 + extraGraphs && graphs.every((graph) => graph.programmedOn === 1);
    },
    30_000,
  );
  const infer = `http://127.0.0.1:${String(listenerPort)}/v2/models/fraud/infer`;
  const statuses = await inParallel(requestsSent, 8, async () => (await post(infer)).status);
  assert.deepEqual(
    [...new Set(statuses)].sort(),
    [200, 500],
    'the current model answers, the candidate fails',
  );
});

after(async () => {
  await browser.close();
  await envoy.stop();
  await status.stop();
  await controlPlane.stop();
  await current.stop();
  await candidate.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function pageModel(): Promise<PageModel> {
  const response = await fetch(graphsUrl, { headers: { authorization: `Bearer ${token}` } });
  return (await response.json()) as PageModel;
}

test('the page lists the canary, draws it, and shows the split and each arrow’s requests and errors', async () => {
  // Envoy flushes its stats every second: wait until every request is counted.
  await waitFor(
    'the stat sink to report every request',
    async () => {
      const edges = (await pageModel()).graphs[0]?.edges ?? [];
      return edges.reduce((sum, edge) => sum + (edge.traffic?.requests ?? 0), 0) >= requestsSent;
    },
    30_000,
    250,
  );
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${String(status.port)}/ui#token=${token}`, { timeout: 30_000 });
  const section = page.locator('section[data-graph="default/fraud"]');
  await section.locator('[data-field="state"]:text-is("programmed")').waitFor({ timeout: 15_000 });
  assert.equal(await section.locator('[data-field="envoys"]').textContent(), 'page-envoy');
  assert.equal(
    await section.locator('[data-field="version"]').textContent(),
    controlPlane.status().graphs[0]?.version,
  );

  // The picture: Graphviz's SVG, inline, with every node and the configured split.
  const svg = section.locator('.picture svg');
  for (const node of ['canary', 'current', 'candidate'])
    assert.equal(await svg.locator(`g[id="node:default/fraud/${node}"]`).count(), 1, node);
  const pictureText = (await svg.locator('text').allTextContents()).join('\n');
  assert.match(pictureText, /^90%$/m);
  assert.match(pictureText, /^10%$/m);

  const field = async (edge: string, name: string) =>
    (await section.locator(`tr[data-edge^="${edge}#"] [data-field="${name}"]`).textContent()) ?? '';
  const toCurrent = 'canary->current';
  const toCandidate = 'canary->candidate';
  assert.equal(await field(toCurrent, 'weight'), '90.0%');
  assert.equal(await field(toCandidate, 'weight'), '10.0%');
  const currentRequests = Number(await field(toCurrent, 'requests'));
  const candidateRequests = Number(await field(toCandidate, 'requests'));
  assert.equal(currentRequests + candidateRequests, requestsSent, 'every request counted once');
  // A 90/10 random split of 100 requests: the candidate's share is 10 ± a wide margin.
  assert.ok(
    candidateRequests >= 1 && candidateRequests <= 30,
    `${String(candidateRequests)} to the candidate`,
  );
  assert.equal(await field(toCurrent, 'errors'), '0');
  assert.equal(await field(toCurrent, 'error-rate'), '0.0%');
  assert.equal(Number(await field(toCandidate, 'errors')), candidateRequests);
  assert.equal(await field(toCandidate, 'error-rate'), '100.0%');
  assert.equal(
    await field(toCandidate, 'observed'),
    `${((candidateRequests / requestsSent) * 100).toFixed(1)}%`,
  );
  // Rates: the requests over the seconds since the first report, at most the 60 s window.
  const rate = Number(await field(toCurrent, 'requests-per-second'));
  assert.ok(
    rate >= currentRequests / 60 - 0.01 && rate <= currentRequests,
    `${String(rate)} requests per second to the current model`,
  );
  // The arrow into the failing model is drawn red with its numbers.
  assert.ok(
    pictureText.includes(`${String(candidateRequests)} 5xx (100%)`),
    'the candidate arrow says its errors',
  );

  const screenshot = await artifactPath('status-page.png');
  await page.screenshot({ path: screenshot });
  await page.close();
});

test('the page shows 20 graphs at a time, pages through the rest, and filters by name and state', async () => {
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${String(status.port)}/ui#token=${token}`, { timeout: 30_000 });
  const range = page.locator('#range');
  const sections = page.locator('section.graph');
  await range.filter({ hasText: '1–20 of 25' }).waitFor({ timeout: 15_000 });
  assert.equal(await sections.count(), 20);
  assert.equal(await sections.first().getAttribute('data-graph'), 'default/fraud');
  assert.match(
    (await page.locator('#summary').textContent()) ?? '',
    /^25 graph\(s\): 25 programmed on every Envoy of their group, 0 accepted, 0 rejected/,
  );
  assert.ok(await page.locator('#previous').isDisabled());

  await page.locator('#next').click();
  await range.filter({ hasText: '21–25 of 25' }).waitFor({ timeout: 15_000 });
  assert.deepEqual(
    await Promise.all((await sections.all()).map((section) => section.getAttribute('data-graph'))),
    ['default/zz-19', 'default/zz-20', 'default/zz-21', 'default/zz-22', 'default/zz-23'],
  );
  assert.ok(await page.locator('#next').isDisabled());

  await page.locator('#filter').fill('FRAUD');
  await range.filter({ hasText: '1–1 of 1' }).waitFor({ timeout: 15_000 });
  assert.equal(await sections.count(), 1);
  await page.locator('#state').selectOption('rejected');
  await range.filter({ hasText: 'no graph matches' }).waitFor({ timeout: 15_000 });
  assert.equal(await sections.count(), 0);
  await page.close();
});

test('the page is behind the status guard: its data needs the token; it carries no payloads or addresses', async () => {
  const text = JSON.stringify(await pageModel());
  assert.doesNotMatch(text, /127\.0\.0\.1|inputs|FP32/);
  assert.equal((await fetch(graphsUrl)).status, 401);
  assert.equal(
    (await fetch(graphsUrl, { headers: { authorization: 'Bearer not-the-token' } })).status,
    401,
  );
  // The page itself (the same HTML for everyone, no data) opens in a browser without it.
  const html = await fetch(`http://127.0.0.1:${String(status.port)}/ui`);
  assert.equal(html.status, 200);
  assert.doesNotMatch(await html.text(), /page-test-token|fraud/);
  const badQuery = await fetch(`${graphsUrl}?limit=0`, {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(badQuery.status, 400);
  assert.deepEqual(await badQuery.json(), {
    error: { status: 400, reason: 'limit "0" is not a whole number from 1 to 100' },
  });
  const missing = await fetch(`http://127.0.0.1:${String(status.port)}/ui/nothing`);
  assert.equal(missing.status, 404);
  assert.match(await missing.text(), /GET \/ui/);
});
