/**
 * Mints an access token with the development key, in the claim layout of claims.ts. Used by
 * `npm run token`; the gateway accepts such tokens only in development mode (see authenticate.ts).
 */
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Caller } from './caller';
import { callerFromClaims, claimsForCaller } from './claims';
import { DEV_KEY_ALG, type DevSigningKey } from './dev-keys';

export const MAX_DEV_TOKEN_SECONDS = 24 * 60 * 60;

export interface DevTokenOptions {
  issuer: string;
  audience: string;
  ttlSeconds: number;
  now?: Date;
}

/** Signs a token for the caller; throws if the caller would not survive the gateway's own claim checks. */
export async function mintDevToken(key: DevSigningKey, caller: Caller, options: DevTokenOptions): Promise<string> {
  if (!Number.isInteger(options.ttlSeconds) || options.ttlSeconds < 1 || options.ttlSeconds > MAX_DEV_TOKEN_SECONDS) {
    throw new RangeError(`ttl must be 1 to ${MAX_DEV_TOKEN_SECONDS} seconds`);
  }
  const claims = claimsForCaller(caller);
  callerFromClaims(claims);
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: DEV_KEY_ALG, kid: key.kid, typ: 'at+jwt' })
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + options.ttlSeconds)
    .setJti(randomUUID())
    .sign(key.privateKey);
}
