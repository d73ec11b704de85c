import type { Observation } from 'fhir/r4';
import input from '../fixtures/records/vital-signs.json';
import expected from '../fixtures/records/vital-signs.expected.json';
import { asIngested, exampleRecord, firstIdentifiers, mapIssues, mapResources, schemaChecker, validationErrors } from './record-type';

const record = () => asIngested(input);
const profiles = (resources: { meta?: { profile?: string[] } }[]) => resources.map((r) => r.meta?.profile?.[0]?.split('/').pop());

describe('vital-signs mapping', () => {
  it('maps a full set of observations to the expected UK Core Observations (golden file)', async () => {
    expect(await mapResources(record())).toEqual(expected);
  });

  it('produces every Observation with no UK Core validation errors', async () => {
    expect(validationErrors(await mapResources(record()))).toEqual([]);
  });

  it('makes one Observation per measurement, each on its UK Core vital-signs profile', async () => {
    expect(profiles(await mapResources(record()))).toEqual([
      'UKCore-Observation-VitalSigns-BloodPressure',
      'UKCore-Observation-VitalSigns-HeartRate',
      'UKCore-Observation-VitalSigns-RespirationRate',
      'UKCore-Observation-VitalSigns-BodyTemperature',
      'UKCore-Observation-VitalSigns-OxygenSaturation',
      'UKCore-Observation-VitalSigns-BodyWeight',
      'UKCore-Observation-VitalSigns-BodyHeight',
      'UKCore-Observation-VitalSigns-BMI',
      'UKCore-Observation-ACVPU',
      'UKCore-Observation-EarlyWarningTotalScore',
    ]);
  });

  it('keys each Observation on the provider record id and the measurement', async () => {
    const ids = firstIdentifiers(await mapResources(record()));
    expect(ids[0]).toBe('VNX12/vital-signs/OBS-20261120-0815-0001/bp');
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('sends only the measurements the provider took, and a NEWS2 score derived from just those (by identifier)', async () => {
    const input = record();
    input.data = { effectiveDateTime: '2026-11-20T08:15:00Z', pulse: 72, news2: { total: 0 } };
    const resources = (await mapResources(input)) as Observation[];
    expect(profiles(resources)).toEqual(['UKCore-Observation-VitalSigns-HeartRate', 'UKCore-Observation-EarlyWarningTotalScore']);
    expect(resources[1].derivedFrom).toEqual([
      {
        type: 'Observation',
        identifier: { system: 'https://care-record-gateway.dev/fhir/Id/provider-record', value: 'VNX12/vital-signs/OBS-20261120-0815-0001/pulse' },
      },
    ]);
    expect(resources[1].component).toBeUndefined();
    expect(validationErrors(resources)).toEqual([]);
  });

  it('codes the NEWS2 SpO2 sub-score by the scale used (scale 2 for hypercapnic respiratory failure)', async () => {
    const input = record();
    (input.data as any).oxygenSaturation.scale = 2;
    const news2 = (await mapResources(input)).at(-1) as Observation;
    expect(news2.component?.map((c) => c.code.coding?.[0].code)).toContain('1104321000000108');
  });

  it('keeps a single NEWS2 sub-score as an array of components', async () => {
    const input = record();
    (input.data as any).news2 = { total: 3, subscores: { consciousness: 3 } };
    const news2 = (await mapResources(input)).at(-1) as Observation;
    expect(news2.component).toHaveLength(1);
  });

  it('refuses a NEWS2 SpO2 sub-score when no SpO2 (and so no scale) was recorded, naming the field', async () => {
    const input = record();
    delete (input.data as any).oxygenSaturation;
    expect(await mapIssues(input)).toEqual([expect.objectContaining({ expression: ['$.data.news2.subscores.oxygenSaturation'] })]);
  });

  it('refuses a time without a time zone at the schema check, naming the field', () => {
    const bad = JSON.parse(JSON.stringify(input));
    bad.data.effectiveDateTime = '2026-11-20T08:15:00';
    expect(schemaChecker.check(bad, '').flatMap((i) => i.expression)).toContain('data.effectiveDateTime');
  });

  it('accepts the documented example in mappings/vital-signs/example.json', () => {
    expect(schemaChecker.check(exampleRecord('vital-signs'), '')).toEqual([]);
  });
});
