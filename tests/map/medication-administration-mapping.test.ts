import type { MedicationAdministration } from 'fhir/r4';
import input from '../fixtures/records/medication-administration.json';
import expected from '../fixtures/records/medication-administration.expected.json';
import { asIngested, exampleRecord, mapResources, schemaChecker, validationErrors } from './record-type';

const record = (data: Record<string, unknown> = {}) => {
  const r = asIngested(input);
  r.data = { ...r.data, ...data };
  return r;
};
const administration = async (data: Record<string, unknown>) => (await mapResources(record(data)))[0] as MedicationAdministration;
const schemaErrors = (data: Record<string, unknown>) => {
  const bad = JSON.parse(JSON.stringify(input));
  Object.assign(bad.data, data);
  return schemaChecker.check(bad, '').flatMap((i) => i.expression);
};

describe('medication-administration mapping', () => {
  it('maps a dose of paracetamol given to the expected UKCore-MedicationAdministration and dm+d Medication (golden file)', async () => {
    expect(await mapResources(record())).toEqual(expected);
  });

  it('produces a MedicationAdministration and Medication with no UK Core validation errors', async () => {
    expect(validationErrors(await mapResources(record()))).toEqual([]);
  });

  it('records a refused dose as not-done with the SNOMED CT reason, and it still validates', async () => {
    const resources = await mapResources(record({ outcome: 'refused', reason: 'declined' }));
    const mapped = resources[0] as MedicationAdministration;
    expect(mapped.status).toBe('not-done');
    expect(mapped.statusReason).toEqual([{ coding: [{ system: 'http://snomed.info/sct', code: '182895007', display: 'Drug declined by patient' }] }]);
    expect(validationErrors(resources)).toEqual([]);
  });

  it('keeps an omitted dose with a reason in the provider words as text', async () => {
    const mapped = await administration({ outcome: 'omitted', reason: 'other', reasonText: 'Resident at the dentist at 08:00' });
    expect(mapped.statusReason).toEqual([{ text: 'Resident at the dentist at 08:00' }]);
  });

  it('sends a dose in milligrams as a UCUM quantity', async () => {
    const mapped = await administration({ dose: { value: 500, unit: 'mg' } });
    expect(mapped.dosage?.dose).toEqual({ value: 500, unit: 'milligram', system: 'http://unitsofmeasure.org', code: 'mg' });
  });

  it('names a witness for a controlled drug as a second performer', async () => {
    const mapped = await administration({ witnessedByStaffRecordId: 'STF-0007' });
    expect(mapped.performer?.map((p) => p.function?.coding?.[0].code)).toEqual(['performer', 'witness']);
  });

  it('refuses a dose not given without a reason, naming the field', () => {
    expect(schemaErrors({ outcome: 'omitted' })).toContain('data.reason');
  });

  it('refuses a reason on a dose that was given, naming the field', () => {
    expect(schemaErrors({ reason: 'asleep' })).toContain('data.reason');
  });

  it('accepts the documented example in mappings/medication-administration/example.json', () => {
    expect(schemaChecker.check(exampleRecord('medication-administration'), '')).toEqual([]);
  });
});
