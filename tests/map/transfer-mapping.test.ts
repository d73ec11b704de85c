import type { Encounter, EpisodeOfCare } from 'fhir/r4';
import input from '../fixtures/records/transfer.json';
import expected from '../fixtures/records/transfer.expected.json';
import { asIngested, exampleRecord, firstIdentifiers, mapResources, schemaChecker, validationErrors } from './record-type';

const record = () => asIngested(input);
/** The resident's stay in the care home itself, which the hospital stay in the fixture interrupts. */
const careHomeStay = (discharge?: Record<string, unknown>) => {
  const r = record();
  r.recordId = 'STAY-CH-2024-0007';
  r.data = { setting: 'care-home', stayType: 'permanent', admission: { dateTime: '2024-03-04T11:00:00Z', from: 'own-home' }, ...(discharge && { discharge }) };
  return r;
};

describe('transfer mapping', () => {
  it('maps a hospital stay to the expected UKCore-Encounter (golden file)', async () => {
    expect(await mapResources(record())).toEqual(expected);
  });

  it('produces an Encounter with no UK Core validation errors', async () => {
    expect(validationErrors(await mapResources(record()))).toEqual([]);
  });

  it('maps a stay in the care home to an Encounter in a UKCore-EpisodeOfCare, both valid', async () => {
    const resources = await mapResources(careHomeStay());
    expect(resources.map((r) => r.resourceType)).toEqual(['Encounter', 'EpisodeOfCare']);
    expect(firstIdentifiers(resources)).toEqual(['VNX12/transfer/STAY-CH-2024-0007', 'VNX12/transfer/STAY-CH-2024-0007/episode']);
    expect((resources[0] as Encounter).episodeOfCare?.[0].identifier?.value).toBe('VNX12/transfer/STAY-CH-2024-0007/episode');
    expect(validationErrors(resources)).toEqual([]);
  });

  it('links the hospital stay to the care home stay it interrupts', async () => {
    const encounter = (await mapResources(record()))[0] as Encounter;
    const episode = (await mapResources(careHomeStay()))[1] as EpisodeOfCare;
    expect(encounter.episodeOfCare?.[0].identifier).toEqual(episode.identifier?.[0]);
  });

  it('finishes the Encounter and the EpisodeOfCare when a later version records the discharge', async () => {
    const [encounter, episode] = (await mapResources(careHomeStay({ dateTime: '2026-11-20T15:00:00Z', to: 'died' }))) as [Encounter, EpisodeOfCare];
    expect([encounter.status, episode.status]).toEqual(['finished', 'finished']);
    expect(encounter.hospitalization?.dischargeDisposition?.coding?.[0].code).toBe('79');
  });

  it('refuses a hospital stay that does not name the hospital, naming the field', () => {
    const bad = JSON.parse(JSON.stringify(input));
    delete bad.data.hospital;
    expect(schemaChecker.check(bad, '').flatMap((i) => i.expression)).toContain('data.hospital');
  });

  it('accepts the documented example in mappings/transfer/example.json', () => {
    expect(schemaChecker.check(exampleRecord('transfer'), '')).toEqual([]);
  });
});
