import resident from '../fixtures/records/resident.json';
import expected from '../fixtures/records/resident.expected.json';
import { mapRecord, type ProviderRecord } from '../../src/map/map-record';
import { loadMappings } from '../../src/map/mapping-registry';
import { transactionBundle } from '../../src/map/transaction';

const mapping = loadMappings().types.get('resident')!;
const record = (): ProviderRecord => ({ ...JSON.parse(JSON.stringify(resident)), nhsNumber: '9434765919' });

describe('resident mapping', () => {
  it('maps the sample resident to the expected UK Core Patient and Organization (golden file)', async () => {
    expect(await mapRecord(mapping, record(), '$')).toEqual({ ok: true, resources: expected });
  });

  it('keeps a single given name and a single address line as arrays', async () => {
    const input = record();
    input.data = { ...input.data, name: { given: ['Arthur'], family: 'Sample' }, address: { lines: ['2 Mill Road'], postcode: 'LS2 7EW' } };
    const result = await mapRecord(mapping, input, '$');
    if (!result.ok) throw new Error('mapping failed');
    const patient = result.resources[0] as fhir4.Patient;
    expect(patient.name?.[0].given).toEqual(['Arthur']);
    expect(patient.address?.[0].line).toEqual(['2 Mill Road']);
  });

  it('marks an NHS number the provider has not traced as "present but not traced"', async () => {
    const input = record();
    delete (input.data as Record<string, unknown>).nhsNumberVerified;
    const result = await mapRecord(mapping, input, '$');
    if (!result.ok) throw new Error('mapping failed');
    const patient = result.resources[0] as fhir4.Patient;
    expect(patient.identifier?.[0].extension?.[0].valueCodeableConcept?.coding?.[0].code).toBe('02');
  });

  it('leaves out what the provider did not send rather than writing empty elements', async () => {
    const input = record();
    input.data = { name: { given: ['Arthur'], family: 'Sample' }, birthDate: '1940-07-01', gender: 'male' };
    const result = await mapRecord(mapping, input, '$');
    if (!result.ok) throw new Error('mapping failed');
    expect(Object.keys(result.resources[0]).sort()).toEqual(['birthDate', 'gender', 'identifier', 'meta', 'name', 'resourceType']);
  });

  it('sends each resource as a conditional update on its first identifier', async () => {
    const result = await mapRecord(mapping, record(), '$');
    if (!result.ok) throw new Error('mapping failed');
    const bundle = transactionBundle(result.resources, 'VNX12/resident/RES-0001');
    expect(bundle.type).toBe('transaction');
    expect(bundle.entry?.map((e) => e.request)).toEqual([
      { method: 'PUT', url: 'Patient?identifier=https%3A%2F%2Ffhir.nhs.uk%2FId%2Fnhs-number%7C9434765919' },
      { method: 'PUT', url: 'Organization?identifier=https%3A%2F%2Ffhir.nhs.uk%2FId%2Fods-organization-code%7CVNX12' },
    ]);
    // The same record always gives the same fullUrls, so a replay is recognisably the same submission.
    expect(transactionBundle(result.resources, 'VNX12/resident/RES-0001').entry?.[0].fullUrl).toBe(bundle.entry?.[0].fullUrl);
  });
});
