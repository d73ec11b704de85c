/**
 * The gateway's only way to the shared care record: plain FHIR R4 REST over HTTP with axios.
 * (fhir-kit-client 2.x is ESM-only and this service is CommonJS.)
 *
 * Every failure is a ScrError, classified here where the HTTP answer is read: network errors and
 * time-outs are retryable, statuses by isRetryableStatus, Retry-After kept, the SCR's OperationOutcome
 * kept when it sent one. Log lines carry the interaction and status only: never a URL (search URLs hold
 * NHS numbers), never a body.
 */
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import type { Bundle, BundleEntry, OperationOutcome, Resource } from 'fhir/r4';
import type { Logger } from '../observability/logger';
import { issue, outcome, type IssueCode } from './operation-outcome';
import type { ScrAuth } from './scr-auth';
import { ScrError, isRetryableStatus, parseRetryAfter } from './scr-error';

export interface ScrClientOptions {
  /** FHIR base URL, e.g. https://scr.example.nhs.uk/fhir/R4 */
  baseUrl: string;
  /** Deadline for each HTTP call, connection to last byte. */
  timeoutMs: number;
  logger?: Logger;
  /** Most pages followed for one search before giving up (default 20). */
  maxPages?: number;
  /** Outbound OAuth (scr-auth.ts); absent: calls carry no Authorization (the development SCR). */
  auth?: ScrAuth;
}

const FHIR_JSON = 'application/fhir+json';
const RESOURCE_TYPE = /^[A-Z][A-Za-z]{1,63}$/;
const RESOURCE_ID = /^[A-Za-z0-9\-.]{1,64}$/;
/** axios codes that mean our request was wrong, not that the network failed: retrying will not help. */
const NOT_RETRYABLE_CODES = new Set([
  'ERR_BAD_OPTION_VALUE', 'ERR_BAD_OPTION', 'ERR_INVALID_URL', 'ERR_NOT_SUPPORT', 'ERR_BAD_REQUEST',
  'ERR_FR_TOO_MANY_REDIRECTS', 'ERR_DEPRECATED',
]);
/** Statuses with which servers say "no such operation" for $everything. */
const OPERATION_UNSUPPORTED = new Set([400, 404, 405, 501]);

/**
 * The Patient compartment types a care record holds, each with its standard R4 search parameter to the
 * Patient. Used when the SCR has no $everything.
 */
const COMPARTMENT: ReadonlyArray<readonly [type: string, param: string]> = [
  ['AllergyIntolerance', 'patient'], ['CarePlan', 'patient'], ['Condition', 'patient'], ['Consent', 'patient'],
  ['DocumentReference', 'patient'], ['Encounter', 'patient'], ['EpisodeOfCare', 'patient'], ['Flag', 'patient'],
  ['Goal', 'patient'], ['Immunization', 'patient'], ['MedicationAdministration', 'patient'],
  ['Observation', 'patient'], ['Provenance', 'target'], ['RelatedPerson', 'patient'],
];
/** Resources outside the compartment that a record points at, fetched by _id. */
const REFERENCED_TYPES = ['Medication', 'Organization', 'Practitioner'];
const SEARCH_CONCURRENCY = 4;
const IDS_PER_SEARCH = 50;

export class ScrClient {
  private readonly http: AxiosInstance;
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly maxPages: number;
  private readonly logger?: Logger;
  private readonly auth?: ScrAuth;

