/**
 * The gateway and the development SCR as real child processes (`node --require tsx/cjs <file>`), for tests
 * that kill or stop them. Each child's output is kept in memory; the gateway's is checked for personal data.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Caller } from '../../src/auth/caller';
import { loadDevSigningKey } from '../../src/auth/dev-keys';
import { mintDevToken } from '../../src/auth/dev-token';
import { loadConfig } from '../../src/config';
import { assertNoPersonalData } from './personal-data';

const ROOT = path.join(__dirname, '..', '..');

export interface ChildProcessHandle {
  child: ChildProcess;
  lines: string[];
  /** Resolves when the process has exited (any way). */
  exited: Promise<void>;
  /** SIGKILL: no shutdown code runs. */
  kill(): Promise<void>;
  /** SIGTERM: the process's own graceful shutdown. */
  stop(): Promise<void>;
}

/** Starts `node --require tsx/cjs file args`, resolving once a line of its output matches `ready`. */
export async function spawnTs(
  file: string,
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
  timeoutMs = 60_000,
): Promise<ChildProcessHandle & { readyLine: string }> {
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', path.join(ROOT, file), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const readyLine = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${file} not ready within ${timeoutMs} ms:\n${lines.slice(-20).join('\n')}`)), timeoutMs);
    let partial = '';
    const onData = (chunk: Buffer): void => {
      const parts = (partial + chunk.toString('utf8')).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        if (ready.test(line)) {
          clearTimeout(timer);
          resolve(line);
        }
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${file} exited (${code ?? signal}) before it was ready:\n${lines.slice(-20).join('\n')}`));
    });
  });
  const signal = async (name: NodeJS.Signals): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(name);
    await exited;
  };
  return { child, lines, exited, readyLine, kill: () => signal('SIGKILL'), stop: () => signal('SIGTERM') };
}

export interface GatewayProcess extends ChildProcessHandle {
  url: string;
}

/** The gateway (src/main.ts) as a child process on a free port, with fast delivery settings. */
export async function spawnGateway(dataDir: string, env: Record<string, string>): Promise<GatewayProcess> {
  const handle = await spawnTs(
    'src/main.ts',
    [],
    {
      PORT: '0',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
      DELIVERY_POLL_MS: '20',
      DELIVERY_BACKOFF_BASE_MS: '20',
      RATE_LIMIT_PER_MINUTE: '1000000',
      ...env,
    },
    /"message":"gateway listening"/,
  );
  const url = (JSON.parse(handle.readyLine) as { url: string }).url;
  return { ...handle, url };
}

/** The development SCR (scripts/dev-scr.ts) as a child process on `port`. */
export async function spawnDevScr(port: number): Promise<ChildProcessHandle & { baseUrl: string }> {
  const handle = await spawnTs('scripts/dev-scr.ts', [String(port)], { LOG_LEVEL: 'warn' }, /^Development SCR .* at http/);
  return { ...handle, baseUrl: `http://127.0.0.1:${port}/fhir` };
}

/** A bearer token signed with the development key the gateway child made in dataDir on its first start. */
export async function bearerFor(dataDir: string, caller: Caller): Promise<string> {
  const { auth } = loadConfig({ DATA_DIR: dataDir });
  const key = await loadDevSigningKey(auth.devKeyDir);
  if (!key) throw new Error(`no development key in ${auth.devKeyDir}`);
  const token = await mintDevToken(key, caller, { issuer: auth.issuer, audience: auth.audience, ttlSeconds: 3600 });
  return `Bearer ${token}`;
}

export function tempDataDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'crg-proc-'));
}

/** The gateway's own log lines (JSON) from every run, checked for personal data like the in-process gateway's. */
export function assertGatewayLogsClean(...runs: ChildProcessHandle[]): void {
  assertNoPersonalData(runs.flatMap((r) => r.lines.filter((l) => l.startsWith('{'))));
}

/** Valid (Modulus 11) NHS numbers in the 999 test range, distinct, from `start`. */
export function nhsNumbers(count: number, start = 997_100_000): string[] {
  const out: string[] = [];
  for (let stem = start; out.length < count; stem++) {
    const digits = String(stem).padStart(9, '0');
    let sum = 0;
    for (let i = 0; i < 9; i++) sum += Number(digits[i]) * (10 - i);
    const check = 11 - (sum % 11);
    if (check !== 10) out.push(`${digits}${check === 11 ? 0 : check}`);
  }
  return out;
}
