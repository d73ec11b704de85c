import fs from 'node:fs';
import path from 'node:path';
import { createHmac } from 'node:crypto';
import { createAuthenticator, type Authenticator } from '../../src/auth/authenticate';
import { OperationOutcomeError } from '../../src/fhir/operation-outcome';
import { AUDIENCE, GP_CLAIMS, ISSUER, base64url, captureLog, options, rsaKeys, sign, tempDir } from './tokens';

const keys = rsaKeys();
const publicPem = keys.publicKey.export({ format: 'pem', type: 'spki' }) as string;
let dir: string;
let auth: Authenticator;

beforeAll(async () => {
  dir = tempDir();
  const file = path.join(dir, 'idp.pem');
  fs.writeFileSync(file, publicPem);
  auth = await createAuthenticator(options({ publicKeyFile: file, logger: captureLog().logger }));
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function refusal(authorization: string | undefined): Promise<OperationOutcomeError> {
  const err = await auth.authenticate(authorization).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OperationOutcomeError);
  return err as OperationOutcomeError;
}

async function expect401(authorization: string | undefined): Promise<OperationOutcomeError> {
  const err = await refusal(authorization);
  expect(err.status).toBe(401);
  expect(err.headers['WWW-Authenticate']).toMatch(/^Bearer realm="care-record-gateway"/);
  expect(err.outcome.resourceType).toBe('OperationOutcome');
  return err;
}

describe('bearer token authentication', () => {
  it('accepts a valid GP token and gives a clinician caller with practice, role and scopes', async () => {
    const caller = await auth.authenticate(`Bearer ${await sign(GP_CLAIMS, keys.privateKey)}`);
    expect(caller).toEqual({ kind: 'clinician', userId: 'cis2-user-555021935107', odsCode: 'Y12345', role: 'R8000', scopes: ['user/*.read'] });
  });

  it('gives each kind of caller from its claims', async () => {
    const cases = [
      [{ sub: 'care-home-system-1', crg_kind: 'provider', crg_ods: 'vnaa1', scope: 'system/*.write' },
        { kind: 'provider', clientId: 'care-home-system-1', odsCode: 'VNAA1', scopes: ['system/*.write'] }],
      [{ sub: 'ops-1', crg_kind: 'operator', scope: '' }, { kind: 'operator', userId: 'ops-1', scopes: [] }],
      [{ sub: 'app-7', client_id: 'nhs-app', crg_kind: 'patient-app', crg_nhs: '943 476 5919', scope: 'patient/AuditEvent.read' },
        { kind: 'patient-app', clientId: 'nhs-app', nhsNumber: '9434765919', scopes: ['patient/AuditEvent.read'] }],
      [{ sub: 'sde-1', crg_kind: 'research', crg_project: 'falls-2026', scope: 'system/*.read' },
        { kind: 'research', clientId: 'sde-1', project: 'falls-2026', scopes: ['system/*.read'] }],
    ] as const;
    for (const [claims, expected] of cases) {
      expect(await auth.authenticate(`Bearer ${await sign({ ...claims }, keys.privateKey)}`)).toEqual(expected);
    }
  });

  it('accepts RS512 and a lower-case bearer scheme', async () => {
    const token = await sign(GP_CLAIMS, keys.privateKey, { alg: 'RS512' });
    expect((await auth.authenticate(`bearer ${token}`)).kind).toBe('clinician');
  });

  it('accepts a token expired by less than the clock skew', async () => {
    const token = await sign(GP_CLAIMS, keys.privateKey, { expiresIn: -30 });
    expect((await auth.authenticate(`Bearer ${token}`)).kind).toBe('clinician');
  });

  it('refuses a missing Authorization header with a bare Bearer challenge', async () => {
    for (const header of [undefined, '', '   ']) {
      const err = await expect401(header);
      expect(err.headers['WWW-Authenticate']).toBe('Bearer realm="care-record-gateway"');
      expect(err.outcome.issue[0].code).toBe('login');
    }
  });

  it('refuses an expired token', async () => {
    const err = await expect401(`Bearer ${await sign(GP_CLAIMS, keys.privateKey, { expiresIn: -120 })}`);
    expect(err.headers['WWW-Authenticate']).toContain('error="invalid_token"');
    expect(err.outcome.issue[0].code).toBe('expired');
  });

  it('refuses a token that is not valid yet', async () => {
    const err = await expect401(`Bearer ${await sign(GP_CLAIMS, keys.privateKey, { notBefore: 600, expiresIn: 900 })}`);
    expect(err.outcome.issue[0].diagnostics).toContain('not valid yet');
  });

  it('refuses a token for another audience', async () => {
    await expect401(`Bearer ${await sign(GP_CLAIMS, keys.privateKey, { audience: 'some-other-api' })}`);
  });

  it('refuses a token from another issuer', async () => {
    await expect401(`Bearer ${await sign(GP_CLAIMS, keys.privateKey, { issuer: 'https://evil.example' })}`);
  });

  it('refuses an unsigned token (alg none)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const body = { ...GP_CLAIMS, iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 300 };
    await expect401(`Bearer ${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(body)}.`);
  });

  it('refuses an HS256 token that uses the public key as its secret', async () => {
    const forged = await sign(GP_CLAIMS, new TextEncoder().encode(publicPem), { alg: 'HS256' });
    const err = await expect401(`Bearer ${forged}`);
    expect(err.outcome.issue[0].diagnostics).toContain('algorithm');
    // The same forgery by hand, in case a library would ever sign differently.
    const now = Math.floor(Date.now() / 1000);
    const input = `${base64url({ alg: 'HS256' })}.${base64url({ ...GP_CLAIMS, iss: ISSUER, aud: AUDIENCE, exp: now + 300 })}`;
    await expect401(`Bearer ${input}.${createHmac('sha256', publicPem).update(input).digest('base64url')}`);
  });

  it('refuses a token signed with another key', async () => {
    const err = await expect401(`Bearer ${await sign(GP_CLAIMS, rsaKeys().privateKey)}`);
    expect(err.outcome.issue[0].diagnostics).toContain('signature');
  });

  it('refuses a token whose signature was cut off or altered', async () => {
    const token = await sign(GP_CLAIMS, keys.privateKey);
    const [h, p, s] = token.split('.');
    await expect401(`Bearer ${h}.${p}.`);
    await expect401(`Bearer ${h}.${base64url({ ...GP_CLAIMS, crg_ods: 'A81001' })}.${s}`);
  });

  it('refuses malformed tokens and headers', async () => {
    for (const header of [
      'Bearer',
      'Bearer not-a-jwt',
      'Bearer a.b.c',
      'Bearer a.b.c.d.e',
      `Bearer ${base64url({ alg: 'RS256' })}.bm90IGpzb24.c2ln`,
      'Basic dXNlcjpwYXNz',
      'Bearer two tokens',
      `Bearer ${'a'.repeat(9000)}`,
      'Bearer \u0000.\u0000.\u0000',
    ]) {
      await expect401(header);
    }
  });

  it('refuses a token without an expiry', async () => {
    await expect401(`Bearer ${await sign(GP_CLAIMS, keys.privateKey, { expiresIn: null })}`);
  });

  it('refuses a validly signed token whose claims describe no known caller', async () => {
    for (const claims of [
      { ...GP_CLAIMS, crg_kind: 'superuser' },
      { ...GP_CLAIMS, crg_kind: undefined },
      { ...GP_CLAIMS, crg_ods: undefined },
      { ...GP_CLAIMS, crg_ods: 'not an ods code' },
      { ...GP_CLAIMS, crg_role: undefined },
      { ...GP_CLAIMS, scope: ['user/*.read'] },
      { ...GP_CLAIMS, sub: undefined },
      { sub: 'app', crg_kind: 'patient-app', crg_nhs: '9434765918', scope: 'patient/AuditEvent.read' },
      { sub: 'sde', crg_kind: 'research', scope: 'system/*.read' },
      { sub: 'sde', crg_kind: 'research', crg_project: 'two words', scope: 'system/*.read' },
    ]) {
      const err = await expect401(`Bearer ${await sign(claims, keys.privateKey)}`);
      expect(err.outcome.issue[0].diagnostics).not.toContain('9434765918');
    }
  });
});

