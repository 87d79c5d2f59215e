import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { startControlPlane, type ControlPlane } from '../../src/controller/control-plane.ts';
import { startEnvoyProcess, type RunningEnvoy } from '../../src/runtime/envoy-process.ts';
import { bootstrapConfig } from '../../src/envoy/bootstrap.ts';
import { executorSocketPath } from '../../src/envoy/sockets.ts';
import { startExecutorProcess, type ExecutorProcess } from '../support/executor-process.ts';
import { post, waitFor, waitForAnswers } from '../support/http.ts';
import { freePort, freePortRun } from '../support/ports.ts';
import { startScriptedServer, type ScriptedServer } from '../support/scripted-server.ts';
import { arithmeticModels, writeBothWaysIn } from '../support/two-step-graphs.ts';

/**
 * The executor's workers each listen on a port of their own, or a Unix
 * socket of their own in a directory shared with Envoy, and Envoy balances
 * requests over them. An Envoy with a single thread (one connection per
 * upstream host) still keeps every worker busy, and a worker that dies costs
 * only the requests it was running; its replacement takes over its port or
 * socket.
 */

const WORKERS = 2;

for (const link of ['ports', 'sockets'] as const)
  describe(`executor workers on ${link}, behind an Envoy with one thread`, () => {
    let models: ScriptedServer;
    let controlPlane: ControlPlane;
    let envoy: RunningEnvoy;
    let executor: ExecutorProcess;
    let dir: string;
    let base: string;
    let firstPort: number;
    /** The first worker's endpoint, as Envoy and the worker's start line name it. */
    let firstWorker: string;
    const input = { inputs: [{ name: 'x', shape: [1], datatype: 'FP64', data: [1] }] };
    /** Stops what `before` started, newest first, however far it got. */
    const cleanups: (() => Promise<void>)[] = [];

    /** The pid serving each worker's port or socket, as the workers' latest start lines say. */
    const workerPids = () => {
      const pids = new Map<string, number>();
      for (const [, pid, where] of executor.output().matchAll(/executor pid (\d+) on (\S+),/g)) {
        pids.set(where ?? '', Number(pid));
      }
      return pids;
    };

    /** Requests Envoy sent to each executor worker so far, from its admin /clusters. */
    const requestsPerWorker = async () => {
      const text = await (await request(`${envoy.adminUrl}/clusters`)).body.text();
      const counts = new Map<string, number>();
      for (const [, where, total] of text.matchAll(
        /^switchyard-executor(?:-http1)?::(\S+?)::rq_total::(\d+)$/gm,
      )) {
        // Both of the executor's clusters (HTTP/2 and HTTP/1.1) reach the same workers.
        counts.set(where ?? '', (counts.get(where ?? '') ?? 0) + Number(total));
      }
      return counts;
    };

    before(async () => {
      models = await startScriptedServer(arithmeticModels);
      cleanups.push(() => models.stop());
      dir = mkdtempSync(join(tmpdir(), 'switchyard-workers-'));
      cleanups.push(() => {
        rmSync(dir, { recursive: true, force: true });
        return Promise.resolve();
      });
      writeBothWaysIn(dir, models.address);
      const listenerPort = await freePort();
      const hopPort = await freePort();
      firstPort = await freePortRun(WORKERS);
      const sockets = mkdtempSync(join(tmpdir(), 'switchyard-sockets-'));
      cleanups.push(() => {
        rmSync(sockets, { recursive: true, force: true });
        return Promise.resolve();
      });
      firstWorker =
        link === 'ports' ? `127.0.0.1:${String(firstPort)}` : executorSocketPath(sockets, 0);
      executor = await startExecutorProcess(
        WORKERS,
        link === 'ports'
          ? ['--port', String(firstPort), '--hop-url', `http://127.0.0.1:${String(hopPort)}`]
          : ['--sockets', sockets],
      );
      cleanups.push(() => executor.stop());
      controlPlane = await startControlPlane({
        graphsDir: dir,
        xdsHost: '127.0.0.1',
        xdsPort: 0,
        listener: {
          address: '127.0.0.1',
          port: listenerPort,
          hopPort,
          executor: { address: '127.0.0.1', port: firstPort, workers: WORKERS },
          ...(link === 'sockets' && { sockets }),
        },
      });
      cleanups.push(() => controlPlane.stop());
      envoy = await startEnvoyProcess({
        bootstrap: bootstrapConfig({
          nodeId: 'e2e-workers',
          nodeCluster: 'switchyard',
          xdsAddress: '127.0.0.1',
          xdsPort: controlPlane.xdsPort,
          adminPort: await freePort(),
        }),
        name: 'workers',
        concurrency: 1,
      });
      cleanups.push(() => envoy.stop());
      base = `http://127.0.0.1:${String(listenerPort)}/v2/models`;
      await waitForAnswers([`${base}/hand/infer`, `${base}/whole/infer`], input);
    });

    after(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup();
    });

    test('every worker takes a share of the requests, on both transports', async (t) => {
      const before = await requestsPerWorker();
      for (const name of ['hand', 'whole']) {
        const replies = await Promise.all(
          Array.from({ length: 100 }, () => post(`${base}/${name}/infer`, input)),
        );
        assert.deepEqual(
          replies.filter((r) => r.status !== 200).map((r) => r.text),
          [],
        );
      }
      const after = await requestsPerWorker();
      const shares = [...after].map(([worker, total]) => total - (before.get(worker) ?? 0));
      t.diagnostic(`requests per worker: ${shares.join(', ')}`);
      assert.equal(shares.length, WORKERS);
      for (const share of shares) assert.ok(share >= 40, `each worker took at least 40 of 200`);
    });

    test('a worker killed under load fails only requests on their way to it; its replacement serves again', async (t) => {
      const worker = firstWorker;
      const pid = workerPids().get(worker);
      assert.ok(pid);
      const results: { startedAt: number; status: number; text: string }[] = [];
      const clients = 4;
      const deadline = Date.now() + 3_000;
      let killedAt = Infinity;
      const client = async (index: number) => {
        const name = index % 2 === 0 ? 'hand' : 'whole';
        while (Date.now() < deadline) {
          const startedAt = Date.now();
          const reply = await post(`${base}/${name}/infer`, input);
          results.push({ startedAt, status: reply.status, text: reply.text });
        }
      };
      const killer = (async () => {
        await new Promise((r) => setTimeout(r, 500));
        killedAt = Date.now();
        process.kill(pid, 'SIGKILL');
      })();
      await Promise.all([killer, ...Array.from({ length: clients }, (_, i) => client(i))]);
      const failed = results.filter((r) => r.status !== 200);
      t.diagnostic(`${String(results.length)} requests, ${String(failed.length)} failed`);
      // Only requests on their way to it when it died (in flight, or sent over one of Envoy's
      // HTTP/1.1 connections to it before Envoy read that it had closed), as the documented 503.
      for (const failure of failed) {
        assert.ok(failure.startedAt <= killedAt + 200, failure.text);
        assert.equal(failure.status, 503);
        assert.match(failure.text, /executor is unavailable/);
      }
      // Every request started later is answered by the other worker.
      assert.ok(results.some((r) => r.startedAt > killedAt && r.status === 200));

      await waitFor(
        'the replacement worker to listen',
        () => (workerPids().get(worker) ?? pid) !== pid,
        20_000,
      );
      const before = (await requestsPerWorker()).get(worker) ?? 0;
      // Envoy set the dead worker aside for 5 s; once that passes, it is sent requests again.
      await waitFor(
        'the replacement worker to take requests',
        async () => {
          await post(`${base}/whole/infer`, input);
          return ((await requestsPerWorker()).get(worker) ?? 0) > before;
        },
        20_000,
      );
    });
  });
