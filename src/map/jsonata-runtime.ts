/**
 * The values and operations of the synchronous JSONata evaluator (jsonata-sync.ts), each as jsonata 2.x
 * defines it: frames, sequences and their flags, field lookup, append, effective boolean, equality, function
 * application, the path step, the object constructor, comparison and arithmetic. Anything jsonata would
 * refuse throws Unsupported, and the caller re-runs the record through jsonata itself.
 */
/** One compiled node: evaluate against an input in a frame, as jsonata's evaluate(expr, input, environment). */
export type Run = (input: unknown, env: Frame) => unknown;

export interface Node {
  type: string;
  value?: unknown;
  steps?: Node[];
  stages?: { type: string; expr: Node }[];
  predicate?: { type: string; expr: Node }[];
  expressions?: Node[];
  lhs?: Node & Node[][];
  rhs?: Node;
  condition?: Node;
  then?: Node;
  else?: Node;
  procedure?: Node;
  arguments?: Node[];
  body?: Node;
  signature?: unknown;
  thunk?: boolean;
  consarray?: boolean;
  keepArray?: boolean;
  keepSingletonArray?: boolean;
  group?: unknown;
  tuple?: boolean;
  focus?: unknown;
  index?: unknown;
  ancestor?: unknown;
}

export type Sequence = unknown[] & { sequence?: boolean; keepSingleton?: boolean; cons?: boolean; outerWrapper?: boolean; tupleStream?: boolean };

export class Unsupported extends Error {}

export const LITERALS = new Set(['string', 'number', 'value']);

export class Frame {
  private readonly vars: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  constructor(private readonly parent?: Frame) {}
  bind(name: string, value: unknown): void {
    this.vars[name] = value;
  }
  lookup(name: string): unknown {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    let frame: Frame | undefined = this;
    while (frame) {
      // One lookup when the name is bound to a value; `in` (own keys only: no prototype) for a bound undefined.
      const value = frame.vars[name];
      if (value !== undefined || name in frame.vars) return value;
      frame = frame.parent;
    }
    return undefined;
  }
}

// --- jsonata's helpers, as it defines them ---------------------------------------------------------------

export function createSequence(...items: unknown[]): Sequence {
  const sequence: Sequence = [];
  sequence.sequence = true;
  if (items.length === 1) sequence.push(items[0]);
  return sequence;
}

export const isSequence = (value: unknown): value is Sequence => Array.isArray(value) && (value as Sequence).sequence === true;

export interface Lambda {
  _jsonata_lambda: true;
  input: unknown;
  environment: Frame;
  arguments: Node[];
  body: Run;
}
export interface Builtin {
  _jsonata_function: true;
  implementation: (...args: unknown[]) => unknown;
  signature?: { validate(args: unknown[], context: unknown): unknown[] };
}

const isLambda = (v: unknown): v is Lambda => !!v && (v as Lambda)._jsonata_lambda === true;
export const isBuiltin = (v: unknown): v is Builtin => !!v && (v as Builtin)._jsonata_function === true;
const isFunction = (v: unknown): boolean => isLambda(v) || isBuiltin(v) || typeof v === 'function';

export function isNumeric(n: unknown): n is number {
  if (typeof n !== 'number' || Number.isNaN(n)) return false;
  if (!Number.isFinite(n)) throw new Unsupported('D1001');
  return true;
}

function arity(func: unknown): number {
  if (isLambda(func)) return func.arguments.length;
  if (isBuiltin(func)) return func.implementation.length;
  return (func as { length: number }).length;
}

export function keys(obj: unknown): string[] {
  return typeof obj === 'object' && obj !== null ? Object.keys(obj) : [];
}

export function lookup(input: unknown, key: string): unknown {
  if (Array.isArray(input)) {
    const result = createSequence();
    for (const item of input) {
      const res = lookup(item, key);
      if (res !== undefined) {
        if (Array.isArray(res)) res.forEach((v) => result.push(v));
        else result.push(res);
      }
    }
    return result;
  }
  if (input !== null && typeof input === 'object' && Object.prototype.hasOwnProperty.call(input, key) && !isFunction(input)) {
    return (input as Record<string, unknown>)[key];
  }
  return undefined;
}

