/**
 * Issue #5, crash: the gateway is a real process, killed with SIGKILL while records are being posted and
 * delivered, then restarted on the same data folder. Every record that got a 202 reaches the SCR, and
 * reaches it once: one Patient per NHS number. A send in flight at the kill may have landed without its
 * outcome being stored, so start-up sends it again (at-least-once delivery); the conditional update makes
 * that a second version of the same Patient, never a second Patient, and only those few in flight can have it.
 *
 * The SCR is the development SCR on loopback in this test process, so it outlives the gateway's kill,
 * behind a proxy that holds each transaction 30 ms, so that sends are surely in flight when the kill comes.
 */
import resident from '../fixtures/records/resident.json';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy';
import { CARE_HOME, OPERATOR } from '../support/gateway';
import { assertGatewayLogsClean, bearerFor, nhsNumbers, spawnGateway, tempDataDir, type GatewayProcess } from '../support/processes';
import { census } from '../support/scr-census';
import fs from 'node:fs';

const CONCURRENCY = 4;
/** Submissions combined into one SCR transaction: a kill can strike CONCURRENCY such transactions in flight. */
const DELIVERY_BATCH_SIZE = 5;
const POSTERS = 4;
const BATCH = 25;
/** Far more residents than can be posted before the kill, so posting is still going on when it comes. */
const PEOPLE = nhsNumbers(20_000, 997_200_000);

let scr: FaultProxy;
const dataDir = tempDataDir();
const runs: GatewayProcess[] = [];

beforeAll(async () => {
  scr = await startFaultProxy();
  scr.delayMs = 30;
});
afterAll(async () => {
  for (const run of runs) await run.kill();
  await scr.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

function residentRecord(i: number): Record<string, unknown> {
  return { ...JSON.parse(JSON.stringify(resident)), recordId: `CRASH-${i}`, nhsNumber: PEOPLE[i] };
}

interface Acknowledged {
  submissionId: string;
  nhsNumber: string;
}

/** Posts batches until the gateway stops answering; keeps what each 202 acknowledged. */
async function poster(url: string, token: string, first: number, acknowledged: Acknowledged[]): Promise<void> {
  for (let start = first; start < PEOPLE.length; start += POSTERS * BATCH) {
    const indexes = Array.from({ length: BATCH }, (_, k) => start + k).filter((i) => i < PEOPLE.length);
    let res: Response;
    try {
      res = await fetch(`${url}/v1/records`, {
        method: 'POST',
        headers: { authorization: token, 'content-type': 'application/json' },
        body: JSON.stringify({ records: indexes.map(residentRecord) }),
      });
    } catch {
      return; // the gateway was killed under this request: no answer, so nothing was promised
    }
    if (res.status !== 202) throw new Error(`POST answered ${res.status}: ${await res.text()}`);
    const body = (await res.json()) as { accepted: { submissionId: string }[] };
    body.accepted.forEach((a, k) => acknowledged.push({ submissionId: a.submissionId, nhsNumber: PEOPLE[indexes[k]] }));
  }
}

async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Submissions the run logged as delivered (one line per transaction, naming its submissions). */
const delivered = (run: GatewayProcess): number =>
  run.lines
    .filter((l) => l.includes('"message":"submission delivered"'))
    .reduce((n, l) => n + (/"submissionIds":\[([^\]]*)\]/.exec(l)?.[1].split(',').length ?? 0), 0);

it('delivers every record that got a 202, once per person, after the gateway is killed mid-ingest and mid-delivery', async () => {
  const env = {
    SCR_BASE_URL: scr.baseUrl,
    DELIVERY_CONCURRENCY: String(CONCURRENCY),
    DELIVERY_BATCH_SIZE: String(DELIVERY_BATCH_SIZE),
    DELIVERY_MAX_ATTEMPTS: '1000',
  };
  const first = await spawnGateway(dataDir, env);
  runs.push(first);
  const provider = await bearerFor(dataDir, CARE_HOME);

  const acknowledged: Acknowledged[] = [];
  const posting = Promise.all(Array.from({ length: POSTERS }, (_, p) => poster(first.url, provider, p * BATCH, acknowledged)));
  // Kill once deliveries are flowing and posts are still coming in.
  await waitUntil(() => acknowledged.length >= 200 && delivered(first) >= 30, 60_000, 'deliveries under way');
  await first.kill();
  await posting;
  const deliveredBeforeKill = delivered(first);
  expect(acknowledged.length).toBeLessThan(PEOPLE.length); // posting was cut off, not finished
  expect(deliveredBeforeKill).toBeLessThan(acknowledged.length); // delivery was cut off too

  const second = await spawnGateway(dataDir, env);
  runs.push(second);
  // Start-up put back what the kill left 'delivering': the kill did strike sends in flight.
  const recovery = second.lines.find((l) => l.includes('"message":"recovered submissions left in progress by a previous run"'));
  const recovered = recovery && /"recovered":(\d+)/.exec(recovery)?.[1];
  expect(Number(recovered)).toBeGreaterThanOrEqual(1);
  const operator = await bearerFor(dataDir, OPERATOR);
  await waitUntil(async () => {
    const res = await fetch(`${second.url}/v1/admin/delivery`, { headers: { authorization: operator } });
    const { counts } = (await res.json()) as { counts: Record<string, number> };
    return counts.queued === 0 && counts.delivering === 0;
  }, 60_000, 'outbox drained after the restart');

  const states = new Map<string, number>();
  for (let i = 0; i < acknowledged.length; i += 10) {
    const answers = await Promise.all(acknowledged.slice(i, i + 10).map(async ({ submissionId }) => {
      const res = await fetch(`${second.url}/v1/submissions/${submissionId}`, { headers: { authorization: provider } });
      return ((await res.json()) as { state: string }).state;
    }));
    for (const state of answers) states.set(state, (states.get(state) ?? 0) + 1);
  }
  expect(Object.fromEntries(states)).toEqual({ delivered: acknowledged.length });
  const found = await census(scr.baseUrl, acknowledged.map((a) => a.nhsNumber));
  expect(found.missing).toEqual([]);
  expect(found.duplicated).toEqual([]);
  // Sent twice only if in flight at the kill: at most one claim's worth, and never more than twice.
  expect(found.rewritten.size).toBeLessThanOrEqual(CONCURRENCY * DELIVERY_BATCH_SIZE);
  expect([...found.rewritten.values()].every((versions) => versions === 2)).toBe(true);

  await second.stop();
  assertGatewayLogsClean(first, second);
}, 120_000);
