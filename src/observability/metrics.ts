/**
 * Prometheus metrics for the outbox and the delivery worker (prom-client). Created per outbox on a registry
 * the caller owns, so the server exposes one registry at /metrics and each test gets a fresh one.
 * Labels carry states and outcomes only: never ids, NHS numbers or anything personal.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Outbox, SubmissionState } from '../outbox/outbox';

const STATES: readonly SubmissionState[] = ['queued', 'delivering', 'delivered', 'rejected', 'failed'];

/** What one delivery attempt ended as. */
export type DeliveryOutcome = 'delivered' | 'retry' | 'rejected' | 'failed';

/**
 * What the delivery worker reports as it works. DeliveryMetrics is one (it applies each to the registry); a
 * delivery thread's is another, which posts each to the main thread, where the registry served at /metrics is.
 */
export interface DeliveryObserver {
  observe(outcome: DeliveryOutcome, seconds: number): void;
  circuitOpened: { inc(): void };
  paused: { set(value: number): void };
}

export interface DeliveryMetrics extends DeliveryObserver {
  registry: Registry;
  queueDepth: Gauge<'state'>;
  deliveries: Counter<'outcome'>;
  retries: Counter;
  deadLetters: Counter<'state'>;
  latency: Histogram<'outcome'>;
  circuitOpened: Counter;
  paused: Gauge;
  /** Record one attempt: its outcome and how long the SCR took. */
  observe(outcome: DeliveryOutcome, seconds: number): void;
}

export function createDeliveryMetrics(outbox: Outbox, registry: Registry = new Registry()): DeliveryMetrics {
  const queueDepth = new Gauge({
    name: 'gateway_outbox_submissions',
    help: 'Submissions in the outbox by state, read from the outbox at each scrape',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      const counts = await outbox.counts();
      for (const state of STATES) this.set({ state }, counts[state]);
    },
  });
  const deliveries = new Counter({
    name: 'gateway_delivery_attempts_total',
    help: 'Delivery attempts to the shared care record by outcome (delivered, retry, rejected, failed)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const retries = new Counter({
    name: 'gateway_delivery_retries_total',
    help: 'Failed delivery attempts scheduled for another try',
    registers: [registry],
  });
  const deadLetters = new Counter({
    name: 'gateway_dead_letters_total',
    help: 'Submissions moved to a dead-letter state (rejected by the SCR, or failed after every attempt)',
    labelNames: ['state'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'gateway_delivery_duration_seconds',
    help: 'Time for one send of a transaction Bundle to the shared care record, by outcome',
    labelNames: ['outcome'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const circuitOpened = new Counter({
    name: 'gateway_delivery_circuit_opened_total',
    help: 'Times the circuit breaker opened because the shared care record kept failing',
    registers: [registry],
  });
  const paused = new Gauge({
    name: 'gateway_delivery_paused',
    help: '1 while an operator has paused delivery',
    registers: [registry],
  });
  paused.set(0);

  return {
    registry,
    queueDepth,
    deliveries,
    retries,
    deadLetters,
    latency,
    circuitOpened,
    paused,
    observe(outcome, seconds) {
      deliveries.inc({ outcome });
      latency.observe({ outcome }, seconds);
      if (outcome === 'retry') retries.inc();
      if (outcome === 'rejected' || outcome === 'failed') deadLetters.inc({ state: outcome });
    },
  };
}
