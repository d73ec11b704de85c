import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createAuthenticator, type Authenticator } from '../../src/auth/authenticate';
import { loadConfig } from '../../src/config';
import { captureLog, tempDir } from './tokens';

const repo = path.resolve(__dirname, '..', '..');
const tsx = path.join(repo, 'node_modules', '.bin', 'tsx');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function token(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(tsx, ['scripts/token.ts', ...args], { cwd: repo, env: { PATH: process.env.PATH ?? '', ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

// Each case starts the script in its own tsx process (about a second each, more on a busy machine).
jest.setTimeout(120_000);

let dataDir: string;
let auth: Authenticator;

beforeAll(async () => {
  dataDir = tempDir();
  // The gateway's own start-up path: config from the environment, then the authenticator creates the key.
  const config = loadConfig({ DATA_DIR: dataDir });
  auth = await createAuthenticator({ ...config.auth, logger: captureLog().logger });
});

afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

describe('npm run token', () => {
  it('prints tokens the development gateway accepts, one per role', async () => {
    const cases: [string[], object][] = [
      [['--role', 'gp', '--org', 'y12345'], { kind: 'clinician', odsCode: 'Y12345', role: 'R8000', scopes: ['user/*.read'] }],
      [['--role', 'provider', '--org', 'VNAA1'], { kind: 'provider', odsCode: 'VNAA1', scopes: ['system/*.write'] }],
      [['--role', 'operator'], { kind: 'operator', scopes: [] }],
      [['--role', 'patient-app', '--nhs', '943 476 5919', '--ttl', '15m'], { kind: 'patient-app', nhsNumber: '9434765919' }],
      [['--role', 'research', '--project', 'falls-2026'], { kind: 'research', project: 'falls-2026', scopes: ['system/*.read'] }],
      [['--role', 'gp', '--org', 'A81001', '--scope', 'user/Patient.read', '--sub', 'me'], { userId: 'me', scopes: ['user/Patient.read'] }],
    ];
    const runs = await Promise.all(cases.map(([args]) => token(args, { DATA_DIR: dataDir })));
    for (const [i, run] of runs.entries()) {
      expect(run.code).toBe(0);
      expect(run.stdout.trim()).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
      expect(run.stderr).not.toContain('9434765919');
      expect(await auth.authenticate(`Bearer ${run.stdout.trim()}`)).toMatchObject(cases[i][1]);
    }
  });

  it('refuses when there is no development key, and creates none', async () => {
    const empty = tempDir();
    try {
      const run = await token(['--role', 'gp', '--org', 'Y12345'], { DATA_DIR: empty });
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toContain('No development key');
      expect(fs.readdirSync(empty)).toEqual([]);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });

  it('refuses when the gateway is configured with a real JWKS', async () => {
    const run = await token(['--role', 'gp', '--org', 'Y12345'], { DATA_DIR: dataDir, AUTH_JWKS_URL: 'https://auth.example.nhs.uk/jwks' });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
  });

  it('explains bad arguments instead of minting a token', async () => {
    const runs = await Promise.all([
      token(['--role', 'admin'], { DATA_DIR: dataDir }),
      token(['--role', 'gp'], { DATA_DIR: dataDir }),
      token(['--role', 'patient-app', '--nhs', '9434765918'], { DATA_DIR: dataDir }),
      token(['--role', 'gp', '--org', 'Y12345', '--ttl', '48h'], { DATA_DIR: dataDir }),
      token(['--role', 'gp', '--org', 'Y12345', '--bogus'], { DATA_DIR: dataDir }),
    ]);
    for (const run of runs) {
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(/^token: /);
    }
  });
});
