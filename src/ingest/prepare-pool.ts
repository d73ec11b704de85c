/**
 * Checking, mapping and validating records on worker threads (piscina), so the event loop that answers HTTP
 * requests and commits the outbox is not the one doing the CPU work of every record: a batch or a bulk file is
 * cut into chunks that the pool's threads prepare while the main thread commits earlier ones. Each thread
 * loads its own mappings and validator (~70 MB of heap), so the main thread need not load the validator at all
 * (FHIR $validate runs on the pool too). The answers are plain data (structured clone): the same PreparedRecord the
 * main thread would have made.
 */
import path from 'node:path';
import type { OperationOutcomeIssue, Resource } from 'fhir/r4';
import Piscina from 'piscina';
import { issue } from '../fhir/operation-outcome';
import type { PreparedRecord, Preparer, PrepareItem } from './accept';

/** Records in one task: large enough to amortise a message, small enough to spread a batch over the threads. */
const RECORDS_PER_TASK = 50;

export class PreparePool implements Preparer {
  private readonly pool: Piscina;

  constructor(readonly threads: number) {
    // From a build the thread runs prepare-worker.js; from the TypeScript sources (tests, tsx) it needs tsx's hook.
    const fromSource = path.extname(__filename) === '.ts';
    this.pool = new Piscina({
      filename: path.join(__dirname, `prepare-worker${path.extname(__filename)}`),
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: Number.POSITIVE_INFINITY,
      execArgv: fromSource ? ['--require', 'tsx/cjs'] : [],
    });
  }

  /** Resolves once every thread has loaded its mappings and validator (start-up waits, not the first request). */
  async ready(): Promise<void> {
    await Promise.all(Array.from({ length: this.threads }, () => this.pool.run([])));
  }

  async prepare(items: PrepareItem[]): Promise<PreparedRecord[]> {
    const tasks: Promise<PreparedRecord[]>[] = [];
    for (let i = 0; i < items.length; i += RECORDS_PER_TASK) tasks.push(this.task(items.slice(i, i + RECORDS_PER_TASK)));
    return (await Promise.all(tasks)).flat();
  }

  /**
   * One task. JSON nested deeper than the structured clone's stack can copy (the main thread parsed it) fails
   * the whole task with a RangeError: the task's records are sent again one by one, and the one that cannot
   * cross is refused as the main thread would refuse malformed input, with a 4xx naming it.
   */
  private async task(items: PrepareItem[]): Promise<PreparedRecord[]> {
    try {
      return (await this.pool.run(items)) as PreparedRecord[];
    } catch (err) {
      // By name: the error may come from another realm (the thread's, or a test runner's), where instanceof fails.
      if ((err as Error | undefined)?.name !== 'RangeError') throw err;
      if (items.length > 1) return (await Promise.all(items.map((item) => this.task([item])))).flat();
      return [{ issues: [issue('error', 'structure', 'The record is nested too deeply to process', items[0].path || '$')] }];
    }
  }

  /** FHIR $validate on a pool thread, so the main thread never holds (nor stops to load) a validator. */
  async validate(resource: Resource, options?: { profile?: string }): Promise<OperationOutcomeIssue[]> {
    return (await this.pool.run({ resource, profile: options?.profile }, { name: 'validateResource' })) as OperationOutcomeIssue[];
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
