import type { RelatedPerson } from 'fhir/r4';
import input from '../fixtures/records/related-person.json';
import expected from '../fixtures/records/related-person.expected.json';
import { asIngested, exampleRecord, mapResources, schemaChecker, validationErrors } from './record-type';

const record = (data: Record<string, unknown> = {}) => {
  const r = asIngested(input);
  r.data = { ...r.data, ...data };
  return r;
};
const person = async (data: Record<string, unknown>) => (await mapResources(record(data)))[0] as RelatedPerson;

describe('related-person mapping', () => {
  it('maps a son who is next of kin and proxy to the expected UKCore-RelatedPerson (golden file)', async () => {
    expect(await mapResources(record())).toEqual(expected);
  });

  it('produces a RelatedPerson with no UK Core validation errors', async () => {
    expect(validationErrors(await mapResources(record()))).toEqual([]);
  });

  it('codes the relationship first and then each role', async () => {
    const mapped = await person({ relationship: 'friend', roles: ['carer'] });
    expect(mapped.relationship?.map((r) => r.coding?.[0].code)).toEqual(['FRND', 'Carer']);
  });

  it('keeps a single given name as an array', async () => {
    const mapped = await person({ name: { given: ['Peter'], family: 'Example' } });
    expect(mapped.name?.[0].given).toEqual(['Peter']);
  });

  it('marks a person who no longer has these roles as inactive', async () => {
    expect((await person({ active: false })).active).toBe(false);
  });

  it('refuses a related person with no role, naming the field', () => {
    const bad = JSON.parse(JSON.stringify(input));
    bad.data.roles = [];
    expect(schemaChecker.check(bad, '').flatMap((i) => i.expression)).toEqual(['data.roles']);
  });

  it('accepts the documented example in mappings/related-person/example.json', () => {
    expect(schemaChecker.check(exampleRecord('related-person'), '')).toEqual([]);
  });
});
