/**
 * HTTP <-> FhirRouter. Medplum's router takes a FhirRequest and returns [OperationOutcome, Resource?];
 * this adapter is the only place that knows about HTTP: body parsing, status codes, ETag/Location, and the
 * few gaps in Medplum 4.5.2's in-memory server that the gateway depends on (each marked "Gap:").
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { getStatus, normalizeOperationOutcome, serverError } from '@medplum/core';
import type { FhirRequest, FhirResponse, FhirRouter, HttpMethod } from '@medplum/fhir-router';
import type { Bundle, OperationOutcome, Resource } from '@medplum/fhirtypes';
import type { Logger } from '../observability/logger';
import type { AtomicMemoryRepository } from './atomic-repository';
import { unsupportedSearchParameter } from './search-check';
import { resolveConditionalReferences } from './conditional-references';
import { processTransaction } from './transaction';

const JSON_TYPES = ['application/fhir+json', 'application/json', 'application/json-patch+json'];
const METHODS = new Set<HttpMethod>(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);
/** Real FHIR servers page searches; so does this one, so the client's paging is exercised in tests. */
const DEFAULT_PAGE_SIZE = 50;

export interface AdapterOptions {
  router: FhirRouter;
  repo: AtomicMemoryRepository;
  /** Known only once the server listens (port 0). */
  baseUrl: () => string;
  logger?: Logger;
}

export function createFhirApp({ router, repo, baseUrl, logger }: AdapterOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag'); // ETag is the resource version, set below; not a hash of the body
  app.use(express.json({ type: JSON_TYPES, limit: '20mb' }));

  // One request at a time. AtomicMemoryRepository's rollback undoes every write since the transaction
  // began, which would undo another request's writes if requests interleaved; and conditional
  // create/update (search, then write, across awaits) is only race-free if nothing runs in between. (Measured: five identical
  // conditional transactions at once left one Patient even without this, because MemoryRepository never
  // waits on I/O; this keeps it so.) The development SCR does not need throughput.
  let tail: Promise<unknown> = Promise.resolve();
  const serialised = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = tail.then(fn);
    tail = next.catch(() => undefined);
    return next;
  };

  app.use(async (req: Request, res: Response) => {
    const started = Date.now();
    const method = req.method as HttpMethod;
    if (!METHODS.has(method)) {
      send(res, 405, outcomeOf('not-supported', `Method ${req.method} is not supported`));
      return;
    }
    if ((method === 'POST' || method === 'PUT' || method === 'PATCH') && !req.is(JSON_TYPES)) {
      send(res, 415, outcomeOf('not-supported', 'Send application/fhir+json or application/json'));
      return;
    }
    let url = req.url.replace(/^\/+/, '');
    const route = router.find(method, url);
    if (route?.data?.interaction === 'search-type' && method === 'GET') {
      const unsupported = unsupportedSearchParameter(route.params.resourceType, url);
      if (unsupported) {
        send(res, 400, outcomeOf('not-supported', `Search parameter ${unsupported} is not supported here`));
        return;
      }
      if (!/[?&]_count=/.test(url)) url += `${url.includes('?') ? '&' : '?'}_count=${DEFAULT_PAGE_SIZE}`;
    }
    const fhirRequest: FhirRequest = {
      method,
      url,
      pathname: '',
      body: req.body,
      params: {},
      query: {},
      headers: req.headers,
      // Gap: without `transactions: true` Medplum processes a transaction Bundle as a batch (measured: a
      // failing entry is reported in the response and the other entries are committed).
      config: { transactions: true },
    };
    let result: FhirResponse;
    try {
      result = await serialised(async () => {
        if (route?.data?.interaction === 'batch') {
          await resolveConditionalReferences(req.body, repo);
          const bundle = req.body as Bundle;
          if (bundle.type === 'transaction' && bundle.entry?.length) return processTransaction(bundle, router, repo, fhirRequest.config);
        }
        return router.handleRequest(fhirRequest, repo);
      });
    } catch (err) {
      result = [normalizeOperationOutcome(err)];
    }
    const [outcome, resource] = result;
    const status = getStatus(outcome);
    if (resource && status < 400) {
      if (resource.resourceType === 'Bundle' && resource.type === 'searchset') addPaging(resource, baseUrl(), url);
      // Prefer: return=minimal (RFC 7240, FHIR's http page): a transaction's or batch's entries answer with
      // their status, location and etag, not the resource each one wrote.
      if (resource.resourceType === 'Bundle' && /return=minimal/.test(req.get('prefer') ?? '') && /-response$/.test(resource.type)) {
        for (const entry of resource.entry ?? []) delete entry.resource;
      }
      if (resource.meta?.versionId) {
        res.setHeader('ETag', `W/"${resource.meta.versionId}"`);
        if (resource.meta.lastUpdated) res.setHeader('Last-Modified', new Date(resource.meta.lastUpdated).toUTCString());
        if (status === 201) {
          res.setHeader('Location', `${baseUrl()}/${resource.resourceType}/${resource.id}/_history/${resource.meta.versionId}`);
        }
      }
      send(res, status, resource);
    } else {
      send(res, status, outcome);
    }
    // Method, interaction and status only: the query holds NHS numbers and the body personal data.
    logger?.debug('dev SCR request', {
      method,
      interaction: route?.data?.interaction ?? 'unknown',
      status,
      ms: Date.now() - started,
    });
  });

  // Body parser failures (malformed JSON 400, too large 413) and anything unexpected, as OperationOutcome.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = (err as { status?: number }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      send(res, status, outcomeOf(status === 413 ? 'too-costly' : 'structure', (err as Error).message));
    } else {
      logger?.error('dev SCR internal error', { error: (err as Error).name });
      send(res, 500, serverError(new Error('Internal error')));
    }
  });
  return app;
}

/** The JSON written to the socket as it is (express's send would first copy a large answer into a Buffer). */
function send(res: Response, status: number, body: Resource): void {
  const text = JSON.stringify(body);
  res.status(status).setHeader('Content-Type', 'application/fhir+json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

function outcomeOf(code: 'not-supported' | 'structure' | 'too-costly', text: string): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, diagnostics: text }] };
}

/**
 * Gap: Medplum's in-memory search honours _count and _offset but returns no Bundle.link and no
 * entry.fullUrl. Add self/next links and fullUrls as a FHIR server does.
 */
function addPaging(bundle: Bundle, base: string, url: string): void {
  const self = new URL(`${base}/${url}`);
  const count = Number(self.searchParams.get('_count') ?? DEFAULT_PAGE_SIZE);
  const offset = Number(self.searchParams.get('_offset') ?? 0);
  const returned = bundle.entry?.length ?? 0;
  bundle.link = [{ relation: 'self', url: self.toString() }];
  if (bundle.total !== undefined && count > 0 && offset + returned < bundle.total) {
    const next = new URL(self);
    next.searchParams.set('_offset', String(offset + count));
    bundle.link.push({ relation: 'next', url: next.toString() });
  }
  for (const entry of bundle.entry ?? []) {
    if (entry.resource?.id) entry.fullUrl = `${base}/${entry.resource.resourceType}/${entry.resource.id}`;
    entry.search = { mode: 'match' };
  }
}