describe('authenticator set-up', () => {
  it('refuses to start with a private key as its public key file', async () => {
    const file = path.join(dir, 'private.pem');
    fs.writeFileSync(file, keys.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
    await expect(createAuthenticator(options({ publicKeyFile: file }))).rejects.toThrow('private key');
  });

  it('refuses to start with both a JWKS URL and a key file', async () => {
    await expect(createAuthenticator(options({ jwksUrl: 'http://127.0.0.1:1/jwks', publicKeyFile: path.join(dir, 'idp.pem') })))
      .rejects.toThrow('not both');
  });

  it('refuses to start with a symmetric algorithm in the allow-list', async () => {
    const algorithms = ['RS256', 'HS256'] as unknown as ('RS256')[];
    await expect(createAuthenticator(options({ publicKeyFile: path.join(dir, 'idp.pem'), algorithms }))).rejects.toThrow('Algorithms');
  });

  it('accepts a JWK file and refuses tokens in an algorithm the key cannot do', async () => {
    const file = path.join(dir, 'idp.jwk.json');
    fs.writeFileSync(file, JSON.stringify(keys.publicKey.export({ format: 'jwk' })));
    const fromJwk = await createAuthenticator(options({ publicKeyFile: file, algorithms: ['RS256'] }));
    expect(fromJwk.mode).toBe('key-file');
    expect((await fromJwk.authenticate(`Bearer ${await sign(GP_CLAIMS, keys.privateKey)}`)).kind).toBe('clinician');
    await expect(fromJwk.authenticate(`Bearer ${await sign(GP_CLAIMS, keys.privateKey, { alg: 'RS512' })}`))
      .rejects.toMatchObject({ status: 401 });
  });
});
