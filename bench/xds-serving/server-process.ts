import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';

/**
 * An xDS server under test in a process of its own (Switchyard's or
 * go-control-plane's), driven by the lines both speak: `change <file>` in;
 * `listening <port>`, `ack <type>`, `nack <type> <message>` and
 * `changed <ms>` out.
 */
export class ServerProcess {
  readonly #child: ChildProcess;
  readonly #waiting = new Set<(line: string) => boolean>();
  readonly port: Promise<number>;
  lastAckAt = 0;
  routeAcks = 0;

  constructor(command: string, args: readonly string[]) {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    this.#child = child;
    this.port = new Promise((resolve, reject) => {
      child.once('exit', (code) => {
        reject(new Error(`${command} exited (${String(code)}) before listening`));
      });
      this.#wait((line) => {
        if (!line.startsWith('listening ')) return false;
        resolve(Number(line.slice('listening '.length)));
        return true;
      });
    });
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      if (line.startsWith('ack ')) {
        this.lastAckAt = performance.now();
        if (line.endsWith('RouteConfiguration')) this.routeAcks += 1;
      }
      if (line.startsWith('nack ')) process.stderr.write(`server: ${line}\n`);
      for (const waiter of this.#waiting) if (waiter(line)) this.#waiting.delete(waiter);
    });
  }

  get pid(): number {
    return this.#child.pid ?? 0;
  }

  #wait(waiter: (line: string) => boolean): void {
    this.#waiting.add(waiter);
  }

  /** Hands the server one changed route table; resolves to the ms it reports to Envoy's ACK. */
  change(file: string, timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`no ACK of the change within ${String(timeoutMs)} ms`));
      }, timeoutMs);
      this.#wait((line) => {
        if (!line.startsWith('changed ')) return false;
        clearTimeout(timer);
        resolve(Number(line.slice('changed '.length)));
        return true;
      });
      this.#child.stdin?.write(`change ${file}\n`);
    });
  }

  cpuNs(): number {
    return cpuNs(this.pid);
  }

  async stop(): Promise<void> {
    const exited = new Promise<void>((resolve) => {
      if (this.#child.exitCode !== null) resolve();
      else
        this.#child.once('exit', () => {
          resolve();
        });
    });
    this.#child.stdin?.end();
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

/** Nanoseconds on CPU of every thread of a process so far (/proc schedstat). */
export function cpuNs(pid: number): number {
  let total = 0;
  for (const task of readdirSync(`/proc/${String(pid)}/task`)) {
    try {
      total += Number(
        readFileSync(`/proc/${String(pid)}/task/${task}/schedstat`, 'utf8').split(' ')[0],
      );
    } catch {
      // A thread that ended between the listing and the read: its time is gone with it.
    }
  }
  return total;
}
