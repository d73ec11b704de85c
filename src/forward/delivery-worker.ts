/**
 * The delivery worker: claims due submissions from the outbox, sends each transaction Bundle to the SCR and
 * records the outcome. Retryable failures come back later (exponential backoff, full jitter, Retry-After);
 * exhausted or refused submissions become dead letters; a circuit breaker stops claiming while the SCR is
 * down; operators can pause and resume. One loop, one step (`step`), no other path through the code.
 */
import { performance } from 'node:perf_hooks';
import type { Bundle, OperationOutcome } from 'fhir/r4';
import { issue, outcome } from '../fhir/operation-outcome';
import { ScrError } from '../fhir/scr-error';
import type { Logger } from '../observability/logger';
import type { DeliveryObserver, DeliveryOutcome } from '../observability/metrics';
import { OutboxStateError, type ClaimedSubmission, type Outbox } from '../outbox/outbox';
import { retryDelayMs } from './backoff';
import { CircuitBreaker, type BreakerOptions, type BreakerSnapshot } from './circuit-breaker';
import { alone, packSubmissions, splitResponse, type DeliveryGroup } from './combine';

export interface DeliveryWorkerOptions {
  outbox: Outbox;
  /** Sends one transaction Bundle to the SCR; resolves with its transaction-response, throws ScrError. */
  send: (bundle: Bundle) => Promise<Bundle | undefined>;
  logger: Logger;
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  pollIntervalMs: number;
  /** Sends in flight at once (default 4). Per-patient ordering holds whatever the number. */
  concurrency?: number;
  /**
   * Submissions (each for another patient) sent together in one SCR transaction, at most (default 1: one
   * transaction each). See combine.ts for what makes a combined transaction mean the same as its parts.
   */
  batchSize?: number;
  /** Entries in one combined transaction, at most (default 500); a larger submission goes on its own. */
  batchMaxEntries?: number;
  /**
   * After a claim that took all the due work, wait up to this long before claiming again (default 0), so
   * records that arrive one by one travel together: one claim, one SCR transaction and one outcome write for
   * several instead of one each. The first record after a quiet spell is claimed at once; a full claim (a
   * backlog) is followed by the next at once; so is a finished send whose people's next submissions were
   * already waiting (one person's go one at a time, in order).
   */
  coalesceMs?: number;
  /**
   * Bundle JSON (bytes) the sends in flight may hold at once (default 8 MB): a claim takes what is left of
   * it, so a backlog of big records cannot claim more than the worker's heap holds (each is held as text,
   * parsed, combined and sent). A single bundle larger than the whole still goes, alone.
   */
  claimBytes?: number;
  /** Default: open after 5 consecutive retryable failures, probe again after 30 s. */
  breaker?: BreakerOptions;
  metrics?: DeliveryObserver;
  /** Told each time the breaker opens, closes or is probed (a delivery thread mirrors it on the main thread). */
  onCircuit?: (breaker: BreakerSnapshot) => void;
}

type Outcome = DeliveryOutcome;

