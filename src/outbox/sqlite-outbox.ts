/**
 * The outbox in an embedded SQLite file (better-sqlite3): WAL with synchronous=FULL, so a commit that
 * returned survives a crash or power cut. better-sqlite3 is synchronous; each method does its work in one
 * short statement or transaction and returns a settled promise, which keeps the interface shared with the
 * PostgreSQL outbox without pretending the calls overlap.
 */
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import type { Bundle, OperationOutcome } from 'fhir/r4';
import {
  IdempotencyKeyTaken,
  OutboxStateError,
  StaleRecordError,
  SUBMISSION_STATES,
  type ClaimedSubmission,
  type ClaimOptions,
  type Delivery,
  type IdempotencyKey,
  type NewSubmission,
  type Outbox,
  type SubmissionState,
  type SubmissionStatus,
  STATUS_COLUMNS,
  toStatus,
  type StatusRow,
} from './outbox';
import { migrate } from './sqlite-schema';
import { WalSync } from './wal-sync';
import { setCheckpointMark } from './wal-checkpoints';




export class SqliteOutbox implements Outbox {
  private readonly db: Database.Database;
  private readonly statements: Statements;
  private pending: PendingEnqueue[] = [];
  /** Makes an enqueue's commit durable on the thread pool; absent for ':memory:' (nothing to sync). */
  private readonly wal?: WalSync;
  /** One enqueue call, all or nothing: run inside the group's transaction, it is a SAVEPOINT. */
  private readonly insertOne: (items: NewSubmission[], idempotency?: IdempotencyKey) => string[];

