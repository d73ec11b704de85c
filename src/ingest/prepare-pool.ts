/**
 * Checking, mapping and validating records on worker threads (piscina), so the event loop that answers HTTP
 * requests and commits the outbox is not the one doing the CPU work of every record: a batch or a bulk file is
 * cut into chunks that the pool's threads prepare while the main thread commits earlier ones. Each thread
 * loads its own mappings and validator (~70 MB of heap), so the main thread need not load the validator at all
 * unless FHIR $validate is used. The answers are plain data (structured clone): the same PreparedRecord the
 * main thread would have made.
 */
import path from 'node:path';
import Piscina from 'piscina';
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
    if (items.length <= RECORDS_PER_TASK) return (await this.pool.run(items)) as PreparedRecord[];
    const tasks: Promise<PreparedRecord[]>[] = [];
    for (let i = 0; i < items.length; i += RECORDS_PER_TASK) tasks.push(this.pool.run(items.slice(i, i + RECORDS_PER_TASK)) as Promise<PreparedRecord[]>);
    return (await Promise.all(tasks)).flat();
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
