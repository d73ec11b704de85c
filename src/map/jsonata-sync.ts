/**
 * A synchronous evaluator for the subset of JSONata our mappings use, compiled once from the AST that
 * jsonata itself parses. Why: jsonata 2.x evaluates every node through async/await, and that promise
 * machinery was most of the mapping cost (a vital-signs record: ~2 ms). The semantics here are jsonata's own,
 * function by function (evaluate, evaluatePath, evaluateStep, evaluateFilter, the array and object
 * constructors, lookup, append, boolean), and the built-in functions are jsonata's own implementations.
 *
 * Anything outside the subset (sorting, grouping, tuple streams, transforms, partial application, signatures,
 * async built-ins other than $map and $each) makes compileSync return undefined, and the caller keeps the
 * interpreter. A run that throws is re-run by the interpreter (fast-mapping.ts), so errors are jsonata's.
 */
import jsonata from 'jsonata';
import {
  apply,
  arithmetic,
  boolean,
  type Builtin,
  compare,
  createSequence,
  deepEqual,
  evaluateStep,
  Frame,
  isBuiltin,
  isNumeric,
  isSequence,
  type Lambda,
  LITERALS,
  collectVariables,
  lookup,
  setStringFormatter,
  type Node,
  objectConstructor,
  type Run,
  type Sequence,
  syncHigherOrder,
  syncMerge,
  toJsonataString,
  Unsupported,
} from './jsonata-runtime';
import { namesPath } from './jsonata-names-path';

export type SyncEvaluate = (input: unknown, bindings: Record<string, unknown>) => unknown;



/** Built-ins known to be synchronous in jsonata 2.x, used as they are; $map and $each get synchronous loops. */
const SYNC_BUILTINS = [
  'merge', 'exists', 'count', 'string', 'uppercase', 'lowercase', 'substring', 'substringBefore', 'substringAfter',
  'trim', 'length', 'join', 'number', 'boolean', 'not', 'keys', 'append', 'sum', 'max', 'min', 'distinct',
  'base64encode', 'base64decode', 'encodeUrlComponent', 'decodeUrlComponent', 'encodeUrl', 'decodeUrl',
  'round', 'floor', 'ceil', 'abs', 'reverse', 'type', 'spread', 'zip', 'lookup', 'error',
] as const;
const HIGHER_ORDER = ['map', 'each'] as const;

class Compiler {
  constructor(private readonly builtinNames: Set<string>) {}

  node(expr: Node): Run {
    if (expr.group !== undefined || expr.tuple || expr.focus !== undefined || expr.index !== undefined || expr.ancestor !== undefined) {
      throw new Unsupported(`${expr.type} with grouping, focus, index or ancestry`);
    }
    const core = this.core(expr);
    const predicates = (expr.predicate ?? []).map((p) => this.filter(p));
    const keepArray = expr.keepArray === true;
    if (LITERALS.has(expr.type) && predicates.length === 0) return core;
    if (predicates.length === 0 && !keepArray) {
      return (input, env) => {
        const result = core(input, env);
        if (!isSequence(result) || result.tupleStream) return result;
        if (result.length === 0) return undefined;
        return result.length === 1 && !result.keepSingleton ? result[0] : result;
      };
    }
    return (input, env) => {
      let result = core(input, env);
      for (const filter of predicates) result = filter(result, env);
      if (result && isSequence(result) && !result.tupleStream) {
        if (keepArray) result.keepSingleton = true;
        if (result.length === 0) return undefined;
        if (result.length === 1) return result.keepSingleton ? result : result[0];
      }
      return result;
    };
  }

  private core(expr: Node): Run {
    switch (expr.type) {
      case 'path':
        return this.path(expr);
      case 'binary':
        return this.binary(expr);
      case 'unary':
        return this.unary(expr);
      case 'name': {
        const key = expr.value as string;
        return (input) => lookup(input, key);
      }
      case 'string':
      case 'number':
      case 'value': {
        const value = expr.value;
        return () => value;
      }
      case 'condition': {
        const condition = this.node(expr.condition!);
        const then = this.node(expr.then!);
        const otherwise = expr.else ? this.node(expr.else) : undefined;
        return (input, env) => (boolean(condition(input, env)) ? then(input, env) : otherwise?.(input, env));
      }
      case 'block': {
        const expressions = expr.expressions!.map((e) => this.node(e));
        return (input, env) => {
          const frame = new Frame(env);
          let result: unknown;
          for (const run of expressions) result = run(input, frame);
          return result;
        };
      }
      case 'bind': {
        const name = expr.lhs!.value as string;
        const rhs = this.node(expr.rhs!);
        return (input, env) => {
          const value = rhs(input, env);
          env.bind(name, value);
          return value;
        };
      }
      case 'variable': {
        const name = expr.value as string;
        if (name === '') return (input) => (input && (input as Sequence).outerWrapper ? (input as Sequence)[0] : input);
        if (this.builtinNames.has(name) && !(SYNC_BUILTINS as readonly string[]).includes(name) && !(HIGHER_ORDER as readonly string[]).includes(name)) {
          throw new Unsupported(`the built-in function $${name}`);
        }
        return (_input, env) => env.lookup(name);
      }
      case 'function':
        return this.call(expr);
      case 'lambda':
        return this.lambda(expr);
      case 'regex':
        // Only $match/$replace/$split/$contains take regexes, and they are async in jsonata 2.x.
        throw new Unsupported('regular expressions');
      default:
        throw new Unsupported(`node type ${expr.type}`);
    }
  }

