/**
 * What JavaScript compiled from a JSONata mapping (jsonata-js.ts) calls where jsonata's semantics are more
 * than a line: paths over arrays, filters, sequences and their unwrapping, and the built-ins whose argument
 * types the compiled code cannot know. Each mirrors jsonata 2.x (evaluatePath, evaluateStep, evaluateFilter,
 * the evaluate wrapper, the built-in and its signature check). Where a value is outside what the compiled code
 * handles (an array as the context of a step, an argument jsonata's signature check would refuse) it throws
 * Unsupported, and the record is run again by the next evaluator (fast-mapping.ts).
 */
import {
  apply,
  boolean,
  type Builtin,
  compare,
  createSequence,
  deepEqual,
  isSequence,
  lookup,
  type Sequence,
  toJsonataString,
  Unsupported,
} from './jsonata-runtime';

export function bail(): never {
  throw new Unsupported('a value outside the compiled subset');
}

/** The evaluate wrapper: an empty sequence is nothing, a one-item sequence its item (unless kept as an array). */
export function unwrap(value: unknown): unknown {
  if (Array.isArray(value) && (value as Sequence).sequence === true && !(value as Sequence).tupleStream) {
    if (value.length === 0) return undefined;
    if (value.length === 1 && !(value as Sequence).keepSingleton) return value[0] as unknown;
  }
  return value;
}

/** The same for a node marked `[]` (keepArray): a sequence is kept as an array even of one item. */
export function unwrapKeep(value: unknown): unknown {
  if (Array.isArray(value) && (value as Sequence).sequence === true && !(value as Sequence).tupleStream) {
    (value as Sequence).keepSingleton = true;
    if (value.length === 0) return undefined;
  }
  return value;
}

/** A field of one value that is not an array (the compiled code checks): jsonata's lookup for that case. */
export function get(value: unknown, key: string): unknown {
  if (value === null || typeof value !== 'object') return undefined;
  const v = value as Record<string, unknown>;
  // jsonata reads own keys only; the compiler uses get only for keys that Object.prototype does not have.
  return v._jsonata_lambda === true || v._jsonata_function === true ? undefined : v[key];
}

export interface Step {
  run: (item: unknown) => unknown;
  stages?: ((value: unknown) => unknown)[];
}

/** A name step of a path, jsonata's evaluate(name) with its wrapper: lookup over the item, unwrapped. */
export const nameStep = (key: string): Step => ({ run: (item) => unwrap(lookup(item, key)) });

function evaluateStep(step: Step, input: unknown[], last: boolean): Sequence {
  const result: unknown[] = [];
  for (let i = 0; i < input.length; i++) {
    let res = step.run(input[i]);
    if (step.stages) for (const stage of step.stages) res = stage(res);
    if (res !== undefined) result.push(res);
  }
  if (last && result.length === 1 && Array.isArray(result[0]) && !isSequence(result[0])) return result[0] as Sequence;
  const sequence = createSequence();
  for (const res of result) {
    if (!Array.isArray(res) || (res as Sequence).cons) sequence.push(res);
    else for (const v of res) sequence.push(v);
  }
  return sequence;
}

/** jsonata's evaluatePath (no tuples, no consarray first step), before its wrapper unwraps the result. */
export function path(input: unknown, firstIsVariable: boolean, steps: Step[], keepSingletonArray: boolean): unknown {
  let inputSequence: unknown[] = Array.isArray(input) && !firstIsVariable ? input : createSequence(input);
  let result: Sequence | undefined;
  for (let i = 0; i < steps.length; i++) {
    result = evaluateStep(steps[i], inputSequence, i === steps.length - 1);
    if (result.length === 0) break;
    inputSequence = result;
  }
  if (keepSingletonArray) {
    if (Array.isArray(result) && result.cons && !result.sequence) result = createSequence(result);
    result!.keepSingleton = true;
  }
  return result;
}

/** jsonata's evaluateFilter for a number literal: the item at that index, from the end when negative. */
export function filterIndex(value: unknown, n: number): unknown {
  const input: unknown[] = Array.isArray(value) ? value : createSequence(value);
  let results: unknown = createSequence();
  let index = Math.floor(n);
  if (index < 0) index = input.length + index;
  const item = input[index];
  if (item !== undefined) {
    if (Array.isArray(item)) results = item;
    else (results as unknown[]).push(item);
  }
  return results;
}

/** jsonata's evaluateFilter for any other predicate: numbers pick by index, anything else by its truth. */
export function filter(value: unknown, predicate: (item: unknown) => unknown): Sequence {
  const input: unknown[] = Array.isArray(value) ? value : createSequence(value);
  const results = createSequence();
  for (let index = 0; index < input.length; index++) {
    const item = input[index];
    let res = predicate(item);
    if (typeof res === 'number' && !Number.isNaN(res)) res = [res];
    if (Array.isArray(res) && res.every((r) => typeof r === 'number')) {
      for (const n of res as number[]) {
        let i = Math.floor(n);
        if (i < 0) i = input.length + i;
        if (i === index) results.push(item);
      }
    } else if (boolean(res)) {
      results.push(item);
    }
  }
  return results;
}

/** An array constructor's item that may be undefined or an array: jsonata's append of it, in place. */
export function append(result: unknown[], value: unknown): void {
  if (value === undefined) return;
  if (!Array.isArray(value)) {
    result.push(value);
    return;
  }
  for (let i = 0; i < value.length; i++) {
    if (i in value) result.push(value[i]);
    else result.length++;
  }
}

