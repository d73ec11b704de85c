/**
 * The outbox in PostgreSQL (node-postgres), for several gateway replicas sharing one queue. Same contract as
 * the SQLite outbox; what differs is that other replicas claim, mark and recover concurrently: claims are
 * serialised per ordering key and held by a lease (see postgres-claim.ts), and recover() takes back only
 * leases that ran out. Commits wait for the WAL flush (synchronous_commit at its default, on), so an answered
 * 202 survives a crash of the database server too.
 */
import { randomUUID } from 'node:crypto';
import type { Bundle, OperationOutcome } from 'fhir/r4';
import { Pool, type PoolClient } from 'pg';
import type { Logger } from '../observability/logger';
import {
  OutboxStateError,
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
import { claimDue } from './postgres-claim';
import { enqueueIn } from './postgres-enqueue';
import { migratePostgres } from './postgres-schema';


export interface PostgresOutboxOptions {
  /** postgres:// or postgresql:// URL; `?options=-c search_path=...` picks the schema. */
  connectionString: string;
  /** How long a claim holds before another replica may take it back; longer than the SCR time-out. */
  leaseMs: number;
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /** Told when an idle connection to the database is lost (the next query reconnects). */
  logger?: Logger;
}



export class PostgresOutbox implements Outbox {
  /** This process's name in claimed_by, for operators reading the table. */
  readonly replicaId = randomUUID();
  /** Claim tokens of the submissions this instance has out: a mark must present the token of its claim. */
  private readonly claims = new Map<string, string>();
  private closed = false;

  private constructor(
    private readonly pool: Pool,
    private readonly leaseMs: number,
  ) {}

  /** Connects, creates or migrates the schema, and returns the outbox. */
  static async open(options: PostgresOutboxOptions): Promise<PostgresOutbox> {
    const pool = new Pool({ connectionString: options.connectionString, max: options.poolSize ?? 10, connectionTimeoutMillis: 5000 });
    // An idle client losing its connection must not crash the process; the next query reconnects.
    pool.on('error', (err) => options.logger?.warn('outbox database connection lost; reconnecting at the next query', { error: err }));
    try {
      const client = await pool.connect();
      try {
        await migratePostgres(client);
      } finally {
        client.release();
      }
    } catch (err) {
      await pool.end();
      throw err;
    }
    return new PostgresOutbox(pool, options.leaseMs);
  }

  async enqueue(submissions: NewSubmission[], idempotency?: IdempotencyKey): Promise<string[]> {
    return this.transaction((client) => enqueueIn(client, submissions, idempotency));
  }

  async idempotent(key: string): Promise<{ requestHash: string; ids: string[] } | undefined> {
    const { rows } = await this.pool.query<{ request_hash: string; ids: string }>(
      'SELECT request_hash, ids FROM idempotency_keys WHERE key = $1',
      [key],
    );
    return rows[0] && { requestHash: rows[0].request_hash, ids: JSON.parse(rows[0].ids) as string[] };
  }

  async get(id: string): Promise<SubmissionStatus | undefined> {
    if (!isUuid(id)) return undefined;
    const { rows } = await this.pool.query<StatusRow>(`SELECT ${STATUS_COLUMNS} FROM submissions WHERE id = $1`, [id]);
    return rows[0] && toStatus(rows[0]);
  }

  async claim(limit: number, { now = new Date(), maxBytes = Infinity, atLeastOne = false }: ClaimOptions = {}): Promise<ClaimedSubmission[]> {
    if (limit <= 0) return [];
    const client = await this.pool.connect();
    try {
      // A bigint parameter: a whole number, and no Infinity.
      const budget = Math.floor(Math.min(maxBytes, Number.MAX_SAFE_INTEGER));
      const rows = await claimDue(client, { limit, now, maxBytes: budget, atLeastOne, replicaId: this.replicaId, leaseMs: this.leaseMs });
      return rows.map((row) => {
        this.claims.set(row.id, row.claim_token);
        // A queued row always has its bundle: prune only touches delivered rows.
        return { id: row.id, attempts: row.attempts, bundle: JSON.parse(row.bundle ?? 'null') as Bundle, more: row.more, bytes: row.bytes ?? 0 };
      });
    } finally {
      client.release();
    }
  }

  async markDelivered(id: string, response: Bundle | undefined, now: Date = new Date()): Promise<void> {
    return this.markAllDelivered([{ id, response }], now);
  }

  /** One UPDATE for the lot; each row only under its own claim token, as mark() does for one. */
  async markAllDelivered(deliveries: Delivery[], now: Date = new Date()): Promise<void> {
    const ours = deliveries.filter((d) => this.claims.has(d.id));
    const result = await this.pool.query<{ id: string }>(
      `UPDATE submissions s
       SET state = 'delivered', attempts = s.attempts + 1, response = d.response, last_error = NULL,
           delivered_at = $4, updated_at = $4, claim_token = NULL, lease_until = NULL
       FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS d(id, token, response)
       WHERE s.id = d.id AND s.state = 'delivering' AND s.claim_token = d.token
       RETURNING s.id`,
      [
        ours.map((d) => d.id),
        ours.map((d) => this.claims.get(d.id)),
        ours.map((d) => (d.response === undefined ? null : JSON.stringify(d.response))),
        now,
      ],
    );
    for (const d of deliveries) this.claims.delete(d.id);
    const marked = new Set(result.rows.map((row) => row.id));
    const lost = deliveries.filter((d) => !marked.has(d.id)).map((d) => d.id);
    if (lost.length > 0) {
      throw new OutboxStateError(`Submission ${lost.join(', ')}: not claimed by this replica (the claim ran out, or another replica took it back); its outcome was not recorded`);
    }
  }

  async markRetry(id: string, error: OperationOutcome, nextAttemptAt: Date): Promise<void> {
    await this.mark(id, `state = 'queued', attempts = attempts + 1, last_error = $3, next_attempt_at = $4, updated_at = $5`, [
      JSON.stringify(error),
      nextAttemptAt,
      new Date(),
    ]);
  }

  async markDead(id: string, state: 'rejected' | 'failed', error: OperationOutcome): Promise<void> {
    await this.mark(id, `state = $3, attempts = attempts + 1, last_error = $4, updated_at = $5`, [state, JSON.stringify(error), new Date()]);
  }

  /** End this instance's claim on `id`. Refused when the claim is not ours (any more): another replica took it back. */
  private async mark(id: string, set: string, params: unknown[]): Promise<void> {
    const token = this.claims.get(id);
    if (token === undefined) throw new OutboxStateError(`Submission ${id} is not being delivered by this replica; its outcome was not recorded`);
    const result = await this.pool.query(
      `UPDATE submissions SET ${set}, claim_token = NULL, lease_until = NULL
       WHERE id = $1 AND state = 'delivering' AND claim_token = $2`,
      [id, token, ...params],
    );
    this.claims.delete(id);
    if (result.rowCount !== 1) {
      throw new OutboxStateError(`Submission ${id}: the claim ran out and another replica took it back; its outcome was not recorded`);
    }
  }

  async deadLetters(limit: number): Promise<SubmissionStatus[]> {
    const { rows } = await this.pool.query<StatusRow>(
      `SELECT ${STATUS_COLUMNS} FROM submissions WHERE state IN ('rejected', 'failed') ORDER BY updated_at DESC, seq DESC LIMIT $1`,
      [limit],
    );
    return rows.map(toStatus);
  }

  async replay(id: string): Promise<boolean> {
    if (!isUuid(id)) return false;
    const now = new Date();
    const result = await this.pool.query(
      `UPDATE submissions SET state = 'queued', attempts = 0, next_attempt_at = $2, updated_at = $2
       WHERE id = $1 AND state IN ('rejected', 'failed')`,
      [id, now],
    );
    return result.rowCount === 1;
  }

  /** Start-up: take back only claims whose lease ran out; a live lease belongs to a replica still running. */
  async recover(): Promise<number> {
    const result = await this.pool.query(
      // SKIP LOCKED: a row another replica is taking back right now is theirs; waiting on it could deadlock.
      `UPDATE submissions SET state = 'queued', claim_token = NULL, lease_until = NULL, updated_at = $1
       WHERE seq IN (
         SELECT seq FROM submissions WHERE state = 'delivering' AND lease_until <= clock_timestamp()
         FOR UPDATE SKIP LOCKED)`,
      [new Date()],
    );
    return result.rowCount ?? 0;
  }

  async counts(): Promise<Record<SubmissionState, number>> {
    const counts = Object.fromEntries(SUBMISSION_STATES.map((s) => [s, 0])) as Record<SubmissionState, number>;
    const { rows } = await this.pool.query<{ state: SubmissionState; n: number }>(
      'SELECT state, count(*)::integer AS n FROM submissions GROUP BY state',
    );
    for (const row of rows) counts[row.state] = row.n;
    return counts;
  }

  async prune(olderThan: Date): Promise<number> {
    const result = await this.pool.query(
      `UPDATE submissions SET bundle = NULL, response = NULL
       WHERE state = 'delivered' AND delivered_at < $1 AND (bundle IS NOT NULL OR response IS NOT NULL)`,
      [olderThan],
    );
    return result.rowCount ?? 0;
  }

  async setPaused(paused: boolean): Promise<void> {
    await this.pool.query('UPDATE delivery_control SET paused = $1, updated_at = now()', [paused]);
  }

  async isPaused(): Promise<boolean> {
    const { rows } = await this.pool.query<{ paused: boolean }>('SELECT paused FROM delivery_control');
    return rows[0]?.paused ?? false;
  }

  /** Writes nothing (rolled back): false when the server is unreachable, read-only (a standby) or we are closed. */
  async writable(): Promise<boolean> {
    if (this.closed) return false;
    try {
      await this.transaction(async (client) => {
        await client.query('UPDATE delivery_control SET updated_at = updated_at');
        throw new RollBack();
      });
    } catch (err) {
      return err instanceof RollBack;
    }
    return true;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  private async transaction<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      try {
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      }
    } finally {
      client.release();
    }
  }
}

class RollBack extends Error {}

/** Ids are UUIDs; anything else cannot name a submission (and must not reach a uuid parameter). */
function isUuid(id: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id);
}

