/**
 * What only the PostgreSQL store does: several replicas claim, mark and recover on one database at once,
 * claims are held by leases, and the schema is created once however many replicas start together. The
 * Outbox contract both stores keep is in outbox-contract.test.ts.
 */
import { IdempotencyKeyTaken, OutboxStateError, type Outbox } from '../../src/outbox/outbox';
import { PostgresOutbox } from '../../src/outbox/postgres-outbox';
import { PostgresSchemaVersionError } from '../../src/outbox/postgres-schema';
import { Client } from 'pg';
import { throwawaySchema, type ThrowawaySchema } from '../support/postgres';
import { submission } from './submissions';

const PATIENT_A = '9434765919';

let schema: ThrowawaySchema;
const opened: Outbox[] = [];

async function replica(leaseMs = 60_000): Promise<PostgresOutbox> {
  const outbox = await PostgresOutbox.open({ connectionString: schema.url, leaseMs, poolSize: 4 });
  opened.push(outbox);
  return outbox;
}

beforeEach(async () => {
  schema = await throwawaySchema();
});

afterEach(async () => {
  for (const o of opened.splice(0)) await o.close();
  await schema.drop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('PostgresOutbox with several replicas', () => {
  it('creates its schema once when several replicas start at the same moment', async () => {
    const replicas = await Promise.all([replica(), replica(), replica(), replica()]);
    const [id] = await replicas[0].enqueue([submission(PATIENT_A)]);
    expect((await replicas[3].get(id))?.state).toBe('queued');
    expect(await schema.query('SELECT version FROM outbox_schema')).toEqual([{ version: 1 }]);
  });

  it('refuses a schema written by a newer version of the gateway', async () => {
    await replica();
    await schema.query('UPDATE outbox_schema SET version = 99');
    await expect(replica()).rejects.toBeInstanceOf(PostgresSchemaVersionError);
  });

  it('leaves a claim whose lease is still running to its replica, at start-up and when claiming', async () => {
    const a = await replica();
    const b = await replica();
    const [id] = await a.enqueue([submission(PATIENT_A)]);
    expect((await a.claim(10)).map((c) => c.id)).toEqual([id]);
    expect(await b.recover()).toBe(0);
    expect(await b.claim(10)).toEqual([]);
    await a.markDelivered(id, undefined);
    expect(await b.get(id)).toMatchObject({ state: 'delivered', attempts: 1 });
  });

  it("takes back a claim whose lease ran out, and refuses the first claimer's late outcome", async () => {
    const a = await replica(300);
    const b = await replica(300);
    const [id, next] = await a.enqueue([submission(PATIENT_A), submission(PATIENT_A)]);
    await a.claim(10);
    await sleep(350);
    expect((await b.claim(10)).map((c) => c.id)).toEqual([id]); // the head again, not the one after it
    await expect(a.markDelivered(id, undefined)).rejects.toThrow(OutboxStateError);
    await b.markDelivered(id, undefined);
    expect((await b.claim(10)).map((c) => c.id)).toEqual([next]);
    const [row] = await schema.query<{ claimed_by: string }>('SELECT claimed_by FROM submissions WHERE id = $1', [next]);
    expect(row.claimed_by).toBe(b.replicaId);
  });

  it('holds back a replayed dead letter while another replica is in the middle of claiming its key', async () => {
    const a = await replica();
    const b = await replica();
    const [first, second] = await a.enqueue([submission(PATIENT_A), submission(PATIENT_A)]);
    await a.claim(1);
    await a.markDead(first, 'rejected', { resourceType: 'OperationOutcome', issue: [] });
    // A third replica's claim of `second`, caught between its UPDATE and its COMMIT: what claimDue holds then.
    const inProgress = new Client({ connectionString: schema.url });
    await inProgress.connect();
    try {
      await inProgress.query('BEGIN');
      await inProgress.query('SELECT pg_advisory_xact_lock(hashtext(current_schema()), hashtext($1))', [PATIENT_A]);
      await inProgress.query(
        `UPDATE submissions SET state = 'delivering', claim_token = gen_random_uuid(), lease_until = now() + interval '1 minute'
         WHERE id = $1`,
        [second],
      );
      expect(await a.replay(first)).toBe(true); // committed: the dead letter is queued again, ahead of `second`
      expect(await b.claim(10)).toEqual([]); // the key is being claimed: skipped, not claimed twice
      await inProgress.query('COMMIT');
    } finally {
      await inProgress.end();
    }
    expect(await b.claim(10)).toEqual([]); // `second` is out now, so the replayed one waits for it
    expect((await b.get(first))?.state).toBe('queued');
  });

  it('claims work that can go even when many replayed dead letters wait behind sends of their keys', async () => {
    const a = await replica();
    const keys = Array.from({ length: 6 }, (_, i) => String(9200000000 + i));
    const firsts = await a.enqueue(keys.map((k) => submission(k)));
    await a.enqueue(keys.map((k) => submission(k)));
    await a.claim(10);
    for (const id of firsts) await a.markDead(id, 'rejected', { resourceType: 'OperationOutcome', issue: [] });
    expect(await a.claim(10)).toHaveLength(6); // the second of each key is out now
    for (const id of firsts) expect(await a.replay(id)).toBe(true); // and the first waits behind it
    const [free] = await a.enqueue([submission(PATIENT_A)]);
    expect((await a.claim(1)).map((c) => c.id)).toEqual([free]);
  });

  it('commits batches of the same records from two replicas at once, whatever order each lists them in', async () => {
    const a = await replica();
    const b = await replica();
    const records = Array.from({ length: 1000 }, (_, i) => `VM123/resident/R-${i}`);
    const batch = (version: number, order: string[]) =>
      order.map((record, i) => ({ ...submission(String(9300000000 + i)), version: { record, version } }));
    for (let version = 1; version <= 4; version++) {
      // Opposite orders: unsorted row locks deadlock here (tried: "deadlock detected") and one enqueue fails.
      await Promise.all([a.enqueue(batch(version, records)), b.enqueue(batch(version, [...records].reverse()))]);
    }
    expect((await a.counts()).queued).toBe(2 * 4 * 1000);
  });

  it('gives an Idempotency-Key to exactly one of two replicas enqueueing with it at once', async () => {
    const a = await replica();
    const b = await replica();
    const key = { key: 'provider:ehr:same', requestHash: 'h' };
    const results = await Promise.allSettled([a.enqueue([submission(PATIENT_A)], key), b.enqueue([submission(PATIENT_A)], key)]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost.map((r) => r.reason)).toEqual([expect.any(IdempotencyKeyTaken)]);
    expect((await a.counts()).queued).toBe(1);
  });

  it('never has two submissions of one key out at once, nor one ahead of an earlier one, with four replicas claiming together', async () => {
    const replicas = await Promise.all([replica(), replica(), replica(), replica()]);
    const keys = Array.from({ length: 25 }, (_, i) => String(9100000000 + i));
    const expected = new Map<string, string[]>(keys.map((k) => [k, []]));
    // Interleaved batches, so each key's line is spread over several enqueues and replicas.
    for (let round = 0; round < 8; round++) {
      const batch = keys.map((k) => submission(k, `resident:${k}@${round}`));
      const ids = await replicas[round % 4].enqueue(batch);
      ids.forEach((id, i) => expected.get(keys[i])?.push(id));
    }
    const out = new Map<string, string>(); // key -> the submission out for it
    const delivered = new Map<string, string[]>(keys.map((k) => [k, []]));
    const keyOf = new Map<string, string>([...expected].flatMap(([k, ids]) => ids.map((id) => [id, k] as [string, string])));
    const overlaps: string[] = [];
    let retried = 0;

    async function work(outbox: Outbox): Promise<void> {
      for (let idle = 0; idle < 20; ) {
        const claimed = await outbox.claim(3);
        if (claimed.length === 0) {
          idle++;
          await sleep(5);
          continue;
        }
        idle = 0;
        await Promise.all(
          claimed.map(async ({ id }) => {
            const key = keyOf.get(id) ?? '';
            if (out.has(key)) overlaps.push(key);
            out.set(key, id);
            await sleep(Math.random() * 4);
            out.delete(key);
            // Every fifth send fails once and comes back: the key must wait for it.
            if (retried < 40 && Math.random() < 0.2) {
              retried++;
              await outbox.markRetry(id, { resourceType: 'OperationOutcome', issue: [] }, new Date());
            } else {
              delivered.get(key)?.push(id);
              await outbox.markDelivered(id, undefined);
            }
          }),
        );
      }
    }
    await Promise.all(replicas.map(work));

    expect(overlaps).toEqual([]);
    expect(delivered).toEqual(expected);
    expect(await replicas[0].counts()).toEqual({ queued: 0, delivering: 0, delivered: 200, rejected: 0, failed: 0 });
  }, 60_000);
});
