/**
 * Claiming work from the PostgreSQL outbox when several replicas claim from one database at once.
 *
 * The rule (the Outbox contract): a submission may go out only when it is the head of its ordering key's line
 * (no earlier submission of the key queued or delivering) and nothing of the key is out for delivery. A
 * lease replaces SQLite's "reset every 'delivering' row at start-up": a claim holds until lease_until
 * (database clock, so replicas' clocks do not matter), and after that any replica may take the row back.
 *
 * Why two replicas can never have two submissions of one key out at once:
 *  1. The only way into 'delivering' is the UPDATE below, and it runs only for keys whose transaction-scoped
 *     advisory lock this transaction holds (pg_try_advisory_xact_lock on the key's hash, namespaced by the
 *     schema). Another claimer of the same key holds that lock until its transaction has committed.
 *  2. Under READ COMMITTED each statement takes a fresh snapshot. The checking UPDATE is a statement that
 *     starts after the lock was granted, so it sees every claim of the key that committed before, i.e. every
 *     claim there is: a live lease on the key stops it, and the head is computed from current rows.
 *  3. The first statement (which keys look claimable) works from an older snapshot and may be wrong; it only
 *     chooses which locks to try. Being wrong costs a lock taken for nothing, never a second claim.
 *  4. Other writers never create a 'delivering' row: a mark ends a claim, replay puts a dead letter back to
 *     queued (it then waits behind anything of its key still out, as in SQLite), recover() and the claim
 *     itself take back only expired leases. The UPDATE re-checks the row's own state, so if one of those
 *     changed it meanwhile, PostgreSQL re-evaluates the condition on the new row version and skips it.
 *  5. Two keys with the same hash only share a lock: they are claimed one after the other, never both.
 * A slow sender whose lease ran out is the one case where a submission can go out twice (its mark then fails
 * on the claim token); conditional updates make a repeat harmless, and DELIVERY_LEASE_MS is set well above
 * SCR_TIMEOUT_MS so it needs a stall beyond the time-out.
 */
import type { PoolClient } from 'pg';

export interface ClaimedRow {
  id: string;
  attempts: number;
  bundle: string | null;
  bytes: number | null;
  claim_token: string;
  next_attempt_at: Date;
  seq: string;
  more: boolean;
}

/** Keys worth trying, earliest due first; lock as many as we may claim, skipping keys another claimer holds. */
const LOCK_CANDIDATE_KEYS = `
  SELECT c.ordering_key FROM (
    SELECT ordering_key, next_attempt_at, seq FROM (
      SELECT s.ordering_key, s.next_attempt_at, s.seq FROM submissions s
      WHERE s.state = 'queued' AND s.next_attempt_at <= $1
        AND NOT EXISTS (
          SELECT 1 FROM submissions e
          WHERE e.ordering_key = s.ordering_key AND e.seq < s.seq AND e.state IN ('queued', 'delivering'))
        -- (so replayed dead letters waiting behind a send do not crowd out work that can go)
        AND NOT EXISTS (
          SELECT 1 FROM submissions d
          WHERE d.ordering_key = s.ordering_key AND d.state = 'delivering' AND d.lease_until > clock_timestamp())
      UNION ALL
      SELECT ordering_key, next_attempt_at, seq FROM submissions
      WHERE state = 'delivering' AND lease_until <= clock_timestamp()
    ) due
    ORDER BY next_attempt_at, seq
    LIMIT $2
  ) c
  -- The LIMIT above fences the candidates, so the lock is only tried on them, in order, until $3 are held.
  WHERE pg_try_advisory_xact_lock(hashtext(current_schema()), hashtext(c.ordering_key))
  LIMIT $3`;

/**
 * For the keys we hold: claim each key's head if it is due (or its lease ran out) and nothing else is out,
 * earliest due first while the bundles' running total stays within $5 bytes (the first whatever its size if $6).
 */
const CLAIM_HEADS = `
  WITH pending AS (
    SELECT seq, ordering_key, state, next_attempt_at, lease_until, octet_length(bundle) AS bytes,
           row_number() OVER (PARTITION BY ordering_key ORDER BY seq) AS place
    FROM submissions
    WHERE ordering_key = ANY($1::text[]) AND state IN ('queued', 'delivering')
  ),
  claimable AS (
    SELECT h.seq, h.bytes,
           row_number() OVER (ORDER BY h.next_attempt_at, h.seq) AS place,
           sum(h.bytes) OVER (ORDER BY h.next_attempt_at, h.seq) AS running_bytes
    FROM pending h
    WHERE h.place = 1
      AND ((h.state = 'queued' AND h.next_attempt_at <= $2)
           OR (h.state = 'delivering' AND h.lease_until <= clock_timestamp()))
      AND NOT EXISTS (
        SELECT 1 FROM pending d
        WHERE d.ordering_key = h.ordering_key AND d.seq <> h.seq
          AND d.state = 'delivering' AND d.lease_until > clock_timestamp())
  ),
  within_budget AS (
    SELECT seq, bytes FROM claimable WHERE running_bytes <= $5 OR (place = 1 AND $6::boolean)
  )
  UPDATE submissions s
  SET state = 'delivering', claimed_by = $3, claim_token = gen_random_uuid(),
      lease_until = clock_timestamp() + $4 * interval '1 millisecond', updated_at = $2
  FROM within_budget c
  WHERE s.seq = c.seq
    AND (s.state = 'queued' OR (s.state = 'delivering' AND s.lease_until <= clock_timestamp()))
  RETURNING s.id, s.attempts, s.bundle, c.bytes, s.claim_token, s.next_attempt_at, s.seq,
    EXISTS (
      SELECT 1 FROM submissions n
      WHERE n.ordering_key = s.ordering_key AND n.seq > s.seq AND n.state IN ('queued', 'delivering')) AS more`;

/** One claim transaction on `client`. Rows come back earliest due first, as SQLite returns them. */
export async function claimDue(
  client: PoolClient,
  options: { limit: number; now: Date; maxBytes: number; atLeastOne: boolean; replicaId: string; leaseMs: number },
): Promise<ClaimedRow[]> {
  const { limit, now, maxBytes, atLeastOne, replicaId, leaseMs } = options;
  await client.query('BEGIN');
  try {
    // Look a little beyond `limit`: keys another replica is claiming right now are skipped, not waited for.
    const locked = await client.query<{ ordering_key: string }>(LOCK_CANDIDATE_KEYS, [now, limit * 4, limit]);
    const keys = [...new Set(locked.rows.map((r) => r.ordering_key))];
    let rows: ClaimedRow[] = [];
    if (keys.length > 0) rows = (await client.query<ClaimedRow>(CLAIM_HEADS, [keys, now, replicaId, leaseMs, maxBytes, atLeastOne])).rows;
    await client.query('COMMIT');
    return rows.sort((a, b) => a.next_attempt_at.getTime() - b.next_attempt_at.getTime() || Number(a.seq) - Number(b.seq));
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
