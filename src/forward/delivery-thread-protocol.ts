/**
 * The messages between the main thread's DeliveryThread and the delivery thread it runs
 * (delivery-thread-entry.ts). Plain data only: they cross by structured clone.
 */
import type { Config } from '../config';
import type { DeliveryOutcome } from '../observability/metrics';

/** What the thread is started with (its workerData): everything it opens, it opens itself. */
export interface DeliveryThreadSettings {
  outbox: Pick<Config, 'databaseUrl' | 'outboxPath' | 'deliveryLeaseMs'>;
  scrBaseUrl: string;
  scrTimeoutMs: number;
  scrAuth?: Config['scrAuth'];
  /** With claimBytes set from the thread's heap bound (delivery-thread.ts). */
  delivery: Config['delivery'] & { claimBytes?: number };
  logLevel: string;
  /** A thread started after another died: put back to queued what that one left delivering. */
  recover: boolean;
  /** SQLite files the request thread writes with a far checkpoint mark: this thread checkpoints them (wal-checkpoints.ts). */
  checkpointFiles?: string[];
}

export type ToThread =
  | { type: 'notify' }
  | { type: 'pause' | 'resume'; id: number }
  /** Claim nothing more, let the sends in flight finish and store their outcomes, close, answer 'stopped'. */
  | { type: 'stop' };

/** What the main thread applies: metrics to its registry, log lines to its logger, the breaker to its copy. */
export type ThreadEvent =
  | { type: 'observe'; outcome: DeliveryOutcome; seconds: number }
  | { type: 'circuitOpened' }
  | { type: 'paused'; paused: boolean }
  | { type: 'circuit'; openUntil: number }
  /** One JSON log line, already redacted in the thread. */
  | { type: 'log'; line: string };

export type FromThread =
  | { type: 'started' }
  /** Events in the order they happened, several to a message. */
  | { type: 'events'; events: ThreadEvent[] }
  | { type: 'reply'; id: number; error?: string }
  | { type: 'stopped' };
