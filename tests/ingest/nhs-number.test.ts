import { checkNhsNumber } from '../../src/ingest/nhs-number';

describe('NHS number check', () => {
  it('accepts a number whose Modulus 11 check digit is right', () => {
    expect(checkNhsNumber('9434765919')).toEqual({ ok: true, value: '9434765919' });
  });

  it('normalises spaces and dashes to the bare ten digits', () => {
    expect(checkNhsNumber('943 476 5919')).toEqual({ ok: true, value: '9434765919' });
    expect(checkNhsNumber('943-476-5919')).toEqual({ ok: true, value: '9434765919' });
  });

  it('accepts a check value of 11 as a check digit of 0', () => {
    const nine = '400000002';
    const sum = [...nine].reduce((s, d, i) => s + Number(d) * (10 - i), 0);
    expect(11 - (sum % 11)).toBe(11);
    expect(checkNhsNumber(`${nine}0`)).toEqual({ ok: true, value: `${nine}0` });
  });

  it('rejects a number whose check digit is wrong', () => {
    expect(checkNhsNumber('9434765918')).toEqual({ ok: false, reason: 'NHS number check digit is wrong' });
  });

  it('rejects a number whose check value is 10, which is never issued', () => {
    const result = checkNhsNumber('1234567890');
    expect(result.ok).toBe(false);
  });

  it.each([['943476591'], ['94347659190'], ['94347A5919'], [''], ['9434 765 919x']])('rejects %p, which is not ten digits', (input) => {
    expect(checkNhsNumber(input)).toEqual({ ok: false, reason: 'NHS number must be 10 digits' });
  });

  it('rejects a value that is not a string', () => {
    expect(checkNhsNumber(9434765919).ok).toBe(false);
  });
});
