/**
 * Accepting submissions into the PostgreSQL outbox, inside the caller's transaction: the Idempotency-Key,
 * the record versions (stale check) and the rows commit together or not at all.
 *
 * Locks are taken in one order by every replica, so two enqueues never wait on each other in a cycle: the
 * Idempotency-Key first, then record versions sorted by record (byte order, COLLATE "C", which is also the
 * order JavaScript sorts the ASCII record references in). Acceptance order (seq) needs no lock: a
 * submission whose enqueue began after another's committed draws a higher number from the sequence.
 */
import { randomUUID } from 'node:crypto';
import type { PoolClient } from 'pg';
import { IdempotencyKeyTaken, StaleRecordError, type IdempotencyKey, type NewSubmission } from './outbox';

export async function enqueueIn(client: PoolClient, submissions: NewSubmission[], idempotency?: IdempotencyKey): Promise<string[]> {
  const now = new Date();
  // Reserve the key first: a concurrent request with the same key waits here and then finds it taken.
  if (idempotency) {
    const reserved = await client.query(
      `INSERT INTO idempotency_keys (key, request_hash, ids, created_at) VALUES ($1, $2, '[]', $3)
       ON CONFLICT (key) DO NOTHING RETURNING key`,
      [idempotency.key, idempotency.requestHash, now],
    );
    if (reserved.rowCount === 0) throw new IdempotencyKeyTaken();
  }
  const stale = await checkVersions(client, submissions);
  if (stale.length > 0) throw new StaleRecordError(stale);
  const ids = submissions.map(() => randomUUID());
  // One statement for the batch; WITH ORDINALITY keeps acceptance (seq) order the batch's order.
  await client.query(
    `INSERT INTO submissions (id, provider_ods, ordering_key, records, bundle, state, accepted_at, updated_at, next_attempt_at)
     SELECT id, provider_ods, ordering_key, records, bundle, 'queued', $6, $6, $6
     FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[])
       WITH ORDINALITY AS u(id, provider_ods, ordering_key, records, bundle, n)
     ORDER BY n`,
    [
      ids,
      submissions.map((s) => s.providerOds),
      submissions.map((s) => s.orderingKey),
      submissions.map((s) => JSON.stringify(s.records)),
      submissions.map((s) => JSON.stringify(s.bundle)),
      now,
    ],
  );
  if (idempotency) await client.query('UPDATE idempotency_keys SET ids = $2 WHERE key = $1', [idempotency.key, JSON.stringify(ids)]);
  return ids;
}

const RAISE_VERSIONS = `
  INSERT INTO record_versions AS r (record, version)
  SELECT record, version FROM unnest($1::text[], $2::integer[]) AS u(record, version) ORDER BY record COLLATE "C"
  ON CONFLICT (record) DO UPDATE SET version = GREATEST(r.version, excluded.version)
  RETURNING record, version`;

/**
 * Raise each record's accepted version, or report it stale. The upsert locks the record's row until commit,
 * so replicas accepting versions of one record do it one after the other. Versions of one record within a
 * batch are taken in the batch's order, as the SQLite outbox does.
 */
async function checkVersions(client: PoolClient, submissions: NewSubmission[]): Promise<StaleRecordError['stale']> {
  const stale: StaleRecordError['stale'] = [];
  const versioned = submissions
    .flatMap((s, index) => (s.version ? [{ index, ...s.version }] : []))
    .sort((a, b) => (a.record < b.record ? -1 : a.record > b.record ? 1 : a.index - b.index));
  if (versioned.length === 0) return stale;
  const distinct = new Set(versioned.map((v) => v.record)).size === versioned.length;
  // One statement when every record appears once (the usual case); one per version, in record order, otherwise.
  const batches = distinct ? [versioned] : versioned.map((v) => [v]);
  for (const batch of batches) {
    const { rows } = await client.query<{ record: string; version: number }>(RAISE_VERSIONS, [
      batch.map((v) => v.record),
      batch.map((v) => v.version),
    ]);
    const current = new Map(rows.map((r) => [r.record, r.version]));
    for (const v of batch) {
      const accepted = current.get(v.record) ?? v.version;
      if (accepted > v.version) stale.push({ index: v.index, version: v.version, current: accepted });
    }
  }
  return stale.sort((a, b) => a.index - b.index);
}