export function append(arg1: unknown, arg2: unknown): unknown {
  if (arg1 === undefined) return arg2;
  if (arg2 === undefined) return arg1;
  const left = Array.isArray(arg1) ? arg1 : createSequence(arg1);
  const right = Array.isArray(arg2) ? arg2 : [arg2];
  return left.concat(right);
}

export function boolean(arg: unknown): boolean | undefined {
  if (arg === undefined) return undefined;
  if (Array.isArray(arg)) {
    if (arg.length === 1) return boolean(arg[0]);
    return arg.length > 1 && arg.filter((v) => boolean(v)).length > 0;
  }
  if (typeof arg === 'string') return arg.length > 0;
  if (isNumeric(arg)) return arg !== 0;
  if (arg !== null && typeof arg === 'object' && !isFunction(arg)) return keys(arg).length > 0;
  return arg === true;
}

export function deepEqual(lhs: unknown, rhs: unknown): boolean {
  if (lhs === rhs) return true;
  if (typeof lhs === 'object' && typeof rhs === 'object' && lhs !== null && rhs !== null) {
    if (Array.isArray(lhs) && Array.isArray(rhs)) {
      return lhs.length === rhs.length && lhs.every((v, i) => deepEqual(v, rhs[i]));
    }
    const lkeys = Object.getOwnPropertyNames(lhs).sort();
    const rkeys = Object.getOwnPropertyNames(rhs).sort();
    if (lkeys.length !== rkeys.length || lkeys.some((k, i) => k !== rkeys[i])) return false;
    return lkeys.every((k) => deepEqual((lhs as Record<string, unknown>)[k], (rhs as Record<string, unknown>)[k]));
  }
  return false;
}

// --- applying functions -------------------------------------------------------------------------------------

export function apply(proc: unknown, args: unknown[], input: unknown): unknown {
  if (isLambda(proc)) {
    const env = new Frame(proc.environment);
    for (let i = 0; i < proc.arguments.length; i++) env.bind(proc.arguments[i].value as string, args[i]);
    return proc.body(proc.input, env);
  }
  if (isBuiltin(proc)) {
    const validated = proc.signature ? proc.signature.validate(args, input) : args;
    const result = proc.implementation.apply({ input, createSequence }, validated);
    if (result instanceof Promise) throw new Unsupported('an async built-in function');
    return result;
  }
  if (typeof proc === 'function') return (proc as (...a: unknown[]) => unknown).apply(input, args);
  throw new Unsupported('T1006: not a function');
}

/** Arguments for a higher-order function's callback: the value, then the key/index and the whole, by arity. */
function callbackArgs(func: unknown, value: unknown, key: unknown, whole: unknown): unknown[] {
  const n = arity(func);
  return n >= 3 ? [value, key, whole] : n >= 2 ? [value, key] : [value];
}

/** jsonata's $map and $each are async (their callbacks may be); these are the same loops, synchronous. */
export function syncHigherOrder(name: 'map' | 'each', original: Builtin): Builtin {
  const implementation =
    name === 'map'
      ? function map(arr: unknown, func: unknown) {
          if (arr === undefined) return undefined;
          const result = createSequence();
          const list = arr as unknown[];
          for (let i = 0; i < list.length; i++) {
            const res = apply(func, callbackArgs(func, list[i], i, list), undefined);
            if (res !== undefined) result.push(res);
          }
          return result;
        }
      : function each(obj: unknown, func: unknown) {
          const result = createSequence();
          for (const key of keys(obj)) {
            const value = (obj as Record<string, unknown>)[key];
            const res = apply(func, callbackArgs(func, value, key, obj), undefined);
            if (res !== undefined) result.push(res);
          }
          return result;
        };
  return { _jsonata_function: true, implementation, signature: original.signature };
}

/**
 * jsonata's $merge (its signature checks kept), building an ordinary object rather than a null-prototype one,
 * which V8 keeps as a slow dictionary. A `__proto__` key would set such an object's prototype, so it throws
 * Unsupported and the interpreter, with its own $merge, runs the record instead.
 */
