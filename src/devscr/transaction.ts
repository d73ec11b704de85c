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
 * So every transaction is resolved first (transaction-plan.ts) into plain, independent entries, all inside
 * one repo.withTransaction: a failure anywhere throws and every write before it is undone. The plain writes
 * (PUT Type/id, which is what every create and conditional update became) are stored directly with
 * AtomicMemoryRepository.put, with the checks Medplum's update handler makes (resource type and id match the
 * URL, If-Match); Medplum's batch processing adds nothing to such an entry but copies (its reference
 * rewriting walks and rebuilds every resource, each write copies it three times), which were most of a
 * bulk transaction's CPU. Anything else (DELETE, PATCH, reads, operations) still goes through Medplum's
 * router, in chunks within its limits, in FHIR's processing order (Medplum's own withTransaction joins the
 * outer one). The answers are stitched back in request order.
 */
import { OperationOutcomeError, allOk, badRequest, created, isOk } from '@medplum/core';
import type { FhirRequest, FhirResponse, FhirRouter } from '@medplum/fhir-router';
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import type { AtomicMemoryRepository } from './atomic-repository';
import { planTransaction, type Step } from './transaction-plan';

/** Medplum's update limit per transaction (batch.ts maxUpdates). */
const CHUNK_SIZE = 50;

type Write = Extract<Step, { kind: 'write' }>;

export async function processTransaction(
  bundle: Bundle,
  router: FhirRouter,
  repo: AtomicMemoryRepository,
  config: FhirRequest['config'],
): Promise<FhirResponse> {
  return repo.withTransaction(async () => {
    const { steps, order } = planTransaction(bundle.entry ?? [], repo, router);
    const answers: BundleEntry[] = new Array(steps.length);
    let chunk: { at: number[]; entry: BundleEntry[] } = { at: [], entry: [] };
    const flush = async (): Promise<void> => {
      if (!chunk.at.length) return;
      const body: Bundle = { resourceType: 'Bundle', type: 'transaction', entry: chunk.entry };
      const request: FhirRequest = { method: 'POST', url: '', pathname: '', body, params: {}, query: {}, headers: {}, config };
      const [outcome, response] = await router.handleRequest(request, repo);
      if (!isOk(outcome)) throw new OperationOutcomeError(outcome);
      const at = chunk.at;
      (response as Bundle).entry?.forEach((answer, k) => (answers[at[k]] = answer));
      chunk = { at: [], entry: [] };
    };
    for (const i of order) {
      const step = steps[i];
      if (step.kind === 'write') {
        await flush();
        answers[i] = write(step, repo, i);
      } else if (step.kind === 'as-is') {
        // An entry still conditional (a conditional DELETE or PATCH, left to Medplum) goes alone in its chunk.
        const alone = Boolean(step.entry.request?.url.includes('?') || step.entry.request?.ifNoneExist);
        if (alone || chunk.at.length === CHUNK_SIZE) await flush();
        chunk.at.push(i);
        chunk.entry.push(step.entry);
        if (alone) await flush();
      }
    }
    await flush();
    const matched = new Map<string, Resource | undefined>();
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i];
      if (step.kind !== 'match') continue;
      if (!matched.has(step.reference)) matched.set(step.reference, repo.storedResource(...(step.reference.split('/') as [string, string])));
      answers[i] = { response: { status: '200', location: step.reference, outcome: allOk }, resource: matched.get(step.reference) };
    }
    for (const entry of answers) {
      const version = entry.resource?.meta?.versionId;
      if (entry.response && version) entry.response.etag = `W/"${version}"`;
    }
    return [allOk, { resourceType: 'Bundle', type: 'transaction-response', entry: answers }];
  });
}

/**
 * A plain PUT Type/id, checked as Medplum's update handler checks it, stored without copies. Answers as
 * Medplum's batch does (location Type/id, the stored resource), with FHIR R4's 201 for a new resource
 * where Medplum answers 200.
 */
function write(step: Write, repo: AtomicMemoryRepository, i: number): BundleEntry {
  const { entry, reference } = step;
  const resource = entry.resource!;
  const [type, id] = reference.split('/');
  if (resource.resourceType !== type) throw new OperationOutcomeError(badRequest('Incorrect resource type', `Bundle.entry[${i}].resource`));
  if (resource.id !== id) throw new OperationOutcomeError(badRequest('Incorrect resource ID', `Bundle.entry[${i}].resource.id`));
  const ifMatch = entry.request?.ifMatch ? /"([^"]+)"/.exec(entry.request.ifMatch)?.[1] : undefined; // as Medplum parses it
  const stored = repo.put(resource as Resource & { id: string }, ifMatch);
  return {
    response: { status: step.created ? '201' : '200', location: reference, outcome: step.created ? created : allOk },
    resource: stored,
  };
}
