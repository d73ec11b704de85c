/** Test helpers: sign access tokens the way an identity provider would, and capture the gateway's log. */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { SignJWT, type JWTPayload } from 'jose';
import type { AuthOptions } from '../../src/auth/authenticate';
import { createLogger } from '../../src/observability/logger';

export const ISSUER = 'https://auth.test.example';
export const AUDIENCE = 'care-record-gateway';

export const GP_CLAIMS: JWTPayload = {
  sub: 'cis2-user-555021935107',
  crg_kind: 'clinician',
  crg_ods: 'Y12345',
  crg_role: 'R8000',
  scope: 'user/*.read',
};

export function rsaKeys(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('rsa', { modulusLength: 2048 });
}

export function ecKeys(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

export interface SignOptions {
  alg?: string;
  kid?: string;
  issuer?: string;
  audience?: string;
  /** Seconds from now; negative for the past. */
  expiresIn?: number | null;
  notBefore?: number;
}

export async function sign(claims: JWTPayload, key: KeyObject | Uint8Array, o: SignOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: o.alg ?? 'RS256', typ: 'at+jwt', ...(o.kid ? { kid: o.kid } : {}) })
    .setIssuer(o.issuer ?? ISSUER)
    .setAudience(o.audience ?? AUDIENCE)
    .setIssuedAt(now);
  if (o.expiresIn !== null) jwt.setExpirationTime(now + (o.expiresIn ?? 300));
  if (o.notBefore !== undefined) jwt.setNotBefore(now + o.notBefore);
  return jwt.sign(key);
}

export function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'crg-auth-'));
}

export function captureLog() {
  const stream = new PassThrough();
  const lines: string[] = [];
  stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
  return { logger: createLogger('debug', stream), lines };
}

export function options(overrides: Partial<AuthOptions>): AuthOptions {
  return {
    issuer: ISSUER,
    audience: AUDIENCE,
    clockSkewSeconds: 60,
    algorithms: ['RS256', 'RS512', 'ES256'],
    ...overrides,
  };
}
