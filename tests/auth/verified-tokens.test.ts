/**
 * The verified-token cache: a token verified once is answered from memory until its exp, never after, and the
 * cache holds a bounded number of tokens. Through a real authenticator with a key file, and the cache alone.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createAuthenticator } from '../../src/auth/authenticate';
import type { Caller } from '../../src/auth/caller';
import { VerifiedTokens } from '../../src/auth/verified-tokens';
import { OperationOutcomeError } from '../../src/fhir/operation-outcome';
import { GP_CLAIMS, captureLog, options, rsaKeys, sign, tempDir } from './tokens';

const keys = rsaKeys();
const PROVIDER: Caller = { kind: 'provider', clientId: 'rose-court-ehr', odsCode: 'VNX12', scopes: ['system/*.write'] };
let dir: string;
let keyFile: string;

beforeAll(() => {
  dir = tempDir();
  keyFile = path.join(dir, 'idp.pem');
  fs.writeFileSync(keyFile, keys.publicKey.export({ format: 'pem', type: 'spki' }) as string);
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('verified tokens through the authenticator', () => {
  it('refuses a token it accepted before once the token has expired', async () => {
    const auth = await createAuthenticator(options({ publicKeyFile: keyFile, clockSkewSeconds: 0, logger: captureLog().logger }));
    const token = await sign(GP_CLAIMS, keys.privateKey, { expiresIn: 1 });
    const exp = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as { exp: number };
    expect((await auth.authenticate(`Bearer ${token}`)).kind).toBe('clinician');
    expect((await auth.authenticate(`Bearer ${token}`)).kind).toBe('clinician');
    await new Promise((r) => setTimeout(r, exp.exp * 1000 - Date.now() + 20));
    const err = await auth.authenticate(`Bearer ${token}`).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(OperationOutcomeError);
    expect((err as OperationOutcomeError).status).toBe(401);
    expect((err as OperationOutcomeError).outcome.issue[0].code).toBe('expired');
  });

  it('gives each request its own copy of a cached caller, so one cannot change what the next is given', async () => {
    const auth = await createAuthenticator(options({ publicKeyFile: keyFile, logger: captureLog().logger }));
    const token = await sign(GP_CLAIMS, keys.privateKey);
    const first = await auth.authenticate(`Bearer ${token}`);
    first.scopes.push('user/*.write');
    expect((await auth.authenticate(`Bearer ${token}`)).scopes).toEqual(['user/*.read']);
  });

  it('still refuses the same bad token on every try', async () => {
    const auth = await createAuthenticator(options({ publicKeyFile: keyFile, logger: captureLog().logger }));
    const forged = await sign(GP_CLAIMS, rsaKeys().privateKey);
    for (let i = 0; i < 2; i++) {
      await expect(auth.authenticate(`Bearer ${forged}`)).rejects.toMatchObject({ status: 401 });
    }
  });
});

describe('the verified-token cache', () => {
  const inAnHour = Math.floor(Date.now() / 1000) + 3600;

  it('answers a token it holds with the caller it was verified as', () => {
    const cache = new VerifiedTokens(10);
    cache.set('token-a', PROVIDER, inAnHour);
    expect(cache.get('token-a')).toEqual(PROVIDER);
    expect(cache.get('token-b')).toBeUndefined();
  });

  it('forgets a token at its exp', () => {
    const cache = new VerifiedTokens(10);
    cache.set('token-a', PROVIDER, inAnHour);
    expect(cache.get('token-a', inAnHour * 1000 - 1)).toEqual(PROVIDER);
    expect(cache.get('token-a', inAnHour * 1000)).toBeUndefined();
  });

  it('holds at most its bound, dropping the oldest token first', () => {
    const cache = new VerifiedTokens(2);
    for (const token of ['token-a', 'token-b', 'token-c']) cache.set(token, PROVIDER, inAnHour);
    expect(cache.get('token-a')).toBeUndefined();
    expect(cache.get('token-b')).toEqual(PROVIDER);
    expect(cache.get('token-c')).toEqual(PROVIDER);
  });

  it('holds nothing when its bound is 0', () => {
    const cache = new VerifiedTokens(0);
    cache.set('token-a', PROVIDER, inAnHour);
    expect(cache.get('token-a')).toBeUndefined();
  });
});
