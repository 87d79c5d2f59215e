import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { after, before, test } from 'node:test';
import { artifactPath, launchTestBrowser, type TestBrowser } from '../support/browser.ts';

let server: Server;
let base: string;
let browser: TestBrowser;

before(async () => {
  server = createServer((req, res) => {
    if (req.url === '/count') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"count": 3}');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html>
<title>harness</title>
<h1 id="title">Switchyard browser harness</h1>
<p>count: <span id="count">…</span></p>
<script>
  fetch('/count').then((r) => r.json()).then((b) => { document.getElementById('count').textContent = String(b.count); });
</script>`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  base = `http://127.0.0.1:${String(address.port)}`;
  browser = await launchTestBrowser();
});

after(async () => {
  await browser.close();
  await new Promise((resolve) => server.close(resolve));
});

test("Debian's Chromium, through playwright-core, loads a loopback page, runs its script and takes a screenshot", async () => {
  const page = await browser.newPage();
  await page.goto(base, { timeout: 30_000 });
  assert.equal(await page.textContent('#title'), 'Switchyard browser harness');
  // The script's fetch to the same loopback server fills the number in.
  await page.locator('#count:text-is("3")').waitFor({ timeout: 10_000 });
  const file = await artifactPath('harness-browser.png');
  await page.screenshot({ path: file });
  const png = await readFile(file);
  assert.deepEqual([...png.subarray(1, 4)], [...Buffer.from('PNG')]);
  assert.ok(png.length > 1000, `a screenshot of ${String(png.length)} bytes`);
});
