/**
 * When to try again: exponential backoff with full jitter (a uniformly random wait up to the exponential
 * ceiling), so many submissions failing together do not come back together. A Retry-After from the SCR
 * is honoured when it asks for longer, up to the configured maximum.
 */
export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

/**
 * Milliseconds to wait after the given failed attempt (1 = the first attempt failed).
 * `random` is a source in [0, 1); Math.random unless the caller has a better one.
 */
export function retryDelayMs(
  policy: BackoffPolicy,
  attempt: number,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** exponent);
  const jittered = Math.floor(random() * ceiling);
  if (retryAfterMs === undefined) return jittered;
  return Math.max(jittered, Math.min(retryAfterMs, policy.maxMs));
}
