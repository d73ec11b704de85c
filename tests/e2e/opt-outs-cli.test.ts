/** npm run opt-outs against a real gateway: an operator loads the National Data Opt-out list from a file. */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import { startTestGateway, type TestGateway } from '../support/gateway';

const run = promisify(execFile);
const ROOT = path.join(__dirname, '..', '..');
let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({ SECONDARY_USES: 'on' });
});
afterAll(async () => {
  await gw.stop();
});

async function optOuts(args: string[]): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await run(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'scripts/opt-outs.ts', ...args, '--url', gw.url], {
      cwd: ROOT,
      env: { ...process.env, CRG_TOKEN: gw.as.operator.replace(/^Bearer /, '') },
    });
    return { code: 0, stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string };
    return { code: e.code, stdout: e.stdout };
  }
}

const total = async (): Promise<number> =>
  ((await request(gw.url).get('/v1/admin/opt-outs').set('Authorization', gw.as.operator)).body as { total: number }).total;

describe('npm run opt-outs', () => {
  it('loads an opt-out file, printing counts and never a number', async () => {
    const file = path.join(gw.dataDir, 'opt-outs.csv');
    fs.writeFileSync(file, 'nhs_number\n943 476 5919\n\n# a comment\n9434765870\n');
    const { code, stdout } = await optOuts([file]);
    expect(stdout).toMatch(/2 NHS numbers read, 2 added; 2 opt-outs registered/);
    expect(stdout).not.toMatch(/943 ?476/);
    expect(code).toBe(0);
    expect(await total()).toBe(2);
  }, 60_000);

  it('names the line of a number whose check digit is wrong, and exits 1', async () => {
    const file = path.join(gw.dataDir, 'bad.txt');
    fs.writeFileSync(file, '9434765919\n9434765918\n');
    const { code, stdout } = await optOuts([file]);
    expect(code).toBe(1);
    expect(stdout).toMatch(/line 2: NHS number check digit is wrong/);
    expect(stdout).not.toContain('9434765918');
  }, 60_000);

  it('takes people off the list with --remove', async () => {
    const file = path.join(gw.dataDir, 'remove.txt');
    fs.writeFileSync(file, '9434765870\n');
    const { code, stdout } = await optOuts([file, '--remove']);
    expect(stdout).toMatch(/1 NHS numbers read, 1 removed; 1 opt-outs registered/);
    expect(code).toBe(0);
    expect(await total()).toBe(1);
  }, 60_000);
});
