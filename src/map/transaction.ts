/**
 * Resources of one submission -> one FHIR transaction Bundle. Each resource with an identifier is a
 * conditional update on its first identifier (PUT Type?identifier=system|value), so re-posting, replay and
 * re-delivery all land on the same resource; fullUrls are deterministic urn:uuids.
 */
import type { Bundle, BundleEntry, Resource } from 'fhir/r4';
import { deterministicUuid } from './identifiers';

type Identified = Resource & { identifier?: { system?: string; value?: string }[] };

export function conditionalUrl(resource: Resource): string | undefined {
  const id = (resource as Identified).identifier?.find((i) => i.system && i.value);
  if (!id) return undefined;
  return `${resource.resourceType}?identifier=${encodeURIComponent(`${id.system}|${id.value}`)}`;
}

export function transactionBundle(resources: Resource[], submissionKey: string): Bundle {
  const entry: BundleEntry[] = resources.map((resource, index) => {
    const url = conditionalUrl(resource);
    const fullUrl = `urn:uuid:${deterministicUuid(submissionKey, url ?? `${resource.resourceType}#${index}`)}`;
    return url
      ? { fullUrl, resource, request: { method: 'PUT', url } }
      : { fullUrl, resource, request: { method: 'POST', url: resource.resourceType } };
  });
  return { resourceType: 'Bundle', type: 'transaction', entry };
}