/** A condition's truth, and and/or's (undefined is false). */
export const truthy = (value: unknown): boolean => boolean(value) === true;

/**
 * jsonata's $string of a finite number without its JSON.stringify and replacer: an integer as JSON writes it,
 * anything else to 15 significant digits, as its replacer rounds it.
 */
const numberText = (n: number): string => (Number.isInteger(n) ? JSON.stringify(n) : JSON.stringify(Number(n.toPrecision(15))));

/** $string(x) for x given: nothing stays nothing. */
export function string(value: unknown): string | undefined {
  if (value === undefined || typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return numberText(value);
  return toJsonataString(value);
}

/** An operand of `&`: nothing is "", anything else as $string writes it. */
export const text = (value: unknown): string => (value === undefined ? '' : string(value)!);

export const equal = (l: unknown, r: unknown): boolean => l !== undefined && r !== undefined && deepEqual(l, r);
export { compare, lookup };

/** getSymbol(value) === 'o' in jsonata's signature check: an object that is not an array, null or a function. */
const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) &&
  (v as Record<string, unknown>)._jsonata_lambda !== true && (v as Record<string, unknown>)._jsonata_function !== true;

/** $count(x) after its <a:n> signature: a value that is not an array counts as one. */
export const count = (value: unknown): number => (value === undefined ? 0 : Array.isArray(value) ? value.length : 1);

/** $merge(x) after its <a<o>:o> signature, as an ordinary object (jsonata's is null-prototype; same keys, same JSON). */
export function merge(arg: unknown): unknown {
  if (arg === undefined) return undefined;
  const list = Array.isArray(arg) ? arg : [arg];
  const result: Record<string, unknown> = {};
  for (const obj of list) {
    if (!isObject(obj)) bail(); // jsonata: T0412
    for (const key of Object.keys(obj)) {
      if (key === '__proto__') bail();
      result[key] = obj[key];
    }
  }
  return result;
}

/** $uppercase(x) with x given: <s-:s> lets through a string or nothing. */
export function uppercase(value: unknown): unknown {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') bail(); // jsonata: T0410
  return value.toUpperCase();
}


type Callback = (value: unknown, key: unknown, whole: unknown) => unknown;

/** $map(array, function) after its <af> signature; the callback's extra arguments are ignored as jsonata's arity rule would drop them. */
export function map(arg: unknown, callback: Callback): Sequence | undefined {
  if (arg === undefined) return undefined;
  const list = Array.isArray(arg) ? arg : [arg];
  const result = createSequence();
  for (let i = 0; i < list.length; i++) {
    const res = callback(list[i], i, list);
    if (res !== undefined) result.push(res);
  }
  return result;
}

/** $each(object, function) after its <o-f:a> signature. */
export function each(obj: unknown, callback: Callback): Sequence {
  const result = createSequence();
  if (obj === undefined) return result;
  if (!isObject(obj)) bail(); // jsonata: T0410
  for (const key of Object.keys(obj)) {
    const res = callback(obj[key], key, obj);
    if (res !== undefined) result.push(res);
  }
  return result;
}

/**
 * A built-in of signature <s-:s> ($lowercase, $base64encode, $encodeUrlComponent, ...) given its one argument:
 * a string or nothing passes the check; no context is read, so it is the same as a tail call.
 */
export function stringFunction(builtin: Builtin, value: unknown): unknown {
  if (value !== undefined && typeof value !== 'string') bail(); // jsonata: T0410
  return builtin.implementation.call({ createSequence }, value);
}

interface RegexMatch {
  match: string;
  start: number;
  end: number;
  groups: string[];
  next: () => never;
}

/**
 * $replace(str, /regex/, function) as jsonata's replace and its regex matcher (evaluateRegex: a fresh RegExp
 * each evaluation, flags always with g, the next match from lastIndex), synchronous. The match object has
 * jsonata's keys; calling its next from JSONata is outside the compiled subset.
 */
export function replaceRegex(str: unknown, pattern: RegExp, replacer: (match: RegexMatch) => unknown): unknown {
  if (str === undefined) return undefined;
  if (typeof str !== 'string') bail(); // jsonata: T0410
  const re = new RegExp(pattern);
  const matcher = (from: number): RegexMatch | undefined => {
    re.lastIndex = from;
    const m = re.exec(str);
    return m === null ? undefined : { match: m[0], start: m.index, end: m.index + m[0].length, groups: m.slice(1), next: bail };
  };
  let matches = matcher(0);
  if (matches === undefined) return str;
  let result = '';
  let position = 0;
  while (matches !== undefined) {
    result += str.substring(position, matches.start);
    const replacedWith = replacer(matches);
    if (typeof replacedWith !== 'string') bail(); // jsonata: D3012
    result += replacedWith;
    position = matches.start + matches.match.length;
    if (re.lastIndex >= str.length) matches = undefined;
    else {
      matches = matcher(re.lastIndex);
      if (matches && matches.match === '') bail(); // jsonata: D1004
    }
  }
  return result + str.substring(position);
}

/** Any other synchronous built-in, with jsonata's signature check, as the synchronous evaluator calls it. */
export const callBuiltin = (builtin: Builtin, args: unknown[], input: unknown): unknown => apply(builtin, args, input);

