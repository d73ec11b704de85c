/**
 * The outbox: accepted submissions, stored durably before the gateway answers 202, and claimed by the
 * delivery worker. One interface, two stores: embedded SQLite (one process) and PostgreSQL (several replicas).
 */
import type { Bundle, OperationOutcome } from 'fhir/r4';

/**
 * queued     accepted, waiting for (another) delivery attempt
 * delivering claimed by a worker; a crash leaves it here and recovery puts it back to queued (PostgreSQL:
 *            once the claim's lease has run out, as other replicas may be alive)
 * delivered  the SCR accepted the transaction
 * rejected   the SCR refused it with a 4xx that retrying cannot fix (dead letter, replayable)
 * failed     every allowed attempt failed (dead letter, replayable)
 */
export type SubmissionState = 'queued' | 'delivering' | 'delivered' | 'rejected' | 'failed';

export const SUBMISSION_STATES: readonly SubmissionState[] = ['queued', 'delivering', 'delivered', 'rejected', 'failed'];

/** A mark* call for a submission that is not (or no longer) claimed by this worker: a bug, or its claim ran out. */
export class OutboxStateError extends Error {
  override name = 'OutboxStateError';
}

export interface NewSubmission {
  /** Care provider ODS code that sent it. */
  providerOds: string;
  /** Ordering key: submissions with the same key are delivered strictly in acceptance order (the NHS number). */
  orderingKey: string;
  /** Provider record references this submission carries, e.g. ["resident:R-1001@3"]; for the status view. */
  records: string[];
  /** The transaction Bundle to send to the SCR. */
  bundle: Bundle;
  /**
   * The provider record it carries ("<ODS>/<type>/<recordId>") and its version: the outbox refuses, in the
   * same transaction, a version lower than one it already accepted for that record (MODS versioned records).
   */
  version?: { record: string; version: number };
}

/** An Idempotency-Key: the first request's submissions answer every repeat of it. */
export interface IdempotencyKey {
  /** Scoped to the caller, so two callers' keys never collide. */
  key: string;
  /** A hash of the request body: the same key with another body is an error, not a repeat. */
  requestHash: string;
}

/** Another request with the same Idempotency-Key committed first: nothing was queued by this one. */
export class IdempotencyKeyTaken extends Error {
  override name = 'IdempotencyKeyTaken';
}

/** Some submissions carry a version lower than one already accepted: nothing was queued. */
export class StaleRecordError extends Error {
  override name = 'StaleRecordError';
  constructor(readonly stale: { index: number; version: number; current: number }[]) {
    super(`${stale.length} record(s) older than the version already accepted`);
  }
}

export interface SubmissionStatus {
  id: string;
  state: SubmissionState;
  providerOds: string;
  records: string[];
  attempts: number;
  acceptedAt: string;
  updatedAt: string;
  nextAttemptAt?: string;
  deliveredAt?: string;
  /** The SCR's last answer when it refused (an OperationOutcome), or a description of the last failure. */
  lastError?: OperationOutcome;
}

export interface ClaimedSubmission {
  id: string;
  attempts: number;
  bundle: Bundle;
  /** The same key's next submission was already queued when this one was claimed (it waits for this one). */
  more?: boolean;
  /** Length of the stored bundle's JSON (characters in SQLite, bytes in PostgreSQL), as maxBytes counts it. */
  bytes?: number;
}

export interface ClaimOptions {
  /** The time due work is judged by (default: now). */
  now?: Date;
  /** Stop before the claimed bundles' stored JSON would pass this many bytes (SQLite counts characters: the same for ASCII). */
  maxBytes?: number;
  /** Claim the first due submission even if it alone passes maxBytes (a worker with nothing in flight: a large one still goes). */
  atLeastOne?: boolean;
}

/** A submission the SCR accepted, with its part of the transaction-response. */
export interface Delivery {
  id: string;
  response: Bundle | undefined;
}

