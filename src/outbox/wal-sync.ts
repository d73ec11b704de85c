/**
 * Syncs a SQLite database's write-ahead log on libuv's thread pool, so a commit made without waiting for the
 * disk (synchronous = NORMAL) becomes durable without blocking the event loop for the fsync (1 to 4 ms here).
 * In WAL mode a commit is its frames appended to the -wal file, ending in a commit frame; once that file is
 * synced, recovery after a power cut replays them, exactly as synchronous = FULL's own sync at commit would.
 * The -wal file keeps its inode while any connection is open (SQLite resets and truncates it in place), so
 * the descriptor opened here stays the file SQLite writes to until the store closes.
 */
import fs from 'node:fs';

export class WalSync {
  private readonly fd: number;

  /** `dbFile` must be open in WAL mode by a connection that stays open longer than this. */
  constructor(dbFile: string) {
    this.fd = fs.openSync(`${dbFile}-wal`, 'r');
  }

  /** Resolves once everything committed to the log before the call is on disk. */
  sync(): Promise<void> {
    return new Promise((resolve, reject) => fs.fdatasync(this.fd, (err) => (err ? reject(err) : resolve())));
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}
