import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import { createAuthenticator, type Authenticator } from '../../src/auth/authenticate';
import { ensureDevSigningKey } from '../../src/auth/dev-keys';
import { OperationOutcomeError } from '../../src/fhir/operation-outcome';
import { GP_CLAIMS, base64url, captureLog, ecKeys, options, rsaKeys, sign, tempDir } from './tokens';

const es = ecKeys();
const rs = rsaKeys();
const jwks = {
  keys: [
    { ...es.publicKey.export({ format: 'jwk' }), kid: 'es-1', alg: 'ES256', use: 'sig' },
    { ...rs.publicKey.export({ format: 'jwk' }), kid: 'rs-1', alg: 'RS256', use: 'sig' },
  ],
};

let server: http.Server;
let url: string;
let requests = 0;
let failing = false;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    requests++;
    if (failing || req.url !== '/.well-known/jwks.json') {
      res.writeHead(failing ? 500 : 404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  requests = 0;
  failing = false;
});

async function jwksAuthenticator(jwksUrl = url): Promise<Authenticator> {
  return createAuthenticator(options({ jwksUrl, logger: captureLog().logger, jwksTimeoutMs: 2000 }));
}

async function statusOf(auth: Authenticator, header: string): Promise<OperationOutcomeError> {
  const err = await auth.authenticate(header).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(OperationOutcomeError);
  return err as OperationOutcomeError;
}

describe('JWKS served over loopback HTTP', () => {
  it('verifies ES256 and RS256 tokens against the keys it fetched, fetching once', async () => {
    const auth = await jwksAuthenticator();
    expect(auth.mode).toBe('jwks');
    const gp = await auth.authenticate(`Bearer ${await sign(GP_CLAIMS, es.privateKey, { alg: 'ES256', kid: 'es-1' })}`);
    expect(gp).toMatchObject({ kind: 'clinician', odsCode: 'Y12345' });
    const again = await auth.authenticate(`Bearer ${await sign(GP_CLAIMS, rs.privateKey, { alg: 'RS256', kid: 'rs-1' })}`);
    expect(again.kind).toBe('clinician');
    expect(requests).toBe(1);
  });

  it('refuses a token whose kid the JWKS does not hold', async () => {
    const auth = await jwksAuthenticator();
    const err = await statusOf(auth, `Bearer ${await sign(GP_CLAIMS, rsaKeys().privateKey, { kid: 'unknown' })}`);
    expect(err.status).toBe(401);
  });

  it('refuses a token signed with another key under a known kid', async () => {
    const auth = await jwksAuthenticator();
    const err = await statusOf(auth, `Bearer ${await sign(GP_CLAIMS, rsaKeys().privateKey, { kid: 'rs-1' })}`);
    expect(err.status).toBe(401);
  });

  it('refuses unsigned and HS256 tokens without fetching the JWKS', async () => {
    const auth = await jwksAuthenticator();
    const hs = await sign(GP_CLAIMS, new TextEncoder().encode(JSON.stringify(jwks.keys[1])), { alg: 'HS256', kid: 'rs-1' });
    expect((await statusOf(auth, `Bearer ${hs}`)).status).toBe(401);
    const none = `${base64url({ alg: 'none', kid: 'rs-1' })}.${base64url({ ...GP_CLAIMS, exp: 9999999999 })}.`;
    expect((await statusOf(auth, `Bearer ${none}`)).status).toBe(401);
    expect(requests).toBe(0);
  });

  it('answers 503 with Retry-After when the JWKS server fails, not 401', async () => {
    failing = true;
    const auth = await jwksAuthenticator();
    const err = await statusOf(auth, `Bearer ${await sign(GP_CLAIMS, rs.privateKey, { kid: 'rs-1' })}`);
    expect(err.status).toBe(503);
    expect(err.headers['Retry-After']).toBe('30');
    expect(JSON.stringify(err.outcome)).not.toContain('127.0.0.1');
  });

  it('answers 503 when nothing listens at the JWKS URL', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const auth = await jwksAuthenticator(`http://127.0.0.1:${port}/jwks.json`);
    const err = await statusOf(auth, `Bearer ${await sign(GP_CLAIMS, rs.privateKey, { kid: 'rs-1' })}`);
    expect(err.status).toBe(503);
  });

  it('never accepts development tokens when a JWKS is configured', async () => {
    const devDir = tempDir();
    try {
      const { key } = await ensureDevSigningKey(devDir);
      const unused = path.join(devDir, 'unused');
      const auth = await createAuthenticator(options({ jwksUrl: url, devKeyDir: unused, logger: captureLog().logger }));
      expect(auth.mode).toBe('jwks');
      expect(fs.existsSync(unused)).toBe(false);
      const err = await statusOf(auth, `Bearer ${await sign(GP_CLAIMS, key.privateKey, { kid: key.kid })}`);
      expect(err.status).toBe(401);
    } finally {
      fs.rmSync(devDir, { recursive: true, force: true });
    }
  });
});

describe('JWKS URL checks', () => {
  it('refuses a plain http JWKS URL that is not on loopback', async () => {
    await expect(createAuthenticator(options({ jwksUrl: 'http://auth.example.nhs.uk/jwks.json' }))).rejects.toThrow('https');
  });
});
