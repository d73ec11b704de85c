/**
 * Outbound OAuth to the SCR against real servers on loopback: a token endpoint that verifies the
 * private_key_jwt assertion with the public key and counts requests, and an SCR that wants a live bearer.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Bundle, Patient } from 'fhir/r4';
import { ConfigError } from '../../src/config';
import { ClientCredentialsAuth, loadClientCredentialsAuth } from '../../src/fhir/scr-auth';
import { ScrClient } from '../../src/fhir/scr-client';
import { ScrError } from '../../src/fhir/scr-error';
import { rsaKeyPair, startBearerScr, startTokenEndpoint, type BearerScr, type TokenEndpoint } from '../support/oauth-scr';

const NHS = 'https://fhir.nhs.uk/Id/nhs-number';
const keys = rsaKeyPair();
let tokens: TokenEndpoint;
let scr: BearerScr;

beforeEach(async () => {
  tokens = await startTokenEndpoint(keys.publicKey);
  scr = await startBearerScr(tokens);
});
afterEach(async () => {
  await scr.close();
  await tokens.close();
});

function auth(privateKey = keys.privateKey): ClientCredentialsAuth {
  return new ClientCredentialsAuth({ tokenUrl: tokens.url, clientId: tokens.clientId, keyId: tokens.keyId, privateKey, timeoutMs: 5000 });
}

function client(scrAuth: ClientCredentialsAuth): ScrClient {
  return new ScrClient({ baseUrl: scr.baseUrl, timeoutMs: 5000, auth: scrAuth });
}

function transaction(nhsNumber: string): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [{
      resource: { resourceType: 'Patient', identifier: [{ system: NHS, value: nhsNumber }] } as Patient,
      request: { method: 'PUT', url: `Patient?identifier=${NHS}|${nhsNumber}` },
    }],
  };
}

async function failure(promise: Promise<unknown>): Promise<ScrError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ScrError) return err;
    throw err;
  }
  throw new Error('expected the call to fail');
}

describe('outbound OAuth to the SCR (private_key_jwt)', () => {
  it('fetches one token for many concurrent SCR calls', async () => {
    const scrClient = client(auth());
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => scrClient.transaction(transaction(`99900000${String(i).padStart(2, '0')}`))));
    expect(answers.every((a) => a.type === 'transaction-response')).toBe(true);
    expect(tokens.requests).toBe(1);
    expect(scr.refused).toBe(0);
  });

  it('signs the assertion RS512 with the kid, iss = sub = client id, aud = token URL, a fresh jti and exp within 5 minutes', async () => {
    const scrAuth = auth();
    await scrAuth.authorization();
    scrAuth.rejected(await scrAuth.authorization());
    await scrAuth.authorization();
    expect(tokens.assertions).toHaveLength(2);
    const [first, second] = tokens.assertions;
    expect(first.header).toMatchObject({ alg: 'RS512', kid: tokens.keyId });
    expect(first.payload).toMatchObject({ iss: tokens.clientId, sub: tokens.clientId, aud: tokens.url });
    expect((first.payload.exp ?? 0) - (first.payload.iat ?? 0)).toBeLessThanOrEqual(300);
    expect(first.payload.jti).not.toBe(second.payload.jti);
  });

  it('fetches a new token once the cached one has expired, not before', async () => {
    tokens.expiresIn = '3'; // a string, as NHS England sends it; refreshed 0.3 s before it runs out
    const scrClient = client(auth());
    await scrClient.transaction(transaction('9990000101'));
    await scrClient.transaction(transaction('9990000102'));
    expect(tokens.requests).toBe(1);
    await new Promise((r) => setTimeout(r, 3100));
    await scrClient.transaction(transaction('9990000103'));
    expect(tokens.requests).toBe(2);
    expect(scr.refused).toBe(0);
  });

  it('drops a token the SCR answers 401 to and retries the call once with a fresh one', async () => {
    const scrClient = client(auth());
    await scrClient.transaction(transaction('9990000201'));
    tokens.revokeAll();
    const answer = await scrClient.transaction(transaction('9990000202'));
    expect(answer.type).toBe('transaction-response');
    expect(tokens.requests).toBe(2);
    expect(scr.refused).toBe(1);
  });

  it('retries a 401 only once, and reports it as retryable so the submission is not dead-lettered as rejected', async () => {
    const scrClient = client(auth());
    await scrClient.transaction(transaction('9990000301'));
    tokens.valid = () => false; // the SCR refuses every token from now on
    const seenBefore = scr.seen;
    const error = await failure(scrClient.transaction(transaction('9990000302')));
    expect(error.status).toBe(401);
    expect(error.retryable).toBe(true);
    expect(scr.seen - seenBefore).toBe(2);
  });

  it('fails with a clear, retryable error naming the refusal when the token endpoint does not know the key', async () => {
    const stranger = rsaKeyPair();
    const scrClient = client(auth(stranger.privateKey));
    const error = await failure(scrClient.transaction(transaction('9990000401')));
    expect(error.message).toBe('SCR token endpoint refused the client credentials: HTTP 401 invalid_client: Invalid client assertion signature or claims');
    expect(error.retryable).toBe(true);
    expect(error.outcome.issue[0].code).toBe('security');
    expect(scr.seen).toBe(0);
  });

  it('fails retryably when the token endpoint cannot be reached', async () => {
    await tokens.close();
    const error = await failure(client(auth()).transaction(transaction('9990000501')));
    expect(error.message).toMatch(/^SCR token request failed: network error/);
    expect(error.retryable).toBe(true);
  });
});

describe('loading the SCR private key at start-up', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crg-scr-key-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const settings = (privateKeyFile: string) => ({ tokenUrl: 'https://auth.example.nhs.uk/oauth2/token', clientId: 'c', keyId: 'k', privateKeyFile });

  it('refuses a key file that does not exist with a ConfigError naming the variable', async () => {
    await expect(loadClientCredentialsAuth(settings(path.join(dir, 'absent.pem')), { timeoutMs: 1000 })).rejects.toThrow(
      new ConfigError(`SCR_PRIVATE_KEY_FILE cannot be read (ENOENT): ${path.join(dir, 'absent.pem')}`),
    );
  });

  it('refuses a file that is not a PEM private key', async () => {
    const file = path.join(dir, 'not-a-key.pem');
    fs.writeFileSync(file, 'hello');
    await expect(loadClientCredentialsAuth(settings(file), { timeoutMs: 1000 })).rejects.toThrow(/SCR_PRIVATE_KEY_FILE is not a PEM private key/);
  });

  it('accepts an RSA PEM private key', async () => {
    const file = path.join(dir, 'good.pem');
    fs.writeFileSync(file, keys.privatePem, { mode: 0o600 });
    await expect(loadClientCredentialsAuth(settings(file), { timeoutMs: 1000 })).resolves.toBeInstanceOf(ClientCredentialsAuth);
  });
});
