import type { Observation } from 'fhir/r4';
import input from '../fixtures/records/about-me.json';
import expected from '../fixtures/records/about-me.expected.json';
import { asIngested, firstIdentifiers, mapIssues, mapResources, schemaChecker, validationErrors } from './record-type';

const record = (data: Record<string, unknown> = {}) => {
  const r = asIngested(input);
  r.data = { ...r.data, ...data };
  return r;
};
const observations = async (data: Record<string, unknown> = {}) => (await mapResources(record(data))) as Observation[];

describe('about-me mapping', () => {
  it('maps About me, a risk, a withdrawn wish, a preference and a strength to the expected UKCore-Observations (golden file)', async () => {
    expect(await mapResources(record())).toEqual(expected);
  });

  it('produces Observations with no UK Core validation errors', async () => {
    expect(validationErrors(await mapResources(record()))).toEqual([]);
  });

  it('keys each Observation on its kind and item id, so a new version updates the same one', async () => {
    expect(firstIdentifiers(await observations())).toEqual([
      'VNX12/about-me/ABM-0001/about-me',
      'VNX12/about-me/ABM-0001/risk/R1',
      'VNX12/about-me/ABM-0001/wish/W1',
      'VNX12/about-me/ABM-0001/preference/P1',
      'VNX12/about-me/ABM-0001/strength/S1',
    ]);
  });

  it('keeps the person\'s words as valueString and how a risk is managed as a note', async () => {
    const risk = (await observations())[1];
    expect(risk.valueString).toBe('Falls when getting up at night to use the toilet');
    expect(risk.note).toEqual([{ text: 'Sensor mat by the bed; night staff check at 02:00; commode within reach' }]);
  });

  it('dates an item by its own recordedAt, else the record\'s', async () => {
    const mapped = await observations();
    expect(mapped.map((o) => o.effectiveDateTime)).toEqual([
      '2026-11-18T14:00:00Z', '2026-11-18T14:00:00Z', '2026-11-18T14:00:00Z', '2026-11-18T14:00:00Z', '2026-10-02T10:30:00Z',
    ]);
  });

  it('maps items alone, without an About me summary', async () => {
    const r = record();
    delete (r.data as Record<string, unknown>).aboutMe;
    const mapped = (await mapResources(r)) as Observation[];
    expect(mapped.map((o) => o.code.coding?.[0].code)).toEqual(['risk', 'wish', 'preference', 'strength']);
  });

  it('refuses the same kind and item id twice, as two Observations would share one key', async () => {
    const items = [{ itemId: 'P1', kind: 'preference', text: 'Tea' }, { itemId: 'P1', kind: 'preference', text: 'Coffee' }];
    expect(await mapIssues(record({ items }))).toEqual([expect.objectContaining({ code: 'processing' })]);
  });

  it('refuses a record with neither About me nor items', () => {
    const bad = JSON.parse(JSON.stringify(input)) as { data: Record<string, unknown> };
    bad.data = { recordedAt: '2026-11-18T14:00:00Z' };
    expect(schemaChecker.check(bad, '').length).toBeGreaterThan(0);
  });

  it('refuses an item kind it does not know, naming the field', () => {
    const bad = JSON.parse(JSON.stringify(input)) as { data: { items: Record<string, unknown>[] } };
    bad.data.items[2].kind = 'hobby';
    expect(schemaChecker.check(bad, '')).toEqual([expect.objectContaining({ code: 'code-invalid', expression: ['data.items[2].kind'] })]);
  });
});
