/**
 * Issue #5, done when: two gateway replicas on one PostgreSQL database deliver 1,000 records with none lost
 * or duplicated. Two real gateways (in this process, each with its own HTTP server, worker and data folder)
 * share one throwaway PostgreSQL schema and one development SCR, behind a proxy that records every
 * transaction, so order and exclusion are checked where they matter: at the SCR.
 */
import request from 'supertest';
import { assertContract } from '../support/contract';
import resident from '../fixtures/records/resident.json';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { throwawaySchema, type ThrowawaySchema } from '../support/postgres';
import { startRecordingScr, type RecordingScr } from '../support/recording-scr';

const PATIENTS = 200;
const VERSIONS = 5;
const BATCH = 25;

let schema: ThrowawaySchema;
let scr: RecordingScr;
let replicas: TestGateway[] = [];

beforeAll(async () => {
  schema = await throwawaySchema();
  scr = await startRecordingScr();
  // Small combined transactions, so each replica also has several in flight at once.
  const env = { SCR_BASE_URL: scr.baseUrl, DATABASE_URL: schema.url, DELIVERY_CONCURRENCY: '8', DELIVERY_BATCH_SIZE: '5', RATE_LIMIT_PER_MINUTE: '100000' };
  // Started together, as replicas behind a load balancer are: the schema is created once between them.
  replicas = await Promise.all([startTestGateway(env), startTestGateway(env)]);
}, 60_000);

afterAll(async () => {
  for (const gw of replicas) await gw.stop();
  await scr?.close();
  await schema?.drop();
});

/** The i-th valid NHS number (Modulus 11) in the 999 test range, from a base so test cases do not share patients. */
function nhsNumber(base: number, i: number): string {
  for (let n = base + i * 2; ; n++) {
    const nine = `999${String(n).padStart(6, '0')}`;
    const check = 11 - ([...nine].reduce((s, d, k) => s + Number(d) * (10 - k), 0) % 11);
    if (check !== 10) return `${nine}${check === 11 ? 0 : check}`;
  }
}

/** Version `version` of resident `i`: its address line says which version it is. */
function record(nhs: string, recordId: string, version: number) {
  const r = JSON.parse(JSON.stringify(resident)) as typeof resident;
  return { ...r, recordId, version, nhsNumber: nhs, data: { ...r.data, address: { ...r.data.address, lines: [`Room ${version}`] } } };
}

/** Post each round of versions across both replicas (a patient's versions alternate between them), round after round. */
async function postRounds(patients: string[], versions: number, prefix: string): Promise<void> {
  for (let version = 1; version <= versions; version++) {
    const batches: Promise<void>[] = [];
    for (let start = 0; start < patients.length; start += BATCH) {
      const gw = replicas[(start / BATCH + version) % 2];
      const records = patients.slice(start, start + BATCH).map((nhs) => record(nhs, `${prefix}-${nhs}`, version));
      batches.push(
        request(gw.url)
          .post('/v1/records')
          .set('Authorization', gw.as.provider)
          .send({ records })
          .then((res) => {
            expect(res.status).toBe(202);
          }),
      );
    }
    // A version is posted only once the one before it was answered 202: that defines the order to keep.
    await Promise.all(batches);
  }
}

