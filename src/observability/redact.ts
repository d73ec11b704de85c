/**
 * Masks personal data before anything is written to a log. Applied by the logger itself, so no call site
 * can forget it: keys that name personal data are masked whatever their value, and any string that holds
 * something shaped like an NHS number is masked wherever it appears.
 */

/** Keys whose values are personal data or secrets (compared case-insensitively, ignoring _ and -). */
const SENSITIVE_KEYS = new Set(
  [
    'nhsNumber', 'name', 'names', 'family', 'given', 'prefix', 'suffix', 'firstName', 'lastName', 'surname',
    'birthDate', 'dateOfBirth', 'dob', 'address', 'line', 'postcode', 'postalCode', 'telecom', 'phone',
    'email', 'text', 'value', 'identifier', 'nextOfKin', 'authorization', 'cookie', 'password', 'token',
    'body', 'resource', 'record', 'records', 'contact',
  ].map(normaliseKey),
);

/** Ten digits, optionally grouped 3-3-4 by spaces or dashes: the shape of an NHS number. */
const NHS_NUMBER_SHAPE = /(?<!\d)\d{3}[ -]?\d{3}[ -]?\d{4}(?!\d)/g;
/** Calendar dates (yyyy-mm-dd, dd/mm/yyyy) could be birth dates; log timestamps are added after redaction. */
const DATE_SHAPE = /(?<!\d)(\d{4}-\d{2}-\d{2}|\d{2}\/\d{2}\/\d{4})(?!\d)/g;

export const MASK = '***';

function normaliseKey(key: string): string {
  return key.toLowerCase().replace(/[_-]/g, '');
}

export function redactString(value: string): string {
  return value.replace(NHS_NUMBER_SHAPE, MASK).replace(DATE_SHAPE, MASK);
}

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8) return MASK;
  if (typeof value === 'string') return redactString(value);
  // As digits, as logform's JSON did: JSON.stringify refuses a BigInt.
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value instanceof Error) return { name: value.name, message: redactString(value.message) };
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) {
      out[key] = SENSITIVE_KEYS.has(normaliseKey(key)) ? MASK : redact(v, depth + 1);
    }
    return out;
  }
  return value;
}