  /**
   * Opens (creating if needed) the file and migrates it. ':memory:' gives a private, non-durable store.
   * `checkpointPages`: the WAL size (in pages) at which this connection's commits copy the log into the
   * database (SQLite's wal_autocheckpoint; its default is 1,000). That copy and its fsync take 5-25 ms
   * measured here, in whichever connection's commit crosses the mark, so a connection that answers requests
   * sets a far mark and leaves checkpoints to the delivery thread's connection (see main.ts).
   */
  constructor(
    readonly path: string,
    options: { checkpointPages?: number } = {},
  ) {
    this.db = new Database(path, { timeout: 5000 });
    try {
      const mode = this.db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal' && path !== ':memory:') {
        throw new Error(`Outbox ${path}: SQLite refused WAL mode (got "${String(mode)}"); use a local file system`);
      }
      // FULL: the WAL is fsynced at every commit, so an answered 202 survives a power cut, not only a crash.
      this.db.pragma('synchronous = FULL');
      // Keep the WAL file from staying at its high-water mark after a burst (bytes).
      this.db.pragma('journal_size_limit = 16777216');
      // SQLite's own default page cache (2 MB), not better-sqlite3's 16 MB, as the audit trail and research store:
      // each connection (this thread's, the delivery thread's) reads a page soon after it is written, then rarely
      // again. Measured: a 100,000-record bulk peaked 10 MB lower (271-281 against 282-288 MB, 4 alternated pairs)
      // at the same CPU against the SCR's (bench/PERFORMANCE.md, session 10).
      this.db.pragma('cache_size = -2000');
      setCheckpointMark(this.db, options.checkpointPages);
      migrate(this.db);
      if (mode === 'wal') this.wal = new WalSync(path);
      this.statements = prepareStatements(this.db);
      this.insertOne = this.db.transaction((items: NewSubmission[], idempotency?: IdempotencyKey) => {
        const now = Date.now();
        if (idempotency && this.statements.recall.get(idempotency.key)) throw new IdempotencyKeyTaken();
        const stale: StaleRecordError['stale'] = [];
        items.forEach((s, index) => {
          if (!s.version) return;
          const current = (this.statements.recordVersion.get(s.version.record) as { version: number } | undefined)?.version;
          if (current !== undefined && current > s.version.version) stale.push({ index, version: s.version.version, current });
          else this.statements.setRecordVersion.run({ record: s.version.record, version: s.version.version });
        });
        if (stale.length > 0) throw new StaleRecordError(stale);
        const ids = items.map((s) => {
          const id = randomUUID();
          const { lastInsertRowid: seq } = this.statements.insert.run({
            id,
            providerOds: s.providerOds,
            orderingKey: s.orderingKey,
            records: JSON.stringify(s.records),
            now,
          });
          this.statements.insertBundle.run({ seq, bundle: JSON.stringify(s.bundle) });
          return id;
        });
        if (idempotency) this.statements.remember.run({ ...idempotency, ids: JSON.stringify(ids), now });
        return ids;
      });
    } catch (err) {
      this.db.close();
      throw err;
    }
  }

  /**
   * Group commit: enqueues made in the same turn of the event loop share one IMMEDIATE transaction, so one
   * fsync, each inside its own SAVEPOINT (better-sqlite3 nests transactions so), so a stale version or a taken
   * Idempotency-Key fails that call alone. The commit does not wait for the disk on the event loop: the WAL is
   * synced on the thread pool (wal-sync.ts), and every caller's promise settles only once it is, so a 202
   * still means on disk, while other requests go on meanwhile (measured: the fsync was 1-4 ms of blocked
   * event loop per group).
   */
  enqueue(submissions: NewSubmission[], idempotency?: IdempotencyKey): Promise<string[]> {
    return new Promise<string[]>((resolve, reject) => {
      this.pending.push({ submissions, idempotency, resolve, reject });
      if (this.pending.length === 1) setImmediate(() => this.commitPending());
    });
  }

  private commitPending(): void {
    const batch = this.pending;
    this.pending = [];
    const outcomes: ({ ids: string[] } | { error: unknown })[] = [];
    const all = this.db.transaction(() => {
      for (const call of batch) {
        try {
          outcomes.push({ ids: this.insertOne(call.submissions, call.idempotency) });
        } catch (error) {
          outcomes.push({ error });
        }
      }
    });
    try {
      if (this.wal) this.relaxed(() => all.immediate());
      else all.immediate();
    } catch (err) {
      for (const call of batch) call.reject(err);
      return;
    }
    const settle = (): void =>
      batch.forEach((call, i) => {
        const outcome = outcomes[i];
        if ('ids' in outcome) call.resolve(outcome.ids);
        else call.reject(outcome.error);
      });
    if (!this.wal) return settle();
    this.wal.sync().then(settle, (err: unknown) => {
      for (const call of batch) call.reject(err);
    });
  }

  async idempotent(key: string): Promise<{ requestHash: string; ids: string[] } | undefined> {
    const row = this.statements.recall.get(key) as { request_hash: string; ids: string } | undefined;
    return row && { requestHash: row.request_hash, ids: JSON.parse(row.ids) as string[] };
  }

  async get(id: string): Promise<SubmissionStatus | undefined> {
    const row = this.statements.get.get(id) as StatusRow | undefined;
    return row && toStatus(row);
  }

  async claim(limit: number, { now = new Date(), maxBytes = Infinity, atLeastOne = false }: ClaimOptions = {}): Promise<ClaimedSubmission[]> {
    if (limit <= 0) return [];
    // IMMEDIATE takes the write lock before the SELECT, so another process on the file cannot claim the same rows.
    const claimDue = this.db.transaction((at: number) => {
      const rows: DueRow[] = [];
      let bytes = 0;
      // Read row by row, so bundles past the budget are not read at all.
      for (const row of this.statements.due.iterate({ now: at, limit }) as IterableIterator<DueRow>) {
        // A queued row always has its bundle: prune only touches delivered rows.
        bytes += row.bundle.length;
        if (bytes > maxBytes && !(atLeastOne && rows.length === 0)) break;
        rows.push(row);
      }
      for (const row of rows) this.statements.markDelivering.run({ seq: row.seq, now: at });
      return rows;
    });
    return this.relaxed(() => claimDue.immediate(now.getTime())).map((row) => ({
      id: row.id,
      attempts: row.attempts,
      bundle: JSON.parse(row.bundle) as Bundle,
      more: row.more === 1,
      bytes: row.bundle.length,
    }));
  }

  async markDelivered(id: string, response: Bundle | undefined, now: Date = new Date()): Promise<void> {
    return this.markAllDelivered([{ id, response }], now);
  }

  async markAllDelivered(deliveries: Delivery[], now: Date = new Date()): Promise<void> {
    const markAll = this.db.transaction((at: number) =>
      deliveries.filter(({ id, response }) => {
        const result = this.statements.delivered.run({ id, response: response === undefined ? null : JSON.stringify(response), now: at });
        return result.changes !== 1;
      }),
    );
    const unclaimed = this.relaxed(() => markAll(now.getTime()));
    if (unclaimed.length > 0) expectClaimed(0, unclaimed.map((d) => d.id).join(', '));
  }

  async markRetry(id: string, error: OperationOutcome, nextAttemptAt: Date): Promise<void> {
    const result = this.relaxed(() =>
      this.statements.retry.run({ id, error: JSON.stringify(error), next: nextAttemptAt.getTime(), now: Date.now() }),
    );
    expectClaimed(result.changes, id);
  }

  async markDead(id: string, state: 'rejected' | 'failed', error: OperationOutcome): Promise<void> {
    const result = this.relaxed(() => this.statements.dead.run({ id, state, error: JSON.stringify(error), now: Date.now() }));
    expectClaimed(result.changes, id);
  }

  /**
   * Delivery bookkeeping (claims, outcomes) commits without waiting for the disk (WAL, synchronous=NORMAL):
   * a power cut can lose only the latest such marks, and the submission is then sent again, which
   * conditional updates make harmless. What was accepted (enqueue) is durable before its callers hear of it:
   * its WAL sync (commitPending) covers every earlier NORMAL commit too. Measured: two fsyncs per delivery
   * were the limit.
   */
  private relaxed<T>(fn: () => T): T {
    if (this.path === ':memory:') return fn();
    // db.pragma() each time, not a prepared statement: SQLite applies this pragma when the statement is
    // compiled, so running a prepared one again may change nothing (seen here).
    this.db.pragma('synchronous = NORMAL');
    try {
      return fn();
    } finally {
      this.db.pragma('synchronous = FULL');
    }
  }

  async deadLetters(limit: number): Promise<SubmissionStatus[]> {
    return (this.statements.deadLetters.all(limit) as StatusRow[]).map(toStatus);
  }

  async replay(id: string): Promise<boolean> {
    return this.statements.replay.run({ id, now: Date.now() }).changes === 1;
  }

  async recover(): Promise<number> {
    return this.statements.recover.run({ now: Date.now() }).changes;
  }

  async setPaused(paused: boolean): Promise<void> {
    this.statements.setPaused.run(paused ? 1 : 0);
  }

  async isPaused(): Promise<boolean> {
    return (this.statements.isPaused.get() as { paused: number }).paused === 1;
  }

  async counts(): Promise<Record<SubmissionState, number>> {
    const counts = Object.fromEntries(SUBMISSION_STATES.map((s) => [s, 0])) as Record<SubmissionState, number>;
    for (const row of this.statements.counts.all() as { state: SubmissionState; n: number }[]) counts[row.state] = row.n;
    return counts;
  }

  /** Takes the write lock and writes nothing (rolled back): false when the file is read-only, locked or closed. */
  async writable(): Promise<boolean> {
    if (!this.db.open) return false;
    try {
      const probe = this.db.transaction(() => {
        this.statements.probeWrite.run();
        throw new RollBack();
      });
      probe.immediate();
    } catch (err) {
      return err instanceof RollBack;
    }
    return true;
  }

  /**
   * Retention: drop the bundle and response of submissions delivered before `olderThan`; the row, its state
   * and times stay for the status view. Freed pages are reused by later writes, so the file stops growing
   * with the bodies. Returns how many submissions were pruned.
   */
  async prune(olderThan: Date): Promise<number> {
    const pruneAll = this.db.transaction((before: number) => {
      const pruned = (this.statements.prunable.get(before) as { n: number }).n;
      this.statements.pruneBundles.run(before);
      this.statements.pruneResponses.run(before);
      return pruned;
    });
    // IMMEDIATE: it reads, then writes; begun deferred, a second connection's write in between (the delivery
    // thread's) would fail it with SQLITE_BUSY at once, without the busy timeout's wait.
    const pruned = pruneAll.immediate(olderThan.getTime());
    if (pruned > 0) this.db.pragma('wal_checkpoint(TRUNCATE)');
    return pruned;
  }

  async close(): Promise<void> {
    if (!this.db.open) return;
    this.db.close();
    this.wal?.close();
  }
}

