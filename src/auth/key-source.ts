/**
 * Where the keys that verify bearer tokens come from: a JWKS URL, a key file, or the development key.
 * Each becomes a jose key resolver; a key that does not fit the token's algorithm refuses the token, and a
 * JWKS that cannot be fetched is KeySourceUnavailable (the caller is not at fault: 503, not 401).
 */
import { createPublicKey, type JsonWebKey as NodeJwk, type KeyObject } from 'node:crypto';
import { promises as fs } from 'node:fs';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  type JSONWebKeySet,
  type JWK,
  type JWSHeaderParameters,
  type JWTVerifyGetKey,
  type KeyLike,
} from 'jose';
import type { AuthAlgorithm } from '../config';

export class KeySourceUnavailable extends Error {
  override name = 'KeySourceUnavailable';
}

export class KeyConfigError extends Error {
  override name = 'KeyConfigError';
}

/** The algorithms a public key can verify. */
function algorithmsFor(key: KeyObject): AuthAlgorithm[] {
  if (key.asymmetricKeyType === 'rsa') return ['RS256', 'RS512'];
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return ['ES256'];
  return [];
}

/** A resolver for one fixed public key, refusing tokens whose algorithm the key (or the allow-list) cannot do. */
export function singleKey(key: KeyObject, allowed: readonly AuthAlgorithm[], what: string): JWTVerifyGetKey {
  if (key.type !== 'public') throw new KeyConfigError(`${what} must be a public key`);
  const usable = algorithmsFor(key).filter((alg) => allowed.includes(alg));
  if (usable.length === 0) {
    throw new KeyConfigError(`${what} cannot verify any of the allowed algorithms (${allowed.join(', ')})`);
  }
  return async (header: JWSHeaderParameters): Promise<KeyLike> => {
    if (!usable.includes(header.alg as AuthAlgorithm)) throw new errors.JOSEAlgNotAllowed('alg not allowed for this key');
    return key;
  };
}

function parseJwk(jwk: JWK, what: string): KeyObject {
  if (jwk.kty === 'oct' || jwk.d !== undefined) throw new KeyConfigError(`${what} must hold a public key only`);
  try {
    return createPublicKey({ key: jwk as NodeJwk, format: 'jwk' });
  } catch {
    throw new KeyConfigError(`${what} is not a usable JWK`);
  }
}

/** A PEM public key or X.509 certificate, a JWK, or a JWKS, read once at start-up. */
export async function keyFile(file: string, allowed: readonly AuthAlgorithm[]): Promise<JWTVerifyGetKey> {
  const what = `Public key file ${file}`;
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new KeyConfigError(`${what} cannot be read: ${(err as Error).message}`);
  }
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) throw new KeyConfigError(`${what} holds a private key`);
  if (text.includes('-----BEGIN')) {
    let key: KeyObject;
    try {
      key = createPublicKey(text);
    } catch {
      throw new KeyConfigError(`${what} is not a PEM public key or certificate`);
    }
    return singleKey(key, allowed, what);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new KeyConfigError(`${what} is neither PEM nor JSON`);
  }
  if (json && typeof json === 'object' && Array.isArray((json as JSONWebKeySet).keys)) {
    const jwks = json as JSONWebKeySet;
    for (const jwk of jwks.keys) parseJwk(jwk, what);
    try {
      return createLocalJWKSet(jwks);
    } catch {
      throw new KeyConfigError(`${what} is not a usable JWKS`);
    }
  }
  return singleKey(parseJwk(json as JWK, what), allowed, what);
}

/** A JWKS fetched over HTTP(S), cached, refetched on an unknown kid at most every cooldown. */
export function remoteJwks(url: string, timeoutMs: number): JWTVerifyGetKey {
  const jwks = createRemoteJWKSet(new URL(url), {
    timeoutDuration: timeoutMs,
    cooldownDuration: 30_000,
    cacheMaxAge: 10 * 60_000,
  });
  return async (header, token) => {
    try {
      return await jwks(header, token);
    } catch (err) {
      // No key with this kid/alg, or several: the token's fault. Anything else: we could not get the keys.
      if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) throw err;
      throw new KeySourceUnavailable(`JWKS at ${url} could not be used: ${(err as Error).message}`);
    }
  };
}
