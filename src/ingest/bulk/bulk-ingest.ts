/**
 * Bulk ingest: the same stage as a single record (check -> map -> validate -> outbox) for every line of a
 * stream. Lines go to the preparer in chunks, a few chunks ahead of the one being committed, so a prepare
 * pool works on the next lines while this thread commits the last ones; memory stays flat (the request
 * stream is read only as fast as chunks are settled). Lines are settled and committed in file order, so two
 * versions of one record keep theirs. Good lines are committed in groups; a bad line is reported by its line
 * number and never blocks the rest. Progress goes to the job store as it goes.
 */
import type { OperationOutcomeIssue } from 'fhir/r4';
import { OperationOutcomeError, issue } from '../../fhir/operation-outcome';
import { StaleRecordError, type NewSubmission } from '../../outbox/outbox';
import type { ProviderRecord } from '../../map/map-record';
import { acceptedSubmission, prepareAll, type IngestDeps, type PreparedRecord, type RecordGate } from '../accept';
import type { BulkItem } from './lines';
import { MAX_KEPT_ISSUES, type JobStatus, type JobStore } from './job-store';

const GROUP_SIZE = 200;
const PROGRESS_EVERY = 1000;
/** Lines sent to the preparer at once, and how many such chunks may be out while one is settled. */
const CHUNK_LINES = 50;
const CHUNKS_AHEAD = 4;

interface Chunk {
  items: BulkItem[];
  prepared: Promise<PreparedRecord[]>;
}

export interface BulkDeps extends IngestDeps {
  jobs: JobStore;
}

export async function ingestBulk(deps: BulkDeps, items: AsyncIterable<BulkItem>, job: JobStatus, gate?: RecordGate): Promise<JobStatus> {
  const status: JobStatus = { ...job };
  let pending: { submission: NewSubmission; record: ProviderRecord; path: string }[] = [];

  const reject = (found: OperationOutcomeIssue[]) => {
    status.rejected++;
    if (status.issues.length < MAX_KEPT_ISSUES) status.issues.push(...found.slice(0, MAX_KEPT_ISSUES - status.issues.length));
  };

  /** Commit the pending group; stale versions are rejected line by line and the rest committed again. */
  const flush = async (): Promise<void> => {
    const group = pending;
    pending = [];
    if (group.length === 0) return;
    try {
      await deps.outbox.enqueue(group.map((g) => g.submission));
      status.accepted += group.length;
      deps.onQueued?.();
      deps.onAccepted?.(group.map((g) => acceptedSubmission(g.record, g.submission)));
    } catch (err) {
      if (!(err instanceof StaleRecordError)) throw err;
      const stale = new Set(err.stale.map((s) => s.index));
      for (const s of err.stale) {
        reject([issue('error', 'conflict', `version ${s.version} is older than version ${s.current} already accepted`, `${group[s.index].path}.version`)]);
      }
      pending = group.filter((_, i) => !stale.has(i));
      await flush();
    }
  };

  /** Settles one line: rejected, or pending for the next group commit. */
  const settleLine = async (item: BulkItem, result: PreparedRecord | undefined): Promise<void> => {
    status.linesRead++;
    const path = `line[${item.line}]`;
    if ('error' in item) {
      reject([issue('error', 'structure', item.error, path)]);
    } else if (result) {
      try {
        if (result.record) gate?.(result.record);
        if (result.submission && result.record) pending.push({ submission: result.submission, record: result.record, path });
        else reject(result.issues);
      } catch (err) {
        // The gate refused this line (e.g. another provider's ODS code): the line is rejected, not the job.
        if (!(err instanceof OperationOutcomeError)) throw err;
        reject(err.outcome.issue.map((i) => ({ ...i, expression: [path] })));
      }
    }
    if (pending.length >= GROUP_SIZE) await flush();
    if (status.linesRead % PROGRESS_EVERY === 0) deps.jobs.update(status);
  };

  const ahead: Chunk[] = [];
  let chunk: BulkItem[] = [];
  const send = (): void => {
    const records = chunk.flatMap((item) => ('record' in item ? [{ raw: item.record, path: `line[${item.line}]` }] : []));
    const prepared = prepareAll(deps, records);
    prepared.catch(() => undefined); // awaited in settleOldest; not an unhandled rejection meanwhile
    ahead.push({ items: chunk, prepared });
    chunk = [];
  };
  const settleOldest = async (): Promise<void> => {
    const { items: lines, prepared } = ahead.shift()!;
    const results = await prepared;
    let next = 0;
    for (const item of lines) await settleLine(item, 'record' in item ? results[next++] : undefined);
  };

  try {
    for await (const item of items) {
      chunk.push(item);
      if (chunk.length < CHUNK_LINES) continue;
      send();
      if (ahead.length > CHUNKS_AHEAD) await settleOldest();
    }
    if (chunk.length > 0) send();
    while (ahead.length > 0) await settleOldest();
    await flush();
    status.state = 'completed';
  } catch (err) {
    status.state = 'failed';
    deps.jobs.update(status);
    throw err;
  }
  deps.jobs.update(status);
  return deps.jobs.get(status.id) ?? status;
}
