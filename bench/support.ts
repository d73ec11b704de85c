/** Shared by the bench sections: the care-home fixture, fresh NHS numbers, child processes and their CPU time. */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const REPO = path.resolve(__dirname, '..');
/** The generated care home: 50 residents and a month of every record type (2,150 records), as the tests read it. */
export { careHomeRecords } from '../tests/support/care-home';

/** Valid (Modulus 11) NHS numbers in the 999 test range, none of them in the care-home fixture. */
export function* nhsNumbers(start = 998_000_000): Generator<string> {
  for (let stem = start; ; stem++) {
    const digits = String(stem).padStart(9, '0');
    let sum = 0;
    for (let i = 0; i < 9; i++) sum += Number(digits[i]) * (10 - i);
    const check = 11 - (sum % 11);
    if (check === 10) continue;
    yield `${digits}${check === 11 ? 0 : check}`;
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface Child {
  process: ChildProcess;
  /** User + system CPU seconds the child has used so far, all its threads (from /proc; undefined off Linux). */
  cpuSeconds(): number | undefined;
  /**
   * The same for its main thread alone (the event loop that answers HTTP; the gateway's delivery thread and
   * libuv's pool are other threads).
   */
  mainThreadCpuSeconds(): number | undefined;
  stop(): Promise<void>;
}

const CLOCK_TICKS = 100;

/**
 * Starts `node --import tsx <script>` (TypeScript straight from the repo; a .js script runs without tsx) with extra env, waits until
 * `readyUrl` answers 200. BENCH_CPU_PROF=<dir> runs it under `node --cpu-prof` and leaves the profile in <dir>.
 */
export async function startChild(script: string, env: Record<string, string>, readyUrl: string, logFile: string): Promise<Child> {
  const profDir = process.env.BENCH_CPU_PROF;
  // A built script (dist/src/main.js) runs as is; TypeScript through tsx.
  const loader = script.endsWith('.js') ? [] : ['--import', 'tsx'];
  const args = [...(profDir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(profDir)}`] : []), ...loader, script];
  const log = fs.openSync(logFile, 'a');
  const child = spawn(process.execPath, args, { cwd: REPO, env: { ...process.env, ...env }, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => { exited = true; resolve(); }));
  const until = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(`${script} exited during start-up; see ${logFile}`);
    try {
      const res = await fetch(readyUrl);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) {
      child.kill('SIGTERM');
      throw new Error(`${script} did not answer ${readyUrl} within 60 s; see ${logFile}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    process: child,
    cpuSeconds: () => procCpuSeconds(`/proc/${child.pid}/stat`),
    mainThreadCpuSeconds: () => procCpuSeconds(`/proc/${child.pid}/task/${child.pid}/stat`),
    async stop() {
      if (!exited) child.kill('SIGTERM');
      await exit;
    },
  };
}

/** utime + stime from a /proc stat file (a process's includes its threads', the living and the ended). */
function procCpuSeconds(file: string): number | undefined {
  try {
    const stat = fs.readFileSync(file, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

export function loadAverage(): string {
  return os.loadavg().map((n) => n.toFixed(2)).join(' ');
}

export const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-GB', { minimumFractionDigits: digits, maximumFractionDigits: digits });
