import type { Immunization } from 'fhir/r4';
import input from '../fixtures/records/vaccination.json';
import expected from '../fixtures/records/vaccination.expected.json';
import { asIngested, exampleRecord, mapResources, schemaChecker, validationErrors } from './record-type';

const record = (data: Record<string, unknown> = {}) => {
  const r = asIngested(input);
  r.data = { ...r.data, ...data };
  return r;
};

describe('vaccination mapping', () => {
  it('maps a flu vaccination to the expected UKCore-Immunization (golden file)', async () => {
    expect(await mapResources(record())).toEqual(expected);
  });

  it('produces an Immunization with no UK Core validation errors', async () => {
    expect(validationErrors(await mapResources(record()))).toEqual([]);
  });

  it('records a vaccination declined as not-done with the SNOMED CT reason, and it still validates', async () => {
    const resources = await mapResources(record({ status: 'not-done', notGivenReason: 'declined' }));
    const immunization = resources[0] as Immunization;
    expect(immunization.statusReason?.coding?.[0].code).toBe('310376006');
    expect(validationErrors(resources)).toEqual([]);
  });

  it('refers to care home staff who gave it by their staff record', async () => {
    const r = record({ administeredByStaffRecordId: 'STF-0031' });
    delete (r.data as any).administeredByText;
    const immunization = (await mapResources(r))[0] as Immunization;
    expect(immunization.performer?.[0].actor.identifier?.value).toBe('VNX12/staff/STF-0031');
  });

  it('refuses a vaccination not given without a reason, naming the field', () => {
    const bad = JSON.parse(JSON.stringify(input));
    bad.data.status = 'not-done';
    expect(schemaChecker.check(bad, '').flatMap((i) => i.expression)).toContain('data.notGivenReason');
  });

  it('accepts the documented example in mappings/vaccination/example.json', () => {
    expect(schemaChecker.check(exampleRecord('vaccination'), '')).toEqual([]);
  });
});
