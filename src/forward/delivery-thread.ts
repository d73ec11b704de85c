/**
 * Delivery in its own worker thread, so claims, JSON and sends to the SCR run on another core than the HTTP
 * requests. DeliveryThread is the main thread's side: the same face as a DeliveryWorker (the Delivery
 * interface) for the app, /ready and the admin API, speaking to the thread (delivery-thread-entry.ts) by
 * messages (delivery-thread-protocol.ts). It applies what the thread reports to the main thread's metrics
 * and logger, and starts a new thread, after a back-off, when one dies.
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../observability/logger';
import type { DeliveryMetrics } from '../observability/metrics';
import type { Outbox } from '../outbox/outbox';
import { breakerState, type BreakerState } from './circuit-breaker';
import type { DeliveryThreadSettings, FromThread, ThreadEvent, ToThread } from './delivery-thread-protocol';

/** What the app, /ready and the admin API use of delivery, in a thread or on the main event loop. */
export interface Delivery {
  /** A thread: resolves once it has opened its outbox and SCR client and claims (or has died trying). */
  start(): void | Promise<void>;
  /** Graceful: claim nothing more, let the sends in flight finish and their outcomes be stored. */
  stop(): Promise<void>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  readonly paused: boolean;
  /** New work was committed: claim it now rather than at the next poll. */
  notify(): void;
  readonly circuit: BreakerState;
  /** False while nothing is delivering (a delivery thread died and its successor has not started yet). */
  readonly running: boolean;
}

export interface DeliveryThreadOptions {
  settings: Omit<DeliveryThreadSettings, 'recover'>;
  /** The main thread's own outbox connection: for pause and resume while no thread is running. */
  outbox: Outbox;
  logger: Logger;
  metrics?: DeliveryMetrics;
  /** The thread's heap bound (V8 old generation), MB. */
  heapMb: number;
}

/** After a death, the next thread starts after 1 s, doubling with each death in a row, up to 30 s. */
const RESTART_BASE_MS = 1000;
const RESTART_MAX_MS = 30_000;
/** A thread that ran this long ends a run of deaths: the next one starts after RESTART_BASE_MS again. */
const HEALTHY_MS = 60_000;

/**
 * The thread's young generation (V8's nursery), MB. V8 gives a thread the main isolate's 32 MB by default, of
 * which a delivery thread uses little: with 12 a 30,000-record bulk peaked at 280 against 301-309 MB RSS
 * (bench/PERFORMANCE.md, session 5). Much smaller costs CPU (a prepare thread at 16 against 64 MB: 1.45x), as
 * more short-lived objects survive into the old generation; 16 is the compromise.
 */
const YOUNG_GENERATION_MB = 16;

/**
 * The bundle bytes the thread's sends may hold at once, from its heap bound: what the thread holds with nothing
 * in flight (~12 MB, built), and a fifth of the rest, as each bundle is held as text, parsed, and combined into
 * the text sent. Measured with backlogs of 300 KB bundles (bench/PERFORMANCE.md, session 8): a 16 MB thread died
 * with 1.8 MB in flight and lived with 1.5; a 24 MB one lived with 2.4 MB and died with 3.
 */
function claimBytesFor(heapMb: number): number {
  return (Math.max(1, heapMb - THREAD_BASELINE_MB) * 1024 * 1024) / 5;
}
const THREAD_BASELINE_MB = 12;

const ENTRY = path.join(__dirname, `delivery-thread-entry${path.extname(__filename)}`);

export class DeliveryThread implements Delivery {
  private thread?: Worker;
  private up = false;
  private startedAt = 0;
  private stopping = false;
  private stopped?: Promise<void>;
  private restartTimer?: NodeJS.Timeout;
  private deathsInARow = 0;
  private lastError?: Error;
  private pausedFlag = false;
  private openUntil = 0;
  private nextRequest = 1;
  private readonly requests = new Map<number, { paused: boolean; resolve: () => void; reject: (err: Error) => void }>();

  constructor(private readonly options: DeliveryThreadOptions) {}

  get paused(): boolean {
    return this.pausedFlag;
  }

  get circuit(): BreakerState {
    return breakerState({ openUntil: this.openUntil }, Date.now());
  }

  get running(): boolean {
    return this.up;
  }

