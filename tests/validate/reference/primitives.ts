/** JSON type and lexical checks for the FHIR R4 primitive types (regexes from the R4 specification). */
const YEAR = '([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)';
const MONTH = '(0[1-9]|1[0-2])';
const DAY = '(0[1-9]|[1-2][0-9]|3[0-1])';
const TIME = '([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\\.[0-9]+)?';
const ZONE = '(Z|(\\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))';

const STRING_PATTERNS: Record<string, RegExp> = {
  string: /^[ \r\n\t\S]+$/,
  markdown: /^[ \r\n\t\S]+$/,
  code: /^[^\s]+( [^\s]+)*$/,
  id: /^[A-Za-z0-9\-.]{1,64}$/,
  uri: /^\S+$/,
  url: /^\S+$/,
  canonical: /^\S+$/,
  oid: /^urn:oid:[0-2](\.(0|[1-9][0-9]*))+$/,
  uuid: /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
  base64Binary: /^(\s*([0-9a-zA-Z+/=]){4}\s*)+$/,
  date: new RegExp(`^${YEAR}(-${MONTH}(-${DAY})?)?$`),
  dateTime: new RegExp(`^${YEAR}(-${MONTH}(-${DAY}(T${TIME}${ZONE})?)?)?$`),
  instant: new RegExp(`^${YEAR}-${MONTH}-${DAY}T${TIME}${ZONE}$`),
  time: new RegExp(`^${TIME}$`),
  xhtml: /^\s*(<!--[\s\S]*?-->\s*)*<div[\s>][\s\S]*<\/div>\s*$/,
  'http://hl7.org/fhirpath/System.String': /^[\s\S]+$/,
};

const INTEGER_RANGES: Record<string, [number, number]> = {
  integer: [-2147483648, 2147483647],
  positiveInt: [1, 2147483647],
  unsignedInt: [0, 2147483647],
};

export const PRIMITIVE_TYPES = new Set([...Object.keys(STRING_PATTERNS), ...Object.keys(INTEGER_RANGES), 'boolean', 'decimal']);

export function isPrimitiveType(code: string): boolean {
  return PRIMITIVE_TYPES.has(code);
}

function validCalendarDate(text: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})/.exec(text);
  if (!match) return true;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  return day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Whether YYYY-MM-DD... has a day above 28: only then can the date be past its month's end. */
function mayOverrunMonth(text: string): boolean {
  return text.length >= 10 && (text.charCodeAt(8) - 48) * 10 + (text.charCodeAt(9) - 48) > 28;
}

/** Returns why a value is not a valid primitive of type `code`, or undefined when it is. */
export type PrimitiveCheck = (value: unknown) => string | undefined;

/** The check of one primitive type, its pattern and range chosen once rather than at every value. */
export function primitiveCheck(code: string): PrimitiveCheck {
  const pattern = STRING_PATTERNS[code];
  if (pattern) {
    const calendar = code === 'date' || code === 'dateTime' || code === 'instant';
    return (value) => {
      if (typeof value !== 'string') return `must be a JSON string (${code}), found ${typeof value}`;
      if (!pattern.test(value)) return `'${value.length > 60 ? value.slice(0, 57) + '...' : value}' is not a valid ${code}`;
      if (calendar && mayOverrunMonth(value) && !validCalendarDate(value)) return `'${value}' is not a valid calendar date`;
      return undefined;
    };
  }
  const range = INTEGER_RANGES[code];
  if (range) {
    return (value) => {
      if (typeof value !== 'number' || !Number.isInteger(value)) return `must be a JSON integer (${code})`;
      if (value < range[0] || value > range[1]) return `${value} is out of range for ${code}`;
      return undefined;
    };
  }
  if (code === 'boolean') return (value) => (typeof value === 'boolean' ? undefined : 'must be a JSON boolean');
  if (code === 'decimal') return (value) => (typeof value === 'number' && Number.isFinite(value) ? undefined : 'must be a JSON number');
  return () => undefined;
}
