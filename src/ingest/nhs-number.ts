/**
 * NHS number: ten digits, the tenth a Modulus 11 check digit over the first nine (weights 10..2).
 * A check value of 11 means 0; a check value of 10 means the number was never issued and is invalid.
 * Providers send spaces or dashes ("943 476 5919", "943-476-5919"); we store and send the bare digits.
 */

export type NhsNumberResult = { ok: true; value: string } | { ok: false; reason: string };

export function normaliseNhsNumber(input: string): string {
  return input.replace(/[\s-]/g, '');
}

export function checkNhsNumber(input: unknown): NhsNumberResult {
  if (typeof input !== 'string') return { ok: false, reason: 'NHS number must be a string of 10 digits' };
  const value = normaliseNhsNumber(input);
  if (!/^\d{10}$/.test(value)) return { ok: false, reason: 'NHS number must be 10 digits' };
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += Number(value[i]) * (10 - i);
  const check = 11 - (sum % 11);
  if (check === 10) return { ok: false, reason: 'NHS number is not valid (check value 10 is never issued)' };
  const expected = check === 11 ? 0 : check;
  if (expected !== Number(value[9])) return { ok: false, reason: 'NHS number check digit is wrong' };
  return { ok: true, value };
}
