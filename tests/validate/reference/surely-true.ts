/**
 * Invariants of the form `A or B or ...` hold whenever one disjunct holds, and some disjuncts can be seen to
 * hold from the element alone, without FHIRPath (FHIRPath's `true or x` is true whatever x is):
 *
 *   x.exists()                                       x (not a choice) is there as an object, or an array holding one
 *   x.empty(), x.hasValue().not()                    x is absent
 *   x(.y)*.where(...).empty(), ....exists().not()    x is absent (every step after an empty one is empty)
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
    if (key === name || key === '_' + name) return false;
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

/** What makes one disjunct surely true, if its form is one of those above. */
function disjunctTest(text: string): SurelyTrue | undefined {
  const simple = /^([a-z][A-Za-z0-9]*)\.(exists\(\)|empty\(\)|hasValue\(\)\.not\(\))$/.exec(text);
  if (simple) {
    const [, name, test] = simple;
    if (test !== 'exists()') return (value) => absent(value, name);
    return CHOICE_NAMES.has(name) ? undefined : (value) => presentAsObject(value, name);
  }
  const where = /^([a-z][A-Za-z0-9]*)(?:\.[a-z][A-Za-z0-9]*)*\.where\(/.exec(text);
  if (!where) return undefined;
  const end = closing(text, where[0].length - 1);
  const rest = end < 0 ? '' : text.slice(end);
  if (rest !== '.empty()' && rest !== '.exists().not()') return undefined;
  const name = where[1];
  return (value) => absent(value, name);
}

export function surelyTrueOf(expression: string): SurelyTrue | undefined {
  const parts = disjuncts(expression);
  if (!parts) return undefined;
  const tests = parts.map(disjunctTest).filter((t): t is SurelyTrue => t !== undefined);
  if (!tests.length) return undefined;
  return (value) => {
    for (const test of tests) if (test(value)) return true;
    return false;
  };
}
