/**
 * Bulk ingest: the same stage as a single record (check -> map -> validate -> outbox) for every line of a
 * stream, one line at a time (so memory stays flat: the request stream is only read as fast as lines are
 * processed). Good lines are committed in groups; a bad line is reported by its line number and never
 * blocks the rest. Progress goes to the job store as it goes.
 */
import type { OperationOutcomeIssue } from 'fhir/r4';
import { OperationOutcomeError, issue } from '../../fhir/operation-outcome';
import { StaleRecordError, type NewSubmission } from '../../outbox/outbox';
import type { ProviderRecord } from '../../map/map-record';
import { acceptedSubmission, prepareRecord, type IngestDeps, type RecordGate } from '../accept';
import type { BulkItem } from './lines';
import { MAX_KEPT_ISSUES, type JobStatus, type JobStore } from './job-store';

const GROUP_SIZE = 200;
const PROGRESS_EVERY = 1000;

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

  try {
    for await (const item of items) {
      status.linesRead++;
      const path = `line[${item.line}]`;
      if ('error' in item) {
        reject([issue('error', 'structure', item.error, path)]);
      } else {
        try {
          const prepared = await prepareRecord(deps, item.record, path, gate);
          if (prepared.submission && prepared.record) pending.push({ submission: prepared.submission, record: prepared.record, path });
          else reject(prepared.issues);
        } catch (err) {
          // The gate refused this line (e.g. another provider's ODS code): the line is rejected, not the job.
          if (!(err instanceof OperationOutcomeError)) throw err;
          reject(err.outcome.issue.map((i) => ({ ...i, expression: [path] })));
        }
      }
      if (pending.length >= GROUP_SIZE) await flush();
      if (status.linesRead % PROGRESS_EVERY === 0) deps.jobs.update(status);
    }
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
