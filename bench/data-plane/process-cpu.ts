import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's utime and stime; 100 on every Linux we run on. */
const TICKS_PER_SECOND = 100;

function stat(pid: number): { ppid: number; ticks: number } | undefined {
  try {
    const text = readFileSync(`/proc/${String(pid)}/stat`, 'utf8');
    // The command name may hold spaces; the fields after it are fixed.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return undefined;
  }
}

/** CPU seconds used so far by `pid` and every process below it, as the OS counts them. */
export function treeCpuSeconds(pid: number): number {
  const children = new Map<number, number[]>();
  const ticks = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    const child = Number(entry);
    if (!Number.isInteger(child)) continue;
    const info = stat(child);
    if (!info) continue;
    ticks.set(child, info.ticks);
    children.set(info.ppid, [...(children.get(info.ppid) ?? []), child]);
  }
  let total = 0;
  const pending = [pid];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    total += ticks.get(next) ?? 0;
    pending.push(...(children.get(next) ?? []));
  }
  return total / TICKS_PER_SECOND;
}

/**
 * CPU seconds the whole machine has been busy so far, every core summed,
 * from /proc/stat: what tells a run the machine was full, whoever filled it.
 */
export function machineBusySeconds(): number {
  const [cpuLine = ''] = readFileSync('/proc/stat', 'utf8').split('\n');
  // cpu user nice system idle iowait irq softirq steal ...
  const [, user, nice, system, , , irq, softirq, steal] = cpuLine.split(/\s+/).map(Number);
  const busy = [user, nice, system, irq, softirq, steal].reduce<number>((a, b) => a + (b ?? 0), 0);
  return busy / TICKS_PER_SECOND;
}
