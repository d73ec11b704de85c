/**
 * Which stored resources a search can possibly match, without scanning them all: an index from identifier
 * ("system|value", lower case) and from each Reference.reference string to resource ids, per type.
 * Candidates are a superset of the true matches; callers apply Medplum's own matching to them, so results
 * are exactly Medplum's. Used by AtomicMemoryRepository for the store, and by the transaction planner
 * for the resources a transaction is about to create.
 */
import { Operator, type SearchRequest } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';

/** Adds every Reference.reference string in a value ("Patient/1", "Organization/2"), however deep, to `out`. */
function addReferences(value: unknown, out: string[]): void {
  if (Array.isArray(value)) {
    for (const v of value) if (v !== null && typeof v === 'object') addReferences(v, out);
    return;
  }
  const object = value as Record<string, unknown>;
  for (const key in object) {
    const v = object[key];
    if (typeof v === 'string') {
      if (key === 'reference' && !out.includes(`ref:${v}`)) out.push(`ref:${v}`);
    } else if (v !== null && typeof v === 'object' && key !== 'contained') addReferences(v, out);
  }
}

/** Index keys for a resource: identifiers as "system|value" (lower case) and its references. */
function keysOf(resource: Resource): string[] {
  const keys: string[] = [];
  for (const i of (resource as { identifier?: { system?: string; value?: string }[] }).identifier ?? []) {
    if (i.system && i.value) keys.push(`id:${i.system}|${i.value}`.toLowerCase());
  }
  addReferences(resource, keys);
  return keys;
}

export class ResourceIndex {
  /** resourceType -> index key -> ids */
  private readonly byType = new Map<string, Map<string, Set<string>>>();

  add(resource: Resource): void {
    let byKey = this.byType.get(resource.resourceType);
    if (!byKey) this.byType.set(resource.resourceType, (byKey = new Map()));
    for (const key of keysOf(resource)) {
      let ids = byKey.get(key);
      if (!ids) byKey.set(key, (ids = new Set()));
      ids.add(resource.id!);
    }
  }

  remove(resource: Resource): void {
    const byKey = this.byType.get(resource.resourceType);
    for (const key of keysOf(resource)) byKey?.get(key)?.delete(resource.id!);
  }

  /** The ids the index says may match (a superset of the true matches), or undefined to scan everything. */
  candidates(searchRequest: SearchRequest): Set<string> | undefined {
    const byKey = this.byType.get(searchRequest.resourceType) ?? new Map<string, Set<string>>();
    let best: Set<string> | undefined;
    for (const filter of searchRequest.filters ?? []) {
      if (filter.operator !== Operator.EQUALS || filter.value.includes(',')) continue;
      let ids: Set<string> | undefined;
      if (filter.code === '_id') ids = new Set([filter.value]);
      else if (filter.code === 'identifier' && /^[^|]+\|.+$/.test(filter.value)) ids = byKey.get(`id:${filter.value.toLowerCase()}`) ?? new Set();
      else if (/^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/.test(filter.value)) ids = byKey.get(`ref:${filter.value}`) ?? new Set();
      if (ids && (!best || ids.size < best.size)) best = ids;
    }
    return best;
  }
}
