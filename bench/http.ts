/**
 * Single-record POST /v1/records over HTTP, on loopback, with autocannon in this process, the gateway (with
 * its delivery worker) in a child process and the development SCR in another (scripts/dev-scr.ts, reached by
 * SCR_BASE_URL, as bench/bulk.ts runs it), so neither the load generator nor the SCR shares the gateway's
 * event loop. Production talks to a separate SCR; under `npm start` the development SCR runs inside the
 * gateway, which made earlier figures charge Medplum's transaction handling to the gateway (sessions 1 and 2).
 * At each concurrency the same records also go through two floors (bench/floor-proxy.ts, a plain Express proxy that
 * only forwards): to a plain Express handler that answers 202 (the floor of Node's HTTP stack), and to the
 * development SCR, each record as its transaction Bundle, mapped before the clock starts (what the same cores
 * give putting the same records straight into the SCR; the gateway's rate against it counts the gateway's drain,
 * as its records are in the SCR only then). Every request is a distinct record from the care-home fixture (every
 * type): residents get a fresh NHS number, every record a fresh recordId, so each is a new row in the outbox.
 *
 * Prints, per concurrency: req/s, p50/p99 latency, errors and non-2xx for gateway and floor, the gateway's
 * throughput as a share of the floor's, CPU ms per request for each child (steadier than wall time on a
 * shared machine; every thread of the process, and the gateway's main thread alone, which answers the
 * requests while its delivery thread runs beside it), how long the outbox took to drain once the load stopped, and the gateway's and the SCR's CPU
 * over load and drain per request (delivery that falls behind the load is paid in the drain).
 * BENCH_HTTP_SECONDS (default 10) per run; BENCH_HTTP_CONNECTIONS (default "1,16,64");
 * BENCH_CPU_PROF=<dir> profiles both children with node --cpu-prof; BENCH_GATEWAY_MAIN=dist/src/main.js runs a build
 * (after `npm run build`) instead of src/main.ts through tsx; BENCH_HTTP_PAUSE_DELIVERY=1 pauses the delivery worker
 * during each load (accepting only), then resumes it, so the drain shows the delivery rate on its own.
 * BENCH_HTTP_ORDER=interleaved sends the fixture one record a person in turn (many care homes posting at once)
 * instead of its own order, each resident's records one after another (one home catching up): one person's
 * submissions are delivered one at a time, so that order is the one the outbox can combine least.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import type { Bundle } from 'fhir/r4';
import type { Caller } from '../src/auth/caller';
import { loadDevSigningKey } from '../src/auth/dev-keys';
import { mintDevToken } from '../src/auth/dev-token';
import { loadConfig } from '../src/config';
import { prepareRecord, type PrepareDeps } from '../src/ingest/accept';
import { createSchemaChecker } from '../src/ingest/schema-check';
import type { ProviderRecord } from '../src/map/map-record';
import { loadMappings } from '../src/map/mapping-registry';
import { loadValidator } from '../src/validate';
import { careHomeRecords, fmt, freePort, loadAverage, nhsNumbers, startChild, tempDir, type Child } from './support';

const CARE_HOME: Caller = { kind: 'provider', clientId: 'rose-court-ehr', odsCode: 'VNX12', scopes: ['system/*.write'] };
const OPERATOR: Caller = { kind: 'operator', userId: 'bench', scopes: [] };

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  total: number;
  errors: number;
  non2xx: number;
  cpuMsPerRequest?: number;
  /** The gateway's main thread alone (the event loop that answers requests). */
  mainCpuMsPerRequest?: number;
  /** The load generator's own (autocannon, in this process), which takes its share of the same cores. */
  loadCpuMsPerRequest: number;
}

/**
 * An endless supply of distinct, valid records: the fixture in order, with fresh ids (and fresh people for
 * residents). Each supply has its own `tag` and range of NHS numbers, so the SCR floor's records are never the gateway's.
 */
