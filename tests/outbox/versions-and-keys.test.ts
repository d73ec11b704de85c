import { IdempotencyKeyTaken, StaleRecordError } from '../../src/outbox/outbox';
import { SqliteOutbox } from '../../src/outbox/sqlite-outbox';
import { submission, tempDir } from './submissions';

const versioned = (nhs: string, version: number) => ({ ...submission(nhs), version: { record: 'VM123/resident/R-1', version } });

describe('record versions in the outbox', () => {
  const tmp = tempDir();
  afterAll(() => tmp.remove());

  it('refuses a version lower than one accepted, in the same transaction as the enqueue', async () => {
    const outbox = new SqliteOutbox(tmp.file('versions.sqlite'));
    await outbox.enqueue([versioned('9434765919', 3)]);
    await expect(outbox.enqueue([versioned('9434765919', 2)])).rejects.toBeInstanceOf(StaleRecordError);
    await expect(outbox.enqueue([versioned('9434765919', 3)])).resolves.toHaveLength(1);
    expect((await outbox.counts()).queued).toBe(2);
    await outbox.close();
  });

  it('queues nothing of a batch when one of its records is stale, and remembers versions across restarts', async () => {
    const file = tmp.file('versions-batch.sqlite');
    let outbox = new SqliteOutbox(file);
    await outbox.enqueue([versioned('9434765919', 5)]);
    await outbox.close();
    outbox = new SqliteOutbox(file);
    const stale = outbox.enqueue([{ ...submission('9000000009'), version: { record: 'VM123/resident/R-2', version: 1 } }, versioned('9434765919', 4)]);
    await expect(stale).rejects.toMatchObject({ stale: [{ index: 1, version: 4, current: 5 }] });
    expect((await outbox.counts()).queued).toBe(1);
    await outbox.close();
  });
});

describe('idempotency keys in the outbox', () => {
  const tmp = tempDir();
  afterAll(() => tmp.remove());

  it('remembers the ids a key was answered with, and refuses the key a second time', async () => {
    const outbox = new SqliteOutbox(tmp.file('keys.sqlite'));
    const key = { key: 'provider:ehr:abc', requestHash: 'h1' };
    const ids = await outbox.enqueue([submission('9434765919')], key);
    expect(await outbox.idempotent('provider:ehr:abc')).toEqual({ requestHash: 'h1', ids });
    await expect(outbox.enqueue([submission('9434765919')], key)).rejects.toBeInstanceOf(IdempotencyKeyTaken);
    expect((await outbox.counts()).queued).toBe(1);
    expect(await outbox.idempotent('provider:ehr:other')).toBeUndefined();
    await outbox.close();
  });
});

describe('enqueues made together (group commit)', () => {
  const tmp = tempDir();
  afterAll(() => tmp.remove());

  it('fails only the enqueue that is stale or reuses a key, and commits the others made in the same turn', async () => {
    const outbox = new SqliteOutbox(tmp.file('group.sqlite'));
    const key = { key: 'provider:ehr:k1', requestHash: 'h1' };
    await outbox.enqueue([versioned('9434765919', 5)]);
    // Issued in one turn of the event loop, so they share one transaction, each in its own savepoint.
    const results = await Promise.allSettled([
      outbox.enqueue([submission('9000000009', 'resident:R-2@1')], key),
      outbox.enqueue([versioned('9434765919', 4)]),
      outbox.enqueue([submission('9000000017', 'resident:R-3@1')], key),
      outbox.enqueue([versioned('9434765919', 6), submission('9000000025', 'resident:R-4@1')]),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(StaleRecordError);
    expect((results[2] as PromiseRejectedResult).reason).toBeInstanceOf(IdempotencyKeyTaken);
    expect((await outbox.counts()).queued).toBe(1 + 1 + 2);
    expect(await outbox.idempotent(key.key)).toEqual({ requestHash: 'h1', ids: (results[0] as PromiseFulfilledResult<string[]>).value });
    await outbox.close();
  });
});