/** Wait until nothing is queued or out for delivery, as either replica's admin API reports it. */
async function drained(timeoutMs: number): Promise<Record<string, number>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const gw = replicas[Date.now() % 2];
    const res = await request(gw.url).get('/v1/admin/delivery').set('Authorization', gw.as.operator);
    const counts = res.body.counts as Record<string, number>;
    if (counts.queued === 0 && counts.delivering === 0) return counts;
    if (Date.now() > until) throw new Error(`outbox not drained within ${timeoutMs} ms: ${JSON.stringify(counts)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('two gateway replicas on one PostgreSQL outbox', () => {
  it('deliver 1,000 records posted across both, each exactly once, each patient\'s versions in order', async () => {
    const patients = Array.from({ length: PATIENTS }, (_, i) => nhsNumber(100_000, i));
    await postRounds(patients, VERSIONS, 'RES-2R');
    const counts = await drained(240_000);
    expect(counts.rejected + counts.failed).toBe(0);

    // The outbox: 1,000 record submissions, all delivered, each record version once, by both replicas.
    const [outbox] = await schema.query<{ n: number; records: number; delivered: number; replicas: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT records)::int AS records,
              count(*) FILTER (WHERE state = 'delivered')::int AS delivered, count(DISTINCT claimed_by)::int AS replicas
       FROM submissions WHERE provider_ods = 'VNX12'`,
    );
    expect(outbox).toEqual({ n: 1000, records: 1000, delivered: 1000, replicas: 2 });

    // The SCR's side: every record version arrived exactly once, and each patient's in the order posted.
    const mine = scr.deliveries.filter((d) => patients.includes(d.nhsNumber));
    expect(mine.every((d) => d.status === 200)).toBe(true);
    expect(mine).toHaveLength(1000);
    expect(new Set(mine.map((d) => d.provenanceId)).size).toBe(1000);
    const order = new Map<string, string[]>();
    for (const d of mine) order.set(d.nhsNumber, [...(order.get(d.nhsNumber) ?? []), d.marker]);
    const expected = Array.from({ length: VERSIONS }, (_, v) => `Room ${v + 1}`);
    expect([...order.values()].filter((markers) => markers.join() !== expected.join())).toEqual([]);
    expect(scr.maxInFlightPerPatient).toBe(1);

    // The shared record itself: one Patient per NHS number, holding the latest version.
    const found = await fetch(`${scr.baseUrl}/Patient?_count=1000&address=Room`).then((r) => r.json() as Promise<{ entry?: { resource: { identifier: { value: string }[]; address: { line: string[] }[] } }[] }>);
    const ours = (found.entry ?? []).filter((e) => patients.includes(e.resource.identifier[0].value));
    expect(ours).toHaveLength(PATIENTS);
    expect(new Set(ours.map((e) => e.resource.identifier[0].value)).size).toBe(PATIENTS);
    expect(ours.filter((e) => e.resource.address[0].line[0] !== `Room ${VERSIONS}`)).toEqual([]);
  }, 300_000);

  it('never has two transactions for one patient in flight at once, though the replicas send many patients in parallel', async () => {
    scr.reset();
    scr.holdMs = 30; // every send takes a while, so a second claim of a key would overlap the first
    try {
      const patients = Array.from({ length: 40 }, (_, i) => nhsNumber(300_000, i));
      await postRounds(patients, 6, 'RES-2X');
      await drained(120_000);
      const mine = scr.deliveries.filter((d) => patients.includes(d.nhsNumber));
      expect(mine).toHaveLength(240);
      expect(scr.maxInFlight).toBeGreaterThan(4); // both replicas were sending at once
      expect(scr.maxInFlightPerPatient).toBe(1);
    } finally {
      scr.holdMs = 0;
    }
  }, 180_000);

  it('shares record versions and Idempotency-Keys: a stale version or a retried POST on the other replica is answered as on the first', async () => {
    const [a, b] = replicas;
    const nhs = nhsNumber(600_000, 0);
    expect((await request(a.url).post('/v1/records').set('Authorization', a.as.provider).send(record(nhs, 'RES-2S', 3))).status).toBe(202);
    const stale = await request(b.url).post('/v1/records').set('Authorization', b.as.provider).send(record(nhs, 'RES-2S', 2));
    expect(stale.status).toBe(409);
    assertContract(stale);

    const body = record(nhs, 'RES-2S', 4);
    const first = await request(a.url).post('/v1/records').set('Authorization', a.as.provider).set('Idempotency-Key', 'two-replicas-1').send(body);
    const retried = await request(b.url).post('/v1/records').set('Authorization', b.as.provider).set('Idempotency-Key', 'two-replicas-1').send(body);
    expect(first.status).toBe(202);
    expect(retried.status).toBe(202);
    assertContract(retried);
    expect(retried.headers['idempotent-replayed']).toBe('true');
    expect(retried.body).toEqual(first.body);
  });

  it('pauses delivery on every replica when an operator pauses one, and resumes it from the other', async () => {
    const [a, b] = replicas;
    const pause = await request(a.url).post('/v1/admin/delivery/pause').set('Authorization', a.as.operator);
    assertContract(pause);
    try {
      const posted = await request(b.url).post('/v1/records').set('Authorization', b.as.provider).send(record(nhsNumber(500_000, 0), 'RES-2P', 1));
      expect(posted.status).toBe(202);
      const id = posted.body.accepted[0].submissionId as string;
      await new Promise((r) => setTimeout(r, 500)); // many polls of both workers
      expect((await request(b.url).get(`/v1/submissions/${id}`).set('Authorization', b.as.provider)).body.state).toBe('queued');
      const state = await request(b.url).get('/v1/admin/delivery').set('Authorization', b.as.operator);
      assertContract(state);
      expect(state.body.paused).toBe(true);

      const resume = await request(b.url).post('/v1/admin/delivery/resume').set('Authorization', b.as.operator);
      assertContract(resume);
      const until = Date.now() + 30_000;
      let delivered = '';
      while (delivered !== 'delivered' && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 50));
        delivered = (await request(a.url).get(`/v1/submissions/${id}`).set('Authorization', a.as.provider)).body.state;
      }
      expect(delivered).toBe('delivered');
    } finally {
      await request(b.url).post('/v1/admin/delivery/resume').set('Authorization', b.as.operator);
    }
  }, 60_000);
});
