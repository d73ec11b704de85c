/**
 * Bulk ingest for a provider's first load or a day's backlog: NDJSON (one record per line) or CSV (one
 * record type per file), streamed through the same checks as single records. The answer (202, once the
 * stream is read) is the job: lines read, accepted, rejected, and the rejected lines' issues; the job is
 * also readable at /v1/jobs/{id} while it runs.
 */
import { Router, type Request } from 'express';
import type { JobStatus } from '../../ingest/bulk/job-store';
import { ingestBulk, type BulkDeps } from '../../ingest/bulk/bulk-ingest';
import { csvRecords, ndjsonRecords, type BulkItem } from '../../ingest/bulk/lines';
import { callerOdsCode } from '../../auth/caller';
import { OperationOutcomeError, issue, notFound, outcome } from '../../fhir/operation-outcome';
import type { Reply } from '../respond';
import { callerOf, permit, type Security } from '../security';

const NDJSON = ['application/x-ndjson', 'application/ndjson'];
const CSV = ['text/csv'];

function itemsOf(req: Request, deps: BulkDeps): AsyncIterable<BulkItem> {
  if (req.is(NDJSON)) return ndjsonRecords(req);
  if (req.is(CSV)) {
    const type = typeof req.query.type === 'string' ? req.query.type : '';
    const mapping = deps.mappings.types.get(type);
    if (!mapping) {
      const known = [...deps.mappings.types.keys()].join(', ');
      throw new OperationOutcomeError(422, [issue('error', 'required', `A CSV needs ?type= one of: ${known}`, 'type')]);
    }
    return csvRecords(req, type, deps.mappings.envelopeSchema, mapping.schema);
  }
  throw new OperationOutcomeError(415, [issue('error', 'not-supported', `Content-Type must be one of: ${[...NDJSON, ...CSV].join(', ')}`)]);
}

function jobReply(job: JobStatus, status: number): Reply {
  const { issues, ...summary } = job;
  return {
    status,
    headers: { 'Content-Location': `/v1/jobs/${job.id}` },
    body: { ...summary, ...(issues.length > 0 ? { outcome: outcome(issues) } : {}) },
  };
}

export function bulkRecordsRouter(deps: BulkDeps, security: Security): Router {
  const router = Router();

  router.post('/v1/records/bulk', security.guarded('create', 'bulk submission of care records', async (req) => {
    const providerOds = callerOdsCode(callerOf()) ?? '';
    permit({ type: 'records.write', providerOds });
    const items = itemsOf(req, deps);
    const job = deps.jobs.create(providerOds);
    const gate = (record: { careProvider: { odsCode: string } }) => permit({ type: 'records.write', providerOds: record.careProvider.odsCode });
    return jobReply(await ingestBulk(deps, items, job, gate), 202);
  }));

  router.get('/v1/jobs/:id', security.guarded('read', 'read a bulk job', (req) => {
    const job = deps.jobs.get(String(req.params.id));
    if (!job) throw notFound('No such job');
    permit({ type: 'submission.read', providerOds: job.providerOds });
    return jobReply(job, 200);
  }));

  return router;
}
