import fs from 'node:fs';
import { OPENAPI_PATH } from '../src/config/paths';
import { syncedOpenApi } from '../scripts/openapi-sync';

describe('openapi.yaml and mappings/', () => {
  it('are in step: every record type is in the contract with its example (npm run openapi:sync)', () => {
    const current = fs.readFileSync(OPENAPI_PATH, 'utf8');
    expect(syncedOpenApi(current)).toBe(current);
  });

  it('would notice a record type missing from the contract', () => {
    const current = fs.readFileSync(OPENAPI_PATH, 'utf8').replace(/enum: \[ "[a-z-]+", /, 'enum: [ ');
    expect(syncedOpenApi(current)).not.toBe(current);
  });
});
