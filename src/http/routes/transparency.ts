/**
 * The person's own view of who accessed their record, when and why (for a patient-facing app acting for
 * them): organisation and role only, never the names of staff or anything about other people.
 */
import { Router } from 'express';
import type { AuditStore } from '../../audit/audit-store';
import { OperationOutcomeError, issue } from '../../fhir/operation-outcome';
import { checkNhsNumber } from '../../ingest/nhs-number';
import { noteSubjects } from '../../observability/request-context';
import { permit, type Security } from '../security';

export function transparencyRouter(store: AuditStore, security: Security): Router {
  const router = Router();
  router.get('/v1/transparency/:nhsNumber', security.guarded('read', 'read a person\'s access log', (req) => {
    const nhs = checkNhsNumber(String(req.params.nhsNumber));
    if (!nhs.ok) throw new OperationOutcomeError(400, [issue('error', 'invalid', nhs.reason, 'nhsNumber')]);
    noteSubjects(nhs.value);
    permit({ type: 'transparency.read', nhsNumber: nhs.value });
    return { status: 200, body: { accesses: store.forPerson(nhs.value) } };
  }));
  return router;
}