export interface Outbox {
  /**
   * Commit one or more submissions atomically (all or none) and return their ids in order. Throws
   * StaleRecordError when a version is older than the one accepted. With an idempotency key, the ids are
   * remembered with it in the same transaction.
   */
  enqueue(submissions: NewSubmission[], idempotency?: IdempotencyKey): Promise<string[]>;
  /** The ids a key was first answered with, and the hash of that request; undefined for a new key. */
  idempotent(key: string): Promise<{ requestHash: string; ids: string[] } | undefined>;
  get(id: string): Promise<SubmissionStatus | undefined>;
  /**
   * Atomically claim up to `limit` queued submissions whose next attempt is due, at most one per ordering
   * key, and never one whose key has an earlier submission still queued or delivering (per-patient ordering),
   * earliest due first, within maxBytes of bundles.
   */
  claim(limit: number, options?: ClaimOptions): Promise<ClaimedSubmission[]>;
  markDelivered(id: string, response: Bundle | undefined, now?: Date): Promise<void>;
  /**
   * Several submissions the SCR accepted in one transaction, marked in one write. Those still claimed are
   * marked; then, if any was not (its claim ran out), throws OutboxStateError naming them.
   */
  markAllDelivered(deliveries: Delivery[], now?: Date): Promise<void>;
  /** Back to queued with the attempt counted, due again at nextAttemptAt. */
  markRetry(id: string, error: OperationOutcome, nextAttemptAt: Date): Promise<void>;
  /** Dead letter: 'rejected' (4xx) or 'failed' (attempts exhausted). Later submissions for the key proceed. */
  markDead(id: string, state: 'rejected' | 'failed', error: OperationOutcome): Promise<void>;
  /** Dead letters, newest first. */
  deadLetters(limit: number): Promise<SubmissionStatus[]>;
  /** Put a dead letter back to queued with its attempts reset. False when it is not a dead letter. */
  replay(id: string): Promise<boolean>;
  /**
   * Start-up: anything left 'delivering' by a crash goes back to 'queued'. Returns how many. A shared store
   * (PostgreSQL) takes back only claims whose lease ran out, as other replicas may still be delivering.
   */
  recover(): Promise<number>;
  /**
   * Operators' pause, kept with the queue so that every worker claiming from it (every replica) sees it. The
   * worker reads it at each poll; sends already in flight finish.
   */
  setPaused(paused: boolean): Promise<void>;
  isPaused(): Promise<boolean>;
  /** Count by state, for /ready and metrics. */
  counts(): Promise<Record<SubmissionState, number>>;
  /**
   * Retention: drop the bodies (bundle and SCR response) of submissions delivered before `olderThan`; their
   * status rows stay. Returns how many were pruned.
   */
  prune(olderThan: Date): Promise<number>;
  /** True when a write can be committed now (for /ready). */
  writable(): Promise<boolean>;
  close(): Promise<void>;
}

/** The status columns both stores keep (SQLite holds times as epoch milliseconds, PostgreSQL as timestamps). */
export interface StatusRow {
  id: string;
  provider_ods: string;
  records: string;
  state: SubmissionState;
  attempts: number;
  accepted_at: number | Date;
  updated_at: number | Date;
  next_attempt_at: number | Date;
  delivered_at: number | Date | null;
  last_error: string | null;
}

export const STATUS_COLUMNS =
  'id, provider_ods, records, state, attempts, accepted_at, updated_at, next_attempt_at, delivered_at, last_error';

const iso = (time: number | Date): string => new Date(time).toISOString();

export function toStatus(row: StatusRow): SubmissionStatus {
  const status: SubmissionStatus = {
    id: row.id,
    state: row.state,
    providerOds: row.provider_ods,
    records: JSON.parse(row.records) as string[],
    attempts: row.attempts,
    acceptedAt: iso(row.accepted_at),
    updatedAt: iso(row.updated_at),
  };
  if (row.state === 'queued') status.nextAttemptAt = iso(row.next_attempt_at);
  if (row.delivered_at !== null) status.deliveredAt = iso(row.delivered_at);
  if (row.last_error !== null) status.lastError = JSON.parse(row.last_error) as OperationOutcome;
  return status;
}
