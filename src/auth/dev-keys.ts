/**
 * The development signing key: an RS256 key pair generated on first start into the data folder and reused
 * afterwards, so `npm run token` can mint tokens the embedded gateway accepts. Only createAuthenticator's
 * development mode and scripts/token.ts use it; it is never consulted when a JWKS URL or key file is set.
 *
 * Files (mode 0600, folder 0700): signing-key.pem (PKCS#8 private key) and signing-key.jwk.json (the public
 * JWK with its kid, the RFC 7638 thumbprint). A private key file others can read is refused.
 */
import { createPrivateKey, createPublicKey, generateKeyPair, randomBytes, type KeyObject } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { calculateJwkThumbprint, type JWK } from 'jose';

export const DEV_KEY_ALG = 'RS256';
const PRIVATE_FILE = 'signing-key.pem';
const PUBLIC_FILE = 'signing-key.jwk.json';

export interface DevSigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** Public JWK with kid, alg and use, as a JWKS would list it. */
  publicJwk: JWK;
  kid: string;
  file: string;
}

export class DevKeyError extends Error {
  override name = 'DevKeyError';
}

const generate = promisify(generateKeyPair);

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}

/** Writes a file only if none exists, atomically: another process racing us either wins whole or loses. */
async function createExclusive(file: string, content: string): Promise<boolean> {
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  await fs.writeFile(temp, content, { mode: 0o600, flag: 'wx' });
  try {
    await fs.link(temp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await fs.unlink(temp);
  }
}

async function replaceFile(file: string, content: string): Promise<void> {
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  await fs.writeFile(temp, content, { mode: 0o600, flag: 'wx' });
  await fs.rename(temp, file);
}

/** The development key in dir, or undefined when there is none. */
export async function loadDevSigningKey(dir: string): Promise<DevSigningKey | undefined> {
  const file = path.join(dir, PRIVATE_FILE);
  let pem: string;
  try {
    const stat = await fs.stat(file);
    if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
      throw new DevKeyError(`${file} can be read by other users; run: chmod 600 ${file}`);
    }
    pem = await fs.readFile(file, 'utf8');
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch {
    throw new DevKeyError(`${file} is not a PEM private key`);
  }
  if (privateKey.asymmetricKeyType !== 'rsa' || (privateKey.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
    throw new DevKeyError(`${file} must hold an RSA key of at least 2048 bits`);
  }
  const publicKey = createPublicKey(privateKey);
  const jwk = publicKey.export({ format: 'jwk' }) as JWK;
  const kid = await calculateJwkThumbprint(jwk);
  const publicJwk: JWK = { ...jwk, kid, alg: DEV_KEY_ALG, use: 'sig' };
  const jwkFile = path.join(dir, PUBLIC_FILE);
  const written = await fs.readFile(jwkFile, 'utf8').catch((err: unknown) => {
    if (isMissing(err)) return undefined;
    throw err;
  });
  const expected = `${JSON.stringify(publicJwk, null, 2)}\n`;
  if (written !== expected) await replaceFile(jwkFile, expected);
  return { privateKey, publicKey, publicJwk, kid, file };
}

/** The development key in dir, generated first if there is none; `created` says which. */
export async function ensureDevSigningKey(dir: string): Promise<{ key: DevSigningKey; created: boolean }> {
  const existing = await loadDevSigningKey(dir);
  if (existing) return { key: existing, created: false };
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const { privateKey } = await generate('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  const created = await createExclusive(path.join(dir, PRIVATE_FILE), pem);
  const key = await loadDevSigningKey(dir);
  if (!key) throw new DevKeyError(`Could not create the development key in ${dir}`);
  return { key, created };
}
