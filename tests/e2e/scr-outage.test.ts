/**
 * Issue #5, SCR outage: the SCR is a real process (scripts/dev-scr.ts) that is stopped while 1,000 records
 * are posted, then started again on the same port; the gateway (also a real process) retries through the
 * outage and every record ends up in the SCR exactly once: one Patient per NHS number, written once.
 *
 * The development SCR keeps its data in memory, so it is stopped before any record is delivered: what the
 * restarted SCR holds is then exactly what the gateway delivered after the outage.
 */
import fs from 'node:fs';
import resident from '../fixtures/records/resident.json';
import { freePort } from '../forward/loopback-scr';
import { CARE_HOME, OPERATOR } from '../support/gateway';
import {
  assertGatewayLogsClean, bearerFor, nhsNumbers, spawnDevScr, spawnGateway, tempDataDir,
  type ChildProcessHandle, type GatewayProcess,
} from '../support/processes';
import { census } from '../support/scr-census';

const RECORDS = 1000;
const PEOPLE = nhsNumbers(RECORDS, 997_400_000);
const dataDir = tempDataDir();
const running: ChildProcessHandle[] = [];
let gateway: GatewayProcess;

afterAll(async () => {
  for (const child of running) await child.kill();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function counts(operator: string): Promise<Record<string, number>> {
  const res = await fetch(`${gateway.url}/v1/admin/delivery`, { headers: { authorization: operator } });
  return ((await res.json()) as { counts: Record<string, number> }).counts;
}

async function waitUntil(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

it('delivers all of 1,000 records posted while the SCR process is stopped, each exactly once, when it starts again', async () => {
  const port = await freePort();
  const firstScr = await spawnDevScr(port);
  running.push(firstScr);
  gateway = await spawnGateway(dataDir, {
    SCR_BASE_URL: firstScr.baseUrl,
    DELIVERY_MAX_ATTEMPTS: '1000',
    DELIVERY_BACKOFF_MAX_MS: '500',
    DELIVERY_BREAKER_COOLDOWN_MS: '200',
  });
  running.push(gateway);
  const provider = await bearerFor(dataDir, CARE_HOME);
  const operator = await bearerFor(dataDir, OPERATOR);

  await firstScr.stop();
  const records = PEOPLE.map((nhsNumber, i) => ({ ...JSON.parse(JSON.stringify(resident)), recordId: `OUTAGE-${i}`, nhsNumber }));
  const res = await fetch(`${gateway.url}/v1/records`, {
    method: 'POST',
    headers: { authorization: provider, 'content-type': 'application/json' },
    body: JSON.stringify({ records }),
  });
  expect(res.status).toBe(202);
  expect(((await res.json()) as { accepted: unknown[] }).accepted).toHaveLength(RECORDS);

  // The gateway is trying and failing: attempts counted, nothing delivered, nothing given up on.
  await waitUntil(async () => gateway.lines.some((l) => l.includes('circuit breaker open')), 30_000, 'the breaker opens');
  const during = await counts(operator);
  expect(during.delivered ?? 0).toBe(0);
  expect((during.failed ?? 0) + (during.rejected ?? 0)).toBe(0);

  const secondScr = await spawnDevScr(port);
  running.push(secondScr);
  await waitUntil(async () => {
    const now = await counts(operator);
    return now.queued === 0 && now.delivering === 0;
  }, 90_000, 'every submission delivered after the SCR is back');
  const after = await counts(operator);
  expect((after.failed ?? 0) + (after.rejected ?? 0)).toBe(0);

  const found = await census(secondScr.baseUrl, PEOPLE);
  expect(found.missing).toEqual([]);
  expect(found.duplicated).toEqual([]);
  expect([...found.rewritten.keys()]).toEqual([]);

  await gateway.stop();
  await secondScr.stop();
  assertGatewayLogsClean(gateway);
}, 180_000);
