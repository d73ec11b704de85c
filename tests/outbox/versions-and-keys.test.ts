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