function recordSupply(fixture: ProviderRecord[], tag = 'B', firstNhsStem?: number): () => ProviderRecord {
  const records = process.env.BENCH_HTTP_ORDER === 'interleaved' ? interleavedByPerson(fixture) : fixture;
  const fresh = nhsNumbers(firstNhsStem);
  let n = 0;
  return () => {
    const base = records[n % records.length];
    const round = Math.floor(n / records.length);
    n++;
    const record: ProviderRecord = { ...base, recordId: `${base.recordId}-${tag}${round}-${n}` };
    // A new resident is a new person; other records belong to the fixture's residents, posted first.
    if (base.type === 'resident') record.nhsNumber = fresh.next().value as string;
    return record;
  };
}

/** Each person's first record, then each one's second, and so on (records without an NHS number count as one person each). */
function interleavedByPerson(records: ProviderRecord[]): ProviderRecord[] {
  const byPerson = new Map<string, ProviderRecord[]>();
  for (const record of records) {
    const person = record.nhsNumber ?? `record ${record.recordId}`;
    const line = byPerson.get(person);
    if (line) line.push(record);
    else byPerson.set(person, [record]);
  }
  const out: ProviderRecord[] = [];
  for (let round = 0; out.length < records.length; round++) {
    for (const line of byPerson.values()) if (round < line.length) out.push(line[round]);
  }
  return out;
}

/** The most records a second the SCR floor is given bundles for (beyond it they are sent again, and counted). */
const SCR_FLOOR_MAX_RATE = 2500;

/**
 * The SCR floor's requests: `count` records of the supply, each mapped and validated by the gateway's own code
 * into the transaction Bundle the gateway would send (before the clock starts, so the load pays none of it).
 */
async function bundleSupply(deps: PrepareDeps, next: () => ProviderRecord, count: number): Promise<{ body: () => string; reused: () => number }> {
  const bodies: string[] = [];
  while (bodies.length < count) {
    const prepared = await prepareRecord(deps, next(), '');
    if (!prepared.submission) throw new Error(`the SCR floor's record did not map: ${JSON.stringify(prepared.issues)}`);
    bodies.push(JSON.stringify(prepared.submission.bundle satisfies Bundle));
  }
  let n = 0;
  return { body: () => bodies[n++ % bodies.length], reused: () => Math.max(0, n - bodies.length) };
}

/** Where a load goes: its URL and path, and the processes whose CPU it is charged (the first one's main thread too). */
interface Target {
  url: string;
  path: string;
  headers: Record<string, string>;
  body: () => string;
  children: Child[];
}

/** The total, or undefined if any reading is (off Linux). */
const sum = (values: (number | undefined)[]) => (values.includes(undefined) ? undefined : (values as number[]).reduce((a, b) => a + b, 0));

async function load(target: Target, connections: number, seconds: number): Promise<Figures> {
  const { url, path: requestPath, headers, body, children } = target;
  const child = children[0];
  const cpuBefore = sum(children.map((c) => c.cpuSeconds()));
  const mainCpuBefore = child.mainThreadCpuSeconds();
  const loadCpu = process.cpuUsage();
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    pipelining: 1,
    requests: [{ method: 'POST', path: requestPath, headers, setupRequest: (req) => ({ ...req, body: body() }) }],
  });
  const cpuAfter = sum(children.map((c) => c.cpuSeconds()));
  const mainCpuAfter = child.mainThreadCpuSeconds();
  const loadCpuUs = process.cpuUsage(loadCpu);
  const total = result.requests.total;
  return {
    rps: total / (result.duration || seconds),
    p50: result.latency.p50,
    p99: result.latency.p99,
    total,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    cpuMsPerRequest: perRequest(cpuBefore, cpuAfter, total),
    mainCpuMsPerRequest: perRequest(mainCpuBefore, mainCpuAfter, total),
    loadCpuMsPerRequest: total > 0 ? (loadCpuUs.user + loadCpuUs.system) / 1000 / total : 0,
  };
}

/** CPU ms per request between two readings of a child's CPU seconds. */
function perRequest(before: number | undefined, after: number | undefined, requests: number): number | undefined {
  return before !== undefined && after !== undefined && requests > 0 ? ((after - before) * 1000) / requests : undefined;
}

interface DeliveryCounts {
  queued: number;
  delivering: number;
  delivered: number;
  rejected: number;
  failed: number;
}

