/**
 * Stops the worker hammering an SCR that is down. Closed: work flows. After `failureThreshold` consecutive
 * retryable failures it opens for `coolDownMs`: nothing is claimed. Then half-open: one probe is let through;
 * its success closes the breaker, its failure opens it again. A Retry-After from the SCR holds it open for
 * at least that long, because a 429 or 503 speaks for the whole server, not one submission.
 */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** What another thread needs to answer state() as the breaker would: when it stops being open (0: closed). */
export interface BreakerSnapshot {
  openUntil: number;
}

/** The state a breaker open until `openUntil` (epoch ms; 0: closed) is in at `now`. */
export function breakerState({ openUntil }: BreakerSnapshot, now: number): BreakerState {
  if (openUntil === 0) return 'closed';
  return now < openUntil ? 'open' : 'half-open';
}

export interface BreakerOptions {
  failureThreshold: number;
  coolDownMs: number;
}

export class CircuitBreaker {
  private consecutiveFailures = 0;
  /** Epoch ms until which the breaker is open; 0 when closed. */
  private openUntil = 0;
  private probing = false;

  constructor(
    private readonly options: BreakerOptions,
    private readonly clock: () => number = Date.now,
  ) {}

  state(): BreakerState {
    return breakerState(this.snapshot(), this.clock());
  }

  snapshot(): BreakerSnapshot {
    return { openUntil: this.openUntil };
  }

  /** How many new sends may start now. */
  permits(): number {
    switch (this.state()) {
      case 'closed':
        return Number.POSITIVE_INFINITY;
      case 'open':
        return 0;
      case 'half-open':
        return this.probing ? 0 : 1;
    }
  }

  /** The worker claimed the single half-open probe. */
  probeStarted(): void {
    if (this.state() === 'half-open') this.probing = true;
  }

  /** The SCR answered (a success, or a 4xx that shows it is up): close. */
  succeeded(): void {
    this.consecutiveFailures = 0;
    this.openUntil = 0;
    this.probing = false;
  }

  /** A retryable failure. Returns true when this failure opened (or re-opened) the breaker. */
  failed(retryAfterMs?: number): boolean {
    this.consecutiveFailures++;
    const wasProbe = this.probing || this.state() === 'half-open';
    this.probing = false;
    const now = this.clock();
    let until = this.openUntil;
    if (wasProbe || this.consecutiveFailures >= this.options.failureThreshold) until = Math.max(until, now + this.options.coolDownMs);
    if (retryAfterMs !== undefined && retryAfterMs > 0) until = Math.max(until, now + retryAfterMs);
    const opened = until > now && until !== this.openUntil && this.state() !== 'open';
    this.openUntil = until;
    return opened;
  }
}
