import type { Location, Organization } from 'fhir/r4';
import input from '../fixtures/records/care-location.json';
import expected from '../fixtures/records/care-location.expected.json';
import jsonata from 'jsonata';
import { fastMapping } from '../../src/map/fast-mapping';
import { mapRecord } from '../../src/map/map-record';
import { asIngested, exampleRecord, mapResources, registry, schemaChecker, validationErrors } from './record-type';

const record = (data: Record<string, unknown> = {}) => {
  const r = asIngested(input);
  r.data = { ...r.data, ...data };
  return r;
};
const location = async (data: Record<string, unknown>) => (await mapResources(record(data)))[1] as Location;

describe('care-location mapping', () => {
  it('maps a care home without nursing to the expected UKCore-Organization and UKCore-Location (golden file)', async () => {
    expect(await mapResources(record())).toEqual(expected);
  });

  it('produces the Organization and Location with no UK Core validation errors', async () => {
    expect(validationErrors(await mapResources(record()))).toEqual([]);
  });

  it('keys the provider on its ODS code and names it as the Location\'s managing organisation', async () => {
    const [organization, place] = (await mapResources(record())) as [Organization, Location];
    expect(organization.identifier?.[0]).toEqual({ system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: 'VNX12' });
    expect(place.managingOrganization).toEqual({ type: 'Organization', identifier: organization.identifier?.[0] });
  });

  it('puts the ODS site code in the UK Core odsSiteCode slice and the CQC location id beside it', async () => {
    const mapped = await location({ odsSiteCode: 'VNX1201' });
    expect(mapped.identifier?.slice(1)).toEqual([
      { system: 'https://fhir.nhs.uk/Id/ods-site-code', value: 'VNX1201' },
      { system: 'https://fhir.cqc.org.uk/Id/location', value: '1-123456789' },
    ]);
    expect(validationErrors([mapped])).toEqual([]);
  });

  it('codes a care home with nursing as UK Core location type G02', async () => {
    expect((await location({ serviceType: 'care-home-with-nursing' })).type?.[0].coding?.[0].code).toBe('G02');
  });

  it('keeps domiciliary care as text, as no UK Core or HL7 location type fits an agency', async () => {
    const mapped = await location({ serviceType: 'domiciliary-care' });
    expect(mapped.type).toEqual([{ text: 'Domiciliary care agency (care given in people\'s own homes)' }]);
    expect(validationErrors([mapped])).toEqual([]);
  });

  it('leaves out identifiers, address and telecom the provider did not send', async () => {
    const r = record();
    r.data = { name: 'Oak House', status: 'active', serviceType: 'care-home-without-nursing' };
    const [organization, place] = (await mapResources(r)) as [Organization, Location];
    expect(organization.identifier).toHaveLength(1);
    expect(place.identifier).toHaveLength(1);
    expect(Object.keys(place).sort()).toEqual(['identifier', 'managingOrganization', 'meta', 'mode', 'name', 'resourceType', 'status', 'type']);
    expect(validationErrors([organization, place])).toEqual([]);
  });

  it('needs no NHS number: the schema check passes a care-location record without one', () => {
    expect(schemaChecker.check(exampleRecord('care-location'), '')).toEqual([]);
    expect((exampleRecord('care-location') as Record<string, unknown>).nhsNumber).toBeUndefined();
  });

  it('refuses a CQC location id that is not in CQC\'s form, naming the field', () => {
    const bad = JSON.parse(JSON.stringify(input)) as { data: Record<string, unknown> };
    bad.data.cqcLocationId = '123456789';
    expect(schemaChecker.check(bad, '')).toEqual([expect.objectContaining({ expression: ['data.cqcLocationId'] })]);
  });

  it('refuses, naming nhsNumber, a mapping of a record about no one that asks for the person', async () => {
    const expression = jsonata('[{ "resourceType": "Flag", "subject": $patientReference() }]');
    const mapping = { ...registry.types.get('care-location')!, expression, run: fastMapping(expression) };
    const result = await mapRecord(mapping, record(), 'records[0]');
    expect(result).toEqual({ ok: false, issues: [expect.objectContaining({ expression: ['records[0].nhsNumber'] })] });
  });
});
