/**
 * Bulk NDJSON end to end: N resident records (BENCH_BULK_N, default 100,000) streamed to
 * POST /v1/records/bulk of a gateway in its own process, delivered to a development SCR in a third process.
 * Reports ingest records/s (stream read and committed), end-to-end records/s (until the outbox is drained)
 * and the gateway's peak RSS (VmHWM), so the figures are the gateway's alone. The gateway runs as `npm start`
 * runs it, from the build (built first; BENCH_GATEWAY_MAIN=src/main.ts runs it through tsx instead, which
 * adds the TypeScript compiler's memory to the RSS).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { Caller } from '../src/auth/caller';
import { loadDevSigningKey } from '../src/auth/dev-keys';
import { mintDevToken } from '../src/auth/dev-token';
import { loadConfig } from '../src/config';
import { careHomeRecords, fmt, freePort, loadAverage, nhsNumbers, REPO, startChild, tempDir, type Child } from './support';

/** The heap bound README's Deployment section gives for a gateway with an external SCR. */
const GATEWAY_HEAP_BOUND = '--max-old-space-size=192';
/** glibc's malloc arenas, as README's Deployment section gives (read by glibc at start, so set in the environment). */
const GATEWAY_MALLOC_ARENAS = '2';

const PROVIDER: Caller = { kind: 'provider', clientId: 'bench', odsCode: 'VNX12', scopes: ['system/*.write'] };
const OPERATOR: Caller = { kind: 'operator', userId: 'bench', scopes: [] };

/** Peak resident set size of a process, in MB (Linux). */
function peakRssMb(child: Child): number | undefined {
  try {
    const status = fs.readFileSync(`/proc/${child.process.pid}/status`, 'utf8');
    const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
    return kb ? Number(kb) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** MALLOC_ARENA_MAX for the gateway's environment; empty sets none (glibc's default, unless the bench's own environment has one). */
function arenaSetting(arenas: string): Record<string, string> {
  return arenas === '' ? {} : { MALLOC_ARENA_MAX: arenas };
}

/** N resident lines, made as the stream is read (the bench never holds the file either). */
function residents(n: number): Readable {
  const template = careHomeRecords().find((r) => r.type === 'resident')!;
  const numbers = nhsNumbers(997_000_000);
  let i = 0;
  return Readable.from(
    (function* () {
      for (; i < n; i++) yield `${JSON.stringify({ ...template, recordId: `BENCH-${i}`, nhsNumber: numbers.next().value })}\n`;
    })(),
  );
}

export async function benchBulk(): Promise<void> {
  const n = Number(process.env.BENCH_BULK_N ?? 100_000);
  const dir = tempDir('crg-bench-bulk-');
  const [port, scrPort] = [await freePort(), await freePort()];
  const scrChild = await startChild('scripts/dev-scr.ts', { DEV_SCR_PORT: String(scrPort) }, `http://127.0.0.1:${scrPort}/fhir/metadata`, path.join(dir, 'scr.log'));
  const env = {
    PORT: String(port),
    DATA_DIR: path.join(dir, 'gateway'),
    SCR_BASE_URL: `http://127.0.0.1:${scrPort}/fhir`,
    RATE_LIMIT_PER_MINUTE: '1000000',
    DELIVERY_POLL_MS: '20',
    // As README's Deployment section advises (V8 otherwise lets garbage pile up to hundreds of MB before it
    // collects); BENCH_GATEWAY_NODE_OPTIONS='' measures the gateway without the bound.
    NODE_OPTIONS: process.env.BENCH_GATEWAY_NODE_OPTIONS ?? GATEWAY_HEAP_BOUND,
    // BENCH_GATEWAY_MALLOC_ARENA_MAX='' measures the gateway with glibc's default (up to 8 arenas a core).
    ...arenaSetting(process.env.BENCH_GATEWAY_MALLOC_ARENA_MAX ?? GATEWAY_MALLOC_ARENAS),
  };
  const url = `http://127.0.0.1:${port}`;
  const main = process.env.BENCH_GATEWAY_MAIN ?? 'dist/src/main.js';
  if (!process.env.BENCH_GATEWAY_MAIN) execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: REPO, stdio: 'inherit' });
  const gateway = await startChild(main, env, `${url}/health`, path.join(dir, 'gateway.log'));
  try {
    const config = loadConfig(env);
    const key = (await loadDevSigningKey(config.auth.devKeyDir))!;
    const mint = async (caller: Caller) => `Bearer ${await mintDevToken(key, caller, { issuer: config.auth.issuer, audience: config.auth.audience, ttlSeconds: 7200 })}`;
    const [provider, operator] = [await mint(PROVIDER), await mint(OPERATOR)];

    const started = performance.now();
    const res = await fetch(`${url}/v1/records/bulk`, {
      method: 'POST',
      headers: { authorization: provider, 'content-type': 'application/x-ndjson' },
      body: Readable.toWeb(residents(n)) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    const job = (await res.json()) as { accepted: number; rejected: number };
    const ingestMs = performance.now() - started;

    for (;;) {
      const counts = ((await (await fetch(`${url}/v1/admin/delivery`, { headers: { authorization: operator } })).json()) as { counts: Record<string, number> }).counts;
      if (counts.queued + counts.delivering === 0) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const endToEndMs = performance.now() - started;
    console.log(`\n## bulk NDJSON: ${fmt(n)} resident records (load average ${loadAverage()}; gateway NODE_OPTIONS "${env.NODE_OPTIONS}")`);
    console.log(`accepted ${fmt(job.accepted)}, rejected ${fmt(job.rejected)}`);
    console.log(`ingest (stream read, checked, mapped, validated, committed): ${fmt(job.accepted / (ingestMs / 1000))} records/s (${fmt(ingestMs / 1000, 1)} s)`);
    console.log(`end to end (accepted -> delivered to the SCR): ${fmt(job.accepted / (endToEndMs / 1000))} records/s (${fmt(endToEndMs / 1000, 1)} s)`);
    console.log(`gateway peak RSS: ${fmt(peakRssMb(gateway) ?? NaN)} MB; gateway CPU ${fmt(gateway.cpuSeconds() ?? NaN, 1)} s (main thread ${fmt(gateway.mainThreadCpuSeconds() ?? NaN, 1)} s), SCR CPU ${fmt(scrChild.cpuSeconds() ?? NaN, 1)} s`);
  } finally {
    await gateway.stop();
    await scrChild.stop();
  }
}
