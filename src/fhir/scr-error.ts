/**
 * How a call to the shared care record failed, classified once, where the HTTP answer is read, so the
 * delivery worker only has to ask "retry or not, and when".
 */
import type { OperationOutcome } from 'fhir/r4';
import { issue, outcome } from './operation-outcome';

export class ScrError extends Error {
  override name = 'ScrError';

  constructor(
    message: string,
    /** HTTP status from the SCR; undefined for a network error or time-out. */
    readonly status: number | undefined,
    /** Network errors, time-outs, 408, 429 and 5xx are worth retrying; other 4xx are not. */
    readonly retryable: boolean,
    /** The SCR's OperationOutcome when it sent one, else one describing the failure. */
    readonly outcome: OperationOutcome,
    /** From a Retry-After header, in milliseconds. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** Retry-After is either a number of seconds or an HTTP date. */
export function parseRetryAfter(header: string | undefined, now = Date.now()): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export function networkError(message: string): ScrError {
  return new ScrError(message, undefined, true, outcome([issue('error', 'transient', message)]));
}
