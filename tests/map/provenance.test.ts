import type { Patient } from 'fhir/r4';
import resident from '../fixtures/records/resident.json';
import { provenanceOf, withProvenance } from '../../src/map/provenance';
import type { ProviderRecord } from '../../src/map/map-record';
import { transactionBundle } from '../../src/map/transaction';
import { loadValidator } from '../../src/validate';

const record = (version = 1): ProviderRecord => ({ ...JSON.parse(JSON.stringify(resident)), nhsNumber: '9434765919', version });
const patient: Patient = { resourceType: 'Patient', identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9434765919' }] };
const bundle = transactionBundle([patient], 'VNX12/resident/RES-0001');

describe('submission Provenance', () => {
  it('targets every entry, names the care provider and the source system, and is valid UK Core', () => {
    const provenance = provenanceOf(record(), bundle, new Date('2026-11-24T10:00:00Z'));
    expect(provenance.target).toEqual([{ reference: bundle.entry![0].fullUrl }]);
    expect(provenance.agent[0].who.identifier).toEqual({ system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: 'VNX12' });
    expect(provenance.agent[1].who.display).toBe('ExampleCare 4.2');
    expect(provenance.recorded).toBe('2026-11-20T09:30:00Z');
    const errors = loadValidator().validate(provenance).filter((i) => i.severity === 'error');
    expect(errors).toEqual([]);
  });

  it('has one id per record version, so a replay lands on the same Provenance and a new version gets its own', () => {
    const first = provenanceOf(record(1), bundle, new Date());
    expect(provenanceOf(record(1), bundle, new Date()).id).toBe(first.id);
    expect(provenanceOf(record(2), bundle, new Date()).id).not.toBe(first.id);
  });

  it('is PUT by id as the last entry of the transaction', () => {
    const withIt = withProvenance(bundle, record(), new Date());
    const last = withIt.entry!.at(-1)!;
    expect(last.request).toEqual({ method: 'PUT', url: `Provenance/${last.resource!.id}` });
    expect(withIt.entry).toHaveLength(2);
  });

  it('names the care worker who recorded it as author, by their staff record, on behalf of the provider', () => {
    const recorded = { ...record(), recordedByStaffRecordId: 'STF-0031' };
    const provenance = provenanceOf(recorded, bundle, new Date());
    expect(provenance.agent[2]).toEqual({
      type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type', code: 'author', display: 'Author' }] },
      who: { type: 'Practitioner', identifier: { system: 'https://care-record-gateway.dev/fhir/Id/provider-record', value: 'VNX12/staff/STF-0031' } },
      onBehalfOf: { type: 'Organization', identifier: { system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: 'VNX12' } },
    });
    expect(loadValidator().validate(provenance).filter((i) => i.severity === 'error')).toEqual([]);
  });

  it('names no care worker when the record does not say who recorded it', () => {
    expect(provenanceOf(record(), bundle, new Date()).agent.map((a) => a.type?.coding?.[0].code)).toEqual(['custodian', 'assembler']);
  });
});
