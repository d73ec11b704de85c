import Database from 'better-sqlite3';
import { RetentionJob } from '../../src/outbox/retention';
import { SqliteOutbox } from '../../src/outbox/sqlite-outbox';
import { memoryLogger, waitFor } from '../forward/loopback-scr';
import { submission, tempDir } from './submissions';

describe('RetentionJob', () => {
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

  const bundleKept = (id: string): boolean => {
    const db = new Database(tmp.file('outbox.sqlite'), { readonly: true });
    const row = db.prepare('SELECT b.bundle FROM submissions s LEFT JOIN submission_bundles b ON b.seq = s.seq WHERE s.id = ?').get(id) as { bundle: string | null };
    db.close();
    return row.bundle !== null;
  };

  it('keeps a delivered bundle until the retention period has passed', async () => {
    const job = new RetentionJob({ outbox, logger: memoryLogger().logger, keepMs: 60_000, everyMs: 3_600_000 });
    const [id] = await outbox.enqueue([submission('9434765919')]);
    await outbox.claim(1);
    await outbox.markDelivered(id, undefined);
    expect(await job.prune()).toBe(0);
    expect(bundleKept(id)).toBe(true);
    expect(await job.prune(new Date(Date.now() + 61_000))).toBe(1);
    expect(bundleKept(id)).toBe(false);
  });

  it('prunes on its schedule once started and stops cleanly', async () => {
    const job = new RetentionJob({ outbox, logger: memoryLogger().logger, keepMs: 0, everyMs: 10 });
    const [id, waiting] = await outbox.enqueue([submission('9434765919'), submission('9434765870')]);
    await outbox.claim(1);
    await outbox.markDelivered(id, undefined);
    job.start();
    await waitFor(() => !bundleKept(id));
    await job.stop();
    expect(bundleKept(waiting)).toBe(true);
  });
});
