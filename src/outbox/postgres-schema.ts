/**
 * The outbox's PostgreSQL schema and its migrations, created in the connection's current schema (the first
 * of its search_path). Several replicas may start at once: the migration runs under a transaction-scoped
 * advisory lock, and the version lives in a one-row table, so each step runs exactly once.
 */
import type { PoolClient } from 'pg';

/** Index i takes the database from version i to version i + 1. Append only; never edit a shipped step. */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE submissions (
    -- Acceptance order, the basis of per-key ordering. Keep the sequence's CACHE at 1: then a submission
    -- whose enqueue began after another's committed always gets the higher number, on any replica.
    seq             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id              uuid        NOT NULL UNIQUE,
    provider_ods    text        NOT NULL,
    ordering_key    text        NOT NULL,
    records         text        NOT NULL,              -- JSON array of provider record references
    bundle          text,                              -- JSON transaction Bundle; NULL once pruned
    response        text,                              -- JSON transaction-response from the SCR; pruned too
    state           text        NOT NULL CHECK (state IN ('queued', 'delivering', 'delivered', 'rejected', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0,
    accepted_at     timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    delivered_at    timestamptz,
    last_error      text,                              -- JSON OperationOutcome
    -- Which replica claimed it last (kept after the outcome, for operators). While delivering: the claim's
    -- own token (its mark must match) and until when (database clock) it holds; after that another replica
    -- may take it back.
    claimed_by      text,
    claim_token     uuid,
    lease_until     timestamptz
  );
  -- The head of each key's line: the earliest submission still queued or delivering.
  CREATE INDEX submissions_pending_by_key ON submissions (ordering_key, seq) WHERE state IN ('queued', 'delivering');
  -- Due work, earliest first.
  CREATE INDEX submissions_due ON submissions (next_attempt_at, seq) WHERE state = 'queued';
  -- Claims whose lease may have run out.
  CREATE INDEX submissions_leases ON submissions (lease_until) WHERE state = 'delivering';
  -- Dead letters, newest first; delivered ones for pruning.
  CREATE INDEX submissions_by_state ON submissions (state, updated_at);

  -- The highest version accepted of each provider record ("<ODS>/<type>/<recordId>").
  CREATE TABLE record_versions (
    record   text    PRIMARY KEY,
    version  integer NOT NULL
  );
  -- Idempotency-Key -> the submissions the first request made.
  CREATE TABLE idempotency_keys (
    key           text        PRIMARY KEY,
    request_hash  text        NOT NULL,
    ids           text        NOT NULL,              -- JSON array of submission ids
    created_at    timestamptz NOT NULL
  );
  -- Operators' pause, shared by every replica: one row.
  CREATE TABLE delivery_control (
    id          boolean     PRIMARY KEY DEFAULT true CHECK (id),
    paused      boolean     NOT NULL,
    updated_at  timestamptz NOT NULL
  );
  INSERT INTO delivery_control (paused, updated_at) VALUES (false, now());
  `,
];

export const POSTGRES_SCHEMA_VERSION = MIGRATIONS.length;

export class PostgresSchemaVersionError extends Error {
  override name = 'PostgresSchemaVersionError';
}

/** Bring the schema up to POSTGRES_SCHEMA_VERSION; refuse one written by a newer gateway. Returns the old version. */
export async function migratePostgres(client: PoolClient): Promise<number> {
  await client.query('BEGIN');
  try {
    // Replicas starting together wait here for each other; the lock is per schema and ends with the transaction.
    await client.query(`SELECT pg_advisory_xact_lock(hashtext(current_schema()), 0)`);
    await client.query('CREATE TABLE IF NOT EXISTS outbox_schema (version integer NOT NULL)');
    const { rows } = await client.query<{ version: number }>('SELECT version FROM outbox_schema');
    const current = rows[0]?.version ?? 0;
    if (current > POSTGRES_SCHEMA_VERSION) {
      throw new PostgresSchemaVersionError(
        `Outbox database is at schema version ${current}, newer than this gateway's ${POSTGRES_SCHEMA_VERSION}; ` +
          'upgrade the gateway or point DATABASE_URL at another database',
      );
    }
    for (let version = current; version < POSTGRES_SCHEMA_VERSION; version++) await client.query(MIGRATIONS[version]);
    if (rows.length === 0) await client.query('INSERT INTO outbox_schema (version) VALUES ($1)', [POSTGRES_SCHEMA_VERSION]);
    else await client.query('UPDATE outbox_schema SET version = $1', [POSTGRES_SCHEMA_VERSION]);
    await client.query('COMMIT');
    return current;
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  }
}
