/**
 * SQLite WAL checkpoints away from the event loop that answers requests. A checkpoint copies the log into
 * the database and syncs it: 5-25 ms measured here, every ~1,000 pages of log, run inside whichever
 * connection's commit took the log past its wal_autocheckpoint mark. On the request thread that stalls
 * every request in flight; so with a delivery thread, the request thread's connections (outbox, audit
 * trail, research store) set a far mark, BACKSTOP_CHECKPOINT_PAGES, and the delivery thread checkpoints
 * their files: its outbox connection at SQLite's default mark, the others here, every second. A passive
 * checkpoint never waits for a reader or a writer; the next commit then starts the log again from its
 * beginning.
 */
import fs from 'node:fs';
import Database from 'better-sqlite3';
import type { Logger } from '../observability/logger';

/** ~40 MB of log: a request-thread connection checkpoints only if the delivery thread has not (not running). */
export const BACKSTOP_CHECKPOINT_PAGES = 10_000;

/** A store's connection: its own checkpoint mark (wal_autocheckpoint, in pages) if given, else SQLite's. */
export function setCheckpointMark(db: Database.Database, pages: number | undefined): void {
  if (pages !== undefined) db.pragma(`wal_autocheckpoint = ${Math.max(0, Math.floor(pages))}`);
}

export class WalCheckpoints {
  private readonly connections = new Map<string, Database.Database>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly files: string[],
    private readonly logger?: Logger,
    private readonly everyMs = 1000,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => this.run(), this.everyMs).unref();
  }

  /** One passive checkpoint of each file; a file not created yet is tried again next time. */
  run(): void {
    for (const file of this.files) {
      try {
        let db = this.connections.get(file);
        if (!db) {
          if (!fs.existsSync(file)) continue; // its store opens it after this thread starts
          db = new Database(file, { fileMustExist: true });
          db.pragma('cache_size = -500'); // a checkpoint copies through its own buffer, not the page cache
          this.connections.set(file, db);
        }
        db.pragma('wal_checkpoint(PASSIVE)');
      } catch (err) {
        // Worth a line, not a stop: the request thread's backstop mark still bounds the log.
        this.logger?.warn('WAL checkpoint failed', { error: err });
      }
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    for (const db of this.connections.values()) db.close();
    this.connections.clear();
  }
}
