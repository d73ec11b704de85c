/**
 * Tokens already verified, keyed by the exact token string, until their `exp`: a caller sending the same
 * bearer token on every request pays one signature check (the largest cost of authentication) instead of
 * one per request. Only successes are kept, so a bad token is checked, and refused, every time. An entry is
 * used only before the token's own `exp` (the clock-skew allowance is left to a fresh verification), so a
 * cached token is never accepted when verifying it again would refuse it, key rotation aside: a key
 * withdrawn from the JWKS stops new tokens at once and cached ones at their expiry (access tokens live minutes).
 * Bounded: past maxEntries the oldest entry goes, so many distinct tokens cost memory only up to the bound.
 */
import type { Caller } from './caller';

export class VerifiedTokens {
  private readonly entries = new Map<string, { caller: Caller; expiresAtMs: number }>();

  constructor(private readonly maxEntries: number) {}

  /** The caller a still-unexpired cached token stands for; a copy, so no request can change another's. */
  get(token: string, nowMs: number = Date.now()): Caller | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    if (nowMs >= entry.expiresAtMs) {
      this.entries.delete(token);
      return undefined;
    }
    return { ...entry.caller, scopes: [...entry.caller.scopes] };
  }

  /** Keeps a verified token's caller until `exp` (seconds since the epoch, as in the token). */
  set(token: string, caller: Caller, exp: number): void {
    if (this.maxEntries <= 0) return;
    this.entries.delete(token);
    while (this.entries.size >= this.maxEntries) {
      // Maps iterate in insertion order: the first key is the oldest entry.
      this.entries.delete(this.entries.keys().next().value as string);
    }
    this.entries.set(token, { caller: { ...caller, scopes: [...caller.scopes] }, expiresAtMs: exp * 1000 });
  }
}
