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

/** The ids under one key: most keys name one resource (an NHS number, a Patient's references), so a bare id until a second. */
type Ids = string | Set<string>;

export class ResourceIndex {
  /** resourceType -> index key -> ids */
  private readonly byType = new Map<string, Map<string, Ids>>();

  add(resource: Resource): void {
    let byKey = this.byType.get(resource.resourceType);
    if (!byKey) this.byType.set(resource.resourceType, (byKey = new Map()));
    const id = resource.id!;
    for (const key of keysOf(resource)) {
      const ids = byKey.get(key);
      if (ids === undefined) byKey.set(key, id);
      else if (typeof ids !== 'string') ids.add(id);
      else if (ids !== id) byKey.set(key, new Set([ids, id]));
    }
  }

  remove(resource: Resource): void {
    const byKey = this.byType.get(resource.resourceType);
    if (!byKey) return;
    const id = resource.id!;
    for (const key of keysOf(resource)) {
      const ids = byKey.get(key);
      if (ids === id) byKey.delete(key);
      else if (ids !== undefined && typeof ids !== 'string') ids.delete(id);
    }
  }

  /** The ids the index says may match (a superset of the true matches), or undefined to scan everything. */
  candidates(searchRequest: SearchRequest): Iterable<string> | undefined {
    const byKey = this.byType.get(searchRequest.resourceType);
    let best: string | ReadonlySet<string> | undefined;
    let bestSize = Infinity;
    for (const filter of searchRequest.filters ?? []) {
      if (filter.operator !== Operator.EQUALS || filter.value.includes(',')) continue;
      let ids: string | ReadonlySet<string> | undefined;
      if (filter.code === '_id') ids = filter.value;
      else if (filter.code === 'identifier' && /^[^|]+\|.+$/.test(filter.value)) ids = byKey?.get(`id:${filter.value.toLowerCase()}`) ?? NONE;
      else if (/^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/.test(filter.value)) ids = byKey?.get(`ref:${filter.value}`) ?? NONE;
      const size = ids === undefined ? Infinity : typeof ids === 'string' ? 1 : ids.size;
      if (size < bestSize) [best, bestSize] = [ids, size];
    }
    return typeof best === 'string' ? [best] : best;
  }
}

const NONE: ReadonlySet<string> = new Set<string>() as ReadonlySet<string>;
