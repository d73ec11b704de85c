import resident from '../fixtures/records/resident.json';
import expected from '../fixtures/records/resident.expected.json';
import { mapRecord, type ProviderRecord } from '../../src/map/map-record';
import { loadMappings } from '../../src/map/mapping-registry';
import { transactionBundle } from '../../src/map/transaction';
import { schemaChecker, validationErrors } from './record-type';

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
      { method: 'PUT', url: `Flag?identifier=${encodeURIComponent('https://care-record-gateway.dev/fhir/Id/provider-record|VNX12/resident/RES-0001/communication-need/hearing')}` },
      { method: 'PUT', url: `Flag?identifier=${encodeURIComponent('https://care-record-gateway.dev/fhir/Id/provider-record|VNX12/resident/RES-0001/communication-need/sight')}` },
    ]);
    // The same record always gives the same fullUrls, so a replay is recognisably the same submission.
    expect(transactionBundle(result.resources, 'VNX12/resident/RES-0001').entry?.[0].fullUrl).toBe(bundle.entry?.[0].fullUrl);
  });

  it('maps the golden resident, with languages, interpreter and communication needs, with no UK Core validation errors', async () => {
    const result = await mapRecord(mapping, record(), '$');
    if (!result.ok) throw new Error('mapping failed');
    expect(validationErrors(result.resources)).toEqual([]);
  });

  it('codes languages in BCP 47 and marks only the preferred one as preferred', async () => {
    const result = await mapRecord(mapping, record(), '$');
    if (!result.ok) throw new Error('mapping failed');
    const patient = result.resources[0] as fhir4.Patient;
    expect(patient.communication).toEqual([
      { language: { coding: [{ system: 'urn:ietf:bcp:47', code: 'en', display: 'English' }] }, preferred: true },
      { language: { coding: [{ system: 'urn:ietf:bcp:47', code: 'bfi', display: 'British Sign Language' }] } },
    ]);
  });

  it('refuses a language code the language table does not hold, naming the field', async () => {
    const input = record();
    input.data = { ...input.data, languages: [{ code: 'en' }, { code: 'xx' }] };
    const result = await mapRecord(mapping, input, 'records[2]');
    expect(result).toEqual({ ok: false, issues: [expect.objectContaining({ code: 'code-invalid', expression: ['records[2].data.languages[1].code'] })] });
  });

  it('records that an interpreter is needed with the patient-interpreterRequired extension UK Core allows', async () => {
    const input = record();
    input.data = { ...input.data, interpreterRequired: true, languages: [{ code: 'pl', preferred: true }] };
    const result = await mapRecord(mapping, input, '$');
    if (!result.ok) throw new Error('mapping failed');
    const patient = result.resources[0] as fhir4.Patient;
    expect(patient.extension).toEqual([{ url: 'http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired', valueBoolean: true }]);
    expect(validationErrors(result.resources)).toEqual([]);
  });

  it('makes each communication need a Flag about the resident, keyed on the need, in the provider\'s words when given', async () => {
    const input = record();
    input.data = { ...input.data, communicationNeeds: { 'learning-disability': {}, other: { text: 'Uses a picture board to choose meals' } } };
    const result = await mapRecord(mapping, input, '$');
    if (!result.ok) throw new Error('mapping failed');
    const flags = result.resources.filter((r): r is fhir4.Flag => r.resourceType === 'Flag');
    expect(flags.map((f) => [f.identifier?.[0].value, f.code.coding?.[0]?.code, f.code.text])).toEqual([
      ['VNX12/resident/RES-0001/communication-need/learning-disability', '110359009', 'Intellectual disability'],
      ['VNX12/resident/RES-0001/communication-need/other', undefined, 'Uses a picture board to choose meals'],
    ]);
    expect(flags[0].subject).toEqual({ reference: 'Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|9434765919' });
    expect(validationErrors(flags)).toEqual([]);
  });

  it('refuses an "other" communication need without its text, naming the field', () => {
    const input = JSON.parse(JSON.stringify(resident)) as { data: Record<string, unknown> };
    input.data.communicationNeeds = { other: {} };
    expect(schemaChecker.check(input, '')).toEqual(expect.arrayContaining([expect.objectContaining({ code: 'required', expression: ['data.communicationNeeds.other.text'] })]));
  });

  it('points the Flags at the Patient of the same transaction by its fullUrl, which a server resolves before any search', async () => {
    const result = await mapRecord(mapping, record(), '$');
    if (!result.ok) throw new Error('mapping failed');
    const bundle = transactionBundle(result.resources, 'VNX12/resident/RES-0001');
    const patientFullUrl = bundle.entry?.[0].fullUrl;
    expect(bundle.entry?.slice(2).map((e) => (e.resource as fhir4.Flag).subject)).toEqual([{ reference: patientFullUrl }, { reference: patientFullUrl }]);
    // The mapped resources themselves are left as they were.
    expect((result.resources[2] as fhir4.Flag).subject).toEqual({ reference: 'Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|9434765919' });
  });
});
