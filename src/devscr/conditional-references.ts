/**
 * Gap: Medplum 4.5.2 stores a conditional reference ("Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|
 * 9434765919") in a transaction as it is (measured), where FHIR R4 (http.html, "Conditional References")
 * says the server resolves it: exactly one match becomes "Patient/<id>"; none or several fail the whole
 * transaction. Production FHIR servers do this; the gateway relies on the standard, so the stand-in must.
 * Must run inside the adapter's one-request-at-a-time section, before Medplum sees the Bundle.
 */
import { OperationOutcomeError, parseSearchRequest, preconditionFailed } from '@medplum/core';
import type { FhirRepository } from '@medplum/fhir-router';
import type { Bundle } from '@medplum/fhirtypes';

const CONDITIONAL = /^[A-Z][A-Za-z]+\?.+/;

/** Every object holding a conditional `reference` string, however deep in the resource. */
function conditionalRefs(value: unknown, out: { reference: string }[] = []): { reference: string }[] {
  if (value === null || typeof value !== 'object') return out;
  const object = value as Record<string, unknown>;
  for (const key in object) {
    const v = object[key];
    if (typeof v === 'string') {
      if (key === 'reference' && !Array.isArray(object) && CONDITIONAL.test(v)) out.push(object as { reference: string });
    } else if (v !== null && typeof v === 'object') conditionalRefs(v, out);
  }
  return out;
}

export async function resolveConditionalReferences(body: unknown, repo: FhirRepository): Promise<void> {
  const bundle = body as Bundle | undefined;
  if (bundle?.resourceType !== 'Bundle' || bundle.type !== 'transaction') return;
  const resolved = new Map<string, string>();
  for (const entry of bundle.entry ?? []) {
    for (const holder of conditionalRefs(entry.resource)) {
      let target = resolved.get(holder.reference);
      if (!target) {
        const matches = await repo.searchResources({ ...parseSearchRequest(holder.reference), count: 2, offset: 0 });
        if (matches.length !== 1) {
          const found = matches.length === 0 ? 'no match' : 'several matches';
          throw new OperationOutcomeError({
            ...preconditionFailed,
            issue: [{ severity: 'error', code: 'processing', diagnostics: `Conditional reference ${holder.reference} has ${found}` }],
          });
        }
        target = `${matches[0].resourceType}/${matches[0].id}`;
        resolved.set(holder.reference, target);
      }
      holder.reference = target;
    }
  }
}
