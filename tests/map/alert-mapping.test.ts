import type { Flag } from 'fhir/r4';
import input from '../fixtures/records/alert.json';
import expected from '../fixtures/records/alert.expected.json';
import { asIngested, exampleRecord, mapResources, schemaChecker, validationErrors } from './record-type';

const record = () => asIngested(input);

describe('alert mapping', () => {
  it('maps a falls-risk alert to the expected UKCore-Flag (golden file)', async () => {
    expect(await mapResources(record())).toEqual(expected);
  });

  it('produces the Flag with no UK Core validation errors', async () => {
    expect(validationErrors(await mapResources(record()))).toEqual([]);
  });

  it('names the care provider as the author of the flag', async () => {
    const flag = (await mapResources(record()))[0] as Flag;
    expect(flag.author).toEqual({ type: 'Organization', identifier: { system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: 'VNX12' } });
  });

  it('closes the flag period when the alert ends', async () => {
    const r = record();
    Object.assign(r.data, { status: 'inactive', end: '2026-11-30T12:00:00Z' });
    const flag = (await mapResources(r))[0] as Flag;
    expect(flag.period).toEqual({ start: '2026-10-28', end: '2026-11-30T12:00:00Z' });
    expect(validationErrors([flag])).toEqual([]);
  });

  it('refuses a start time without a time zone, naming the field', () => {
    const bad = JSON.parse(JSON.stringify(input));
    bad.data.start = '2026-10-28T09:00:00';
    expect(schemaChecker.check(bad, '').flatMap((i) => i.expression)).toEqual(['data.start']);
  });

  it('accepts the documented example in mappings/alert/example.json', () => {
    expect(schemaChecker.check(exampleRecord('alert'), '')).toEqual([]);
  });
});