export class DeliveryWorker {
  private readonly concurrency: number;
  private readonly batchSize: number;
  private readonly batchMaxEntries: number;
  private readonly coalesceMs: number;
  private readonly claimBytes: number;
  private readonly breaker: CircuitBreaker;
  private readonly inFlight = new Set<Promise<unknown>>();
  /** The claimed bundles' bytes of the sends in flight. */
  private bytesInFlight = 0;
  private loop?: Promise<void>;
  private stopping = false;
  private pausedFlag = false;
  /** The latest pause/resume write to the outbox. */
  private control: Promise<void> = Promise.resolve();
  private controlVersion = 0;
  private wake?: () => void;
  private stopGathering?: () => void;
  private reportedOpenUntil = 0;
  /** When the stored pause flag was last read (it is read at most once a poll interval). */
  private pauseReadAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: DeliveryWorkerOptions) {
    this.concurrency = Math.max(1, options.concurrency ?? 4);
    this.batchSize = Math.max(1, options.batchSize ?? 1);
    this.batchMaxEntries = Math.max(1, options.batchMaxEntries ?? 500);
    this.coalesceMs = Math.max(0, options.coalesceMs ?? 0);
    this.claimBytes = Math.max(1, options.claimBytes ?? DEFAULT_CLAIM_BYTES);
    this.breaker = new CircuitBreaker(options.breaker ?? { failureThreshold: 5, coolDownMs: 30_000 });
  }

  get paused(): boolean {
    return this.pausedFlag;
  }

  get running(): boolean {
    return this.loop !== undefined;
  }

  /** The breaker's state, for /ready and the admin API. */
  get circuit(): ReturnType<CircuitBreaker['state']> {
    return this.breaker.state();
  }

  start(): void {
    if (this.loop) return;
    this.stopping = false;
    this.options.logger.info('delivery worker started', { concurrency: this.concurrency, batchSize: this.batchSize });
    this.loop = this.run().catch((err: unknown) => {
      // run() handles its own errors; reaching here is a bug, and it must not vanish.
      this.options.logger.error('delivery worker loop ended unexpectedly', { error: err });
    });
  }

  /** Graceful: claim nothing more, wait for the sends in flight to finish and their outcomes to be stored. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    this.stopGathering?.();
    await this.loop;
    await Promise.all(this.inFlight);
    this.loop = undefined;
    this.options.logger.info('delivery worker stopped');
  }

  /**
   * Operators: claim nothing until resume(). Sends already in flight finish. The flag is stored in the outbox,
   * so on a shared outbox it pauses every replica (each sees it at its next poll). Resolves once it is stored.
   */
  pause(): Promise<void> {
    return this.setPaused(true);
  }

  resume(): Promise<void> {
    return this.setPaused(false);
  }

  private setPaused(paused: boolean): Promise<void> {
    this.controlVersion++;
    this.observePaused(paused, 'by operator');
    // Writes in call order; the loop waits for the latest before it reads the flag back.
    const write = this.control.then(() => this.options.outbox.setPaused(paused));
    this.control = write.catch(() => undefined);
    if (!paused) this.wake?.();
    return write;
  }

  /** Follow the stored flag: log and count each change, whoever made it. */
  private observePaused(paused: boolean, by: string): void {
    if (paused === this.pausedFlag) return;
    this.pausedFlag = paused;
    this.options.metrics?.paused.set(paused ? 1 : 0);
    if (paused) this.options.logger.warn(`delivery paused ${by}`);
    else this.options.logger.info(`delivery resumed ${by}`);
  }

  /** Tell the worker new work was committed, so it need not wait for the next poll. */
  notify(): void {
    this.wake?.();
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      let claimed = { started: 0, all: false };
      try {
        claimed = await this.step();
      } catch (err) {
        this.options.logger.error('claiming from the outbox failed', { error: err });
      }
      if (this.stopping) break;
      if (claimed.started === 0) await this.sleep(this.options.pollIntervalMs);
      else if (claimed.all && this.coalesceMs > 0) await this.gather(this.coalesceMs);
    }
  }

  /**
   * One step of the loop: claim as much due work as the free slots (and the breaker) allow, a batch a slot,
   * pack it into transactions and start them. A half-open breaker's probe is one submission on its own.
   * Answers how many submissions it started, and whether that was all the due work (fewer than asked for).
   */
  private async step(): Promise<{ started: number; all: boolean }> {
    const slots = Math.min(this.concurrency - this.inFlight.size, this.breaker.permits());
    if (slots <= 0) return { started: 0, all: false };
    if (await this.pausedInOutbox()) return { started: 0, all: false };
    const probing = this.breaker.state() === 'half-open';
    // A batch a slot, within what is left of claimBytes; with nothing in flight, one at least, however large.
    const limit = probing ? 1 : slots * this.batchSize;
    const maxBytes = this.claimBytes - this.bytesInFlight;
    const claimed = await this.options.outbox.claim(limit, { maxBytes, atLeastOne: this.inFlight.size === 0 });
    if (probing && claimed.length > 0) this.breaker.probeStarted();
    this.reportCircuit();
    for (const group of packSubmissions(claimed, this.batchSize, this.batchMaxEntries)) {
      const bytes = sizeOf(group.submissions);
      this.bytesInFlight += bytes;
      const delivery = this.deliver(group)
        .catch((err: unknown) => this.options.logger.error('delivery failed unexpectedly', { submissionIds: ids(group), error: err }))
        .finally(() => {
          this.inFlight.delete(delivery);
          this.bytesInFlight -= bytes;
          this.wake?.();
          // One person's submissions go one at a time: if the next was already waiting, claim it now.
          if (group.submissions.some((s) => s.more)) this.stopGathering?.();
        });
      this.inFlight.add(delivery);
    }
    // Fewer than asked for is all the due work, unless the bytes stopped it: over half the room taken says
    // they may have (the next bundle would have had to be larger than the rest together to stop it sooner).
    return { started: claimed.length, all: claimed.length < limit && sizeOf(claimed) <= maxBytes / 2 };
  }

  /**
   * Whether delivery is paused. This worker's own pause and resume count at once; the flag stored in the
   * outbox (set by an operator through another replica) is read at most once a poll interval, as a claim
   * may be made every few milliseconds under load.
   */
  private async pausedInOutbox(): Promise<boolean> {
    const now = performance.now();
    if (now - this.pauseReadAt >= this.options.pollIntervalMs) {
      const version = this.controlVersion;
      await this.control;
      const stored = await this.options.outbox.isPaused();
      this.pauseReadAt = now;
      // A pause or resume called here while we read is newer than what we read.
      if (version === this.controlVersion) this.observePaused(stored, 'in the outbox (by an operator, maybe on another replica)');
    }
    return this.pausedFlag;
  }

  /**
   * Send one group's transaction and store every submission's outcome. A combined transaction the SCR
   * refuses (a 4xx: it cannot say which part was at fault) is sent again one submission at a time, so only
   * the one at fault is refused. Never rejects: every failure is logged here.
   */
  private async deliver(group: DeliveryGroup): Promise<void> {
    const { submissions } = group;
    const log = { submissionIds: ids(group), attempts: submissions.map((s) => s.attempts + 1) };
    const startedAt = performance.now();
    let response: Bundle | undefined;
    let failure: ScrError | undefined;
    try {
      response = await this.options.send(group.bundle);
    } catch (err) {
      failure = asScrError(err);
      if (!(err instanceof ScrError)) this.options.logger.error('send failed with an unexpected error', { ...log, error: err });
    }
    const seconds = (performance.now() - startedAt) / 1000;

    if (failure && !failure.retryable && submissions.length > 1) {
      this.breaker.succeeded(); // the SCR is up and answering
      this.reportCircuit();
      this.options.logger.warn('combined transaction refused; sending its submissions one at a time', { ...log, status: failure.status });
      for (const submission of submissions) await this.deliver(alone(submission));
      return;
    }

    let results: Outcome[];
    try {
      results = await this.record(group, response, failure);
    } catch (err) {
      this.reportCircuit();
      // Not stored after every try (store()); the rows stay 'delivering' until recover() at the next start-up.
      this.options.logger.error('recording a delivery outcome failed', { ...log, error: err });
      return;
    }
    this.reportCircuit();
    for (const result of results) this.options.metrics?.observe(result, seconds);
    // One line per outcome, naming the submissions it covers.
    for (const result of new Set(results)) {
      const covered = submissions.filter((_, i) => results[i] === result);
      const detail = { submissionIds: covered.map((s) => s.id), outcome: result, status: failure?.status, durationMs: Math.round(seconds * 1000) };
      if (result === 'delivered') this.options.logger.info('submission delivered', detail);
      else if (result === 'retry') this.options.logger.warn('delivery failed; will retry', detail);
      else this.options.logger.error('submission dead-lettered', detail);
    }
  }

  /** The breaker hears of the send once; each submission's outcome is stored, in order. */
  private async record(group: DeliveryGroup, response: Bundle | undefined, failure: ScrError | undefined): Promise<Outcome[]> {
    const { outbox } = this.options;
    if (!failure) {
      this.breaker.succeeded();
      const responses = splitResponse(response, group.parts);
      await this.store(() => outbox.markAllDelivered(group.submissions.map((s, i) => ({ id: s.id, response: responses[i] }))));
      return group.submissions.map(() => 'delivered');
    }
    if (!failure.retryable) {
      this.breaker.succeeded(); // the SCR is up and answering; it just refuses this one
      await this.store(() => outbox.markDead(group.submissions[0].id, 'rejected', failure.outcome));
      return ['rejected'];
    }
    const holdMs = failure.retryAfterMs === undefined ? undefined : Math.min(failure.retryAfterMs, this.options.backoffMaxMs);
    if (this.breaker.failed(holdMs)) {
      this.options.metrics?.circuitOpened.inc();
      this.options.logger.warn('circuit breaker open: the SCR is failing, claiming paused', { status: failure.status });
    }
    // Each submission of a failed group keeps its own count of attempts and its own back-off.
    const outcomes: Outcome[] = [];
    for (const submission of group.submissions) outcomes.push(await this.retryOrGiveUp(submission, failure));
    return outcomes;
  }

  private async retryOrGiveUp(submission: ClaimedSubmission, failure: ScrError): Promise<Outcome> {
    const attempt = submission.attempts + 1;
    if (attempt >= this.options.maxAttempts) {
      await this.store(() => this.options.outbox.markDead(submission.id, 'failed', withAttempts(failure.outcome, attempt)));
      return 'failed';
    }
    const delayMs = retryDelayMs(
      { baseMs: this.options.backoffBaseMs, maxMs: this.options.backoffMaxMs },
      attempt,
      failure.retryAfterMs,
    );
    await this.store(() => this.options.outbox.markRetry(submission.id, failure.outcome, new Date(Date.now() + delayMs)));
    return 'retry';
  }

  /**
   * One outcome write, tried again after a failure (the database busy past its timeout, a dropped
   * connection): given up, the submissions would stay 'delivering' until recover() at the next start-up.
   * Each write is one transaction, so a failed try wrote nothing; a submission no longer ours
   * (OutboxStateError) is not tried again.
   */
  private async store(write: () => Promise<void>): Promise<void> {
    for (let tries = 0; ; tries++) {
      try {
        return await write();
      } catch (err) {
        if (err instanceof OutboxStateError || tries >= STORE_RETRY_MS.length) throw err;
        this.options.logger.warn('storing a delivery outcome failed; trying again', { error: err, inMs: STORE_RETRY_MS[tries] });
        await new Promise((resolve) => setTimeout(resolve, STORE_RETRY_MS[tries]));
      }
    }
  }

  /** Tell onCircuit when the breaker's opening time has changed since it last heard. */
  private reportCircuit(): void {
    if (!this.options.onCircuit) return;
    const snapshot = this.breaker.snapshot();
    if (snapshot.openUntil === this.reportedOpenUntil) return;
    this.reportedOpenUntil = snapshot.openUntil;
    this.options.onCircuit(snapshot);
  }

  /** Let due work gather for `ms`: new work does not cut it short; stop() does, and a finished send with more waiting. */
  private gather(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.stopGathering = undefined;
        resolve();
      }, ms);
      this.stopGathering = () => {
        clearTimeout(timer);
        this.stopGathering = undefined;
        resolve();
      };
    });
  }

  /** Wait for the poll interval, or less if woken by new work, a finished send, resume() or stop(). */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        if (this.wake === done) this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}

/** Waits before each further try of an outcome write that failed: ~8.6 s in all, beyond SQLite's busy timeout. */
const STORE_RETRY_MS = [100, 500, 1000, 2000, 5000];

/** The Bundle JSON in flight at once on the main thread; a delivery thread sets it from its heap bound (claimBytesFor). */
const DEFAULT_CLAIM_BYTES = 8 * 1024 * 1024;

const ids = (group: DeliveryGroup): string[] => group.submissions.map((s) => s.id);
const sizeOf = (submissions: ClaimedSubmission[]): number => submissions.reduce((sum, s) => sum + (s.bytes ?? 0), 0);

function asScrError(err: unknown): ScrError {
  if (err instanceof ScrError) return err;
  const name = err instanceof Error ? err.name : typeof err;
  const message = `Unexpected ${name} while sending to the SCR`;
  return new ScrError(message, undefined, true, outcome([issue('error', 'exception', message)]));
}

function withAttempts(scrOutcome: OperationOutcome, attempts: number): OperationOutcome {
  return {
    ...scrOutcome,
    issue: [...scrOutcome.issue, issue('information', 'informational', `Gave up after ${attempts} attempts`)],
  };
}
