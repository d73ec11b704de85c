/**
 * The pseudonym secret: the key of every research pseudonym and hashed id. Held only by the gateway: from
 * RESEARCH_PSEUDONYM_SECRET or a key file when configured, otherwise generated on first start into the data
 * folder (mode 0600) and reused, like the development signing key. Whoever holds it can re-identify an
 * extract by hashing candidate NHS numbers, so it is never logged, never sent, and a file others can read
 * is refused. Losing it breaks linkage with earlier extracts (new pseudonyms), not the data.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const MIN_SECRET_LENGTH = 32;

export class SecretError extends Error {
  override name = 'SecretError';
}

export interface SecretSource {
  /** The secret itself (from the environment). */
  secret?: string;
  /** A file holding the secret. */
  secretFile?: string;
  /** Where to generate one when neither is set. */
  generatedFile: string;
}

function checked(secret: string, where: string): Buffer {
  const value = secret.trim();
  if (value.length < MIN_SECRET_LENGTH) throw new SecretError(`${where} must hold at least ${MIN_SECRET_LENGTH} characters`);
  return Buffer.from(value, 'utf8');
}

function readPrivate(file: string): string {
  const stat = fs.statSync(file);
  if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
    throw new SecretError(`${file} can be read by other users; run: chmod 600 ${file}`);
  }
  return fs.readFileSync(file, 'utf8');
}

/** Writes the file only if none exists, atomically, so two processes starting together agree on one secret. */
function createExclusive(file: string, content: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  fs.writeFileSync(temp, content, { mode: 0o600, flag: 'wx' });
  try {
    fs.linkSync(temp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    fs.unlinkSync(temp);
  }
}

export function loadPseudonymSecret(source: SecretSource): { secret: Buffer; generated: boolean } {
  if (source.secret !== undefined) return { secret: checked(source.secret, 'RESEARCH_PSEUDONYM_SECRET'), generated: false };
  if (source.secretFile !== undefined) return { secret: checked(readPrivate(source.secretFile), source.secretFile), generated: false };
  const exists = fs.existsSync(source.generatedFile);
  if (!exists) createExclusive(source.generatedFile, `${randomBytes(32).toString('base64url')}\n`);
  return { secret: checked(readPrivate(source.generatedFile), source.generatedFile), generated: !exists };
}
