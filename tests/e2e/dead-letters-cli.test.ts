/**
 * `npm run dead-letters` against a real test gateway whose SCR refuses transactions on demand: the CLI
 * lists the dead letters, replays one or all through the operator API, and exits non-zero when refused.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import resident from '../fixtures/records/resident.json';
import { freePort } from '../forward/loopback-scr';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway';
import { nhsNumbers } from '../support/processes';

const run = promisify(execFile);
const ROOT = path.join(__dirname, '..', '..');
const PEOPLE = nhsNumbers(2, 997_700_000);
let scr: FaultProxy;
let gw: TestGateway;
let dead: string[];

beforeAll(async () => {
  scr = await startFaultProxy();
  gw = await startTestGateway({ SCR_BASE_URL: scr.baseUrl });
  scr.mode = 'reject';
  const records = PEOPLE.map((nhsNumber, i) => ({ ...JSON.parse(JSON.stringify(resident)), recordId: `DLQ-${i}`, nhsNumber }));
  const res = await request(gw.url).post('/v1/records').set('Authorization', gw.as.provider).send({ records });
  dead = (res.body.accepted as { submissionId: string }[]).map((a) => a.submissionId);
  for (const id of dead) await stateIs(id, 'rejected');
  scr.mode = 'pass';
}, 60_000);
afterAll(async () => {
  await gw.stop();
  await scr.close();
});

async function stateIs(id: string, wanted: string): Promise<void> {
  await eventually(async () => {
    const res = await request(gw.url).get(`/v1/submissions/${id}`).set('Authorization', gw.as.provider);
    return res.body.state === wanted ? true : undefined;
  });
}

async function cli(args: string[], token: string | null = gw.as.operator, url = gw.url): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.CRG_TOKEN;
  if (token === null) delete env.GATEWAY_TOKEN;
  else env.GATEWAY_TOKEN = token.replace(/^Bearer /, '');
  try {
    const { stdout, stderr } = await run(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'scripts/dead-letters.ts', ...args, '--url', url], { cwd: ROOT, env });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('npm run dead-letters', () => {
  it('lists the dead letters as a table with the SCR answer', async () => {
    const { code, stdout } = await cli(['list']);
    expect(code).toBe(0);
    expect(stdout.split('\n')[0]).toMatch(/^ID\s+STATE\s+ATTEMPTS\s+UPDATED\s+RECORDS\s+LAST ERROR$/);
    for (const id of dead) expect(stdout).toMatch(new RegExp(`^${id}\\s+rejected\\s+1\\s+.*refused by test SCR$`, 'm'));
    expect(stdout).toMatch(/^\d+ dead letter\(s\)$/m); // ours, and the audit events the SCR refused with them
  }, 30_000);

  it('exits 1 and says why when the token is not an operator\'s', async () => {
    const { code, stderr } = await cli(['list'], gw.as.provider);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^listing dead letters refused: HTTP 403/);
  }, 30_000);

  it('exits 2 with the usage when there is no token', async () => {
    const { code, stderr } = await cli(['list'], null);
    expect(code).toBe(2);
    expect(stderr).toMatch(/an operator token is needed/);
  }, 30_000);

  it('exits 2 and names the failure when the gateway cannot be reached', async () => {
    const { code, stderr } = await cli(['list'], gw.as.operator, `http://127.0.0.1:${await freePort()}`);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^dead-letters failed: fetch failed \(.*ECONNREFUSED/);
  }, 30_000);

  it('exits 1 when asked to replay a submission that does not exist', async () => {
    const { code, stdout } = await cli(['replay', 'no-such-submission']);
    expect(code).toBe(1);
    expect(stdout).toMatch(/^no-such-submission\s+FAILED\s+HTTP 404: No such submission$/m);
  }, 30_000);

  it('replays one dead letter, then all the rest, and each is delivered', async () => {
    const one = await cli(['replay', dead[0]]);
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(new RegExp(`^${dead[0]}\\s+replayed\\s+queued again`, 'm'));
    await stateIs(dead[0], 'delivered');

    const all = await cli(['replay', '--all']);
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(new RegExp(`^${dead[1]}\\s+replayed`, 'm'));
    expect(all.stdout).toMatch(/^\d+ replayed, 0 failed$/m);
    await stateIs(dead[1], 'delivered');

    const empty = await cli(['list']);
    expect(empty.stdout.trim()).toBe('no dead letters');
  }, 60_000);
});