async function deliveryCounts(url: string, operator: string): Promise<DeliveryCounts> {
  const res = await fetch(`${url}/v1/admin/delivery`, { headers: { authorization: operator } });
  if (!res.ok) throw new Error(`GET /v1/admin/delivery answered ${res.status}`);
  return ((await res.json()) as { counts: DeliveryCounts }).counts;
}

/** Polls until nothing is queued or out for delivery; returns ms taken and the final counts. */
async function drain(url: string, operator: string, timeoutMs = 300_000): Promise<{ ms: number; counts: DeliveryCounts }> {
  const start = Date.now();
  for (;;) {
    const counts = await deliveryCounts(url, operator);
    if (counts.queued + counts.delivering === 0) return { ms: Date.now() - start, counts };
    if (Date.now() - start > timeoutMs) throw new Error(`outbox not drained after ${timeoutMs} ms: ${JSON.stringify(counts)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** prom-client's default eventLoopMonitoringPrecision. */
const EVENT_LOOP_SAMPLE_MS = 10;

/** The gateway's event-loop delay since the last scrape (prom-client resets it at each), and its GC pauses so far. */
/** GC pauses of one kind (minor, major, incremental, weakcb): their total and how many. */
interface GcPauses {
  ms: number;
  count: number;
}

async function loopFigures(url: string): Promise<{ p99Ms: number; maxMs: number; gc: Record<string, GcPauses> }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  const gc: Record<string, GcPauses> = {};
  for (const m of text.matchAll(/^nodejs_gc_duration_seconds_sum\{kind="(\w+)"\} (\S+)$/gm)) {
    gc[m[1]] = { ms: Number(m[2]) * 1000, count: value(`nodejs_gc_duration_seconds_count\\{kind="${m[1]}"\\}`) };
  }
  // prom-client samples the loop with a 10 ms timer and reports the whole interval (an idle loop shows ~10 ms): the delay is the rest.
  const delayMs = (name: string) => Math.max(0, value(name) * 1000 - EVENT_LOOP_SAMPLE_MS);
  return { p99Ms: delayMs('nodejs_eventloop_lag_p99_seconds'), maxMs: delayMs('nodejs_eventloop_lag_max_seconds'), gc };
}

/** GC pause per request by kind between two scrapes, and the mean pause. */
function gcPerRequest(before: Record<string, GcPauses>, after: Record<string, GcPauses>, requests: number): Record<string, { msPerRequest: number; meanMs: number }> {
  return Object.fromEntries(
    Object.entries(after).map(([kind, { ms, count }]) => {
      const [dMs, dCount] = [ms - (before[kind]?.ms ?? 0), count - (before[kind]?.count ?? 0)];
      return [kind, { msPerRequest: dMs / requests, meanMs: dMs / dCount }];
    }),
  );
}

async function admin(gateway: { url: string; operator: string }, action: 'pause' | 'resume'): Promise<void> {
  const res = await fetch(`${gateway.url}/v1/admin/delivery/${action}`, { method: 'POST', headers: { authorization: gateway.operator } });
  if (!res.ok) throw new Error(`POST /v1/admin/delivery/${action} answered ${res.status}`);
}

async function startGatewayChild(dir: string, scrBaseUrl: string): Promise<{ child: Child; url: string; provider: string; operator: string }> {
  const port = await freePort();
  const env = {
    PORT: String(port),
    SCR_BASE_URL: scrBaseUrl,
    DATA_DIR: path.join(dir, 'gateway'),
    LOG_LEVEL: 'info',
    RATE_LIMIT_PER_MINUTE: '1000000',
  };
  const url = `http://127.0.0.1:${port}`;
  const child = await startChild(process.env.BENCH_GATEWAY_MAIN ?? 'src/main.ts', env, `${url}/health`, path.join(dir, 'gateway.log'));
  const config = loadConfig(env);
  const key = await loadDevSigningKey(config.auth.devKeyDir);
  if (!key) throw new Error('the gateway made no development key');
  const mint = async (caller: Caller) =>
    `Bearer ${await mintDevToken(key, caller, { issuer: config.auth.issuer, audience: config.auth.audience, ttlSeconds: 3600 })}`;
  return { child, url, provider: await mint(CARE_HOME), operator: await mint(OPERATOR) };
}

export async function benchHttp(): Promise<void> {
  const seconds = Number(process.env.BENCH_HTTP_SECONDS ?? 10);
  const levels = (process.env.BENCH_HTTP_CONNECTIONS ?? '1,16,64').split(',').map(Number);
  const pause = process.env.BENCH_HTTP_PAUSE_DELIVERY === '1';
  const records = careHomeRecords();
  const dir = tempDir('crg-bench-http-');
  console.log(`\n== http: single-record POST /v1/records, ${seconds}s per run, gateway and floor each in a child process${pause ? ', delivery paused during load' : ''}`);
  console.log(`   load average before: ${loadAverage()}  (logs in ${dir})`);

  const scrPort = await freePort();
  const scr = await startChild('scripts/dev-scr.ts', { DEV_SCR_PORT: String(scrPort), LOG_LEVEL: 'warn' }, `http://127.0.0.1:${scrPort}/fhir/metadata`, path.join(dir, 'scr.log'));
  const gateway = await startGatewayChild(dir, `http://127.0.0.1:${scrPort}/fhir`);
  const [proxyPort, upstreamPort, scrProxyPort] = [await freePort(), await freePort(), await freePort()];
  const proxyUrl = `http://127.0.0.1:${proxyPort}`;
  const floor = await startChild('bench/floor-proxy.ts', { PROXY_PORT: String(proxyPort), UPSTREAM_PORT: String(upstreamPort), STUB_UPSTREAM: '1' }, `${proxyUrl}/health`, path.join(dir, 'floor.log'));
  const scrProxyUrl = `http://127.0.0.1:${scrProxyPort}`;
  const scrFloor = await startChild('bench/floor-proxy.ts', { PROXY_PORT: String(scrProxyPort), UPSTREAM_PORT: String(scrPort) }, `${scrProxyUrl}/health`, path.join(dir, 'scr-floor.log'));
  try {
    const headers = { 'content-type': 'application/json', authorization: gateway.provider };
    // The fixture's residents first, so every other record names a person the SCR knows.
    for (const resident of records.filter((r) => r.type === 'resident')) {
      const res = await fetch(`${gateway.url}/v1/records`, { method: 'POST', headers, body: JSON.stringify(resident) });
      if (res.status !== 202) throw new Error(`seeding resident ${resident.recordId}: ${res.status} ${await res.text()}`);
    }
    const next = recordSupply(records);
    const body = () => JSON.stringify(next());
    const gatewayTarget: Target = { url: gateway.url, path: '/v1/records', headers, body, children: [gateway.child] };
    const stubTarget: Target = { url: proxyUrl, path: '/v1/records', headers, body, children: [floor] };
    // The SCR floor: the same records in the form the SCR takes, sent as the gateway's SCR client sends them.
    const mappings = loadMappings();
    const prepareDeps: PrepareDeps = { mappings, schemas: createSchemaChecker(mappings), validator: loadValidator() };
    const scrHeaders = { 'content-type': 'application/fhir+json', accept: 'application/fhir+json', prefer: 'return=minimal' };
    const nextForScr = recordSupply(records, 'F', 997_000_000);
    const scrTarget = async (count: number): Promise<Target & { reused: () => number }> => {
      const supply = await bundleSupply(prepareDeps, nextForScr, count);
      return { url: scrProxyUrl, path: '/fhir', headers: scrHeaders, body: supply.body, reused: supply.reused, children: [scrFloor, scr] };
    };
    // Warm all three (JIT, SQLite page cache), then let the gateway's outbox drain.
    await load(gatewayTarget, 16, 3);
    await load(stubTarget, 16, 3);
    await load(await scrTarget(1000), 16, 3);
    await drain(gateway.url, gateway.operator);

    const rows: { c: number; gw: Figures; fl: Figures; viaScr: Figures & { reused: number }; drainMs: number; delivered: number; dead: number; scrCpuMs?: number; withDrainCpuMs?: number; load: string; loop: { p99Ms: number; maxMs: number; gc: ReturnType<typeof gcPerRequest> } }[] = [];
    for (const c of levels) {
      const before = await deliveryCounts(gateway.url, gateway.operator);
      const scrCpuBefore = scr.cpuSeconds();
      const gwCpuBefore = gateway.child.cpuSeconds();
      if (pause) await admin(gateway, 'pause');
      const loopBefore = await loopFigures(gateway.url);
      const gw = await load(gatewayTarget, c, seconds);
      const loopAfter = await loopFigures(gateway.url);
      if (pause) await admin(gateway, 'resume');
      const drained = await drain(gateway.url, gateway.operator);
      const scrCpuAfter = scr.cpuSeconds();
      const gwCpuAfter = gateway.child.cpuSeconds();
      const fl = await load(stubTarget, c, seconds);
      const toScr = await scrTarget(seconds * SCR_FLOOR_MAX_RATE);
      const viaScr = { ...(await load(toScr, c, seconds)), reused: toScr.reused() };
      rows.push({
        c,
        gw,
        fl,
        viaScr,
        drainMs: drained.ms,
        delivered: drained.counts.delivered - before.delivered,
        dead: drained.counts.rejected + drained.counts.failed - before.rejected - before.failed,
        // Load and drain: every accepted request's delivery, charged to the requests that caused it (delivery
        // that lags the load lands in the drain, which the load-only figure leaves out).
        scrCpuMs: perRequest(scrCpuBefore, scrCpuAfter, gw.total),
        withDrainCpuMs: perRequest(gwCpuBefore, gwCpuAfter, gw.total),
        load: loadAverage().split(' ')[0],
        loop: { p99Ms: loopAfter.p99Ms, maxMs: loopAfter.maxMs, gc: gcPerRequest(loopBefore.gc, loopAfter.gc, gw.total) },
      });
    }

    const ms = (n: number) => `${fmt(n)} ms`.padStart(7);
    console.log('   c | gateway  req/s    p50     p99  err non2xx CPU ms/req |  floor  req/s    p50     p99  err CPU ms/req | ratio | drain after load   | gateway CPU ms/req with drain | SCR CPU ms/req | load | main thread CPU ms/req');
    for (const { c, gw, fl, drainMs, delivered, dead, scrCpuMs, withDrainCpuMs, load: la } of rows) {
      const opt = (n: number | undefined, width: number) => (n === undefined ? '?' : fmt(n, 2)).padStart(width);
      const cpu = (f: Figures) => opt(f.cpuMsPerRequest, 10);
      console.log(
        `${String(c).padStart(4)} | ${fmt(gw.rps).padStart(12)} ${ms(gw.p50)} ${ms(gw.p99)} ${String(gw.errors).padStart(4)} ${String(gw.non2xx).padStart(6)} ${cpu(gw)} |` +
          ` ${fmt(fl.rps).padStart(12)} ${ms(fl.p50)} ${ms(fl.p99)} ${String(fl.errors + fl.non2xx).padStart(4)} ${cpu(fl)} |` +
          ` ${`${fmt((100 * gw.rps) / fl.rps)}%`.padStart(5)} | ${`${fmt(drainMs)} ms, ${fmt(delivered)} sent${dead ? `, ${dead} dead` : ''}`.padEnd(18)} | ${opt(withDrainCpuMs, 29)} | ${opt(scrCpuMs, 14)} | ${la} | ${opt(gw.mainCpuMsPerRequest, 22)}`,
      );
    }
    const at16 = rows.find((r) => r.c === 16);
    const best = rows.reduce((a, r) => (r.gw.rps > a.gw.rps ? r : a), rows[0]);
    // The floors' p99 beside the gateway's: what a plain proxy reaches on the same shared cores, with the SCR
    // behind it and without (bench/PERFORMANCE.md, session 11).
    if (at16) {
      console.log(
        `   p99 at c=16: gateway ${fmt(at16.gw.p99)} ms; floor via the SCR ${fmt(at16.viaScr.p99)} ms, stub floor ${fmt(at16.fl.p99)} ms (target < 50 ms)`,
      );
    }
    // Every process of the run shares these cores: what all of them spend per request bounds the rate. The SCR
    // does the same work per request whichever gateway build feeds it, so gateway / SCR compares builds across
    // the machine's drift in speed (bench/PERFORMANCE.md, session 9).
    const cores = os.availableParallelism();
    for (const { c, gw, scrCpuMs, withDrainCpuMs } of rows) {
      if (scrCpuMs === undefined || withDrainCpuMs === undefined) continue;
      const all = withDrainCpuMs + scrCpuMs + gw.loadCpuMsPerRequest;
      console.log(
        `   c=${c}: CPU per request, gateway ${fmt(withDrainCpuMs, 2)} + SCR ${fmt(scrCpuMs, 2)} + load generator ${fmt(gw.loadCpuMsPerRequest, 2)} = ${fmt(all, 2)} ms: ` +
          `at most ${fmt((1000 * cores) / all)} req/s on ${cores} cores; gateway / SCR ${fmt(withDrainCpuMs / scrCpuMs, 2)}`,
      );
    }
    // A request waits for whatever holds the main thread: GC pauses, synchronous SQLite, a long callback.
    for (const { c, loop } of rows) {
      console.log(
        `   c=${c}: gateway main thread during load: event-loop delay p99 ${fmt(loop.p99Ms, 1)} ms, max ${fmt(loop.maxMs, 1)} ms; GC pauses a request, ms: ` +
          Object.entries(loop.gc)
            .map(([kind, { msPerRequest, meanMs }]) => `${kind} ${fmt(msPerRequest, 3)} (${fmt(meanMs, 1)} ms each)`)
            .join(', '),
      );
    }
    if (best) {
      const floorBest = Math.max(...rows.map((r) => r.fl.rps));
      console.log(`   peak throughput: gateway ${fmt(best.gw.rps)} req/s, floor ${fmt(floorBest)} req/s = ${fmt((100 * best.gw.rps) / floorBest)}% (target >= 50%)`);
    }
    // The same records straight into the SCR through a plain proxy, against the gateway's records reaching the
    // SCR (its accepted records over the load and the drain that delivered them).
    console.log('   floor via the SCR: each record\'s transaction Bundle through a plain proxy into the development SCR');
    console.log('   c | floor via SCR  req/s    p50     p99  err non2xx proxy+SCR CPU ms/req | gateway into the SCR, req/s | ratio');
    for (const { c, gw, viaScr, drainMs } of rows) {
      const endToEnd = gw.total / (seconds + drainMs / 1000);
      const reused = viaScr.reused > 0 ? ` (${fmt(viaScr.reused)} bundles sent twice: raise SCR_FLOOR_MAX_RATE)` : '';
      console.log(
        `${String(c).padStart(4)} | ${fmt(viaScr.rps).padStart(19)} ${ms(viaScr.p50)} ${ms(viaScr.p99)} ${String(viaScr.errors).padStart(4)} ${String(viaScr.non2xx).padStart(6)} ${(viaScr.cpuMsPerRequest === undefined ? '?' : fmt(viaScr.cpuMsPerRequest, 2)).padStart(20)} |` +
          ` ${fmt(endToEnd).padStart(27)} | ${`${fmt((100 * endToEnd) / viaScr.rps)}%`.padStart(5)}${reused}`,
      );
    }
    const bestViaScr = rows.reduce((a, r) => (r.viaScr.rps > a.viaScr.rps ? r : a), rows[0]);
    const bestEndToEnd = Math.max(...rows.map((r) => r.gw.total / (seconds + r.drainMs / 1000)));
    if (bestViaScr) {
      console.log(`   peak into the SCR: gateway ${fmt(bestEndToEnd)} req/s, floor via the SCR ${fmt(bestViaScr.viaScr.rps)} req/s = ${fmt((100 * bestEndToEnd) / bestViaScr.viaScr.rps)}% (target >= 50%)`);
    }
    console.log('   "sent" counts outbox submissions delivered to the dev SCR during the run and drain: records and their audit events.');
    console.log(`   load average after: ${loadAverage()}`);
  } finally {
    await gateway.child.stop();
    await floor.stop();
    await scrFloor.stop();
    await scr.stop();
    if (!process.env.BENCH_CPU_PROF) fs.rmSync(dir, { recursive: true, force: true });
  }
}
