import type { AllergyIntolerance } from 'fhir/r4';
import input from '../fixtures/records/allergy.json';
import expected from '../fixtures/records/allergy.expected.json';
import { asIngested, exampleRecord, mapResources, schemaChecker, validationErrors } from './record-type';

const record = () => asIngested(input);
const allergy = async (data: Record<string, unknown>) => {
  const r = record();
  r.data = { ...r.data, ...data };
  return (await mapResources(r))[0] as AllergyIntolerance;
};

describe('allergy mapping', () => {
  it('maps a penicillin allergy to the expected UKCore-AllergyIntolerance (golden file)', async () => {
    expect(await mapResources(record())).toEqual(expected);
  });

  it('produces the AllergyIntolerance with no UK Core validation errors', async () => {
    expect(validationErrors(await mapResources(record()))).toEqual([]);
  });

  it('codes a dm+d causative agent in the dm+d system', async () => {
    const mapped = await allergy({ agent: { system: 'dmd', code: '42109611000001109', display: 'Paracetamol 500mg tablets', text: 'Paracetamol' } });
    expect(mapped.code?.coding).toEqual([{ system: 'https://dmd.nhs.uk', code: '42109611000001109', display: 'Paracetamol 500mg tablets' }]);
  });

  it('keeps an uncoded causative agent as text only', async () => {
    const mapped = await allergy({ agent: { text: 'Elastoplast' } });
    expect(mapped.code).toEqual({ text: 'Elastoplast' });
    expect(validationErrors([mapped])).toEqual([]);
  });

  it('leaves out clinicalStatus when the record was entered in error (FHIR ait-2)', async () => {
    const r = record();
    delete (r.data as any).clinicalStatus;
    (r.data as any).verificationStatus = 'entered-in-error';
    const resources = await mapResources(r);
    const mapped = resources[0] as AllergyIntolerance;
    expect(mapped.clinicalStatus).toBeUndefined();
    expect(mapped.verificationStatus?.coding?.[0].code).toBe('entered-in-error');
    expect(validationErrors(resources)).toEqual([]);
  });

  it('uses the reaction description as the manifestation when no coded manifestation was given', async () => {
    const mapped = await allergy({ reactions: [{ description: 'Felt faint' }] });
    expect(mapped.reaction).toEqual([{ manifestation: [{ text: 'Felt faint' }], description: 'Felt faint' }]);
  });

  it('refuses an active allergy with no clinical status, naming the field', () => {
    const bad = JSON.parse(JSON.stringify(input));
    delete bad.data.clinicalStatus;
    expect(schemaChecker.check(bad, '').flatMap((i) => i.expression)).toContain('data.clinicalStatus');
  });

  it('accepts the documented example in mappings/allergy/example.json', () => {
    expect(schemaChecker.check(exampleRecord('allergy'), '')).toEqual([]);
  });
});
