/** The generated care home (tests/fixtures/care-home/records.ndjson): every record type, as providers post them. */
import fs from 'node:fs';
import path from 'node:path';
import type { ProviderRecord } from '../../src/map/map-record';

export const CARE_HOME_NDJSON = path.resolve(__dirname, '..', 'fixtures', 'care-home', 'records.ndjson');

export function careHomeRecords(): ProviderRecord[] {
  return fs
    .readFileSync(CARE_HOME_NDJSON, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as ProviderRecord);
}