  constructor({ baseUrl, timeoutMs, logger, maxPages = 20, auth }: ScrClientOptions) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.timeoutMs = timeoutMs;
    this.maxPages = maxPages;
    this.logger = logger;
    this.auth = auth;
    this.http = axios.create({
      baseURL: `${this.baseUrl}/`,
      timeout: timeoutMs, // socket idle; the AbortSignal per request bounds the whole call
      headers: { Accept: FHIR_JSON },
      responseType: 'text',
      transformResponse: [(data: unknown) => data],
      validateStatus: () => true,
      maxRedirects: 0,
      maxContentLength: 50 * 1024 * 1024,
    });
  }

  /** POST a transaction Bundle to the base; answers the transaction-response Bundle. */
  async transaction(bundle: Bundle): Promise<Bundle> {
    if (bundle.resourceType !== 'Bundle' || bundle.type !== 'transaction') {
      throw invalid('transaction() needs a Bundle of type transaction');
    }
    // return=minimal: each entry's status, location and etag are all the gateway keeps; without the resources
    // the answer is a fraction of the size for the SCR to write and for us to parse and store (a server may
    // ignore the preference; the answer is handled the same).
    const response = await this.call<Bundle>('POST', '', 'transaction', 'Bundle', bundle, { Prefer: 'return=minimal' });
    if (response.type !== 'transaction-response') {
      throw new ScrError('SCR transaction: answer is not a transaction-response', 200, false,
        outcome([issue('error', 'invalid', `SCR answered a Bundle of type ${response.type}`)]));
    }
    return response;
  }

  async read<T extends Resource = Resource>(type: T['resourceType'], id: string): Promise<T> {
    checkTypeAndId(type, id);
    return this.call<T>('GET', `${type}/${encodeURIComponent(id)}`, `read ${type}`, type);
  }

  /** Searches and follows `next` links (up to maxPages), answering one searchset Bundle. */
  async search(type: string, params: Record<string, string>): Promise<Bundle> {
    checkTypeAndId(type);
    const query = new URLSearchParams(params).toString();
    return this.allPages(`${type}${query ? `?${query}` : ''}`, `search ${type}`);
  }

  /**
   * Everything about a Patient. Tries the standard Patient/{id}/$everything; when the SCR says it has no
   * such operation, assembles the same from standard searches over the Patient compartment.
   */
  async patientEverything(patientId: string): Promise<Bundle> {
    checkTypeAndId('Patient', patientId);
    try {
      return await this.allPages(`Patient/${encodeURIComponent(patientId)}/$everything`, 'Patient $everything');
    } catch (err) {
      if (!(err instanceof ScrError) || !operationUnsupported(err)) throw err;
      this.logger?.debug('SCR has no Patient $everything; searching the Patient compartment', {
        status: err.status,
      });
    }
    return this.compartment(patientId);
  }

  /** Readiness: the SCR answers GET /metadata with a CapabilityStatement. Never throws. */
  async ping(): Promise<boolean> {
    try {
      await this.call('GET', 'metadata', 'capabilities', 'CapabilityStatement');
      return true;
    } catch (err) {
      this.logger?.debug('SCR not ready', { status: (err as ScrError).status, error: (err as Error).message });
      return false;
    }
  }

  private async compartment(patientId: string): Promise<Bundle> {
    const patient = await this.read('Patient', patientId);
    const reference = `Patient/${patientId}`;
    const members = await inBatches(
      COMPARTMENT.map(([type, param]) => () => this.search(type, { [param]: reference })),
      SEARCH_CONCURRENCY,
    );
    const found = new Map<string, Resource>([[key(patient), patient]]);
    const matched = [patient];
    for (const resource of members.flatMap(resourcesOf)) {
      if (!found.has(key(resource))) {
        found.set(key(resource), resource);
        matched.push(resource);
      }
    }

    const wanted = this.referencedIds(matched, found);
    const lookups: Array<() => Promise<Bundle>> = [];
    for (const [type, ids] of wanted) {
      for (let i = 0; i < ids.length; i += IDS_PER_SEARCH) {
        const chunk = ids.slice(i, i + IDS_PER_SEARCH);
        lookups.push(() => this.search(type, { _id: chunk.join(',') }));
      }
    }
    const included: Resource[] = [];
    for (const resource of (await inBatches(lookups, SEARCH_CONCURRENCY)).flatMap(resourcesOf)) {
      if (!found.has(key(resource))) {
        found.set(key(resource), resource);
        included.push(resource);
      }
    }

    const entry: BundleEntry[] = [
      ...matched.map((r) => this.entry(r, 'match')),
      ...included.map((r) => this.entry(r, 'include')),
    ];
    return { resourceType: 'Bundle', type: 'searchset', total: entry.length, entry };
  }

  /** Medication/Organization/Practitioner ids referenced by the record and not already in it. */
  private referencedIds(resources: Resource[], found: Map<string, Resource>): Map<string, string[]> {
    const escaped = this.baseUrl.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const pattern = new RegExp(
      `^(?:${escaped}/)?(${REFERENCED_TYPES.join('|')})/([A-Za-z0-9\\-.]{1,64})(?:/_history/[^/]+)?$`,
    );
    const wanted = new Map<string, Set<string>>();
    for (const ref of resources.flatMap((r) => referencesIn(r))) {
      const match = pattern.exec(ref);
      if (!match || found.has(`${match[1]}/${match[2]}`)) continue;
      if (!wanted.has(match[1])) wanted.set(match[1], new Set());
      wanted.get(match[1])?.add(match[2]);
    }
    return new Map([...wanted].map(([type, ids]) => [type, [...ids]]));
  }

  private entry(resource: Resource, mode: 'match' | 'include'): BundleEntry {
    return { fullUrl: `${this.baseUrl}/${resource.resourceType}/${resource.id}`, resource, search: { mode } };
  }

  private async allPages(firstUrl: string, what: string): Promise<Bundle> {
    const first = await this.call<Bundle>('GET', firstUrl, what, 'Bundle');
    const entries = new Map<string, BundleEntry>();
    const add = (page: Bundle): void => {
      for (const e of page.entry ?? []) {
        const id = e.resource ? key(e.resource) : e.fullUrl;
        if (id && !entries.has(id)) entries.set(id, e);
      }
    };
    add(first);
    let page = first;
    for (let pages = 1; nextLink(page); pages++) {
      if (pages >= this.maxPages) {
        throw new ScrError(`SCR ${what}: more than ${this.maxPages} pages`, undefined, false,
          outcome([issue('error', 'too-costly', `The SCR's answer has more than ${this.maxPages} pages`)]));
      }
      page = await this.call<Bundle>('GET', this.checkedNextLink(nextLink(page) as string, what), what, 'Bundle');
      add(page);
    }
    return { resourceType: 'Bundle', type: 'searchset', total: first.total ?? entries.size, entry: [...entries.values()] };
  }

  /** Follow paging links only to the configured SCR, never to a host a response names. */
  private checkedNextLink(link: string, what: string): string {
    const base = new URL(`${this.baseUrl}/`);
    let next: URL;
    try {
      next = new URL(link, base);
    } catch {
      throw invalid(`SCR ${what}: next link is not a URL`);
    }
    if (next.origin !== base.origin || !next.pathname.startsWith(base.pathname)) {
      throw invalid(`SCR ${what}: next link points outside the SCR base URL`);
    }
    return next.toString();
  }

  private async call<T extends Resource>(
    method: 'GET' | 'POST',
    url: string,
    what: string,
    expect: T['resourceType'],
    body?: Resource,
    extraHeaders: Record<string, string> = {},
  ): Promise<T> {
    const started = Date.now();
    const send = async (authorization?: string): Promise<AxiosResponse<string>> => {
      const headers: Record<string, string> = body === undefined ? { ...extraHeaders } : { 'Content-Type': FHIR_JSON, ...extraHeaders };
      if (authorization) headers.Authorization = authorization;
      try {
        return await this.http.request<string>({
          method,
          url,
          data: body === undefined ? undefined : JSON.stringify(body),
          headers,
          signal: AbortSignal.timeout(this.timeoutMs),
        });
      } catch (err) {
        const error = this.networkFailure(err, what);
        // debug: the caller (delivery worker, read path) decides what a failure means and logs it once.
        this.logger?.debug('SCR call failed', { what, error: error.message, ms: Date.now() - started });
        throw error;
      }
    };
    let authorization = await this.auth?.authorization();
    let response = await send(authorization);
    if (response.status === 401 && this.auth && authorization) {
      // The token may have been revoked or expired early: drop it and try once more with a fresh one.
      this.auth.rejected(authorization);
      authorization = await this.auth.authorization();
      response = await send(authorization);
    }
    const { status } = response;
    this.logger?.debug('SCR call', { what, status, ms: Date.now() - started });
    const parsed = parseJson(response.data);
    if (status < 200 || status >= 300) {
      const scrOutcome = parsed?.resourceType === 'OperationOutcome' ? (parsed as OperationOutcome) : undefined;
      const code: IssueCode = status >= 500 ? 'transient' : 'processing';
      throw new ScrError(
        `SCR ${what} failed: HTTP ${status}`,
        status,
        // With our own fresh token still refused, our credentials are at fault, not the record: keep retrying.
        isRetryableStatus(status) || (status === 401 && this.auth !== undefined),
        scrOutcome ?? outcome([issue('error', code, `The SCR answered HTTP ${status}`)]),
        parseRetryAfter(header(response, 'retry-after')),
      );
    }
    if (parsed?.resourceType !== expect) {
      throw new ScrError(`SCR ${what}: expected a ${expect} in the answer`, status, false,
        outcome([issue('error', 'invalid', `The SCR answered HTTP ${status} without a ${expect}`)]));
    }
    return parsed as T;
  }

  private networkFailure(err: unknown, what: string): ScrError {
    const code = axios.isAxiosError(err) ? err.code : undefined;
    if (axios.isCancel(err) || code === 'ECONNABORTED' || code === 'ETIMEDOUT') {
      const message = `SCR ${what} timed out after ${this.timeoutMs} ms`;
      return new ScrError(message, undefined, true, outcome([issue('error', 'timeout', message)]));
    }
    if (!axios.isAxiosError(err) || (code !== undefined && NOT_RETRYABLE_CODES.has(code))) {
      const message = `SCR ${what} could not be sent${code ? ` (${code})` : ''}`;
      return new ScrError(message, undefined, false, outcome([issue('error', 'exception', message)]));
    }
    const message = `SCR ${what} failed: network error${code ? ` (${code})` : ''}`;
    return new ScrError(message, undefined, true, outcome([issue('error', 'transient', message)]));
  }
}

