/**
 * Resolves every entry of a transaction Bundle to a plain, independent request before anything is written,
 * as FHIR R4 http.html ("Transaction Processing Rules") describes, so the entries can then be run through
 * Medplum in chunks within its limits (see transaction.ts):
 * - create (POST): a new id, sent as PUT Type/<id>. With ifNoneExist: one match (stored, or made by an
 *   earlier entry of this transaction) -> no write, the entry answers with that resource; several -> 412.
 * - conditional update (PUT Type?query): one match -> PUT Type/<id>; none -> a new id; several -> 412.
 * - DELETE, PATCH, reads and operations: left as they are, for Medplum.
 * Entries are resolved in FHIR's processing order (DELETE, POST, PUT/PATCH, GET). Two entries that write,
 * delete or patch the same resource fail the transaction (400, as Medplum's "Duplicate resource identity");
 * conditional creates that resolve to one resource do not, since they write nothing: that is how several
 * submissions in one transaction share one care-home Organization. Then every urn:uuid fullUrl referenced
 * anywhere in the Bundle is rewritten to the Type/id its entry became, so entries in different chunks
 * reference each other. Must run inside the adapter's one-request-at-a-time section.
 */
import {
  OperationOutcomeError,
  badRequest,
  matchesSearchRequest,
  multipleMatches,
  parseSearchRequest,
  type SearchRequest,
} from '@medplum/core';
import type { FhirRouter, HttpMethod } from '@medplum/fhir-router';
import type { BundleEntry, Resource } from '@medplum/fhirtypes';
import type { AtomicMemoryRepository } from './atomic-repository';
import { ResourceIndex } from './resource-index';

/** How one request entry is carried out. */
export type Step =
  /** A plain PUT Type/id; `created` when no resource had that id before. */
  | { kind: 'write'; entry: BundleEntry; reference: string; created: boolean }
  /** A conditional create that matched: nothing is written; the entry answers with that resource. */
  | { kind: 'match'; reference: string }
  /** Left for Medplum as it came. */
  | { kind: 'as-is'; entry: BundleEntry };

export interface Plan {
  /** One step per request entry, in request order. */
  steps: Step[];
  /** Request positions in FHIR processing order. */
  order: number[];
}

const RANK: Record<string, number> = { DELETE: 0, POST: 1, PUT: 2, PATCH: 2 };
const rank = (entry: BundleEntry): number => RANK[entry.request?.method ?? ''] ?? 3;
// Medplum's own pattern for a Bundle-local reference (batch.ts localBundleReference), made global.
const URN = /urn(?::|%3A)uuid(?::|%3A)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

export function planTransaction(entries: BundleEntry[], repo: AtomicMemoryRepository, router: FhirRouter): Plan {
  return new Planner(repo, router).plan(entries);
}

class Planner {
  private readonly steps: Step[] = [];
  /** Resources an entry writes, deletes or patches: each at most once. */
  private readonly claimed = new Set<string>();
  /** urn:uuid fullUrl -> Type/id */
  private readonly fullUrls = new Map<string, string>();
  /** Resources this transaction writes, so a later conditional entry finds them: type -> id -> resource. */
  private readonly pending = new Map<string, Map<string, Resource>>();
  private readonly pendingIndex = new ResourceIndex();
  /** Stored resources a DELETE of this transaction removes (deletes are resolved first): no longer matches. */
  private readonly deleted = new Set<string>();
  /** Search -> it parsed, and the stored resources it matches: nothing is written while planning, so this holds. */
  private readonly searches = new Map<string, { search: SearchRequest; stored: string[] }>();

  constructor(
    private readonly repo: AtomicMemoryRepository,
    private readonly router: FhirRouter,
  ) {}

  plan(entries: BundleEntry[]): Plan {
    const order = entries.map((_, i) => i).sort((a, b) => rank(entries[a]) - rank(entries[b]) || a - b);
    for (const i of order) this.steps[i] = this.step(entries[i], `Bundle.entry[${i}]`);
    for (const step of this.steps) {
      if (step.kind === 'match') continue;
      step.entry.resource = rewriteUrns(step.entry.resource, this.fullUrls) as Resource | undefined;
      if (step.entry.request) step.entry.request.url = rewriteUrns(step.entry.request.url, this.fullUrls) as string;
    }
    return { steps: this.steps, order };
  }

