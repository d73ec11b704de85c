/**
 * Invariants of the form `A or B or ...` hold whenever one disjunct holds, and some disjuncts can be seen to
 * hold from the element alone, without FHIRPath (FHIRPath's `true or x` is true whatever x is):
 *
 *   x.exists()                                       x (not a choice) is there as an object, or an array holding one
 *   x.empty(), x.hasValue().not()                    x is absent
 *   x(.y)*.where(...).empty(), ....exists().not()    x is absent (every step after an empty one is empty)
 *   x(.y)*.where(a = 'A' and b = 'B').empty()        every item there is an object whose a or b is another string
 *   (x != 'A')                                       x is there as one string other than 'A'
 *   (x <= y)                                         x, y dates of one precision or dateTimes to the second in one zone, x <= y
 *   (x.count() + y.count()) > 0                      as x.exists() or y.exists()
 *
 * So FHIRPath runs only when no disjunct settles it (per-1 with an end, ppc-1 without a patient, ...).
 * This can only skip an evaluation that would have found the invariant true; never reject.
 */
import r4 from 'fhirpath/fhir-context/r4';
import { isObject } from './context';

/** Names of choice elements (value[x], rate[x], ...): FHIRPath finds `rate` only as rateQuantity etc., never as `rate`. */
const CHOICE_NAMES = new Set(Object.keys(r4.choiceTypePaths as Record<string, string[]>).map((p) => p.slice(p.lastIndexOf('.') + 1)));

export type SurelyTrue = (value: unknown) => boolean;

/** The index just past the `)` matching the `(` at `open`, skipping string literals; -1 if unbalanced. */
function closing(expression: string, open: number): number {
  let depth = 0;
  for (let i = open; i < expression.length; i++) {
    const c = expression[i];
    if (c === "'") {
      i++;
      while (i < expression.length && expression[i] !== "'") i += expression[i] === '\\' ? 2 : 1;
    } else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i + 1;
  }
  return -1;
}

/** The top-level `or` operands, or undefined if there is a top-level `xor` or `implies` (or unbalanced text). */
function disjuncts(expression: string): string[] | undefined {
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i < expression.length; i++) {
    const c = expression[i];
    if (c === '(') {
      const end = closing(expression, i);
      if (end < 0) return undefined;
      i = end - 1;
    } else if (c === "'") {
      i++;
      while (i < expression.length && expression[i] !== "'") i += expression[i] === '\\' ? 2 : 1;
    } else if (/\s/.test(c)) {
      const word = /^\s+(or|xor|implies)\s/.exec(expression.slice(i));
      if (!word) continue;
      if (word[1] !== 'or') return undefined;
      parts.push(expression.slice(start, i).trim());
      start = i + word[0].length;
      i = start - 1;
    }
  }
  parts.push(expression.slice(start).trim());
  return parts;
}

/** Whether FHIRPath finds nothing at `name` (its `_name` and choice forms such as valueQuantity included). */
export function absent(value: unknown, name: string): boolean {
  if (!isObject(value)) return false;
  for (const key in value) {
    // `_name` compared in place: '_' + name would build a string for every key of every call.
    if (key === name || (key.length === name.length + 1 && key.charCodeAt(0) === 95 && key.startsWith(name, 1))) return false;
    // a choice element (value[x]) is named by its prefix in FHIRPath
    if (key.startsWith(name) && key.length > name.length && key.charCodeAt(name.length) < 91) return false;
  }
  return true;
}

function presentAsObject(value: unknown, name: string): boolean {
  if (!isObject(value)) return false;
  const child = value[name];
  return isObject(child) || (Array.isArray(child) && child.some(isObject));
}

const model = r4 as { path2Type: Record<string, string>; type2Parent: Record<string, string>; choiceTypePaths: Record<string, string[]> };

/**
 * Whether FHIRPath may take `name` under an element at `base` for a choice (found only as nameQuantity and the
 * like). By the model when it knows the element's type (Period.start is no choice, Goal.start is); otherwise
 * whenever some element of that name is one.
 */
function maybeChoice(base: string | undefined, name: string): boolean {
  if (!CHOICE_NAMES.has(name)) return false;
  const type = base === undefined ? undefined : (model.path2Type[base] ?? (model.type2Parent[base] ? base : undefined));
  if (base === undefined || type === undefined) return true;
  const owner = type === 'BackboneElement' || type === 'Element' ? base : type;
  return model.choiceTypePaths[`${owner}.${name}`] !== undefined;
}

/** `x.exists()` settled: x (not a choice) is there as an object, or an array holding one. */
function existsTest(name: string, base: string | undefined): SurelyTrue | undefined {
  return maybeChoice(base, name) ? undefined : (value) => presentAsObject(value, name);
}

/** The text inside one pair of brackets around all of it, or the text itself. */
function unbracketed(text: string): string {
  return text.startsWith('(') && closing(text, 0) === text.length ? text.slice(1, -1).trim() : text;
}

/**
 * The objects FHIRPath finds at `steps` under `value`, or undefined when anything on the way is not plainly an
 * object or an array of objects (a primitive, a null, a `_x` companion, a choice): then nothing is settled.
 */