  start(): Promise<void> {
    if (this.thread || this.restartTimer) return Promise.resolve();
    this.stopping = false;
    const thread = this.spawn(false);
    return new Promise<void>((resolve) => {
      const settled = (message?: FromThread): void => {
        if (message && message.type !== 'started') return;
        thread.off('message', settled);
        thread.off('exit', exited);
        resolve();
      };
      const exited = (): void => settled();
      thread.on('message', settled);
      thread.once('exit', exited);
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const thread = this.thread;
    if (!thread) return;
    this.stopped ??= new Promise<void>((resolve) => thread.once('exit', () => resolve()));
    this.send({ type: 'stop' });
    await this.stopped;
  }

  pause(): Promise<void> {
    return this.setPaused(true);
  }

  resume(): Promise<void> {
    return this.setPaused(false);
  }

  notify(): void {
    this.send({ type: 'notify' });
  }

  /** In the thread when it runs (it orders the write with its claims); else straight to the outbox. */
  private setPaused(paused: boolean): Promise<void> {
    this.pausedFlag = paused;
    if (!this.thread) return this.storePaused(paused);
    const id = this.nextRequest++;
    return new Promise<void>((resolve, reject) => {
      this.requests.set(id, { paused, resolve, reject });
      this.send({ type: paused ? 'pause' : 'resume', id });
    });
  }

  private async storePaused(paused: boolean): Promise<void> {
    await this.options.outbox.setPaused(paused);
    this.options.metrics?.paused.set(paused ? 1 : 0);
    if (paused) this.options.logger.warn('delivery paused by operator (no delivery thread running; it starts paused)');
    else this.options.logger.info('delivery resumed by operator');
  }

  private send(message: ToThread): void {
    this.thread?.postMessage(message);
  }

  private spawn(recover: boolean): Worker {
    const { settings, heapMb } = this.options;
    const delivery = { ...settings.delivery, claimBytes: claimBytesFor(heapMb) };
    const workerData: DeliveryThreadSettings = { ...settings, delivery, recover };
    const resourceLimits = { maxOldGenerationSizeMb: heapMb, maxYoungGenerationSizeMb: YOUNG_GENERATION_MB };
    // From the build, the entry is JavaScript. From source (tsx, ts-jest) it is TypeScript: tsx loads it.
    const thread = ENTRY.endsWith('.ts')
      ? new Worker(`require(${JSON.stringify(require.resolve('tsx/cjs/api'))}).register(); require(${JSON.stringify(ENTRY)});`, {
          eval: true,
          workerData,
          resourceLimits,
        })
      : new Worker(ENTRY, { workerData, resourceLimits });
    this.thread = thread;
    this.lastError = undefined;
    this.stopped = undefined;
    thread.on('message', (message: FromThread) => this.onMessage(message));
    thread.on('error', (err) => {
      this.lastError = err;
    });
    thread.on('exit', (code) => this.onExit(thread, code));
    return thread;
  }

  private onMessage(message: FromThread): void {
    switch (message.type) {
      case 'started':
        this.up = true;
        this.startedAt = Date.now();
        this.options.logger.info('delivery thread started', { threadId: this.thread?.threadId });
        return;
      case 'events':
        for (const e of message.events) this.apply(e);
        return;
      case 'reply': {
        const request = this.requests.get(message.id);
        this.requests.delete(message.id);
        if (message.error === undefined) request?.resolve();
        else request?.reject(new Error(message.error));
        return;
      }
      case 'stopped':
        // Every outcome is stored and the outbox closed: nothing left that needs the thread to end itself.
        void this.thread?.terminate();
        return;
    }
  }

  private apply(e: ThreadEvent): void {
    const { metrics, logger } = this.options;
    switch (e.type) {
      case 'observe':
        metrics?.observe(e.outcome, e.seconds);
        return;
      case 'circuitOpened':
        metrics?.circuitOpened.inc();
        return;
      case 'paused':
        metrics?.paused.set(e.paused ? 1 : 0);
        // A pause or resume still on its way to the thread is newer than what the thread saw.
        if (this.requests.size === 0) this.pausedFlag = e.paused;
        return;
      case 'circuit':
        this.openUntil = e.openUntil;
        return;
      case 'log': {
        // The main logger stamps the time again (and would mask the thread's stamp as a date).
        const { level, message, ...meta } = JSON.parse(e.line) as Record<string, unknown>;
        delete meta.timestamp;
        logger.log(String(level), String(message), meta);
        return;
      }
    }
  }

  private onExit(thread: Worker, code: number): void {
    if (thread !== this.thread) return;
    this.thread = undefined;
    this.up = false;
    // Sends that were in flight in a thread that died are sent again by the next one (recover); a
    // pause or resume it had not stored yet is stored here.
    for (const [id, request] of this.requests) {
      this.requests.delete(id);
      this.storePaused(request.paused).then(request.resolve, request.reject);
    }
    if (this.stopping) {
      this.options.logger.info('delivery thread stopped');
      return;
    }
    const ranMs = this.startedAt > 0 ? Date.now() - this.startedAt : 0;
    this.deathsInARow = ranMs >= HEALTHY_MS ? 1 : this.deathsInARow + 1;
    this.startedAt = 0;
    const restartInMs = Math.min(RESTART_BASE_MS * 2 ** (this.deathsInARow - 1), RESTART_MAX_MS);
    this.options.logger.error('delivery thread died; starting another', {
      exitCode: code,
      error: this.lastError,
      restartInMs,
      deathsInARow: this.deathsInARow,
    });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (!this.stopping) this.spawn(true);
    }, restartInMs);
  }
}