  private path(expr: Node): Run {
    const steps = expr.steps!;
    const firstIsVariable = steps[0].type === 'variable';
    const compiled = steps.map((step, i) => {
      if (step.type === 'sort' || step.tuple || step.focus !== undefined) throw new Unsupported('sort, tuple or focus step');
      const stages = (step.stages ?? []).map((stage) => {
        if (stage.type !== 'filter') throw new Unsupported(`stage ${stage.type}`);
        return this.filter(stage);
      });
      return { run: this.node(step), stages, consarray: i === 0 && step.consarray === true, last: i === steps.length - 1 };
    });
    const keepSingletonArray = expr.keepSingletonArray === true;
    const general: Run = (input, env) => {
      let inputSequence: Sequence = Array.isArray(input) && !firstIsVariable ? input : createSequence(input);
      let resultSequence: Sequence | undefined;
      for (const step of compiled) {
        if (step.consarray) resultSequence = step.run(inputSequence, env) as Sequence;
        else resultSequence = evaluateStep(step, inputSequence, env);
        if (resultSequence === undefined || resultSequence.length === 0) break;
        inputSequence = resultSequence;
      }
      if (keepSingletonArray) {
        if (Array.isArray(resultSequence) && resultSequence.cons && !resultSequence.sequence) resultSequence = createSequence(resultSequence);
        resultSequence!.keepSingleton = true;
      }
      return resultSequence;
    };
    return namesPath(expr, compiled[0].run, general) ?? general;
  }

  /** A predicate [expr] applied to a value, as jsonata's evaluateFilter. */
  private filter(predicate: { type: string; expr: Node }): (input: unknown, env: Frame) => unknown {
    const expr = predicate.expr;
    if (expr.type === 'number') {
      const literal = Math.floor(expr.value as number);
      return (value) => {
        const input: unknown[] = Array.isArray(value) ? value : createSequence(value);
        let results: unknown = createSequence();
        const index = literal < 0 ? input.length + literal : literal;
        const item = input[index];
        if (item !== undefined) {
          if (Array.isArray(item)) results = item;
          else (results as unknown[]).push(item);
        }
        return results;
      };
    }
    const run = this.node(expr);
    return (value, env) => {
      const input: unknown[] = Array.isArray(value) ? value : createSequence(value);
      const results = createSequence();
      for (let index = 0; index < input.length; index++) {
        const item = input[index];
        let res = run(item, env);
        if (isNumeric(res)) res = [res];
        if (Array.isArray(res) && res.every((r) => isNumeric(r))) {
          for (const n of res as number[]) {
            const i = Math.floor(n) < 0 ? input.length + Math.floor(n) : Math.floor(n);
            if (i === index) results.push(item);
          }
        } else if (boolean(res)) {
          results.push(item);
        }
      }
      return results;
    };
  }

  private binary(expr: Node): Run {
    const op = expr.value as string;
    const lhs = this.node(expr.lhs!);
    const rhs = this.node(expr.rhs!);
    const bool = (v: unknown) => boolean(v) ?? false;
    switch (op) {
      case 'and':
        return (input, env) => bool(lhs(input, env)) && bool(rhs(input, env));
      case 'or':
        return (input, env) => bool(lhs(input, env)) || bool(rhs(input, env));
      case '&':
        return (input, env) => {
          const l = lhs(input, env);
          const r = rhs(input, env);
          return (l === undefined ? '' : toJsonataString(l)) + (r === undefined ? '' : toJsonataString(r));
        };
      case '=':
      case '!=':
        return (input, env) => {
          const l = lhs(input, env);
          const r = rhs(input, env);
          if (l === undefined || r === undefined) return false;
          return op === '=' ? deepEqual(l, r) : !deepEqual(l, r);
        };
      case '<':
      case '<=':
      case '>':
      case '>=':
        return (input, env) => compare(lhs(input, env), rhs(input, env), op);
      case '+':
      case '-':
      case '*':
      case '/':
      case '%':
        return (input, env) => arithmetic(lhs(input, env), rhs(input, env), op);
      default:
        throw new Unsupported(`operator ${op}`);
    }
  }

