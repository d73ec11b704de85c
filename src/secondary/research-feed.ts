/**
 * The ingest hook that feeds secondary uses: after an accepted batch is committed to the outbox, each
 * record's resources are de-identified and written to the research store. It never fails the request:
 * the records are already accepted for direct care, so a research store failure is logged (without
 * personal data) and counted, and those records are missing from extracts until they are sent again.
 * The gateway runs it through feed-queue.ts, after the answer and batched.
 */
import type { Resource } from 'fhir/r4';
import type { AcceptedSubmission } from '../ingest/accept';
import { PROVIDER_RECORD_SYSTEM } from '../map/identifiers';
import type { Logger } from '../observability/logger';
import type { Deidentifier } from './deidentify';
import { eventDate, factOf, isoWeek } from './facts';
import type { Pseudonyms } from './pseudonyms';
import type { ResearchBatch, ResearchRecord, ResearchStore, StoredResource } from './research-store';

type Identified = Resource & { identifier?: { system?: string; value?: string }[] };

export type ResearchFeed = (accepted: AcceptedSubmission[]) => void;

export interface ResearchFeedDeps {
  store: ResearchStore;
  deidentifier: Deidentifier;
  pseudonyms: Pseudonyms;
  logger: Logger;
}

/** Submissions accepted together, and when (de-identification and the rows' updated_at use that time). */
export interface AcceptedBatch {
  accepted: AcceptedSubmission[];
  at: Date;
}

/**
 * Whether a resource belongs to its record alone: it has no identifier, or the gateway's id for this provider
 * record (or a part of it). Any other identity (an NHS number, an ODS code) other records can carry too.
 */
function ownedBy(recordRef: string, id: { system?: string; value?: string } | undefined): boolean {
  if (!id) return true;
  return id.system === PROVIDER_RECORD_SYSTEM && (id.value === recordRef || id.value!.startsWith(`${recordRef}/`));
}

function deidentified(deps: ResearchFeedDeps, { accepted, at: now }: AcceptedBatch): ResearchRecord[] {
  return accepted.map(({ record, resources, createOnly }) => {
    const recordRef = `${record.careProvider.odsCode}/${record.type}/${record.recordId}`;
    const provider = record.careProvider.odsCode;
    const person = record.nhsNumber === undefined ? undefined : deps.pseudonyms.person(record.nhsNumber);
    const out: ResearchRecord = { recordKey: deps.pseudonyms.id('record', recordRef), person, provider, resources: [], shared: [] };
    resources.forEach((resource, index) => {
      const clean = deps.deidentifier.deidentify(resource, now);
      if (!clean) return;
      const id = (resource as Identified).identifier?.find((i) => i.system && i.value);
      const identity = id ? `${resource.resourceType}|${id.system}|${id.value}` : `${recordRef}#${index}`;
      const when = eventDate(resource) ?? record.recordedAt ?? now.toISOString();
      const stored: StoredResource = {
        resourceKey: deps.pseudonyms.id('resource', identity),
        resourceType: resource.resourceType,
        fact: factOf(resource, record.type),
        week: isoWeek(when),
        resource: clean,
      };
      if (ownedBy(recordRef, id)) out.resources.push(stored);
      else {
        const about = resource.resourceType === 'Organization' ? undefined : person;
        out.shared.push({ ...stored, person: about, provider, createOnly: createOnly?.has(resource) ?? false });
      }
    });
    return out;
  });
}

function failed(deps: ResearchFeedDeps, records: number, err: unknown): void {
  deps.logger.error('research store write failed; these records are missing from de-identified extracts', {
    records,
    error: err instanceof Error ? err.message : String(err),
  });
}

/**
 * De-identifies each batch and writes them all in one research store transaction. Never throws: a batch that
 * cannot be de-identified is logged and left out alone; a failed write is logged for all of them.
 */
export function writeAccepted(deps: ResearchFeedDeps, batches: AcceptedBatch[]): void {
  const ready: ResearchBatch[] = [];
  for (const batch of batches) {
    try {
      ready.push({ records: deidentified(deps, batch), at: batch.at });
    } catch (err) {
      failed(deps, batch.accepted.length, err);
    }
  }
  if (ready.length === 0) return;
  try {
    deps.store.writeAll(ready);
  } catch (err) {
    failed(deps, ready.reduce((n, b) => n + b.records.length, 0), err);
  }
}
