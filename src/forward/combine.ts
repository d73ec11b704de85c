/**
 * Several submissions in one SCR transaction. Each submission is a transaction Bundle of its own; sending
 * claimed submissions for different patients together costs the SCR one request, one commit and the
 * gateway one round trip instead of one each. The combined Bundle must mean exactly what sending its parts
 * one by one would have meant:
 * - No two entries may land on one resource (FHIR R4 fails such a transaction), except identical
 *   conditional creates (a care provider's Organization named by every resident), which are kept once, with
 *   references to the dropped entry's fullUrl pointed at the kept one. A submission that would clash goes
 *   into another transaction.
 * - Each submission's part of the transaction-response is cut back out, so its stored answer is its own.
 * The caller sends a group of one as it is, and falls back to one transaction per submission when the SCR
 * refuses a combined one (it cannot say which part was at fault).
 */
import type { Bundle, BundleEntry } from 'fhir/r4';
import { rewriteReferences } from '../map/transaction';
import type { ClaimedSubmission } from '../outbox/outbox';

export interface DeliveryGroup {
  submissions: ClaimedSubmission[];
  /** The Bundle to send: a submission's own for a group of one, else the combined transaction. */
  bundle: Bundle;
  /** For each submission, the indexes of its entries' answers in the transaction-response. */
  parts: number[][];
}

interface OpenGroup {
  submissions: ClaimedSubmission[];
  entries: BundleEntry[];
  parts: number[][];
  /** Resource identity -> index of the entry that holds it. */
  identities: Map<string, number>;
  fullUrls: Set<string>;
}

/**
 * The resource an entry writes, as the SCR resolves it: the conditional criteria or the literal
 * Type/id; undefined for a plain create, which always makes a new resource. Conditional creates are keyed
 * apart (`+`) so an identical one can be shared, while a create and an update of one resource still clash.
 */
function identityOf(entry: BundleEntry): { key: string; shareable: boolean } | undefined {
  const request = entry.request;
  if (!request) return undefined;
  if (request.method === 'POST' && request.ifNoneExist) return { key: `${request.url}?${request.ifNoneExist}`, shareable: true };
  if (request.method === 'POST') return undefined;
  return { key: request.url, shareable: false };
}

/** Adds the submission to the group, or answers false (and leaves the group as it was) on a clash or no room. */
function tryAdd(group: OpenGroup, submission: ClaimedSubmission, maxEntries: number): boolean {
  const entries = submission.bundle.entry ?? [];
  const shared = new Map<number, number>(); // entry of this submission -> kept entry of the group
  let added = 0;
  for (const [i, entry] of entries.entries()) {
    const identity = identityOf(entry);
    const existing = identity ? group.identities.get(identity.key) : undefined;
    if (identity && existing !== undefined) {
      const kept = group.entries[existing];
      if (!identity.shareable || !identityOf(kept)?.shareable || kept.resource?.resourceType !== entry.resource?.resourceType) return false;
      shared.set(i, existing);
    } else {
      if (entry.fullUrl && group.fullUrls.has(entry.fullUrl)) return false;
      added++;
    }
  }
  if (group.submissions.length > 0 && group.entries.length + added > maxEntries) return false;

  // References to a dropped entry's fullUrl point at the entry kept in its place.
  const renamed = new Map<string, string>();
  for (const [i, kept] of shared) {
    const from = entries[i].fullUrl;
    const to = group.entries[kept].fullUrl;
    if (from && to && from !== to) renamed.set(from, to);
  }
  const part: number[] = [];
  for (const [i, entry] of entries.entries()) {
    const kept = shared.get(i);
    if (kept !== undefined) {
      part.push(kept);
      continue;
    }
    const resource = renamed.size > 0 && entry.resource ? (rewriteReferences(entry.resource, renamed) as typeof entry.resource) : entry.resource;
    const index = group.entries.push(resource === entry.resource ? entry : { ...entry, resource }) - 1;
    const identity = identityOf(entry);
    if (identity) group.identities.set(identity.key, index);
    if (entry.fullUrl) group.fullUrls.add(entry.fullUrl);
    part.push(index);
  }
  group.submissions.push(submission);
  group.parts.push(part);
  return true;
}

/**
 * Packs claimed submissions, in claim order, into groups of at most `maxSubmissions` submissions and
 * `maxEntries` entries (a larger submission goes alone), each submission into the first group it fits.
 */
export function packSubmissions(claimed: ClaimedSubmission[], maxSubmissions: number, maxEntries: number): DeliveryGroup[] {
  const open: OpenGroup[] = [];
  for (const submission of claimed) {
    const fits = open.find((g) => g.submissions.length < maxSubmissions && tryAdd(g, submission, maxEntries));
    if (fits) continue;
    const group: OpenGroup = { submissions: [], entries: [], parts: [], identities: new Map(), fullUrls: new Set() };
    tryAdd(group, submission, maxEntries); // an empty group takes any submission
    open.push(group);
  }
  return open.map(({ submissions, entries, parts }) =>
    submissions.length === 1 ? alone(submissions[0]) : { submissions, parts, bundle: { resourceType: 'Bundle', type: 'transaction', entry: entries } },
  );
}

/** A submission sent as it is, in a transaction of its own. */
export function alone(submission: ClaimedSubmission): DeliveryGroup {
  return { submissions: [submission], bundle: submission.bundle, parts: [(submission.bundle.entry ?? []).map((_, i) => i)] };
}

/** Each submission's own transaction-response, cut from the combined one. */
export function splitResponse(response: Bundle | undefined, parts: number[][]): (Bundle | undefined)[] {
  if (!response || parts.length === 1) return [response];
  return parts.map((part) => ({
    resourceType: 'Bundle',
    type: 'transaction-response',
    entry: part.map((i) => response.entry?.[i] ?? {}),
  }));
}