  private step(entry: BundleEntry, path: string): Step {
    const { request, resource } = entry;
    if (!request?.method || !request.url) throw new OperationOutcomeError(badRequest('Missing Bundle entry request method or URL', `${path}.request`));
    const interaction = this.router.find(request.method as HttpMethod, request.url)?.data?.interaction;
    const type = request.url.split(/[/?]/)[0];
    const conditional = request.url.includes('?');
    if (interaction === 'create' && resource) {
      const query = request.ifNoneExist?.replace(/^[A-Za-z]+\?/, '');
      const existing = query ? this.matchOne(`${type}?${query}`, `${path}.request.ifNoneExist`) : undefined;
      if (!existing) return this.write(entry, type, undefined, true, path);
      if (entry.fullUrl) this.fullUrls.set(entry.fullUrl, existing);
      return { kind: 'match', reference: existing };
    }
    if (interaction === 'update' && resource && conditional) {
      const existing = this.matchOne(request.url, `${path}.request.url`);
      if (resource.id && existing !== `${type}/${resource.id}`) {
        const problem = existing ? 'does not match the resource the conditional update found' : 'given for a create by conditional update';
        throw new OperationOutcomeError(badRequest(`Resource id ${problem}`, `${path}.resource.id`));
      }
      return this.write(entry, type, existing?.slice(type.length + 1), !existing, path);
    }
    if (interaction === 'update' && resource) {
      const id = request.url.slice(type.length + 1);
      return this.write(entry, type, id, !this.repo.storedResource(type, id), path);
    }
    if ((interaction === 'delete' || interaction === 'patch') && !conditional) this.claim(request.url, path);
    if (interaction === 'delete' && !conditional) this.deleted.add(request.url);
    return { kind: 'as-is', entry };
  }

  /** Turns the entry into PUT Type/<id>; a new id when `id` is undefined. */
  private write(entry: BundleEntry, type: string, id: string | undefined, created: boolean, path: string): Step {
    const resource = entry.resource!;
    if (id === undefined) resource.id = id = this.repo.generateId();
    else if (entry.request!.url.includes('?')) resource.id = id;
    const reference = `${type}/${id}`;
    this.claim(reference, path);
    if (entry.fullUrl) this.fullUrls.set(entry.fullUrl, reference);
    entry.request = { ...entry.request!, method: 'PUT', url: reference, ifNoneExist: undefined };
    const indexed = resource.id === id ? resource : ({ ...resource, id } as Resource);
    let byId = this.pending.get(indexed.resourceType);
    if (!byId) this.pending.set(indexed.resourceType, (byId = new Map()));
    byId.set(id, indexed);
    this.pendingIndex.add(indexed);
    return { kind: 'write', entry, reference, created };
  }

  private claim(reference: string, path: string): void {
    if (this.claimed.has(reference)) throw new OperationOutcomeError(badRequest('Duplicate resource identity found in Bundle', path));
    this.claimed.add(reference);
  }

  /** The one resource, stored or pending, that a search matches; undefined for none; 412 for several. */
  private matchOne(query: string, path: string): string | undefined {
    let cached = this.searches.get(query);
    if (!cached) {
      const search: SearchRequest = { ...parseSearchRequest(query), sortRules: undefined };
      cached = { search, stored: this.repo.searchStored(search).map((r) => `${r.resourceType}/${r.id}`) };
      this.searches.set(query, cached);
    }
    const { search, stored } = cached;
    const found = new Set(stored.filter((reference) => !this.deleted.has(reference)));
    const pending = this.pending.get(search.resourceType);
    for (const id of this.pendingIndex.candidates(search) ?? pending?.keys() ?? []) {
      const resource = pending?.get(id);
      if (resource && matchesSearchRequest(resource, search)) found.add(`${resource.resourceType}/${id}`);
    }
    if (found.size > 1) {
      throw new OperationOutcomeError({ ...multipleMatches, issue: [{ ...multipleMatches.issue![0], expression: [path] }] });
    }
    return found.values().next().value;
  }
}

/** The value with every urn:uuid that names an entry replaced by that entry's Type/id (in place). */
function rewriteUrns(value: unknown, targets: Map<string, string>): unknown {
  if (typeof value === 'string') return rewriteString(value, targets);
  if (value !== null && typeof value === 'object') rewriteIn(value as Record<string, unknown>, targets);
  return value;
}

function rewriteString(value: string, targets: Map<string, string>): string {
  return value.includes('uuid') ? value.replace(URN, (urn) => targets.get(urn.replaceAll('%3A', ':')) ?? urn) : value;
}

function rewriteIn(object: Record<string, unknown> | unknown[], targets: Map<string, string>): void {
  const record = object as Record<string, unknown>;
  for (const key in record) {
    const v = record[key];
    if (typeof v === 'string') {
      const next = rewriteString(v, targets);
      if (next !== v) record[key] = next;
    } else if (v !== null && typeof v === 'object') rewriteIn(v as Record<string, unknown>, targets);
  }
}
