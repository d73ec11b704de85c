/**
 * Medplum's MemoryRepository with what a development SCR needs and it lacks:
 *
 * 1. Rollback. Measured on 4.5.2: MemoryRepository.withTransaction just runs the callback, so a transaction
 *    Bundle whose second entry fails leaves the first entry stored, and the gateway's retry would apply it
 *    again. Every write inside a transaction records what it replaced (an undo log); a failure undoes them
 *    in reverse. Cost is per write, not per stored resource (an earlier full-store snapshot made each
 *    transaction O(store) and a month of one care home took minutes).
 * 2. Indexed searches. MemoryRepository.search scans every resource of the type and evaluates FHIRPath on
 *    each, so the conditional updates the gateway sends get slower with every resource stored. Searches by
 *    identifier (system|value), by reference (patient=Patient/1) and by _id first narrow to the resources
 *    an index names, then apply Medplum's own matching to those only, so results are exactly Medplum's.
 *
 * Correct only if no other request runs at the same time: the HTTP adapter serialises requests.
 */
import { Operator, deepClone, matchesSearchRequest, type SearchRequest, type WithId } from '@medplum/core';
import { MemoryRepository } from '@medplum/fhir-router';
import type { Bundle, Resource } from '@medplum/fhirtypes';

type Store = Map<string, Map<string, Resource>>;
type History = Map<string, Map<string, Resource[]>>;
interface Undo {
  type: string;
  id: string;
  previous: Resource | undefined;
  historyLength: number;
}

/** Every Reference.reference string in a resource ("Patient/1", "Organization/2"), however deep. */
function referencesIn(value: unknown, out: Set<string> = new Set()): Set<string> {
  if (Array.isArray(value)) for (const v of value) referencesIn(v, out);
  else if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (key === 'reference' && typeof v === 'string') out.add(v);
      else if (key !== 'contained') referencesIn(v, out);
    }
  }
  return out;
}

/** Index keys for a resource: identifiers as "system|value" (lower case) and its references. */
function keysOf(resource: Resource): string[] {
  const identifiers = (resource as { identifier?: { system?: string; value?: string }[] }).identifier ?? [];
  const keys = identifiers.filter((i) => i.system && i.value).map((i) => `id:${i.system}|${i.value}`.toLowerCase());
  for (const ref of referencesIn(resource)) keys.push(`ref:${ref}`);
  return keys;
}

export class AtomicMemoryRepository extends MemoryRepository {
  private depth = 0;
  private undo: Undo[] = [];
  /** resourceType -> index key -> ids */
  private readonly index = new Map<string, Map<string, Set<string>>>();

  // MemoryRepository keeps its data in two private Maps; bracket access is TypeScript's deliberate escape
  // hatch for private members, used only in these two getters.
  private get storedResources(): Store {
    return this['resources'] as Store;
  }

  private get storedHistory(): History {
    return this['history'] as History;
  }

  override async withTransaction<TResult>(callback: (client: undefined) => Promise<TResult>): Promise<TResult> {
    if (this.depth > 0) return callback(undefined);
    this.depth++;
    this.undo = [];
    try {
      return await callback(undefined);
    } catch (err) {
      for (const step of this.undo.reverse()) this.revert(step);
      throw err;
    } finally {
      this.undo = [];
      this.depth--;
    }
  }

  override async createResource<T extends Resource>(resource: T): Promise<WithId<T>> {
    const type = resource.resourceType;
    const previous = resource.id ? this.storedResources.get(type)?.get(resource.id) : undefined;
    const historyLength = resource.id ? (this.storedHistory.get(type)?.get(resource.id)?.length ?? 0) : 0;
    const created = await super.createResource(resource);
    if (this.depth > 0) this.undo.push({ type, id: created.id, previous, historyLength });
    if (previous) this.unindex(previous);
    this.indexResource(this.storedResources.get(type)!.get(created.id)!);
    return created;
  }

  override async deleteResource(resourceType: string, id: string): Promise<void> {
    const previous = this.storedResources.get(resourceType)?.get(id);
    await super.deleteResource(resourceType, id);
    if (!previous) return;
    if (this.depth > 0) this.undo.push({ type: resourceType, id, previous, historyLength: this.storedHistory.get(resourceType)?.get(id)?.length ?? 0 });
    this.unindex(previous);
  }

  override async search<T extends Resource>(searchRequest: SearchRequest<T>): Promise<Bundle<WithId<T>>> {
    const candidates = this.candidates(searchRequest);
    if (!candidates || searchRequest.sortRules?.length) return super.search(searchRequest);
    const resources = this.storedResources.get(searchRequest.resourceType);
    const matched: Resource[] = [];
    for (const id of candidates) {
      const resource = resources?.get(id);
      if (resource && matchesSearchRequest(resource, searchRequest)) matched.push(resource);
    }
    let entry = matched.map((resource) => ({ resource: deepClone(resource) as WithId<T> }));
    if (searchRequest.offset !== undefined) entry = entry.slice(searchRequest.offset);
    if (searchRequest.count !== undefined) entry = entry.slice(0, searchRequest.count);
    return { resourceType: 'Bundle', type: 'searchset', entry: entry.length ? entry : undefined, total: matched.length };
  }

  /** The ids an index says may match (a superset of the true matches), or undefined to scan everything. */
  private candidates(searchRequest: SearchRequest): Set<string> | undefined {
    const byKey = this.index.get(searchRequest.resourceType) ?? new Map<string, Set<string>>();
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

  private indexResource(resource: Resource): void {
    let byKey = this.index.get(resource.resourceType);
    if (!byKey) this.index.set(resource.resourceType, (byKey = new Map()));
    for (const key of keysOf(resource)) {
      let ids = byKey.get(key);
      if (!ids) byKey.set(key, (ids = new Set()));
      ids.add(resource.id!);
    }
  }

  private unindex(resource: Resource): void {
    const byKey = this.index.get(resource.resourceType);
    for (const key of keysOf(resource)) byKey?.get(key)?.delete(resource.id!);
  }

  private revert({ type, id, previous, historyLength }: Undo): void {
    const current = this.storedResources.get(type)?.get(id);
    if (current) this.unindex(current);
    if (previous) {
      this.storedResources.get(type)!.set(id, previous);
      this.indexResource(previous);
    } else {
      this.storedResources.get(type)?.delete(id);
    }
    const versions = this.storedHistory.get(type)?.get(id);
    if (versions) versions.length = historyLength;
    if (versions && historyLength === 0) this.storedHistory.get(type)!.delete(id);
  }
}