function objectsAt(value: unknown, steps: readonly string[]): object[] | undefined {
  let current: unknown[] = [value];
  for (const step of steps) {
    if (CHOICE_NAMES.has(step)) return undefined;
    const next: object[] = [];
    for (const item of current) {
      if (!isObject(item) || item['_' + step] !== undefined) return undefined;
      const child = item[step];
      if (child === undefined) continue;
      if (isObject(child)) next.push(child);
      else if (Array.isArray(child) && child.every(isObject)) next.push(...(child as object[]));
      else return undefined;
    }
    current = next;
  }
  return current as object[];
}

/** Whether `item` holds `name` as a string, and no nameX key FHIRPath could take for it were `name` a choice. */
function onlyString(item: Record<string, unknown>, name: string): boolean {
  if (typeof item[name] !== 'string') return false;
  for (const key in item) if (key.length > name.length && key.startsWith(name) && key.charCodeAt(name.length) < 91) return false;
  return true;
}

/**
 * `a = 'A' and b = 'B' ...` (inside a where()): a test that an item surely fails it, because one of the named
 * elements is there as a string other than its literal (`false and x` is false; where() keeps only true).
 */
function surelyFails(criteria: string): ((item: Record<string, unknown>) => boolean) | undefined {
  const terms = criteria.split(' and ').map((t) => /^([a-z][A-Za-z0-9]*) ?= ?'([^'\\]*)'$/.exec(t.trim()));
  if (!terms.length || terms.some((t) => !t)) return undefined;
  const pairs = (terms as RegExpExecArray[]).map(([, name, literal]) => [name, literal]);
  return (item) => pairs.some(([name, literal]) => onlyString(item, name) && item[name] !== literal);
}

/** `x.where(...).empty()`: x absent, or (for simple criteria) every item found fails them. */
function whereTest(text: string): SurelyTrue | undefined {
  const where = /^([a-z][A-Za-z0-9]*(?:\.[a-z][A-Za-z0-9]*)*)\.where\(/.exec(text);
  if (!where) return undefined;
  const end = closing(text, where[0].length - 1);
  const rest = end < 0 ? '' : text.slice(end);
  if (rest !== '.empty()' && rest !== '.exists().not()') return undefined;
  const steps = where[1].split('.');
  const fails = surelyFails(text.slice(where[0].length, end - 1));
  if (!fails) return (value) => absent(value, steps[0]);
  return (value) => absent(value, steps[0]) || objectsAt(value, steps)?.every((item) => fails(item as Record<string, unknown>)) === true;
}

const DATE = /^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$/;
/** A dateTime to the second, with its zone apart: fhirpath.js does not order two in different zones as instants. */
const SECONDS = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](Z|[+-](0[0-9]|1[0-3]):[0-5][0-9])$/;

/** Whether a date's month and day (where given) exist: 2025-02-29 does not. */
function realDate(text: string): boolean {
  const [year, month = 1, day = 1] = text.slice(0, 10).split('-').map(Number);
  const date = new Date(Date.UTC(year, month - 1, day));
  return year >= 1 && date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/**
 * Whether `a <= b` is surely true in FHIRPath: two dates of the same precision, or two dateTimes to the second
 * in the same zone; then the text orders them.
 */
function noLater(a: unknown, b: unknown): boolean {
  if (typeof a !== 'string' || typeof b !== 'string' || a.length !== b.length || a > b || !realDate(a) || !realDate(b)) return false;
  if (DATE.test(a)) return DATE.test(b);
  const [zoneA, zoneB] = [SECONDS.exec(a)?.[2], SECONDS.exec(b)?.[2]];
  return zoneA !== undefined && zoneA === zoneB;
}

/** What makes one disjunct surely true, if its form is one of those above. */
function disjunctTest(text: string, base: string | undefined): SurelyTrue | undefined {
  const simple = /^([a-z][A-Za-z0-9]*)\.(exists\(\)|empty\(\)|hasValue\(\)\.not\(\))$/.exec(text);
  if (simple) {
    const [, name, test] = simple;
    return test === 'exists()' ? existsTest(name, base) : (value) => absent(value, name);
  }
  const inner = unbracketed(text);
  const notEqual = /^([a-z][A-Za-z0-9]*) != '([^'\\]*)'$/.exec(inner);
  if (notEqual) {
    const [, name, literal] = notEqual;
    if (maybeChoice(base, name)) return undefined;
    return (value) => isObject(value) && typeof value[name] === 'string' && value[name] !== literal;
  }
  const compare = /^([a-z][A-Za-z0-9]*) <= ([a-z][A-Za-z0-9]*)$/.exec(inner);
  if (compare) {
    const [, a, b] = compare;
    if (maybeChoice(base, a) || maybeChoice(base, b)) return undefined;
    return (value) => isObject(value) && noLater(value[a], value[b]);
  }
  const counts = /^\(([a-z][A-Za-z0-9]*)\.count\(\) \+ ([a-z][A-Za-z0-9]*)\.count\(\)\) > 0$/.exec(text);
  if (counts) {
    const [x, y] = [existsTest(counts[1], base), existsTest(counts[2], base)];
    return x && y && ((value) => x(value) || y(value));
  }
  return whereTest(text);
}

/** The shortcut for an invariant at the element `base` (its path; without it, any name that is a choice anywhere is taken for one). */
export function surelyTrueOf(expression: string, base?: string): SurelyTrue | undefined {
  const parts = disjuncts(expression);
  if (!parts) return undefined;
  const tests = parts.map((part) => disjunctTest(part, base)).filter((t): t is SurelyTrue => t !== undefined);
  if (!tests.length) return undefined;
  return (value) => {
    for (const test of tests) if (test(value)) return true;
    return false;
  };
}
