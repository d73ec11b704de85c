/** Care provider systems: post records, then follow their submissions. */
import { Router } from 'express';
import { acceptRecords, type IngestDeps } from '../../ingest/accept';
import { notFound } from '../../fhir/operation-outcome';
import { noteSubjects } from '../../observability/request-context';
import { permit, type Security } from '../security';

export function recordsRouter(deps: IngestDeps, security: Security): Router {
  const router = Router();

  router.post('/v1/records', security.guarded('create', 'submit care records', async (req) => {
    const accepted = await acceptRecords(deps, req.body, (record) => {
      noteSubjects(record.nhsNumber);
      permit({ type: 'records.write', providerOds: record.careProvider.odsCode });
    });
    const headers: Record<string, string> = accepted.length === 1 ? { Location: `/v1/submissions/${accepted[0].submissionId}` } : {};
    return { status: 202, headers, body: { accepted } };
  }));

  router.get('/v1/submissions/:id', security.guarded('read', 'read a submission status', async (req) => {
    const status = await deps.outbox.get(String(req.params.id));
    if (!status) throw notFound('No such submission');
    permit({ type: 'submission.read', providerOds: status.providerOds });
    return { status: 200, body: status };
  }));

  return router;
}
