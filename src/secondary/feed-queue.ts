/**
 * The research feed after the answer: accepted batches wait here (up to delayMs, or until maxRecords are
 * waiting) and are then de-identified and written in one research store transaction, so a request no longer
 * pays for secondary uses before its 202, and the store's per-transaction cost is shared.
 *
 * What waits is in memory only: a crash loses at most the last delayMs of accepted records from the research
 * store (they are still delivered for direct care), the same class of loss the store's synchronous=NORMAL
 * already allows. Readers call flush() first, so an extract or aggregate includes everything accepted before
 * it; close() flushes too. Each batch keeps its own time, strictly increasing, so a later version of a record
 * still replaces an earlier one written in the same transaction.
 */
import type { AcceptedSubmission } from '../ingest/accept';
import type { AcceptedBatch, ResearchFeed } from './research-feed';

export interface FeedQueueOptions {
  /** Longest a batch waits before it is written. */
  delayMs: number;
  /** Write at the next turn once this many records wait. */
  maxRecords: number;
}

export class FeedQueue {
  private waiting: AcceptedBatch[] = [];
  private records = 0;
  private lastAt = 0;
  private timer?: NodeJS.Timeout;
  private immediate?: NodeJS.Immediate;

  constructor(
    private readonly write: (batches: AcceptedBatch[]) => void,
    private readonly options: FeedQueueOptions,
  ) {}

  /** The ingest hook (IngestDeps.onAccepted): queues and returns at once. */
  readonly feed: ResearchFeed = (accepted: AcceptedSubmission[]) => {
    if (accepted.length === 0) return;
    this.lastAt = Math.max(Date.now(), this.lastAt + 1);
    this.waiting.push({ accepted, at: new Date(this.lastAt) });
    this.records += accepted.length;
    if (this.records >= this.options.maxRecords) {
      this.immediate ??= setImmediate(() => this.flush());
    } else {
      // Unref'd: a waiting batch never holds the process open; stop() flushes through close().
      this.timer ??= setTimeout(() => this.flush(), this.options.delayMs).unref();
    }
  };

  /** Writes everything waiting now (the writer logs its own failures and never throws). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
    const batches = this.waiting;
    this.waiting = [];
    this.records = 0;
    if (batches.length > 0) this.write(batches);
  }
}
