import { retryDelayMs } from '../../src/forward/backoff';

const policy = { baseMs: 500, maxMs: 300_000 };
const highest = (): number => 0.999999;

describe('retryDelayMs', () => {
  it('doubles the ceiling with each failed attempt', () => {
    expect([1, 2, 3, 4].map((attempt) => retryDelayMs(policy, attempt, undefined, highest))).toEqual([499, 999, 1999, 3999]);
  });

  it('spreads retries from zero up to the ceiling (full jitter)', () => {
    expect(retryDelayMs(policy, 3, undefined, () => 0)).toBe(0);
    expect(retryDelayMs(policy, 3, undefined, () => 0.5)).toBe(1000);
  });

  it('never waits longer than the maximum, however many attempts failed', () => {
    expect(retryDelayMs(policy, 1000, undefined, highest)).toBeLessThanOrEqual(300_000);
  });

  it('honours a Retry-After longer than the backoff', () => {
    expect(retryDelayMs(policy, 1, 30_000, highest)).toBe(30_000);
  });

  it('keeps the backoff when Retry-After asks for less', () => {
    expect(retryDelayMs(policy, 4, 1000, highest)).toBe(3999);
  });

  it('caps a Retry-After at the configured maximum', () => {
    expect(retryDelayMs(policy, 1, 86_400_000, highest)).toBe(300_000);
  });
});
