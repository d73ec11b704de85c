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
 * 3. Writes without copies, for transactions (put, storedResource, searchStored). MemoryRepository copies a
 *    resource three times on an update (deepClone, JSON round trip, deepClone of the answer) and once more on
 *    every read and search match; with JSON (de)serialisation on the wire that was most of a bulk
 *    transaction's CPU. The transaction path hands over the resource it parsed from the request and gets the
 *    stored object back to serialise: stored objects are never changed after they are stored (a new version
 *    is a new object), so sharing them is safe while the caller only reads them. Everything else (single
 *    requests through Medplum's router) still gets copies, as MemoryRepository gives.
 *
 * Correct only if no other request runs at the same time: the HTTP adapter serialises requests.
 */
import { randomUUID } from 'node:crypto';
import {
  OperationOutcomeError,
  deepClone,
  matchesSearchRequest,
  notFound,
  preconditionFailed,
  stringify,
  type SearchRequest,
  type WithId,
} from '@medplum/core';
import { MemoryRepository } from '@medplum/fhir-router';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { withoutEmptyValues } from './empty-values';
import { ResourceIndex } from './resource-index';

type Store = Map<string, Map<string, Resource>>;
type History = Map<string, Map<string, Resource[]>>;
interface Undo {
  type: string;
  id: string;
  previous: Resource | undefined;
  historyLength: number;
}

function inner<V>(outer: Map<string, Map<string, V>>, key: string): Map<string, V> {
  let map = outer.get(key);
  if (!map) outer.set(key, (map = new Map()));
  return map;
}

export class AtomicMemoryRepository extends MemoryRepository {
  private depth = 0;
  private undo: Undo[] = [];
  private readonly index = new ResourceIndex();

  // MemoryRepository keeps its data in two private Maps; bracket access is TypeScript's deliberate escape
  // hatch for private members, used only in these two getters.
  private get storedResources(): Store {
    return this['resources'] as Store;
  }

  private get storedHistory(): History {
    return this['history'] as History;
  }

  /** A v4 UUID, as Medplum's generateId makes, from the platform's generator (Medplum's is regex-and-Math.random). */
  override generateId(): string {
    return randomUUID();
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

  /** As MemoryRepository.createResource: a copy in (empty values dropped), a copy out. */
  override async createResource<T extends Resource>(resource: T): Promise<WithId<T>> {
    const copy = JSON.parse(stringify(resource)) as T;
    copy.id ??= this.generateId();
    copy.meta ??= {};
    copy.meta.versionId ??= this.generateId();
    copy.meta.lastUpdated ??= new Date().toISOString();
    return deepClone(this.store(copy as WithId<T>));
  }

  /**
   * PUT Type/id as MemoryRepository.updateResource does it (If-Match checked, a new version and
   * lastUpdated), except that `resource` is taken over rather than copied, and the stored object is returned:
   * the caller must change neither afterwards.
   */
  put<T extends Resource>(resource: WithId<T>, ifMatch?: string): WithId<T> {
    if (ifMatch !== undefined) {
      const existing = this.storedResources.get(resource.resourceType)?.get(resource.id);
      if (!existing) throw new OperationOutcomeError(notFound);
      if (existing.meta?.versionId !== ifMatch) throw new OperationOutcomeError(preconditionFailed);
    }
    const stored = withoutEmptyValues(resource);
    stored.meta = { ...stored.meta, versionId: this.generateId(), lastUpdated: new Date().toISOString() };
    return this.store(stored);
  }

  /** The stored resource itself (not a copy: do not change it), or undefined. */
  storedResource(type: string, id: string): WithId<Resource> | undefined {
    return this.storedResources.get(type)?.get(id) as WithId<Resource> | undefined;
  }

  override async deleteResource(resourceType: string, id: string): Promise<void> {
    const previous = this.storedResources.get(resourceType)?.get(id);
    await super.deleteResource(resourceType, id);
    if (!previous) return;
    if (this.depth > 0) this.undo.push({ type: resourceType, id, previous, historyLength: this.storedHistory.get(resourceType)?.get(id)?.length ?? 0 });
    this.index.remove(previous);
  }

  override async search<T extends Resource>(searchRequest: SearchRequest<T>): Promise<Bundle<WithId<T>>> {
    if (searchRequest.sortRules?.length) return super.search(searchRequest);
    const matched = this.searchStored(searchRequest);
    let entry = matched.map((resource) => ({ resource: deepClone(resource) as WithId<T> }));
    if (searchRequest.offset !== undefined) entry = entry.slice(searchRequest.offset);
    if (searchRequest.count !== undefined) entry = entry.slice(0, searchRequest.count);
    return { resourceType: 'Bundle', type: 'searchset', entry: entry.length ? entry : undefined, total: matched.length };
  }

  /** Every stored resource a search matches, unsorted and unpaged, the stored objects themselves (do not change them). */
  searchStored(searchRequest: SearchRequest): WithId<Resource>[] {
    const resources = this.storedResources.get(searchRequest.resourceType);
    if (!resources) return [];
    const candidates = this.index.candidates(searchRequest);
    const matched: WithId<Resource>[] = [];
    if (candidates) {
      for (const id of candidates) {
        const resource = resources.get(id);
        if (resource && matchesSearchRequest(resource, searchRequest)) matched.push(resource as WithId<Resource>);
      }
    } else {
      for (const resource of resources.values()) if (matchesSearchRequest(resource, searchRequest)) matched.push(resource as WithId<Resource>);
    }
    return matched;
  }

  /** Stores a new version (an object no one else changes), with its history, undo step and index entries. */
  private store<T extends Resource>(resource: WithId<T>): WithId<T> {
    const type = resource.resourceType;
    const byId = inner(this.storedResources, type);
    const history = inner(this.storedHistory, type);
    const previous = byId.get(resource.id);
    let versions = history.get(resource.id);
    if (!versions) history.set(resource.id, (versions = []));
    if (this.depth > 0) this.undo.push({ type, id: resource.id, previous, historyLength: versions.length });
    byId.set(resource.id, resource);
    versions.push(resource);
    if (previous) this.index.remove(previous);
    this.index.add(resource);
    return resource;
  }

  private revert({ type, id, previous, historyLength }: Undo): void {
    const current = this.storedResources.get(type)?.get(id);
    if (current) this.index.remove(current);
    if (previous) {
      this.storedResources.get(type)!.set(id, previous);
      this.index.add(previous);
    } else {
      this.storedResources.get(type)?.delete(id);
    }
    const versions = this.storedHistory.get(type)?.get(id);
    if (versions) versions.length = historyLength;
    if (versions && historyLength === 0) this.storedHistory.get(type)!.delete(id);
  }
}