export function syncMerge(original: Builtin): Builtin {
  const implementation = function merge(arg: unknown) {
    if (arg === undefined) return undefined;
    const result: Record<string, unknown> = {};
    (arg as unknown[]).forEach((obj) => {
      for (const prop of keys(obj)) {
        if (prop === '__proto__') throw new Unsupported('a __proto__ key in $merge');
        result[prop] = (obj as Record<string, unknown>)[prop];
      }
    });
    return result;
  };
  return { _jsonata_function: true, implementation, signature: original.signature };
}

export function evaluateStep(step: { run: Run; stages: ((v: unknown, env: Frame) => unknown)[]; last: boolean }, input: Sequence, env: Frame): Sequence {
  const result: unknown[] = [];
  for (const item of input) {
    let res = step.run(item, env);
    for (const stage of step.stages) res = stage(res, env);
    if (res !== undefined) result.push(res);
  }
  if (step.last && result.length === 1 && Array.isArray(result[0]) && !isSequence(result[0])) return result[0] as Sequence;
  const resultSequence = createSequence();
  for (const res of result) {
    if (!Array.isArray(res) || (res as Sequence).cons) resultSequence.push(res);
    else for (const v of res) resultSequence.push(v);
  }
  return resultSequence;
}

export function objectConstructor(pairs: (readonly [Run, Run])[], input: unknown, env: Frame): Record<string, unknown> {
  const items: unknown[] = Array.isArray(input) ? input : createSequence(input);
  if (items.length === 0) items.push(undefined);
  const groups: Record<string, { data: unknown; exprIndex: number }> = Object.create(null) as Record<string, { data: unknown; exprIndex: number }>;
  for (const item of items) {
    pairs.forEach(([keyRun], exprIndex) => {
      const key = keyRun(item, env);
      if (key === undefined) return;
      if (typeof key !== 'string' || key === '_jsonata_lambda' || key === '_jsonata_function') throw new Unsupported('T1003/D1013');
      const existing = groups[key];
      if (existing) {
        if (existing.exprIndex !== exprIndex) throw new Unsupported('D1009');
        existing.data = append(existing.data, item);
      } else {
        groups[key] = { data: item, exprIndex };
      }
    });
  }
  const result: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const key of Object.keys(groups)) {
    const value = pairs[groups[key].exprIndex][1](groups[key].data, env);
    if (value !== undefined) result[key] = value;
  }
  return result;
}

export function compare(l: unknown, r: unknown, op: string): boolean | undefined {
  const lt = typeof l;
  const rt = typeof r;
  const comparable = (t: string) => t === 'undefined' || t === 'string' || t === 'number';
  if (!comparable(lt) || !comparable(rt)) throw new Unsupported('T2010');
  if (lt === 'undefined' || rt === 'undefined') return undefined;
  if (lt !== rt) throw new Unsupported('T2009');
  const a = l as number;
  const b = r as number;
  return op === '<' ? a < b : op === '<=' ? a <= b : op === '>' ? a > b : a >= b;
}

export function arithmetic(l: unknown, r: unknown, op: string): number | undefined {
  if ((l !== undefined && !isNumeric(l)) || (r !== undefined && !isNumeric(r))) throw new Unsupported('T2001/T2002');
  if (l === undefined || r === undefined) return undefined;
  const a = l as number;
  const b = r as number;
  return op === '+' ? a + b : op === '-' ? a - b : op === '*' ? a * b : op === '/' ? a / b : a % b;
}

/** jsonata's $string, handed over by the compiler from jsonata itself (its number formatting is its own). */
let stringFormatter: (value: unknown) => string = () => {
  throw new Unsupported('$string not loaded');
};
export function setStringFormatter(format: (value: unknown) => string): void {
  stringFormatter = format;
}
export const toJsonataString = (value: unknown): string => stringFormatter(value);

/** Every variable name an expression's AST mentions (its parse positions skipped), for both compilers' checks. */
export function collectVariables(node: unknown, into: Set<string>): void {
  if (!node || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const n of node) collectVariables(n, into);
    return;
  }
  const n = node as Node;
  if (n.type === 'variable' && typeof n.value === 'string' && n.value !== '') into.add(n.value);
  for (const [key, value] of Object.entries(n)) if (key !== 'position') collectVariables(value, into);
}
