/**
 * Gap: Medplum 4.5.2 refuses a transaction of more than 8 entries when any entry is conditional
 * (measured: 9 conditional PUTs -> 400 "Transaction requires strict isolation but has too many
 * entries"). It guards PostgreSQL serializable transactions; here requests run one at a time and a
 * failed transaction rolls back whole, so it guards nothing, and a production SCR has no such limit.
 * For such a Bundle, resolve each conditional update to a plain update first, as Medplum's own batch
 * preprocessing does (one match: update it; none: create with a new id; several: left for Medplum to
 * refuse). Conditional creates (ifNoneExist) are left alone; the gateway does not send them.
 * Must run inside the adapter's one-request-at-a-time section.
 */
import { parseSearchRequest } from '@medplum/core';
import type { FhirRepository } from '@medplum/fhir-router';
import type { Bundle, ResourceType } from '@medplum/fhirtypes';

const MEDPLUM_STRICT_ENTRY_LIMIT = 8;

export async function resolveLargeTransactionUpdates(body: unknown, repo: FhirRepository): Promise<void> {
  const bundle = body as Bundle | undefined;
  if (bundle?.resourceType !== 'Bundle' || bundle.type !== 'transaction') return;
  if ((bundle.entry?.length ?? 0) <= MEDPLUM_STRICT_ENTRY_LIMIT) return;
  for (const entry of bundle.entry ?? []) {
    const { request, resource } = entry;
    if (request?.method !== 'PUT' || !request.url.includes('?') || !resource || resource.id) continue;
    const type = request.url.slice(0, request.url.indexOf('?')) as ResourceType;
    const matches = await repo.searchResources({ ...parseSearchRequest(request.url), count: 2, offset: 0 });
    if (matches.length > 1) continue;
    const id = matches[0]?.id ?? repo.generateId();
    resource.id = id;
    request.url = `${type}/${id}`;
  }
}