type Statements = ReturnType<typeof prepareStatements>;

/** A row of the `due` query. */
interface DueRow {
  seq: number;
  id: string;
  attempts: number;
  bundle: string;
  more: number;
}

function prepareStatements(db: Database.Database) {
  return {
    insert: db.prepare(
      `INSERT INTO submissions (id, provider_ods, ordering_key, records, state, accepted_at, updated_at, next_attempt_at)
       VALUES (@id, @providerOds, @orderingKey, @records, 'queued', @now, @now, @now)`,
    ),
    insertBundle: db.prepare('INSERT INTO submission_bundles (seq, bundle) VALUES (@seq, @bundle)'),
    get: db.prepare(`SELECT ${STATUS_COLUMNS} FROM submissions WHERE id = ?`),
    recordVersion: db.prepare('SELECT version FROM record_versions WHERE record = ?'),
    setRecordVersion: db.prepare(
      'INSERT INTO record_versions (record, version) VALUES (@record, @version) ON CONFLICT (record) DO UPDATE SET version = excluded.version',
    ),
    remember: db.prepare('INSERT INTO idempotency_keys (key, request_hash, ids, created_at) VALUES (@key, @requestHash, @ids, @now)'),
    recall: db.prepare('SELECT request_hash, ids FROM idempotency_keys WHERE key = ?'),
    // Claimable: a due, queued submission whose key has nothing out for delivery and nothing earlier still
    // queued. So at most one submission per key is ever out, and never ahead of an earlier one; a replayed
    // dead letter waits for a later submission already being delivered.
    due: db.prepare(
      `SELECT s.seq, s.id, s.attempts, (SELECT b.bundle FROM submission_bundles b WHERE b.seq = s.seq) AS bundle,
              EXISTS (
                SELECT 1 FROM submissions n
                WHERE n.ordering_key = s.ordering_key AND n.seq > s.seq AND n.state IN ('queued', 'delivering')) AS more
       FROM submissions s
       WHERE s.state = 'queued' AND s.next_attempt_at <= @now
         AND NOT EXISTS (
           SELECT 1 FROM submissions e
           WHERE e.ordering_key = s.ordering_key AND e.seq < s.seq AND e.state IN ('queued', 'delivering'))
         AND NOT EXISTS (
           SELECT 1 FROM submissions d WHERE d.ordering_key = s.ordering_key AND d.state = 'delivering')
       ORDER BY s.next_attempt_at, s.seq
       LIMIT @limit`,
    ),
    markDelivering: db.prepare(`UPDATE submissions SET state = 'delivering', updated_at = @now WHERE seq = @seq`),
    delivered: db.prepare(
      `UPDATE submissions
       SET state = 'delivered', attempts = attempts + 1, response = @response, last_error = NULL,
           delivered_at = @now, updated_at = @now
       WHERE id = @id AND state = 'delivering'`,
    ),
    retry: db.prepare(
      `UPDATE submissions
       SET state = 'queued', attempts = attempts + 1, last_error = @error, next_attempt_at = @next, updated_at = @now
       WHERE id = @id AND state = 'delivering'`,
    ),
    dead: db.prepare(
      `UPDATE submissions SET state = @state, attempts = attempts + 1, last_error = @error, updated_at = @now
       WHERE id = @id AND state = 'delivering'`,
    ),
    deadLetters: db.prepare(
      `SELECT ${STATUS_COLUMNS} FROM submissions WHERE state IN ('rejected', 'failed')
       ORDER BY updated_at DESC, seq DESC LIMIT ?`,
    ),
    replay: db.prepare(
      `UPDATE submissions SET state = 'queued', attempts = 0, next_attempt_at = @now, updated_at = @now
       WHERE id = @id AND state IN ('rejected', 'failed')`,
    ),
    recover: db.prepare(`UPDATE submissions SET state = 'queued', updated_at = @now WHERE state = 'delivering'`),
    counts: db.prepare(`SELECT state, count(*) AS n FROM submissions GROUP BY state`),
    prunable: db.prepare(
      `SELECT count(*) AS n FROM submissions s
       WHERE s.state = 'delivered' AND s.delivered_at < ?
         AND (s.response IS NOT NULL OR EXISTS (SELECT 1 FROM submission_bundles b WHERE b.seq = s.seq))`,
    ),
    pruneBundles: db.prepare(
      `DELETE FROM submission_bundles
       WHERE seq IN (SELECT seq FROM submissions WHERE state = 'delivered' AND delivered_at < ?)`,
    ),
    pruneResponses: db.prepare(
      `UPDATE submissions SET response = NULL WHERE state = 'delivered' AND delivered_at < ? AND response IS NOT NULL`,
    ),
    setPaused: db.prepare('UPDATE delivery_control SET paused = ?'),
    isPaused: db.prepare('SELECT paused FROM delivery_control'),
    probeWrite: db.prepare(`UPDATE submissions SET updated_at = updated_at WHERE seq = -1`),
  };
}

class RollBack extends Error {}

interface PendingEnqueue {
  submissions: NewSubmission[];
  idempotency?: IdempotencyKey;
  resolve: (ids: string[]) => void;
  reject: (err: unknown) => void;
}

function expectClaimed(changes: number, id: string): void {
  if (changes !== 1) throw new OutboxStateError(`Submission ${id} is not being delivered; its outcome was not recorded`);
}

