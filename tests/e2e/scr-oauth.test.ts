/**
 * The whole gateway delivering to an SCR that wants OAuth 2.0 client credentials (private_key_jwt): one
 * token serves many deliveries, and a key the token endpoint does not know keeps submissions queued and
 * retried (with the refusal on the submission), never lost, until the key is registered.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import resident from '../fixtures/records/resident.json';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway';
import { nhsNumbers } from '../support/processes';
import { rsaKeyPair, startBearerScr, startTokenEndpoint, type BearerScr, type TokenEndpoint } from '../support/oauth-scr';

const run = promisify(execFile);
const ours = rsaKeyPair();
const keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crg-scr-oauth-'));
let tokens: TokenEndpoint;
let scr: BearerScr;
let gw: TestGateway;

beforeAll(async () => {
  const keyFile = path.join(keyDir, 'scr-client.pem');
  fs.writeFileSync(keyFile, ours.privatePem, { mode: 0o600 });
  // The endpoint starts out knowing some other key under our kid: every assertion we sign is refused.
  tokens = await startTokenEndpoint(rsaKeyPair().publicKey);
  scr = await startBearerScr(tokens);
  gw = await startTestGateway({
    SCR_BASE_URL: scr.baseUrl,
    SCR_TOKEN_URL: tokens.url,
    SCR_CLIENT_ID: tokens.clientId,
    SCR_PRIVATE_KEY_FILE: keyFile,
    SCR_KEY_ID: tokens.keyId,
    DELIVERY_MAX_ATTEMPTS: '1000',
    DELIVERY_BACKOFF_MAX_MS: '200',
    DELIVERY_BREAKER_COOLDOWN_MS: '100',
  });
});
afterAll(async () => {
  await gw.stop();
  await scr.close();
  await tokens.close();
  fs.rmSync(keyDir, { recursive: true, force: true });
});

async function submission(id: string): Promise<Record<string, any>> {
  return (await request(gw.url).get(`/v1/submissions/${id}`).set('Authorization', gw.as.provider)).body;
}

it('keeps retrying while the token endpoint refuses our key, then delivers every record with one token', async () => {
  const records = nhsNumbers(3, 997_600_000).map((nhsNumber, i) => ({ ...JSON.parse(JSON.stringify(resident)), recordId: `OAUTH-${i}`, nhsNumber }));
  const res = await request(gw.url).post('/v1/records').set('Authorization', gw.as.provider).send({ records });
  expect(res.status).toBe(202);
  const ids = (res.body.accepted as { submissionId: string }[]).map((a) => a.submissionId);

  // Caught between attempts: back in the queue with the refusal recorded (during an attempt it is 'delivering').
  const refused = await eventually(async () => {
    const status = await submission(ids[0]);
    return status.attempts >= 2 && status.state !== 'delivering' ? status : undefined;
  });
  expect(refused.state).toBe('queued');
  expect(refused.lastError.issue[0].diagnostics).toBe(
    'SCR token endpoint refused the client credentials: HTTP 401 invalid_client: Invalid client assertion signature or claims',
  );
  expect(scr.seen).toBe(0); // nothing went to the SCR without a token

  tokens.publicKey = ours.publicKey; // the key is registered with the SCR's identity service
  const requestsBefore = tokens.requests;
  for (const id of ids) await eventually(async () => ((await submission(id)).state === 'delivered' ? true : undefined));
  expect(tokens.requests - requestsBefore).toBe(1);
  expect(scr.refused).toBe(0);
  expect(gw.logLines.some((l) => l.includes(tokens.url) || /"access_token"|client_assertion/.test(l))).toBe(false);
});

describe('the gateway process with SCR authentication settings', () => {
  async function start(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crg-scr-oauth-start-'));
    try {
      await run(process.execPath, ['--require', 'tsx/cjs', path.join(__dirname, '..', '..', 'src', 'main.ts')], {
        env: { ...process.env, PORT: '0', DEV_SCR_PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'error', ...env },
        timeout: 60_000,
      });
      return { code: 0, stderr: '' };
    } catch (err) {
      const e = err as { code: number | null; stderr: string };
      return { code: e.code, stderr: e.stderr };
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }

  it('refuses to start, naming what is missing, when only some of the four are set', async () => {
    const { code, stderr } = await start({ SCR_TOKEN_URL: 'https://auth.example.nhs.uk/oauth2/token', SCR_CLIENT_ID: 'crg' });
    expect(code).toBe(2);
    expect(stderr.trim()).toBe(
      'care-record-gateway: configuration error: SCR authentication needs all of SCR_TOKEN_URL, SCR_CLIENT_ID, SCR_PRIVATE_KEY_FILE, SCR_KEY_ID; missing SCR_PRIVATE_KEY_FILE, SCR_KEY_ID',
    );
  }, 60_000);

  it('refuses to start when the private key file cannot be read', async () => {
    const missing = path.join(keyDir, 'absent.pem');
    const { code, stderr } = await start({
      SCR_TOKEN_URL: 'https://auth.example.nhs.uk/oauth2/token', SCR_CLIENT_ID: 'crg', SCR_KEY_ID: 'k1', SCR_PRIVATE_KEY_FILE: missing,
    });
    expect(code).toBe(2);
    expect(stderr.trim()).toBe(`care-record-gateway: configuration error: SCR_PRIVATE_KEY_FILE cannot be read (ENOENT): ${missing}`);
  }, 60_000);
});
