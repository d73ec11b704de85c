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
import { deepClone, matchesSearchRequest, type SearchRequest, type WithId } from '@medplum/core';
import { MemoryRepository } from '@medplum/fhir-router';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { ResourceIndex } from './resource-index';

type Store = Map<string, Map<string, Resource>>;
type History = Map<string, Map<string, Resource[]>>;
interface Undo {
  type: string;
  id: string;
  previous: Resource | undefined;
  historyLength: number;
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
    if (previous) this.index.remove(previous);
    this.index.add(this.storedResources.get(type)!.get(created.id)!);
    return created;
  }

  override async deleteResource(resourceType: string, id: string): Promise<void> {
    const previous = this.storedResources.get(resourceType)?.get(id);
    await super.deleteResource(resourceType, id);
    if (!previous) return;
    if (this.depth > 0) this.undo.push({ type: resourceType, id, previous, historyLength: this.storedHistory.get(resourceType)?.get(id)?.length ?? 0 });
    this.index.remove(previous);
  }

  override async search<T extends Resource>(searchRequest: SearchRequest<T>): Promise<Bundle<WithId<T>>> {
    const candidates = this.index.candidates(searchRequest);
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
