import { primitiveCheck } from '../../src/validate/primitives';

describe('primitive values', () => {
  const date = primitiveCheck('date');
  const dateTime = primitiveCheck('dateTime');
  const instant = primitiveCheck('instant');

  it('accepts the last day of each month and 29 February in a leap year', () => {
    for (const day of ['2026-01-31', '2026-02-28', '2024-02-29', '2000-02-29', '2026-04-30', '2026-12-31', '0004-02-29']) {
      expect(date(day)).toBeUndefined();
    }
    expect(dateTime('2024-02-29T23:59:59Z')).toBeUndefined();
  });

  it('refuses a day past the end of its month in a date, a dateTime and an instant', () => {
    expect(date('2026-02-29')).toBe("'2026-02-29' is not a valid calendar date");
    expect(date('1900-02-29')).toBe("'1900-02-29' is not a valid calendar date");
    expect(dateTime('2026-04-31T08:00:00Z')).toBe("'2026-04-31T08:00:00Z' is not a valid calendar date");
    expect(instant('2026-06-31T08:00:00.000+01:00')).toBe("'2026-06-31T08:00:00.000+01:00' is not a valid calendar date");
  });

  it('says which JSON type a primitive needs, and which value breaks its pattern or range', () => {
    expect(date(20260101)).toBe('must be a JSON string (date), found number');
    expect(date('2026-13-01')).toBe("'2026-13-01' is not a valid date");
    expect(primitiveCheck('positiveInt')(0)).toBe('0 is out of range for positiveInt');
    expect(primitiveCheck('boolean')('true')).toBe('must be a JSON boolean');
    expect(primitiveCheck('decimal')(1.5)).toBeUndefined();
  });
});
