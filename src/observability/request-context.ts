/** Per-request context (request id, caller, the people the request touches) carried through async calls. */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Caller } from '../auth/caller';

export interface RequestContext {
  requestId: string;
  /** Who is calling, once the bearer token is verified. */
  caller?: Caller;
  /** NHS numbers of the people this request writes or reads: each gets an AuditEvent. */
  subjects?: string[];
  /** A clinician's stated reason for break-glass access, when they gave one. */
  breakGlassReason?: string;
  /** The caller's network address, for the audit trail. */
  sourceAddress?: string;
  /** What the handler adds to its audit description (e.g. an extract's project and head count); never personal data. */
  auditDetail?: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

export function runWithContext<T>(context: RequestContext, fn: () => T): T {
  return storage.run(context, fn);
}

export function currentContext(): RequestContext | undefined {
  return storage.getStore();
}

/** Records the people a request is about (deduplicated), for the audit trail. */
export function noteSubjects(...nhsNumbers: string[]): void {
  const context = storage.getStore();
  if (!context) return;
  context.subjects = [...new Set([...(context.subjects ?? []), ...nhsNumbers])];
}

/** Adds detail to the request's audit description (an extract's project and how many people it holds). */
export function noteAuditDetail(detail: string): void {
  const context = storage.getStore();
  if (context) context.auditDetail = detail;
}
