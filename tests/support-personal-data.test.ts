import { assertNoPersonalData } from './support/personal-data';

const line = (fields: Record<string, unknown>) => JSON.stringify({ level: 'info', timestamp: '2026-11-24T10:00:00.000Z', ...fields });

describe('the log check every test gateway runs when it stops', () => {
  it('passes operational lines', () => {
    expect(() => assertNoPersonalData([line({ message: 'request', route: '/v1/records', status: 202, ms: 3.1 })])).not.toThrow();
  });

  it.each([
    ['an NHS number', { message: 'lookup 943 476 5919' }],
    ['a birth date', { message: 'born 1936-03-14' }],
    ['a name from the fixtures', { message: 'hello Edith' }],
  ])('catches %s', (_what, fields) => {
    expect(() => assertNoPersonalData([line(fields)])).toThrow(/A log line holds/);
  });
});
