/** Care provider systems: post records, then follow their submissions. */
import { createHash } from 'node:crypto';
import { Router, type Request } from 'express';
import { acceptRecords, parseRecordRef, type AcceptedRecord, type IngestDeps, type RecordGate } from '../../ingest/accept';
import { OperationOutcomeError, issue, notFound } from '../../fhir/operation-outcome';
import { IdempotencyKeyTaken, type IdempotencyKey } from '../../outbox/outbox';
import { noteSubjects } from '../../observability/request-context';
import type { Reply } from '../respond';
import { callerOf, permit, type Security } from '../security';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** The Idempotency-Key header, scoped to the caller so two callers' keys never meet. */
function idempotencyKey(req: Request): IdempotencyKey | undefined {
  const key = req.header('idempotency-key');
  if (key === undefined) return undefined;
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw new OperationOutcomeError(400, [issue('error', 'invalid', 'Idempotency-Key must be 1 to 255 visible ASCII characters', 'Idempotency-Key')]);
  }
  const caller = callerOf();
  const who = 'clientId' in caller ? caller.clientId : caller.userId;
  return { key: `${caller.kind}:${who}:${key}`, requestHash: createHash('sha256').update(JSON.stringify(req.body)).digest('hex') };
}

function acceptedReply(accepted: AcceptedRecord[], replayed = false): Reply {
  const headers: Record<string, string> = accepted.length === 1 ? { Location: `/v1/submissions/${accepted[0].submissionId}` } : {};
  if (replayed) headers['Idempotent-Replayed'] = 'true';
  return { status: 202, headers, body: { accepted } };
}

export function recordsRouter(deps: IngestDeps, security: Security): Router {
  const router = Router();

  /** The first answer to this key again, or undefined if the key is new; the same key with another body is a 422. */
  async function repeat(idempotency: IdempotencyKey | undefined): Promise<Reply | undefined> {
    const previous = idempotency && (await deps.outbox.idempotent(idempotency.key));
    if (!previous) return undefined;
    if (previous.requestHash !== idempotency.requestHash) {
      throw new OperationOutcomeError(422, [issue('error', 'conflict', 'This Idempotency-Key was used with a different body', 'Idempotency-Key')]);
    }
    const statuses = await Promise.all(previous.ids.map((id) => deps.outbox.get(id)));
    return acceptedReply(previous.ids.map((id, i) => parseRecordRef(statuses[i]?.records[0] ?? '', id)), true);
  }

  router.post('/v1/records', security.guarded('create', 'submit care records', async (req) => {
    const idempotency = idempotencyKey(req);
    const earlier = await repeat(idempotency);
    if (earlier) return earlier;
    const gate: RecordGate = (record) => {
      if (record.nhsNumber) noteSubjects(record.nhsNumber);
      permit({ type: 'records.write', providerOds: record.careProvider.odsCode });
    };
    try {
      return acceptedReply(await acceptRecords(deps, req.body, gate, idempotency));
    } catch (err) {
      // A concurrent request with the same key committed first: answer as it was answered.
      if (err instanceof IdempotencyKeyTaken) return (await repeat(idempotency))!;
      throw err;
    }
  }));

  router.get('/v1/submissions/:id', security.guarded('read', 'read a submission status', async (req) => {
    const status = await deps.outbox.get(String(req.params.id));
    if (!status) throw notFound('No such submission');
    permit({ type: 'submission.read', providerOds: status.providerOds });
    return { status: 200, body: status };
  }));

  return router;
}
