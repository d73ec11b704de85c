/**
 * Keeps the outbox bounded: every `everyMs`, prune the bodies of submissions delivered more than `keepMs`
 * ago (their status rows stay). main.ts starts it next to the delivery worker and stops it on shutdown.
 */
import type { Logger } from '../observability/logger';
import type { Outbox } from './outbox';

export interface RetentionOptions {
  outbox: Outbox;
  logger: Logger;
  /** How long a delivered submission keeps its bundle, e.g. 7 days. */
  keepMs: number;
  /** How often to prune, e.g. hourly. */
  everyMs: number;
}

export class RetentionJob {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(private readonly options: RetentionOptions) {}

  start(): void {
    if (this.timer) return;
    this.schedule();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One pass: prune what is older than the retention period. Returns how many were pruned. */
  async prune(now: Date = new Date()): Promise<number> {
    const pruned = await this.options.outbox.prune(new Date(now.getTime() - this.options.keepMs));
    if (pruned > 0) this.options.logger.info('pruned delivered submissions', { pruned });
    return pruned;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.running = this.prune()
        .then(
          () => undefined,
          (err: unknown) => {
            this.options.logger.error('pruning the outbox failed', { error: err });
          },
        )
        .finally(() => {
          this.running = undefined;
          if (this.timer) this.schedule();
        });
    }, this.options.everyMs);
    // Pruning alone must not keep the process alive.
    this.timer.unref();
  }
}
