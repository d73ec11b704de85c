/**
 * The outbox's SQLite schema and its migrations. The schema version lives in SQLite's own
 * `PRAGMA user_version`; each migration runs once, in one transaction with the version bump.
 */
import type Database from 'better-sqlite3';

/** Index i takes the database from version i to version i + 1. Append only; never edit a shipped step. */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE submissions (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT, -- acceptance order, the basis of per-key ordering
    id              TEXT    NOT NULL UNIQUE,
    provider_ods    TEXT    NOT NULL,
    ordering_key    TEXT    NOT NULL,
    records         TEXT    NOT NULL,                  -- JSON array of provider record references
    bundle          TEXT,                              -- JSON transaction Bundle; NULL once pruned (moved out below)
    response        TEXT,                              -- JSON transaction-response from the SCR; pruned too
    state           TEXT    NOT NULL CHECK (state IN ('queued', 'delivering', 'delivered', 'rejected', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    accepted_at     INTEGER NOT NULL,                  -- epoch milliseconds
    updated_at      INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    delivered_at    INTEGER,
    last_error      TEXT                               -- JSON OperationOutcome
  );
  -- The head of each key's line: the earliest submission still queued or delivering.
  CREATE INDEX submissions_pending_by_key ON submissions (ordering_key, seq)
    WHERE state IN ('queued', 'delivering');
  -- Keys with a submission out for delivery (a replayed dead letter must wait for them).
  CREATE INDEX submissions_delivering_by_key ON submissions (ordering_key) WHERE state = 'delivering';
  -- Due work, earliest first (and counts by state).
  CREATE INDEX submissions_due ON submissions (state, next_attempt_at, seq);
  -- Dead letters, newest first.
  CREATE INDEX submissions_by_state ON submissions (state, updated_at);
  `,
  `
  -- The highest version accepted of each provider record ("<ODS>/<type>/<recordId>").
  CREATE TABLE record_versions (
    record   TEXT    PRIMARY KEY,
    version  INTEGER NOT NULL
  ) WITHOUT ROWID;
  -- Idempotency-Key -> the submissions the first request made.
  CREATE TABLE idempotency_keys (
    key           TEXT    PRIMARY KEY,
    request_hash  TEXT    NOT NULL,
    ids           TEXT    NOT NULL,                   -- JSON array of submission ids
    created_at    INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  `
  -- Operators' pause: kept with the queue, so it outlasts a restart (one row).
  CREATE TABLE delivery_control (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    paused  INTEGER NOT NULL CHECK (paused IN (0, 1))
  );
  INSERT INTO delivery_control (id, paused) VALUES (1, 0);
  `,
  `
  -- Bundles apart from the status row: a claim or a mark rewrites the whole row it changes, and with the
  -- bundle in it that was every bundle written three times more (measured: most of the outbox's cost).
  CREATE TABLE submission_bundles (
    seq     INTEGER PRIMARY KEY,                       -- submissions.seq
    bundle  TEXT    NOT NULL                           -- JSON transaction Bundle; the row goes once pruned
  );
  INSERT INTO submission_bundles (seq, bundle) SELECT seq, bundle FROM submissions WHERE bundle IS NOT NULL;
  ALTER TABLE submissions DROP COLUMN bundle;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export class SchemaVersionError extends Error {
  override name = 'SchemaVersionError';
}

/** Bring the database up to SCHEMA_VERSION; refuse one written by a newer gateway. Returns the old version. */
export function migrate(db: Database.Database): number {
  const readVersion = (): number => db.pragma('user_version', { simple: true }) as number;
  // Read the version inside the write transaction, so two processes opening one file migrate it once.
  const step = db.transaction((): number => {
    const current = readVersion();
    if (current > SCHEMA_VERSION) {
      throw new SchemaVersionError(
        `Outbox database is at schema version ${current}, newer than this gateway's ${SCHEMA_VERSION}; ` +
          'upgrade the gateway or point OUTBOX_PATH at another file',
      );
    }
    for (let version = current; version < SCHEMA_VERSION; version++) db.exec(MIGRATIONS[version]);
    if (current < SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
    return current;
  });
  return step.immediate();
}
