import type { Practitioner, PractitionerRole } from 'fhir/r4';
import input from '../fixtures/records/staff.json';
import expected from '../fixtures/records/staff.expected.json';
import medication from '../fixtures/records/medication-administration.json';
import { asIngested, exampleRecord, firstIdentifiers, mapResources, schemaChecker, validationErrors } from './record-type';

const record = (data: Record<string, unknown> = {}) => {
  const r = asIngested(input);
  r.data = { ...r.data, ...data };
  return r;
};

describe('staff mapping', () => {
  it('maps a registered nurse to the expected UKCore-Practitioner and UKCore-PractitionerRole (golden file)', async () => {
    expect(await mapResources(record())).toEqual(expected);
  });

  it('produces a Practitioner and PractitionerRole with no UK Core validation errors', async () => {
    expect(validationErrors(await mapResources(record()))).toEqual([]);
  });

  it('gives the Practitioner the identifier that eMAR records use to name who gave a medicine', async () => {
    const [practitioner] = (await mapResources(record())) as [Practitioner];
    const administration = (await mapResources(asIngested(medication)))[0] as fhir4.MedicationAdministration;
    expect(administration.performer?.[0].actor.identifier).toEqual(practitioner.identifier?.[0]);
  });

  it('keys the conditional update on the provider record, not the NMC PIN', async () => {
    expect(firstIdentifiers(await mapResources(record()))).toEqual(['VNX12/staff/STF-0031', 'VNX12/staff/STF-0031/role']);
  });

  it('uses the provider job title for a role with no code', async () => {
    const role = (await mapResources(record({ role: 'other', roleText: 'Wellbeing lead' })))[1] as PractitionerRole;
    expect(role.code).toEqual([{ text: 'Wellbeing lead' }]);
  });

  it('refuses an "other" role without the job title, naming the field', () => {
    const bad = JSON.parse(JSON.stringify(input));
    bad.data.role = 'other';
    expect(schemaChecker.check(bad, '').flatMap((i) => i.expression)).toContain('data.roleText');
  });

  it('accepts the documented example in mappings/staff/example.json', () => {
    expect(schemaChecker.check(exampleRecord('staff'), '')).toEqual([]);
  });
});