  private unary(expr: Node): Run {
    switch (expr.value) {
      case '-': {
        const operand = this.node((expr as Node & { expression: Node }).expression);
        return (input, env) => {
          const v = operand(input, env);
          if (v === undefined) return undefined;
          if (isNumeric(v)) return -v;
          throw new Unsupported('D1002');
        };
      }
      case '[': {
        const items = expr.expressions!.map((item) => ({ run: this.node(item), nested: item.value === '[' }));
        const cons = expr.consarray === true;
        return (input, env) => {
          const result: unknown[] = [];
          for (const item of items) {
            const value = item.run(input, env);
            if (value === undefined) continue;
            if (item.nested || !Array.isArray(value)) result.push(value);
            // What append(result, value) gives, in place (result is ours alone): the array's items, holes kept.
            else {
              for (let i = 0; i < value.length; i++) {
                if (i in value) result.push(value[i]);
                else result.length++;
              }
            }
          }
          if (cons) Object.defineProperty(result, 'cons', { enumerable: false, configurable: false, value: true });
          return result;
        };
      }
      case '{': {
        const source = expr.lhs as unknown as Node[][];
        const pairs = source.map(([k, v]) => [this.node(k), this.node(v)] as const);
        const literalKeys = source.map(([k]) => (k.type === 'string' && !k.predicate ? (k.value as string) : undefined));
        // The usual case, a JSON-like template: literal, distinct, non-index keys on one context item. Then
        // grouping is the identity and values come in template order, so build the object directly, as an
        // ordinary object: jsonata's null-prototype objects are V8 dictionaries, slow to read and to copy. Every
        // read here is of own keys (lookup, keys, $merge), so only a `__proto__` key could tell them apart.
        const plain =
          literalKeys.every((k) => k !== undefined && !/^\d+$/.test(k) && k !== '_jsonata_lambda' && k !== '_jsonata_function' && k !== '__proto__') &&
          new Set(literalKeys).size === literalKeys.length;
        if (plain) {
          const values = pairs.map(([, v]) => v);
          const names = literalKeys as string[];
          return (input, env) => {
            if (Array.isArray(input)) return objectConstructor(pairs, input, env);
            const result: Record<string, unknown> = {};
            for (let i = 0; i < names.length; i++) {
              const value = values[i](input, env);
              if (value !== undefined) result[names[i]] = value;
            }
            return result;
          };
        }
        return (input, env) => objectConstructor(pairs, input, env);
      }
      default:
        throw new Unsupported(`unary ${String(expr.value)}`);
    }
  }

  private call(expr: Node): Run {
    const procedure = this.node(expr.procedure!);
    const args = expr.arguments!.map((a) => {
      if (a.type === 'operator' && a.value === '?') throw new Unsupported('partial application');
      return this.node(a);
    });
    return (input, env) => {
      const proc = procedure(input, env);
      const values = new Array<unknown>(args.length);
      for (let i = 0; i < args.length; i++) values[i] = args[i](input, env);
      return apply(proc, values, input);
    };
  }

  private lambda(expr: Node): Run {
    if (expr.signature !== undefined) throw new Unsupported('function signatures');
    // A tail-call thunk: jsonata defers the call to a trampoline; calling it at once gives the same value.
    if (expr.thunk) return this.node(expr.body!);
    const body = this.node(expr.body!);
    const params = expr.arguments!;
    return (input, env): Lambda => ({ _jsonata_lambda: true, input, environment: env, arguments: params, body });
  }
}

async function jsonataBuiltin(name: string): Promise<Builtin | undefined> {
  const value: unknown = await jsonata(`$${name}`).evaluate(null);
  return isBuiltin(value) ? value : undefined;
}

/**
 * Compiles a jsonata expression to a synchronous function with the same results, or undefined when it uses
 * something outside the subset. Async only because jsonata hands out its built-in functions asynchronously.
 */
export async function compileSync(expression: jsonata.Expression): Promise<SyncEvaluate | undefined> {
  const ast = expression.ast() as unknown as Node;
  const referenced = new Set<string>();
  collectVariables(ast, referenced);
  const builtinNames = new Set<string>();
  const root = new Frame();
  for (const name of referenced) {
    const builtin = await jsonataBuiltin(name);
    if (!builtin) continue;
    builtinNames.add(name);
    if ((HIGHER_ORDER as readonly string[]).includes(name)) root.bind(name, syncHigherOrder(name as 'map' | 'each', builtin));
    else if (name === 'merge') root.bind(name, syncMerge(builtin));
    else root.bind(name, builtin);
  }
  const stringBuiltin = await jsonataBuiltin('string');
  if (!stringBuiltin) return undefined;
  setStringFormatter((value) => stringBuiltin.implementation.call({ createSequence }, value) as string);

  let run: Run;
  try {
    run = new Compiler(builtinNames).node(ast);
  } catch (err) {
    if (err instanceof Unsupported) return undefined;
    throw err;
  }
  return (input, bindings) => {
    // As jsonata's evaluate: bindings, then the input as $, an array input wrapped as one item.
    const env = new Frame(root);
    for (const name of Object.keys(bindings)) env.bind(name, bindings[name]);
    env.bind('$', input);
    let focus = input;
    if (Array.isArray(input) && !isSequence(input)) {
      focus = createSequence(input);
      (focus as Sequence).outerWrapper = true;
    }
    return run(focus, env);
  };
}