function operationUnsupported(err: ScrError): boolean {
  if (err.status === undefined) return false;
  return OPERATION_UNSUPPORTED.has(err.status) || err.outcome.issue.some((i) => i.code === 'not-supported');
}

function checkTypeAndId(type: string, id?: string): void {
  if (!RESOURCE_TYPE.test(type)) throw invalid('Not a FHIR resource type');
  if (id !== undefined && !RESOURCE_ID.test(id)) throw invalid('Not a FHIR resource id');
}

function invalid(message: string): ScrError {
  return new ScrError(message, undefined, false, outcome([issue('error', 'invalid', message)]));
}

function parseJson(text: string): Resource | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && 'resourceType' in value ? (value as Resource) : undefined;
  } catch {
    return undefined;
  }
}

function header(response: AxiosResponse, name: string): string | undefined {
  const value: unknown = response.headers[name];
  return typeof value === 'string' ? value : undefined;
}

function nextLink(bundle: Bundle): string | undefined {
  return bundle.link?.find((l) => l.relation === 'next')?.url;
}

function key(resource: Resource): string {
  return `${resource.resourceType}/${resource.id}`;
}

function resourcesOf(bundle: Bundle): Resource[] {
  return (bundle.entry ?? [])
    .map((e) => e.resource)
    .filter((r): r is Resource => r !== undefined && r.resourceType !== 'OperationOutcome');
}

/** Every Reference.reference string in a resource, at any depth. */
function referencesIn(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) {
    for (const item of value) referencesIn(item, out);
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'reference' && typeof v === 'string') out.push(v);
      else referencesIn(v, out);
    }
  }
  return out;
}

/** Runs tasks at most `size` at a time, keeping their order; the first failure fails the whole. */
async function inBatches<T>(tasks: Array<() => Promise<T>>, size: number): Promise<T[]> {
  const results: T[] = [];
  for (let i = 0; i < tasks.length; i += size) {
    results.push(...(await Promise.all(tasks.slice(i, i + size).map((task) => task()))));
  }
  return results;
}
