/**
 * Resources of one submission -> one FHIR transaction Bundle. Each resource with an identifier is a
 * conditional update on its first identifier (PUT Type?identifier=system|value), or, for the types a record
 * type declares createOnly, a conditional create (POST with ifNoneExist), so re-posting, replay and
 * re-delivery all land on the same resource; fullUrls are deterministic urn:uuids.
 * A conditional reference to a resource of the same transaction (a resident's Flag naming the Patient the
 * same Bundle creates) becomes a reference to that entry's fullUrl: a server resolves a conditional reference
 * against what it already holds, so on a first post it would find no match and refuse the transaction.
 */
import type { Bundle, BundleEntry, Resource } from 'fhir/r4';
import { deterministicUuid } from './identifiers';

type Identified = Resource & { identifier?: { system?: string; value?: string }[] };

export function conditionalUrl(resource: Resource): string | undefined {
  const id = (resource as Identified).identifier?.find((i) => i.system && i.value);
  if (!id) return undefined;
  return `${resource.resourceType}?identifier=${encodeURIComponent(`${id.system}|${id.value}`)}`;
}

/** "Patient?identifier=system|value", as a mapping writes a conditional reference to this resource. */
function referenceForm(resource: Resource): string | undefined {
  const id = (resource as Identified).identifier?.find((i) => i.system && i.value);
  return id ? `${resource.resourceType}?identifier=${id.system}|${id.value}` : undefined;
}

/**
 * Whether some `reference` under the value is a string in `targets`. A walk that allocates nothing (for...in
 * sees every key Object.keys does), so the copying walk below runs only where it will change something: in
 * most submissions no reference names a resource of the same transaction.
 */
function refersToAny(value: unknown, targets: Map<string, string>): boolean {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (typeof item === 'object' && item !== null && refersToAny(item, targets)) return true;
    }
    return false;
  }
  const object = value as Record<string, unknown>;
  for (const key in object) {
    const v = object[key];
    if (typeof v === 'object' ? v !== null && refersToAny(v, targets) : key === 'reference' && typeof v === 'string' && targets.has(v)) return true;
  }
  return false;
}

/** The value with every `reference` found in `targets` replaced; unchanged parts are the same objects. */
export function rewriteReferences(value: unknown, targets: Map<string, string>): unknown {
  if (!value || typeof value !== 'object' || !refersToAny(value, targets)) return value;
  return rewritten(value, targets);
}

function rewritten(value: unknown, targets: Map<string, string>): unknown {
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const next = rewritten(value[i], targets);
      if (next !== value[i]) (out ??= value.slice())[i] = next;
    }
    return out ?? value;
  }
  if (!value || typeof value !== 'object') return value;
  let out: Record<string, unknown> | undefined;
  const object = value as Record<string, unknown>;
  for (const key of Object.keys(object)) {
    const v = object[key];
    const next = key === 'reference' && typeof v === 'string' ? (targets.get(v) ?? v) : rewritten(v, targets);
    if (next !== v) (out ??= { ...object })[key] = next;
  }
  return out ?? value;
}

/**
 * `createOnly`: resource types sent as a conditional create (POST with ifNoneExist on the same identifier),
 * so they are made when missing and never overwrite what the SCR already holds.
 */
export function transactionBundle(resources: Resource[], submissionKey: string, createOnly: readonly string[] = []): Bundle {
  const urls = resources.map(conditionalUrl);
  const fullUrls = resources.map((resource, index) => `urn:uuid:${deterministicUuid(submissionKey, urls[index] ?? `${resource.resourceType}#${index}`)}`);
  const targets = new Map<string, string>();
  resources.forEach((resource, i) => {
    const form = referenceForm(resource);
    if (form) targets.set(form, fullUrls[i]);
  });
  const entry: BundleEntry[] = resources.map((original, index) => {
    const resource = targets.size > 0 ? (rewriteReferences(original, targets) as Resource) : original;
    const url = urls[index];
    const fullUrl = fullUrls[index];
    if (!url) return { fullUrl, resource, request: { method: 'POST', url: resource.resourceType } };
    if (createOnly.includes(resource.resourceType)) {
      return { fullUrl, resource, request: { method: 'POST', url: resource.resourceType, ifNoneExist: url.slice(url.indexOf('?') + 1) } };
    }
    return { fullUrl, resource, request: { method: 'PUT', url } };
  });
  return { resourceType: 'Bundle', type: 'transaction', entry };
}
