/**
 * The Outbox contract, run against both stores: the embedded SQLite file and PostgreSQL (a throwaway schema).
 * Store-specific behaviour (SQLite's WAL and file size; PostgreSQL's leases and concurrent replicas) is
 * tested in sqlite-outbox.test.ts and postgres-outbox.test.ts.
 */
import type { OperationOutcome } from 'fhir/r4';
import { issue, outcome } from '../../src/fhir/operation-outcome';
import { IdempotencyKeyTaken, OutboxStateError, StaleRecordError, type NewSubmission, type Outbox } from '../../src/outbox/outbox';
import { STORES, type OpenedStore } from './stores';
import { submission } from './submissions';

const PATIENT_A = '9434765919';
const PATIENT_B = '9434765870';
const refused: OperationOutcome = outcome([issue('error', 'invalid', 'Patient.birthDate is in the future', 'Patient.birthDate')]);
const ids = (claimed: { id: string }[]): string[] => claimed.map((c) => c.id);
const versioned = (nhs: string, version: number, record = 'VM123/resident/R-1') => ({ ...submission(nhs), version: { record, version } });

describe.each(STORES)('the $name outbox', (kind) => {
  let store: OpenedStore;
  let outbox: Outbox;

  beforeEach(async () => {
    ({ outbox, ...store } = await kind.open());
  });

  afterEach(async () => {
    await store.remove();
  });

  it('returns ids in acceptance order and shows each submission as queued', async () => {
    const [first, second] = await outbox.enqueue([submission(PATIENT_A, 'resident:R-1@1'), submission(PATIENT_B, 'resident:R-2@1')]);
    const status = await outbox.get(first);
    expect(status).toMatchObject({ id: first, state: 'queued', providerOds: 'VM123', records: ['resident:R-1@1'], attempts: 0 });
    expect((await outbox.get(second))?.records).toEqual(['resident:R-2@1']);
  });

  it('commits every submission of a batch or none of them', async () => {
    const broken = { ...submission(PATIENT_B), orderingKey: null } as unknown as NewSubmission;
    // The message, not toThrow: better-sqlite3's error class comes from the first test file that loaded it,
    // another realm under jest --runInBand, so toThrow does not recognise it as an Error.
    await expect(outbox.enqueue([submission(PATIENT_A), broken])).rejects.toMatchObject({ message: expect.stringMatching(/not[- ]null/i) });
    expect((await outbox.counts()).queued).toBe(0);
  });

  it('keeps committed submissions for another instance opened on the same store', async () => {
    const [id] = await outbox.enqueue([submission(PATIENT_A)]);
    await outbox.close();
    const [claimed] = await (await store.another()).claim(10);
    expect(claimed.id).toBe(id);
    expect(claimed.bundle.entry?.[0].request?.url).toContain(PATIENT_A);
  });

  it('claims the earliest submission for a key and holds later ones back while it is queued or delivering', async () => {
    const [a1, a2, a3] = await outbox.enqueue([submission(PATIENT_A), submission(PATIENT_A), submission(PATIENT_A)]);
    const [b1] = await outbox.enqueue([submission(PATIENT_B)]);
    expect(ids(await outbox.claim(10))).toEqual([a1, b1]);
    expect(await outbox.claim(10)).toEqual([]);

    await outbox.markRetry(a1, refused, new Date(Date.now() - 1));
    expect(ids(await outbox.claim(10))).toEqual([a1]);
    await outbox.markDelivered(a1, undefined);
    expect(ids(await outbox.claim(10))).toEqual([a2]);
    expect(a3).toBeDefined();
  });

  it("says of each claimed submission whether its key's next one is already waiting", async () => {
    const [a1, a2] = await outbox.enqueue([submission(PATIENT_A), submission(PATIENT_A)]);
    const [b1] = await outbox.enqueue([submission(PATIENT_B)]);
    const first = await outbox.claim(10);
    expect(first.map((c) => [c.id, c.more])).toEqual([[a1, true], [b1, false]]);
    await outbox.markDelivered(a1, undefined);
    expect((await outbox.claim(10)).map((c) => [c.id, c.more])).toEqual([[a2, false]]);
  });

  it('claims within a budget of bundle bytes, earliest first; one past it only when asked for at least one', async () => {
    const padding = 'x'.repeat(10_000);
    const people = ['9000000009', '9000000017', '9000000025', '9000000033'];
    const queued = await outbox.enqueue(people.map((nhs, i) => submission(nhs, `resident:R-${i}@1`, padding)));
    const size = JSON.stringify(submission(people[0], 'resident:R-0@1', padding).bundle).length;
    // Room for two and most of a third: two are claimed, and the rest wait for the next claim.
    expect(ids(await outbox.claim(10, { maxBytes: 2.9 * size }))).toEqual(queued.slice(0, 2));
    // Room for less than one: none, unless at least one is asked for (a large record must still go).
    expect(await outbox.claim(10, { maxBytes: size - 1 })).toEqual([]);
    expect(ids(await outbox.claim(10, { maxBytes: size - 1, atLeastOne: true }))).toEqual([queued[2]]);
    expect(ids(await outbox.claim(10, { maxBytes: 100 * size }))).toEqual([queued[3]]);
  });

  it('says how large each claimed submission is: the length of its bundle as JSON', async () => {
    const small = submission(PATIENT_A);
    const large = submission(PATIENT_B, 'resident:R-1001@1', 'x'.repeat(10_000));
    await outbox.enqueue([small, large]);
    const claimed = await outbox.claim(10);
    expect(claimed.map((c) => c.bytes)).toEqual([JSON.stringify(small.bundle).length, JSON.stringify(large.bundle).length]);
  });

  it('marks the submissions of one combined transaction delivered together, naming any it no longer holds', async () => {
    const [a, b, c] = await outbox.enqueue([submission(PATIENT_A), submission(PATIENT_B), submission('9000000009')]);
    expect(ids(await outbox.claim(10))).toEqual([a, b, c]);
    await outbox.markAllDelivered([
      { id: a, response: { resourceType: 'Bundle', type: 'transaction-response' } },
      { id: b, response: undefined },
    ]);
    expect((await outbox.get(a))?.state).toBe('delivered');
    expect(await outbox.get(b)).toMatchObject({ state: 'delivered', attempts: 1 });
    // a is delivered already, so not held: c is still marked, and a is named in the error.
    const marking = outbox.markAllDelivered([{ id: a, response: undefined }, { id: c, response: undefined }]);
    await expect(marking).rejects.toThrow(OutboxStateError);
    await expect(marking).rejects.toThrow(a);
    expect(await outbox.get(c)).toMatchObject({ state: 'delivered', attempts: 1 });
    expect(await outbox.get(a)).toMatchObject({ state: 'delivered', attempts: 1 });
  });

  it('holds a key back while its earliest submission waits for a retry that is not yet due', async () => {
    const [a1] = await outbox.enqueue([submission(PATIENT_A), submission(PATIENT_A)]);
    await outbox.claim(10);
    await outbox.markRetry(a1, refused, new Date(Date.now() + 60_000));
    expect(await outbox.claim(10)).toEqual([]);
    expect(ids(await outbox.claim(10, { now: new Date(Date.now() + 61_000) }))).toEqual([a1]);
  });

  it('releases the next submission for a key once the earlier one is dead-lettered', async () => {
    const [a1, a2] = await outbox.enqueue([submission(PATIENT_A), submission(PATIENT_A)]);
    await outbox.claim(10);
    await outbox.markDead(a1, 'rejected', refused);
    expect(ids(await outbox.claim(10))).toEqual([a2]);
  });

  it('holds a replayed dead letter back while a later submission for its key is being delivered', async () => {
    const [a1, a2] = await outbox.enqueue([submission(PATIENT_A), submission(PATIENT_A)]);
    await outbox.claim(10);
    await outbox.markDead(a1, 'rejected', refused);
    expect(ids(await outbox.claim(10))).toEqual([a2]);
    await outbox.replay(a1);
    expect(await outbox.claim(10)).toEqual([]);
    await outbox.markDelivered(a2, undefined);
    expect(ids(await outbox.claim(10))).toEqual([a1]);
  });

  it('never hands the same submission to two instances claiming from one store', async () => {
    const keys = Array.from({ length: 40 }, (_, i) => String(9000000000 + i));
    await outbox.enqueue(keys.map((k) => submission(k)));
    const other = await store.another();
    const seen: string[] = [];
    for (let round = 0; round < 10; round++) {
      seen.push(...ids(await outbox.claim(3)), ...ids(await other.claim(3)));
    }
    expect(seen).toHaveLength(40);
    expect(new Set(seen).size).toBe(40);
  });

  it('puts a submission left delivering by a crash back to queued on recovery', async () => {
    const [id] = await outbox.enqueue([submission(PATIENT_A)]);
    await outbox.claim(10);
    await outbox.close(); // the process dies mid-send: no mark is ever written
    const restarted = await store.another();
    expect((await restarted.get(id))?.state).toBe('delivering');
    await new Promise((resolve) => setTimeout(resolve, kind.crashedClaimMs));
    expect(await restarted.recover()).toBe(1);
    expect((await restarted.get(id))?.state).toBe('queued');
    expect(ids(await restarted.claim(10))).toEqual([id]);
  });

  it('counts an attempt with each outcome and keeps the SCR answer of a dead letter', async () => {
    const [id] = await outbox.enqueue([submission(PATIENT_A)]);
    await outbox.claim(1);
    await outbox.markRetry(id, outcome([issue('error', 'transient', 'SCR answered 503')]), new Date(0));
    await outbox.claim(1);
    await outbox.markDead(id, 'rejected', refused);
    expect(await outbox.get(id)).toMatchObject({ state: 'rejected', attempts: 2, lastError: refused });
  });

  it('lists dead letters newest first', async () => {
    const [older, newer, fine] = await outbox.enqueue([submission(PATIENT_A), submission(PATIENT_B), submission('9000000009')]);
    await outbox.claim(10);
    await outbox.markDead(older, 'failed', refused);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await outbox.markDead(newer, 'rejected', refused);
    await outbox.markDelivered(fine, undefined);
    expect((await outbox.deadLetters(10)).map((s) => [s.id, s.state])).toEqual([
      [newer, 'rejected'],
      [older, 'failed'],
    ]);
  });

  it('replays a dead letter as queued with its attempts reset', async () => {
    const [id] = await outbox.enqueue([submission(PATIENT_A)]);
    await outbox.claim(1);
    await outbox.markDead(id, 'failed', refused);
    expect(await outbox.replay(id)).toBe(true);
    expect(await outbox.get(id)).toMatchObject({ state: 'queued', attempts: 0 });
    expect(ids(await outbox.claim(1))).toEqual([id]);
  });

  it('refuses to replay a submission that is not a dead letter', async () => {
    const [id] = await outbox.enqueue([submission(PATIENT_A)]);
    expect(await outbox.replay(id)).toBe(false);
    expect(await outbox.replay('no-such-id')).toBe(false);
    expect(await outbox.get('no-such-id')).toBeUndefined();
  });

  it('refuses to record an outcome for a submission that is not being delivered', async () => {
    const [id] = await outbox.enqueue([submission(PATIENT_A)]);
    await expect(outbox.markDelivered(id, undefined)).rejects.toThrow(OutboxStateError);
    expect((await outbox.get(id))?.state).toBe('queued');
  });

  it('counts submissions by state', async () => {
    const [a, b] = await outbox.enqueue([submission(PATIENT_A), submission(PATIENT_B), submission(PATIENT_B)]);
    await outbox.claim(10);
    await outbox.markDelivered(a, undefined);
    expect(await outbox.counts()).toEqual({ queued: 1, delivering: 1, delivered: 1, rejected: 0, failed: 0 });
    expect(b).toBeDefined();
  });

  it('reports writable while open and not once closed', async () => {
    expect(await outbox.writable()).toBe(true);
    await outbox.close();
    expect(await outbox.writable()).toBe(false);
  });

  it('prunes only delivered submissions older than the cut-off, keeping their status', async () => {
    const [done, waiting] = await outbox.enqueue([submission(PATIENT_A), submission(PATIENT_B)]);
    await outbox.claim(1);
    await outbox.markDelivered(done, { resourceType: 'Bundle', type: 'transaction-response' });
    expect(await outbox.prune(new Date(Date.now() - 60_000))).toBe(0);
    expect(await outbox.prune(new Date(Date.now() + 1))).toBe(1);
    expect(await outbox.prune(new Date(Date.now() + 1))).toBe(0);
    expect(await outbox.get(done)).toMatchObject({ state: 'delivered', attempts: 1 });
    const [next] = await outbox.claim(1);
    expect(next.id).toBe(waiting);
    expect(next.bundle.entry?.[0].request?.url).toContain(PATIENT_B);
  });

  it('keeps the pause flag for every instance on the store, across restarts', async () => {
    expect(await outbox.isPaused()).toBe(false);
    await outbox.setPaused(true);
    const other = await store.another();
    expect(await other.isPaused()).toBe(true);
    await other.setPaused(false);
    expect(await outbox.isPaused()).toBe(false);
  });

  it('refuses a version lower than one accepted, in the same transaction as the enqueue', async () => {
    await outbox.enqueue([versioned(PATIENT_A, 3)]);
    await expect(outbox.enqueue([versioned(PATIENT_A, 2)])).rejects.toBeInstanceOf(StaleRecordError);
    await expect(outbox.enqueue([versioned(PATIENT_A, 3)])).resolves.toHaveLength(1);
    expect((await outbox.counts()).queued).toBe(2);
  });

  it('queues nothing of a batch when one of its records is stale, and remembers versions across restarts', async () => {
    await outbox.enqueue([versioned(PATIENT_A, 5)]);
    await outbox.close();
    const restarted = await store.another();
    const stale = restarted.enqueue([versioned('9000000009', 1, 'VM123/resident/R-2'), versioned(PATIENT_A, 4)]);
    await expect(stale).rejects.toMatchObject({ stale: [{ index: 1, version: 4, current: 5 }] });
    expect((await restarted.counts()).queued).toBe(1);
    await expect(restarted.enqueue([versioned('9000000009', 1, 'VM123/resident/R-2')])).resolves.toHaveLength(1);
  });

  it('takes two versions of one record in one batch in order: the later accepted, an earlier refused', async () => {
    await expect(outbox.enqueue([versioned(PATIENT_A, 1), versioned(PATIENT_A, 2)])).resolves.toHaveLength(2);
    await expect(outbox.enqueue([versioned(PATIENT_A, 4), versioned(PATIENT_A, 3)])).rejects.toMatchObject({
      stale: [{ index: 1, version: 3, current: 4 }],
    });
    expect((await outbox.counts()).queued).toBe(2);
  });

  it('remembers the ids an Idempotency-Key was answered with, and refuses the key a second time', async () => {
    const key = { key: 'provider:ehr:abc', requestHash: 'h1' };
    const first = await outbox.enqueue([submission(PATIENT_A)], key);
    expect(await outbox.idempotent('provider:ehr:abc')).toEqual({ requestHash: 'h1', ids: first });
    await expect(outbox.enqueue([submission(PATIENT_A)], key)).rejects.toBeInstanceOf(IdempotencyKeyTaken);
    expect((await outbox.counts()).queued).toBe(1);
    expect(await outbox.idempotent('provider:ehr:other')).toBeUndefined();
  });

  it('forgets an Idempotency-Key whose enqueue was refused as stale', async () => {
    await outbox.enqueue([versioned(PATIENT_A, 2)]);
    const key = { key: 'provider:ehr:stale', requestHash: 'h2' };
    await expect(outbox.enqueue([versioned(PATIENT_A, 1)], key)).rejects.toBeInstanceOf(StaleRecordError);
    expect(await outbox.idempotent('provider:ehr:stale')).toBeUndefined();
  });
});
