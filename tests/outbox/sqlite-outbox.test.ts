/** What only the SQLite store does: its file (WAL, bounded size, schema version), group commit and in-memory use. The Outbox
 * contract both stores keep is in outbox-contract.test.ts. */
import fs from 'node:fs';
import Database from 'better-sqlite3';
import { IdempotencyKeyTaken, StaleRecordError } from '../../src/outbox/outbox';
import { SqliteOutbox } from '../../src/outbox/sqlite-outbox';
import { SchemaVersionError } from '../../src/outbox/sqlite-schema';
import { submission, tempDir } from './submissions';

const PATIENT_A = '9434765919';
const PATIENT_B = '9434765870';
const versioned = (nhs: string, version: number) => ({ ...submission(nhs), version: { record: 'VM123/resident/R-1', version } });

let tmp: ReturnType<typeof tempDir>;
let outbox: SqliteOutbox;

beforeEach(() => {
  tmp = tempDir();
  outbox = new SqliteOutbox(tmp.file('outbox.sqlite'));
});

afterEach(async () => {
  await outbox.close();
  tmp.remove();
});

describe('SqliteOutbox', () => {
  it('keeps its data in a write-ahead log', () => {
    const db = new Database(tmp.file('outbox.sqlite'), { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('drops a delivered bundle on prune and keeps its status', async () => {
    const [done, waiting] = await outbox.enqueue([submission(PATIENT_A), submission(PATIENT_B)]);
    await outbox.claim(1);
    await outbox.markDelivered(done, { resourceType: 'Bundle', type: 'transaction-response' });
    expect(await outbox.prune(new Date(Date.now() + 1))).toBe(1);
    expect(await outbox.get(done)).toMatchObject({ state: 'delivered', attempts: 1 });
    const db = new Database(tmp.file('outbox.sqlite'), { readonly: true });
    const rows = db.prepare('SELECT id, bundle, response FROM submissions ORDER BY seq').all() as { id: string; bundle: string | null; response: string | null }[];
    db.close();
    expect(rows[0]).toEqual({ id: done, bundle: null, response: null });
    expect(rows[1].id).toBe(waiting);
    expect(rows[1].bundle).not.toBeNull();
  });

  it('keeps the file size bounded across many deliver and prune cycles', async () => {
    const padding = 'x'.repeat(20_000); // a 20 kB bundle, like a resident with notes
    const size = (): number =>
      ['outbox.sqlite', 'outbox.sqlite-wal'].reduce((sum, f) => sum + (fs.existsSync(tmp.file(f)) ? fs.statSync(tmp.file(f)).size : 0), 0);
    const sizes: number[] = [];
    for (let cycle = 0; cycle < 30; cycle++) {
      await outbox.enqueue(Array.from({ length: 50 }, (_, i) => submission(String(9100000000 + cycle * 50 + i), 'r', padding)));
      for (let claimed = await outbox.claim(50); claimed.length > 0; claimed = await outbox.claim(50)) {
        for (const c of claimed) await outbox.markDelivered(c.id, undefined);
      }
      await outbox.prune(new Date(Date.now() + 1));
      sizes.push(size());
    }
    // 30 cycles put 30 MB of bundles through. The file keeps about one cycle's bundles (pages freed by prune
    // are reused) and grows only by each delivered submission's status row: under 1 kB, not its 20 kB bundle.
    const perSubmission = (sizes[29] - sizes[9]) / (20 * 50);
    expect(perSubmission).toBeLessThan(1000);
    expect(sizes[29]).toBeLessThan(30 * 50 * 20_000 * 0.1);
  }, 60000);

  it('refuses a database written by a newer version of the gateway', async () => {
    await outbox.close();
    const db = new Database(tmp.file('outbox.sqlite'));
    db.pragma('user_version = 99');
    db.close();
    expect(() => new SqliteOutbox(tmp.file('outbox.sqlite'))).toThrow(SchemaVersionError);
    outbox = new SqliteOutbox(':memory:');
  });

  it('upgrades a file written before the pause flag was stored, keeping its submissions', async () => {
    const [id] = await outbox.enqueue([submission(PATIENT_A)]);
    await outbox.close();
    const db = new Database(tmp.file('outbox.sqlite'));
    db.exec('DROP TABLE delivery_control');
    db.pragma('user_version = 2');
    db.close();
    outbox = new SqliteOutbox(tmp.file('outbox.sqlite'));
    expect(await outbox.isPaused()).toBe(false);
    expect((await outbox.get(id))?.state).toBe('queued');
  });

  it('fails only the enqueue that is stale or reuses a key, and commits the others made in the same turn (group commit)', async () => {
    const key = { key: 'provider:ehr:k1', requestHash: 'h1' };
    await outbox.enqueue([versioned(PATIENT_A, 5)]);
    // Issued in one turn of the event loop, so they share one transaction, each in its own savepoint.
    const results = await Promise.allSettled([
      outbox.enqueue([submission('9000000009', 'resident:R-2@1')], key),
      outbox.enqueue([versioned(PATIENT_A, 4)]),
      outbox.enqueue([submission('9000000017', 'resident:R-3@1')], key),
      outbox.enqueue([versioned(PATIENT_A, 6), submission('9000000025', 'resident:R-4@1')]),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(StaleRecordError);
    expect((results[2] as PromiseRejectedResult).reason).toBeInstanceOf(IdempotencyKeyTaken);
    expect((await outbox.counts()).queued).toBe(1 + 1 + 2);
    expect(await outbox.idempotent(key.key)).toEqual({ requestHash: 'h1', ids: (results[0] as PromiseFulfilledResult<string[]>).value });
  });

  it('works in memory for tests that need no file', async () => {
    const memory = new SqliteOutbox(':memory:');
    const [id] = await memory.enqueue([submission(PATIENT_A)]);
    expect((await memory.get(id))?.state).toBe('queued');
    await memory.close();
  });
});
