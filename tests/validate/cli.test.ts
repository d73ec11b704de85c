import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const repo = path.resolve(__dirname, '..', '..');
const tsx = path.join(repo, 'node_modules', '.bin', 'tsx');
const run = (...args: string[]) => spawnSync(tsx, ['scripts/validate.ts', ...args], { cwd: repo, encoding: 'utf8' });

describe('npm run validate', () => {
  it('accepts an official example in its XML form and exits 0', () => {
    const xml = path.join(repo, '..', 'shared', 'ukcore', 'examples', 'UKCore-Patient-BabyPatient-Example.xml');
    const file = fs.existsSync(xml) ? xml : path.join(repo, 'tests', 'fixtures', 'ukcore-examples', 'UKCore-Patient-BabyPatient-Example.json');
    const result = run('--profile', 'https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient', file);
    expect(result.stdout).toContain('1 file(s), 0 error(s)');
    expect(result.status).toBe(0);
  });

  it('prints one line per issue and exits 1 on an error', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'validate-cli-'));
    const file = path.join(dir, 'bad.json');
    fs.writeFileSync(file, JSON.stringify({ resourceType: 'Patient', gender: 'f', room: '12B' }));
    const result = run(dir);
    expect(result.stdout).toContain(`${file}: error Patient.gender: The code 'f' is not in the required ValueSet`);
    expect(result.stdout).toContain(`${file}: error Patient.room: Unknown element 'room'`);
    expect(result.status).toBe(1);
  });
});
