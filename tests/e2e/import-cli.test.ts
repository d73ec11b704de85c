import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { startTestGateway, type TestGateway } from '../support/gateway';

const run = promisify(execFile);
const ROOT = path.join(__dirname, '..', '..');
let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw.stop();
});

async function importFile(file: string): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await run(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'scripts/import.ts', file, '--url', gw.url], {
      cwd: ROOT,
      env: { ...process.env, CRG_TOKEN: gw.as.provider.replace(/^Bearer /, '') },
    });
    return { code: 0, stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string };
    return { code: e.code, stdout: e.stdout };
  }
}

describe('npm run import', () => {
  it('loads a care home file and prints the counts', async () => {
    const lines = fs.readFileSync(path.join(ROOT, 'tests/fixtures/care-home/records.ndjson'), 'utf8').split('\n').slice(0, 120);
    const file = path.join(gw.dataDir, 'first-load.ndjson');
    fs.writeFileSync(file, lines.join('\n'));
    const { code, stdout } = await importFile(file);
    expect(stdout).toMatch(/completed; 120 lines read, 120 accepted, 0 rejected/);
    expect(code).toBe(0);
  }, 60_000);

  it('exits 1 and lists the rejected lines when some are bad', async () => {
    const file = path.join(gw.dataDir, 'bad.ndjson');
    fs.writeFileSync(file, '{"type": "resident"}\nnot json\n');
    const { code, stdout } = await importFile(file);
    expect(code).toBe(1);
    expect(stdout).toMatch(/line\[2\]: line is not valid JSON/);
  }, 60_000);
});
