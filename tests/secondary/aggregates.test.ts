/** Small-number suppression, ISO weeks and what the aggregates count, on their own. */
import type { Resource } from 'fhir/r4';
import { suppress, suppressed, toCsv } from '../../src/secondary/aggregates';
import { factOf, isoWeek } from '../../src/secondary/facts';

describe('small-number suppression', () => {
  it.each([
    [0, 0],
    [1, '<8'],
    [7, '<8'],
    [8, 8],
    [1234, 1234],
  ])('shows %d as %p', (n, shown) => {
    expect(suppress(n)).toBe(shown);
  });

  it('suppresses every count of a row, and writes it as CSV', () => {
    const cells = suppressed([{ provider: 'VNX12', week: '2026-W45', residents: 5, vitalSigns: 40, news2High: 0, hospitalTransfers: 1 }]);
    expect(cells).toEqual([{ provider: 'VNX12', week: '2026-W45', residents: '<8', vitalSignObservations: 40, news2High: 0, hospitalTransfers: '<8' }]);
    expect(toCsv(cells)).toBe('provider,week,residents,vital_sign_observations,news2_high,hospital_transfers\r\nVNX12,2026-W45,<8,40,0,<8\r\n');
  });
});

describe('ISO weeks', () => {
  it.each([
    ['2026-11-03T21:40:00Z', '2026-W45'],
    ['2026-01-01', '2026-W01'],
    ['2027-01-01', '2026-W53'],
    ['2024-12-30', '2025-W01'],
    ['2026-11', undefined],
  ])('puts %s in %s', (date, week) => {
    expect(isoWeek(date)).toBe(week);
  });
});

describe('what the aggregates count', () => {
  const news2 = (value: number) => ({
    resourceType: 'Observation',
    code: { coding: [{ system: 'http://snomed.info/sct', code: '1104051000000101' }] },
    valueQuantity: { value },
  }) as Resource;

  it('counts a NEWS2 total of 5 or more, and not of 4', () => {
    expect(factOf(news2(5), 'vital-signs')).toBe('news2-high');
    expect(factOf(news2(4), 'vital-signs')).toBeUndefined();
  });

  it('counts a vital-sign observation by its category', () => {
    const pulse = { resourceType: 'Observation', category: [{ coding: [{ code: 'vital-signs' }] }] } as Resource;
    expect(factOf(pulse, 'vital-signs')).toBe('vital-sign');
  });

  it('counts a hospital stay from a transfer record, and not a care home stay', () => {
    const stay = (code: string) => ({ resourceType: 'Encounter', class: { code } }) as Resource;
    expect(factOf(stay('IMP'), 'transfer')).toBe('hospital-transfer');
    expect(factOf(stay('NONAC'), 'transfer')).toBeUndefined();
  });
});
