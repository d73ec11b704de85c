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
    const rows = db
      .prepare('SELECT id, b.bundle, response FROM submissions s LEFT JOIN submission_bundles b ON b.seq = s.seq ORDER BY s.seq')
      .all() as { id: string; bundle: string | null; response: string | null }[];
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

  it('is back at synchronous = FULL after each relaxed write, so a later plain write waits for the disk', async () => {
    const level = (): unknown => (outbox as unknown as { db: Database.Database }).db.pragma('synchronous', { simple: true });
    const FULL = 2;
    for (let i = 0; i < 3; i++) {
      const [id] = await outbox.enqueue([submission(PATIENT_A)]);
      expect(level()).toBe(FULL);
      await outbox.claim(1);
      expect(level()).toBe(FULL);
      await outbox.markDelivered(id, undefined);
      expect(level()).toBe(FULL);
    }
  });

  it('leaves checkpoints to another connection when asked for a far mark, and that connection checkpoints at the default', async () => {
    const padding = 'x'.repeat(20_000);
    // Frames in the log, read by a checkpoint that copies nothing (it cannot: this connection holds a read).
    const walFrames = (): number => {
      const db = new Database(tmp.file('outbox.sqlite'));
      const [{ log }] = db.pragma('wal_checkpoint(PASSIVE)') as { log: number }[];
      db.close();
      return log;
    };
    const accepting = new SqliteOutbox(tmp.file('outbox.sqlite'), { checkpointPages: 100_000 });
    try {
      // ~12 MB of bundles, ~3,000 pages: past SQLite's default mark of 1,000 three times over.
      for (let i = 0; i < 12; i++) await accepting.enqueue(Array.from({ length: 50 }, (_, j) => submission(String(9100000000 + i * 50 + j), 'r', padding)));
      const before = fs.statSync(tmp.file('outbox.sqlite-wal')).size;
      expect(before).toBeGreaterThan(8_000_000);
      // The default connection (the delivery thread's) commits a claim: that commit checkpoints the whole log,
      // so the next commit starts the log again from its beginning and it stays small.
      await outbox.claim(1);
      await accepting.enqueue([submission(PATIENT_A)]);
      expect(walFrames()).toBeLessThan(50);
    } finally {
      await accepting.close();
    }
  }, 60000);

  it('answers an enqueue only once its commit is synced to disk, and lets the event loop run meanwhile', async () => {
    const realSync = fs.fdatasync;
    let release: () => void = () => undefined;
    const sync = jest.spyOn(fs, 'fdatasync').mockImplementation(((fd: number, done: (err: NodeJS.ErrnoException | null) => void) => {
      release = () => realSync(fd, done);
    }) as typeof fs.fdatasync);
    try {
      let answered = false;
      const enqueued = outbox.enqueue([submission(PATIENT_A)]).then((ids) => ((answered = true), ids));
      await new Promise((resolve) => setTimeout(resolve, 30)); // timers still fire: nothing blocks on the disk
      expect(sync).toHaveBeenCalledTimes(1);
      expect(answered).toBe(false);
      release();
      const [id] = await enqueued;
      expect((await outbox.get(id))?.state).toBe('queued');
    } finally {
      sync.mockRestore();
    }
  });

  it('refuses a database written by a newer version of the gateway', async () => {
    await outbox.close();
    const db = new Database(tmp.file('outbox.sqlite'));
    db.pragma('user_version = 99');
    db.close();
    expect(() => new SqliteOutbox(tmp.file('outbox.sqlite'))).toThrow(SchemaVersionError);
    outbox = new SqliteOutbox(':memory:');
  });

  it('upgrades a file written before the pause flag was stored, keeping its submissions', async () => {
    await outbox.close();
    const id = writeShippedFile(tmp.file('outbox.sqlite'), 2);
    outbox = new SqliteOutbox(tmp.file('outbox.sqlite'));
    expect(await outbox.isPaused()).toBe(false);
    expect((await outbox.get(id))?.state).toBe('queued');
  });

  it('upgrades a file that kept bundles in the status row, and still sends and prunes each bundle', async () => {
    await outbox.close();
    const id = writeShippedFile(tmp.file('outbox.sqlite'), 3);
    outbox = new SqliteOutbox(tmp.file('outbox.sqlite'));
    const [claimed] = await outbox.claim(10);
    expect(claimed).toMatchObject({ id, bundle: submission(PATIENT_A).bundle });
    await outbox.markDelivered(id, undefined);
    expect(await outbox.prune(new Date(Date.now() + 1))).toBe(1);
    expect(await outbox.prune(new Date(Date.now() + 1))).toBe(0);
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

/**
 * An outbox file as an earlier release wrote it, at schema `version` (2: before the pause flag; 3: bundles
 * still in the status row), holding one queued submission for PATIENT_A. Returns its id.
 */
function writeShippedFile(file: string, version: 2 | 3): string {
  fs.rmSync(file, { force: true });
  const db = new Database(file);
  db.exec(`
    CREATE TABLE submissions (
      seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, provider_ods TEXT NOT NULL,
      ordering_key TEXT NOT NULL, records TEXT NOT NULL, bundle TEXT, response TEXT,
      state TEXT NOT NULL CHECK (state IN ('queued', 'delivering', 'delivered', 'rejected', 'failed')),
      attempts INTEGER NOT NULL DEFAULT 0, accepted_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
      next_attempt_at INTEGER NOT NULL, delivered_at INTEGER, last_error TEXT);
    CREATE INDEX submissions_pending_by_key ON submissions (ordering_key, seq) WHERE state IN ('queued', 'delivering');
    CREATE INDEX submissions_delivering_by_key ON submissions (ordering_key) WHERE state = 'delivering';
    CREATE INDEX submissions_due ON submissions (state, next_attempt_at, seq);
    CREATE INDEX submissions_by_state ON submissions (state, updated_at);
    CREATE TABLE record_versions (record TEXT PRIMARY KEY, version INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE idempotency_keys (key TEXT PRIMARY KEY, request_hash TEXT NOT NULL, ids TEXT NOT NULL, created_at INTEGER NOT NULL) WITHOUT ROWID;
  `);
  if (version === 3) db.exec('CREATE TABLE delivery_control (id INTEGER PRIMARY KEY CHECK (id = 1), paused INTEGER NOT NULL CHECK (paused IN (0, 1))); INSERT INTO delivery_control VALUES (1, 0);');
  const id = 'b0f4a8de-5c1e-4f7a-9a51-6a3f0d2c9e11';
  const now = Date.now();
  db.prepare(
    `INSERT INTO submissions (id, provider_ods, ordering_key, records, bundle, state, accepted_at, updated_at, next_attempt_at)
     VALUES (?, 'VM123', ?, '["resident:R-1001@1"]', ?, 'queued', ?, ?, ?)`,
  ).run(id, PATIENT_A, JSON.stringify(submission(PATIENT_A).bundle), now, now, now);
  db.pragma(`user_version = ${version}`);
  db.close();
  return id;
}
