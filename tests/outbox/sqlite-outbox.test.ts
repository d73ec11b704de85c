import fs from 'node:fs';
import Database from 'better-sqlite3';
import type { OperationOutcome } from 'fhir/r4';
import type { NewSubmission } from '../../src/outbox/outbox';
import { OutboxStateError, SqliteOutbox } from '../../src/outbox/sqlite-outbox';
import { SchemaVersionError } from '../../src/outbox/sqlite-schema';
import { issue, outcome } from '../../src/fhir/operation-outcome';
import { submission, tempDir } from './submissions';

const PATIENT_A = '9434765919';
const PATIENT_B = '9434765870';
const refused: OperationOutcome = outcome([issue('error', 'invalid', 'Patient.birthDate is in the future', 'Patient.birthDate')]);

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

const ids = (claimed: { id: string }[]): string[] => claimed.map((c) => c.id);

describe('SqliteOutbox', () => {
  it('returns ids in acceptance order and shows each submission as queued', async () => {
    const [first, second] = await outbox.enqueue([submission(PATIENT_A, 'resident:R-1@1'), submission(PATIENT_B, 'resident:R-2@1')]);
    const status = await outbox.get(first);
    expect(status).toMatchObject({ id: first, state: 'queued', providerOds: 'VM123', records: ['resident:R-1@1'], attempts: 0 });
    expect((await outbox.get(second))?.records).toEqual(['resident:R-2@1']);
  });

  it('commits every submission of a batch or none of them', async () => {
    const broken = { ...submission(PATIENT_B), orderingKey: null } as unknown as NewSubmission;
    await expect(outbox.enqueue([submission(PATIENT_A), broken])).rejects.toThrow(/NOT NULL/);
    expect((await outbox.counts()).queued).toBe(0);
  });

  it('keeps committed submissions after the file is closed and reopened', async () => {
    const [id] = await outbox.enqueue([submission(PATIENT_A)]);
    await outbox.close();
    outbox = new SqliteOutbox(tmp.file('outbox.sqlite'));
    const [claimed] = await outbox.claim(10);
    expect(claimed.id).toBe(id);
    expect(claimed.bundle.entry?.[0].request?.url).toContain(PATIENT_A);
  });

  it('keeps its data in a write-ahead log', () => {
    const db = new Database(tmp.file('outbox.sqlite'), { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
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

  it('holds a key back while its earliest submission waits for a retry that is not yet due', async () => {
    const [a1] = await outbox.enqueue([submission(PATIENT_A), submission(PATIENT_A)]);
    await outbox.claim(10);
    await outbox.markRetry(a1, refused, new Date(Date.now() + 60_000));
    expect(await outbox.claim(10)).toEqual([]);
    expect(ids(await outbox.claim(10, new Date(Date.now() + 61_000)))).toEqual([a1]);
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

  it('never hands the same submission to two connections claiming from one file', async () => {
    const keys = Array.from({ length: 40 }, (_, i) => String(9000000000 + i));
    await outbox.enqueue(keys.map((k) => submission(k)));
    const other = new SqliteOutbox(tmp.file('outbox.sqlite'));
    const seen: string[] = [];
    for (let round = 0; round < 10; round++) {
      seen.push(...ids(await outbox.claim(3)), ...ids(await other.claim(3)));
    }
    await other.close();
    expect(seen).toHaveLength(40);
    expect(new Set(seen).size).toBe(40);
  });

  it('puts submissions left delivering by a crash back to queued on recovery', async () => {
    const [id] = await outbox.enqueue([submission(PATIENT_A)]);
    await outbox.claim(10);
    await outbox.close(); // the process dies mid-send: no mark is ever written
    outbox = new SqliteOutbox(tmp.file('outbox.sqlite'));
    expect((await outbox.get(id))?.state).toBe('delivering');
    expect(await outbox.recover()).toBe(1);
    expect((await outbox.get(id))?.state).toBe('queued');
    expect(ids(await outbox.claim(10))).toEqual([id]);
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

  it('works in memory for tests that need no file', async () => {
    const memory = new SqliteOutbox(':memory:');
    const [id] = await memory.enqueue([submission(PATIENT_A)]);
    expect((await memory.get(id))?.state).toBe('queued');
    await memory.close();
  });
});
