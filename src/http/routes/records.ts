/** Care provider systems: post records, then follow their submissions. */
import { Router } from 'express';
import { acceptRecords, type IngestDeps } from '../../ingest/accept';
import { notFound } from '../../fhir/operation-outcome';
import { handle } from '../respond';

export function recordsRouter(deps: IngestDeps): Router {
  const router = Router();

  router.post('/v1/records', handle(async (req) => {
    const accepted = await acceptRecords(deps, req.body);
    const headers: Record<string, string> = accepted.length === 1 ? { Location: `/v1/submissions/${accepted[0].submissionId}` } : {};
    return { status: 202, headers, body: { accepted } };
  }));

  router.get('/v1/submissions/:id', handle(async (req) => {
    const status = await deps.outbox.get(String(req.params.id));
    if (!status) throw notFound('No such submission');
    return { status: 200, body: status };
  }));

  return router;
}
