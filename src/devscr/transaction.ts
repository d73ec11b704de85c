/**
 * Gap: Medplum 4.5.2 refuses transactions a production SCR takes (measured): any conditional entry
 * (ifNoneExist, conditional PUT or DELETE) with more than 8 entries -> 400 "Transaction requires strict
 * isolation but has too many entries"; more than 50 updates -> 400 "Transaction contains more update
 * operations than allowed". Both limits guard PostgreSQL transactions; here requests run one at a time
 * and AtomicMemoryRepository rolls a failed transaction back whole, so they guard nothing. Within its
 * limits Medplum also mishandles two conditional creates with one condition (the care home shared by
 * several submissions; measured): when the resource exists it refuses the transaction ("Duplicate resource
 * identity"); when not, it creates one and points references to the other entry at an id it never stores.
 *
 * So every transaction is resolved first (transaction-plan.ts) into plain, independent entries, which
 * Medplum then runs in chunks within its limits, all inside one repo.withTransaction: a failing chunk
 * throws and every chunk before it is undone (Medplum's own withTransaction joins the outer one). The
 * answers are stitched back in request order.
 */
import { OperationOutcomeError, allOk, created, isOk } from '@medplum/core';
import type { FhirRepository, FhirRequest, FhirResponse, FhirRouter } from '@medplum/fhir-router';
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import { planTransaction, type Step } from './transaction-plan';

/** Medplum's update limit per transaction (batch.ts maxUpdates); every write is sent as an update. */
const CHUNK_SIZE = 50;

export async function processTransaction(
  bundle: Bundle,
  router: FhirRouter,
  repo: FhirRepository,
  config: FhirRequest['config'],
): Promise<FhirResponse> {
  return repo.withTransaction(async () => {
    const { steps, order } = await planTransaction(bundle.entry ?? [], repo, router);
    const answers: BundleEntry[] = new Array(steps.length);
    for (const chunk of chunks(steps, order)) {
      const body: Bundle = { resourceType: 'Bundle', type: 'transaction', entry: chunk.entry };
      const request: FhirRequest = { method: 'POST', url: '', pathname: '', body, params: {}, query: {}, headers: {}, config };
      const [outcome, response] = await router.handleRequest(request, repo);
      if (!isOk(outcome)) throw new OperationOutcomeError(outcome);
      (response as Bundle).entry?.forEach((answer, k) => (answers[chunk.at[k]] = answer));
    }
    for (let i = 0; i < steps.length; i++) answers[i] = await answer(steps[i], answers[i], repo);
    return [allOk, { resourceType: 'Bundle', type: 'transaction-response', entry: answers }];
  });
}

/**
 * Request positions in processing order, cut into chunks Medplum accepts: at most CHUNK_SIZE entries, and
 * an entry still conditional (a conditional DELETE or PATCH, left to Medplum) alone in its chunk.
 */
function chunks(steps: Step[], order: number[]): { at: number[]; entry: BundleEntry[] }[] {
  const out: { at: number[]; entry: BundleEntry[] }[] = [];
  let current = { at: [] as number[], entry: [] as BundleEntry[] };
  for (const i of order) {
    const step = steps[i];
    if (step.kind === 'match') continue;
    const alone = step.kind === 'as-is' && Boolean(step.entry.request?.url.includes('?') || step.entry.request?.ifNoneExist);
    if (current.at.length && (alone || current.at.length === CHUNK_SIZE)) {
      out.push(current);
      current = { at: [], entry: [] };
    }
    current.at.push(i);
    current.entry.push(step.entry);
    if (alone) {
      out.push(current);
      current = { at: [], entry: [] };
    }
  }
  if (current.at.length) out.push(current);
  return out;
}

/**
 * The response entry as FHIR R4 has it: Medplum answers a PUT that made a new resource "200"; it is
 * "201" (created). A matched conditional create answers "200" with the resource as it now is.
 */
async function answer(step: Step, fromMedplum: BundleEntry | undefined, repo: FhirRepository): Promise<BundleEntry> {
  let entry = fromMedplum ?? {};
  if (step.kind === 'match') {
    const [type, id] = step.reference.split('/');
    entry = { response: { status: '200', location: step.reference, outcome: allOk }, resource: await repo.readResource<Resource>(type, id) };
  } else if (step.kind === 'write' && step.created && entry.response) {
    entry.response = { ...entry.response, status: '201', outcome: created };
  }
  const version = entry.resource?.meta?.versionId;
  if (entry.response && version) entry.response.etag = `W/"${version}"`;
  return entry;
}
