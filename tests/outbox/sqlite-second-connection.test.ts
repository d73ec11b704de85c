/**
 * The SQLite outbox with a second connection writing the same file, as the delivery thread's does: a write
 * held by the other connection is waited for (the busy timeout), never an SQLITE_BUSY error.
 */
import { Worker } from 'node:worker_threads';
import { SqliteOutbox } from '../../src/outbox/sqlite-outbox';
import { submission, tempDir } from './submissions';

/** Another thread takes the file's write lock, says so, and holds it for `holdMs` before committing. */
function holdWriteLock(file: string, holdMs: number): Promise<{ released: Promise<void> }> {
  const thread = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const Database = require(workerData.driver);
     const db = new Database(workerData.file);
     db.exec('BEGIN IMMEDIATE');
     parentPort.postMessage('locked');
     Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, workerData.holdMs);
     db.exec('COMMIT');
     db.close();`,
    { eval: true, workerData: { file, holdMs, driver: require.resolve('better-sqlite3') } },
  );
  const released = new Promise<void>((resolve, reject) => {
    thread.once('exit', () => resolve());
    thread.once('error', reject);
  });
  return new Promise((resolve, reject) => {
    thread.once('message', () => resolve({ released }));
    thread.once('error', reject);
  });
}

describe('the SQLite outbox beside a second connection', () => {
  it('prunes once a write the other connection holds is committed, rather than failing busy', async () => {
    const tmp = tempDir();
    const outbox = new SqliteOutbox(tmp.file('outbox.sqlite'));
    try {
      const [id] = await outbox.enqueue([submission('9434765919')]);
      const [claimed] = await outbox.claim(1);
      await outbox.markDelivered(claimed.id, undefined, new Date(Date.now() - 60_000));
      const { released } = await holdWriteLock(tmp.file('outbox.sqlite'), 300);
      await expect(outbox.prune(new Date())).resolves.toBe(1);
      await released;
      expect((await outbox.get(id))?.state).toBe('delivered');
    } finally {
      await outbox.close();
      tmp.remove();
    }
  });

  it('queues once a write the other connection holds is committed', async () => {
    const tmp = tempDir();
    const outbox = new SqliteOutbox(tmp.file('outbox.sqlite'));
    try {
      const { released } = await holdWriteLock(tmp.file('outbox.sqlite'), 300);
      const [id] = await outbox.enqueue([submission('9434765919')]);
      await released;
      expect((await outbox.get(id))?.state).toBe('queued');
    } finally {
      await outbox.close();
      tmp.remove();
    }
  });
});
