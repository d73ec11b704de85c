/**
 * Compiles the JSONata subset our mappings use into JavaScript source, made into a function once per mapping
 * with `new Function` (as src/validate/generate.ts does for profiles). Why: the synchronous evaluator
 * (jsonata-sync.ts) still walks closures per node, looks variables up frame by frame and builds a sequence
 * per path step; here variables are JavaScript locals resolved at compile time, object constructors with
 * literal keys are object literals built in place, `data.a.b` is property reads while no value on the way
 * is an array, and the built-ins whose argument types the code checks are called without jsonata's
 * signature machinery. Semantics are jsonata 2.x's; the runtime helpers (jsonata-js-runtime.ts) say where.
 *
 * Conservative by design: a construct outside the subset makes compileJs return undefined (the caller keeps
 * the next evaluator), and a value the compiled code does not handle (an array as a step's context, an
 * argument jsonata's signature check would refuse) throws Unsupported at run time, so the record is run again
 * by the next evaluator. The bindings are assumed to be ordinary functions of their arguments (mapRecord's).
 */
import jsonata from 'jsonata';
import * as runtime from './jsonata-js-runtime';
import { type Builtin, collectVariables, isBuiltin, type Node, setStringFormatter, createSequence, Unsupported } from './jsonata-runtime';

export type CompiledMapping = (input: unknown, bindings: Record<string, unknown>) => unknown;

type Kind = 'any' | 'object' | 'array' | 'string' | 'number' | 'boolean';

/** A compiled expression: its JavaScript, what it gives when it gives something, and whether the evaluate wrapper has work. */
interface Js {
  code: string;
  kind: Kind;
  /** Never undefined. */
  defined: boolean;
  /** May be a fresh sequence, which the evaluate wrapper unwraps. */
  seq: boolean;
}

interface Var {
  js: string;
  kind: Kind;
  /** A block variable holds an evaluated (unwrapped) value; a parameter holds whatever it was given. */
  param: boolean;
  lambda?: { raw: boolean };
}

class Scope {
  readonly names = new Map<string, Var>();
  constructor(readonly parent?: Scope) {}
  resolve(name: string): Var | undefined {
    return this.names.get(name) ?? this.parent?.resolve(name);
  }
}

/** One generated JavaScript function: its context variable and the locals it declares. */
class Fn {
  readonly locals: string[] = ['t'];
  constructor(readonly ctx: string) {}
  declare(): string {
    return `let ${this.locals.join(', ')};`;
  }
}

/** Built-ins with inline code or a runtime helper; the rest of GENERIC_BUILTINS through jsonata's signature check. */
const SPECIAL_BUILTINS = new Set(['count', 'exists', 'merge', 'uppercase', 'string', 'map', 'each', 'replace']);
/** Built-ins of signature <s-:s>, called directly when given their one argument. */
const STRING_FUNCTIONS = new Set(['lowercase', 'trim', 'base64encode', 'base64decode', 'encodeUrlComponent', 'decodeUrlComponent', 'encodeUrl', 'decodeUrl']);
const GENERIC_BUILTINS = new Set([
  'lowercase', 'substring', 'substringBefore', 'substringAfter', 'trim', 'length', 'join', 'number', 'boolean', 'not',
  'keys', 'append', 'sum', 'max', 'min', 'distinct', 'round', 'floor', 'ceil', 'abs', 'reverse', 'type', 'error',
  ...STRING_FUNCTIONS,
]);

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const value = (code: string, kind: Kind, defined: boolean): Js => ({ code, kind, defined, seq: false });
const isLiteral = (n: Node) => (n.type === 'string' || n.type === 'number' || n.type === 'value') && !n.predicate && !n.keepArray;

/** Whether a lambda's body ends in a tail call, whose result jsonata's trampoline hands back without unwrapping. */
function endsInTailCall(body: Node): boolean {
  if (body.type === 'lambda' && body.thunk) return true;
  if (body.type === 'condition') return endsInTailCall(body.then!) || (body.else !== undefined && endsInTailCall(body.else));
  if (body.type === 'block') return body.expressions!.length > 0 && endsInTailCall(body.expressions![body.expressions!.length - 1]);
  return false;
}

class Compiler {
  private counter = 0;
  /** Module-level constants of the generated source. */
  readonly constants: string[] = [];
  /** Free variables called as functions: the mapping's bindings. */
  readonly externals = new Set<string>();
  /** Names that must not be bound by the caller: block variables and the built-ins used (a binding would replace them). */
  readonly reserved = new Set<string>();
  readonly builtinsUsed = new Set<string>();

  constructor(private readonly jsonataBuiltins: Set<string>) {}

  private fresh(prefix: string, fn?: Fn): string {
    const name = `${prefix}${++this.counter}`;
    fn?.locals.push(name);
    return name;
  }

  private constant(code: string): string {
    const name = this.fresh('K');
    this.constants.push(`const ${name} = ${code};`);
    return name;
  }

  /** jsonata's evaluate: the node, its predicates, then the unwrapping of a sequence. */
  node(expr: Node, fn: Fn, scope: Scope): Js {
    if (expr.group !== undefined || expr.tuple || expr.focus !== undefined || expr.index !== undefined || expr.ancestor !== undefined) {
      throw new Unsupported(`${expr.type} with grouping, focus, index or ancestry`);
    }
    // A tail call, which jsonata defers to its trampoline; calling it at once gives the same value, not unwrapped.
    if (expr.type === 'lambda' && expr.thunk) return this.call(expr.body!, fn, scope, true);
    let result = this.core(expr, fn, scope);
    for (const predicate of expr.predicate ?? []) result = { ...this.filter(predicate, result.code, fn, scope), seq: true };
    if (expr.keepArray) return { code: `R_unwrapKeep(${result.code})`, kind: 'any', defined: false, seq: false };
    if (result.seq) return { code: `R_unwrap(${result.code})`, kind: result.kind, defined: false, seq: false };
    return result;
  }

  private core(expr: Node, fn: Fn, scope: Scope): Js {
    switch (expr.type) {
      case 'string':
      case 'number':
        return value(JSON.stringify(expr.value), expr.type, true);
      case 'value':
        return value(JSON.stringify(expr.value), typeof expr.value === 'boolean' ? 'boolean' : 'any', true);
      case 'path':
        return this.path(expr, fn, scope);
      case 'binary':
        return this.binary(expr, fn, scope);
      case 'unary':
        if (expr.value === '{') return this.object(expr, fn, scope);
        if (expr.value === '[') return this.array(expr, fn, scope);
        throw new Unsupported(`unary ${String(expr.value)}`);
      case 'condition': {
        const condition = this.node(expr.condition!, fn, scope);
        const then = this.node(expr.then!, fn, scope);
        const otherwise = expr.else ? this.node(expr.else, fn, scope) : value('undefined', then.kind, false);
        const kind = then.kind === otherwise.kind ? then.kind : 'any';
        return value(`(${this.truth(condition)} ? ${then.code} : ${otherwise.code})`, kind, then.defined && otherwise.defined);
      }
      case 'block':
        return this.block(expr, fn, scope);
      case 'variable':
        return this.variable(expr, fn, scope);
      case 'function':
        return this.call(expr, fn, scope, false);
      default:
        throw new Unsupported(`node type ${expr.type}`);
    }
  }

  private truth(js: Js): string {
    return js.kind === 'boolean' && js.defined ? js.code : `R_truthy(${js.code})`;
  }

  private variable(expr: Node, fn: Fn, scope: Scope): Js {
    const name = expr.value as string;
    // The context ($), never an outer wrapper here: an array input is left to the next evaluator.
    if (name === '') return value(fn.ctx, 'any', false);
    if (name === '$') return value('input', 'any', false);
    const v = scope.resolve(name);
    if (!v) throw new Unsupported(`$${name} as a value`); // a built-in or binding as a value: a function
    if (v.lambda) throw new Unsupported(`the function $${name} as a value`);
    return { code: v.js, kind: v.kind, defined: false, seq: v.param };
  }

  private block(expr: Node, fn: Fn, scope: Scope): Js {
    const expressions = expr.expressions!;
    if (expressions.length === 0) return value('undefined', 'any', false);
    const inner = new Scope(scope);
    for (const bind of expressions.filter((e) => e.type === 'bind')) {
      const name = bind.lhs!.value as string;
      const isLambda = bind.rhs!.type === 'lambda' && !bind.rhs!.thunk;
      const existing = inner.names.get(name);
      if (existing) {
        // A name bound twice in one block: fine for values, not for functions (called directly by name).
        if (existing.lambda || isLambda) throw new Unsupported(`$${name} bound twice with a function`);
        existing.kind = 'any';
        continue;
      }
      // jsonata binds in the block's frame when the bind runs; before it, the name reads outer frames. With no
      // outer binding of the name (checked here and, for the caller's bindings, when the function runs), both give nothing.
      if (bind.lhs!.type !== 'variable' || name === '' || name === '$' || scope.resolve(name) || this.jsonataBuiltins.has(name)) {
        throw new Unsupported(`a block variable $${name} that hides another`);
      }
      this.reserved.add(name);
      inner.names.set(name, {
        js: this.fresh('v', fn),
        kind: 'any',
        param: false,
        lambda: isLambda ? { raw: endsInTailCall(bind.rhs!.body!) } : undefined,
      });
    }
    const parts = expressions.map((e, i) => {
      if (e.type !== 'bind') return this.node(e, fn, inner);
      const v = inner.names.get(e.lhs!.value as string)!;
      if (v.lambda) {
        if (i === expressions.length - 1) throw new Unsupported('a block whose value is a function');
        return value(`(${v.js} = ${this.lambda(e.rhs!, fn, inner)})`, 'any', true);
      }
      const rhs = this.node(e.rhs!, fn, inner);
      if (v.kind === 'any' && expressions.filter((x) => x.type === 'bind' && x.lhs!.value === e.lhs!.value).length === 1) v.kind = rhs.kind;
      return value(`(${v.js} = ${rhs.code})`, rhs.kind, rhs.defined);
    });
    const last = parts[parts.length - 1];
    return parts.length === 1 ? last : value(`(${parts.map((p) => p.code).join(', ')})`, last.kind, last.defined);
  }

  /** A lambda as a JavaScript function of its parameters, closing over the context and variables where it is defined. */
  private lambda(expr: Node, fn: Fn, scope: Scope): string {
    if (expr.signature !== undefined) throw new Unsupported('function signatures');
    const inner = new Scope(scope);
    const params = expr.arguments!.map((p) => {
      const name = p.value as string;
      if (p.type !== 'variable' || name === '' || inner.names.has(name)) throw new Unsupported('a parameter name');
      const js = this.fresh('a');
      inner.names.set(name, { js, kind: 'any', param: true });
      return js;
    });
    const body = new Fn(fn.ctx);
    const result = this.node(expr.body!, body, inner);
    return `function (${params.join(', ')}) { ${body.declare()} return ${result.code}; }`;
  }

  /** A function argument of $map or $each: a lambda, written in place or bound to a name. */
  private callback(expr: Node, fn: Fn, scope: Scope): string {
    if (expr.type === 'lambda' && !expr.thunk && !expr.predicate && !expr.keepArray) return `(${this.lambda(expr, fn, scope)})`;
    if (expr.type === 'variable' && !expr.predicate && !expr.keepArray) {
      const v = scope.resolve(expr.value as string);
      if (v?.lambda) return v.js;
    }
    throw new Unsupported('a callback that is not a lambda');
  }

  private args(exprs: Node[], fn: Fn, scope: Scope): string[] {
    return exprs.map((a) => {
      if (a.type === 'operator' || (a.type === 'lambda' && !a.thunk)) throw new Unsupported('partial application or a function argument');
      return this.node(a, fn, scope).code;
    });
  }

  /** A call. `raw`: a tail call, whose result jsonata does not unwrap. */
  private call(expr: Node, fn: Fn, scope: Scope, raw: boolean): Js {
    const proc = expr.procedure!;
    if (proc.type !== 'variable' || proc.predicate || proc.keepArray || expr.type !== 'function') throw new Unsupported('a computed function');
    if (raw && (expr.predicate || expr.keepArray)) throw new Unsupported('a tail call with a predicate');
    const name = proc.value as string;
    const args = expr.arguments!;
    const v = scope.resolve(name);
    const result = (code: string, kind: Kind, defined: boolean, seq: boolean): Js => ({ code, kind, defined, seq: seq && !raw });
    if (v) {
      if (!v.lambda) throw new Unsupported(`calling the value $${name}`);
      return result(`${v.js}(${this.args(args, fn, scope).join(', ')})`, 'any', false, v.lambda.raw);
    }
    if (SPECIAL_BUILTINS.has(name) || GENERIC_BUILTINS.has(name)) {
      if (!this.jsonataBuiltins.has(name)) throw new Unsupported(`$${name} is not a jsonata built-in`);
      this.reserved.add(name);
      const one = () => {
        if (args.length !== 1) throw new Unsupported(`$${name} with ${args.length} arguments`);
        return this.args(args, fn, scope)[0];
      };
      switch (name) {
        case 'count':
          return result(`R_count(${one()})`, 'number', true, false);
        case 'exists':
          return result(`(${one()} !== undefined)`, 'boolean', true, false);
        case 'merge':
          return result(`R_merge(${one()})`, 'object', false, false);
        case 'uppercase':
          return result(`R_uppercase(${one()})`, 'string', false, false);
        case 'string':
          return result(`R_string(${one()})`, 'string', false, false);
        case 'map':
        case 'each': {
          if (args.length !== 2) throw new Unsupported(`$${name} with ${args.length} arguments`);
          const list = this.node(args[0], fn, scope).code;
          return result(`R_${name}(${list}, ${this.callback(args[1], fn, scope)})`, 'any', false, true);
        }
        case 'replace': {
          // $replace(str, /regex/, function): async in jsonata 2.x, synchronous here.
          if (args.length !== 3 || args[1].type !== 'regex' || args[1].predicate || args[1].keepArray) throw new Unsupported('$replace other than with a regex and a function');
          const str = this.node(args[0], fn, scope).code;
          const pattern = this.constant((args[1].value as RegExp).toString());
          return result(`R_replaceRegex(${str}, ${pattern}, ${this.callback(args[2], fn, scope)})`, 'string', false, false);
        }
        default: {
          if (STRING_FUNCTIONS.has(name) && args.length === 1) {
            this.builtinsUsed.add(name);
            return result(`R_stringFunction(B.${name}, ${one()})`, 'string', false, false);
          }
          // jsonata hands a trampolined call the caller's context; only a built-in that reads its context could tell.
          if (raw) throw new Unsupported(`$${name} as a tail call`);
          this.builtinsUsed.add(name);
          return result(`R_callBuiltin(B.${name}, [${this.args(args, fn, scope).join(', ')}], ${fn.ctx})`, 'any', false, true);
        }
      }
    }
    if (this.jsonataBuiltins.has(name) && name !== 'lookup') throw new Unsupported(`the built-in $${name}`);
    // A binding ($lookup, $meta, ...): called with the context as `this`, as jsonata's apply does.
    this.externals.add(name);
    const f = `E_${name}`;
    const argCode = this.args(args, fn, scope);
    return result(`(typeof ${f} === 'function' ? ${f}.call(${[fn.ctx, ...argCode].join(', ')}) : R_bail())`, 'any', false, true);
  }

  private path(expr: Node, fn: Fn, scope: Scope): Js {
    const steps = expr.steps!;
    for (const step of steps) {
      if (step.type === 'sort' || step.tuple || step.focus !== undefined || step.index !== undefined || step.ancestor !== undefined ||
        step.group !== undefined || step.consarray) {
        throw new Unsupported('a sort, tuple, focus or constructed-array step');
      }
    }
    const firstIsVariable = steps[0].type === 'variable';
    const plain = (step: Node) => !step.predicate?.length && !step.stages?.length && !step.keepArray;
    const names = steps.slice(firstIsVariable ? 1 : 0);
    const namesOnly = !expr.keepSingletonArray && names.length > 0 && plain(steps[0]) && names.every((s) => s.type === 'name' && plain(s));
    if (namesOnly) return this.namesPath(firstIsVariable ? this.node(steps[0], fn, scope).code : undefined, names.map((s) => s.value as string), fn);
    const compiled = steps.map((step, i) => this.step(step, i === 0 && firstIsVariable, fn, scope));
    return {
      code: `R_path(${fn.ctx}, ${firstIsVariable}, [${compiled.join(', ')}], ${expr.keepSingletonArray === true})`,
      kind: 'any',
      defined: false,
      seq: true,
    };
  }

  /**
   * `data.a.b` or `$v.a.b`: property reads while no value on the way is an array, when the sequences jsonata
   * builds would each hold one item and be unwrapped to it. An array hands the path to the general code.
   */
  private namesPath(first: string | undefined, names: string[], fn: Fn): Js {
    const steps = this.constant(`[${names.map((n) => `R_nameStep(${JSON.stringify(n)})`).join(', ')}]`);
    const p = this.fresh('p', fn);
    // Inline reads, so each site keeps its own inline cache (one shared helper sees every shape and goes megamorphic).
    const read = (from: string, name: string) => {
      if (name in Object.prototype) return `R_unwrap(R_lookup(${from}, ${JSON.stringify(name)}))`;
      const field = IDENTIFIER.test(name) ? `${from}.${name}` : `${from}[${JSON.stringify(name)}]`;
      // jsonata's lookup: own fields of an object that is not a function (a JSONata lambda or built-in object).
      return `(typeof ${from} === 'object' && ${from} !== null && ${from}._jsonata_lambda !== true && ${from}._jsonata_function !== true ? ${field} : undefined)`;
    };
    let general: string;
    let code: string;
    if (first === undefined) {
      general = `R_unwrap(R_path(${fn.ctx}, false, ${steps}, false))`;
      code = `(${p} = ${read(fn.ctx, names[0])}`;
    } else {
      const q = this.fresh('q', fn);
      general = `R_unwrap(R_path(${fn.ctx}, true, [{ run: () => ${q} }, ...${steps}], false))`;
      code = `(${q} = ${first}, ${p} = ${q}, Array.isArray(${p}) ? ${general} : (${p} = ${read(p, names[0])}`;
    }
    let close = ')';
    for (const name of names.slice(1)) {
      code += `, Array.isArray(${p}) ? ${general} : (${p} = ${read(p, name)}`;
      close += ')';
    }
    code += `, Array.isArray(${p}) ? ${general} : ${p}${close}`;
    if (first !== undefined) code += ')';
    return value(code, 'any', false);
  }

  /** One step of a general path, as { run(item), stages } for the runtime's evaluateStep. */
  private step(step: Node, variableFirst: boolean, fn: Fn, scope: Scope): string {
    const stages = (step.stages ?? []).map((stage) => {
      if (stage.type !== 'filter') throw new Unsupported(`stage ${stage.type}`);
      return `(s) => ${this.filter(stage, 's', fn, scope).code}`;
    });
    let run: string;
    if (step.type === 'name' && !step.predicate?.length) {
      run = `(c) => R_${step.keepArray ? 'unwrapKeep' : 'unwrap'}(R_lookup(c, ${JSON.stringify(step.value)}))`;
    } else if (variableFirst) {
      run = `() => ${this.node(step, fn, scope).code}`;
    } else {
      run = this.contextFunction(step, scope);
    }
    return `{ run: ${run}${stages.length ? `, stages: [${stages.join(', ')}]` : ''} }`;
  }

  /** A function of one context item that is not an array (else the next evaluator runs the record). */
  private contextFunction(expr: Node, scope: Scope): string {
    const inner = new Fn(this.fresh('c'));
    const body = this.node(expr, inner, scope);
    return `function (${inner.ctx}) { if (Array.isArray(${inner.ctx})) R_bail(); ${inner.declare()} return ${body.code}; }`;
  }

  /** A predicate [expr] on a value: jsonata's evaluateFilter. */
  private filter(predicate: { type: string; expr: Node }, input: string, fn: Fn, scope: Scope): Js {
    const expr = predicate.expr;
    if (expr.type === 'number' && !expr.predicate && !expr.keepArray) return value(`R_filterIndex(${input}, ${JSON.stringify(expr.value)})`, 'any', false);
    return value(`R_filter(${input}, ${this.contextFunction(expr, scope)})`, 'any', false);
  }

  private binary(expr: Node, fn: Fn, scope: Scope): Js {
    const op = expr.value as string;
    const lhs = this.node(expr.lhs!, fn, scope);
    const rhs = this.node(expr.rhs!, fn, scope);
    const text = (js: Js) => (js.kind === 'string' && js.defined ? js.code : `R_text(${js.code})`);
    switch (op) {
      case '&':
        return value(`(${text(lhs)} + ${text(rhs)})`, 'string', true);
      case 'and':
        return value(`(${this.truth(lhs)} && ${this.truth(rhs)})`, 'boolean', true);
      case 'or':
        return value(`(${this.truth(lhs)} || ${this.truth(rhs)})`, 'boolean', true);
      case '=':
      case '!=': {
        // Against a literal (never undefined, never an object) deep equality is ===.
        const literal = isLiteral(expr.rhs!) ? rhs : isLiteral(expr.lhs!) ? lhs : undefined;
        if (literal) {
          const other = literal === rhs ? lhs : rhs;
          return value(op === '=' ? `(${other.code} === ${literal.code})` : `((t = ${other.code}) !== undefined && t !== ${literal.code})`, 'boolean', true);
        }
        return value(`${op === '=' ? '' : '!'}R_equal(${lhs.code}, ${rhs.code})`, 'boolean', true);
      }
      case '<':
      case '<=':
      case '>':
      case '>=':
        if (lhs.kind === 'number' && lhs.defined && rhs.kind === 'number' && rhs.defined) return value(`(${lhs.code} ${op} ${rhs.code})`, 'boolean', true);
        return value(`R_compare(${lhs.code}, ${rhs.code}, ${JSON.stringify(op)})`, 'boolean', false);
      default:
        throw new Unsupported(`operator ${op}`);
    }
  }

  /**
   * An object constructor with literal keys on one context item: jsonata's grouping is then the identity and
   * the values come in key order, so the object is built in place, skipping values that are undefined.
   */
  private object(expr: Node, fn: Fn, scope: Scope): Js {
    const pairs = expr.lhs as unknown as Node[][];
    const keys = pairs.map(([k]) => {
      const key = k.value as string;
      // Integer-like keys would be reordered by jsonata's grouping object; prototype names and jsonata's own flags read differently.
      if (k.type !== 'string' || k.predicate || k.keepArray || /^\d+$/.test(key) || key in Object.prototype || key.startsWith('_jsonata')) {
        throw new Unsupported(`the object key ${String(key)}`);
      }
      return key;
    });
    if (new Set(keys).size !== keys.length) throw new Unsupported('a repeated object key'); // jsonata: D1009
    const o = this.fresh('o', fn);
    const parts = pairs.map(([, v], i) => {
      const js = this.node(v, fn, scope);
      const field = IDENTIFIER.test(keys[i]) ? `${o}.${keys[i]}` : `${o}[${JSON.stringify(keys[i])}]`;
      return js.defined ? `${field} = ${js.code}` : `(t = ${js.code}) !== undefined && (${field} = t)`;
    });
    return value(`(${[`${o} = {}`, ...parts, o].join(', ')})`, 'object', true);
  }

  /** An array constructor: undefined items dropped, arrays flattened one level unless themselves constructed with [...]. */
  private array(expr: Node, fn: Fn, scope: Scope): Js {
    if (expr.consarray) throw new Unsupported('a constructed array at the start of a path');
    const a = this.fresh('l', fn);
    const parts = expr.expressions!.map((item) => {
      const js = this.node(item, fn, scope);
      const pushOnly = item.value === '[' || (js.kind !== 'any' && js.kind !== 'array');
      if (pushOnly) return js.defined ? `${a}.push(${js.code})` : `(t = ${js.code}) !== undefined && ${a}.push(t)`;
      return `R_append(${a}, ${js.code})`;
    });
    return value(`(${[`${a} = []`, ...parts, a].join(', ')})`, 'array', true);
  }
}

async function jsonataBuiltin(name: string): Promise<Builtin | undefined> {
  const found: unknown = await jsonata(`$${name}`).evaluate(null);
  return isBuiltin(found) ? found : undefined;
}

/** The generated source for an expression, or undefined when it uses something outside the subset. Async only for jsonata's built-ins. */
export async function compileJsSource(expression: jsonata.Expression): Promise<{ source: string; builtins: Record<string, Builtin> } | undefined> {
  const ast = expression.ast() as unknown as Node;
  const names = new Set<string>();
  collectVariables(ast, names);
  const builtins: Record<string, Builtin> = {};
  for (const name of names) {
    const builtin = await jsonataBuiltin(name);
    if (builtin) builtins[name] = builtin;
  }
  const stringBuiltin = await jsonataBuiltin('string');
  if (!stringBuiltin) return undefined;
  setStringFormatter((v) => stringBuiltin.implementation.call({ createSequence }, v) as string);

  const compiler = new Compiler(new Set(Object.keys(builtins)));
  const root = new Fn('input');
  let body: Js;
  try {
    body = compiler.node(ast, root, new Scope());
  } catch (err) {
    if (err instanceof Unsupported) return undefined;
    throw err;
  }
  const own = (name: string) => `Object.prototype.hasOwnProperty.call(bindings, ${JSON.stringify(name)})`;
  const externals = [...compiler.externals].map((name) =>
    // A binding jsonata also has as a built-in ($lookup) must be given, or jsonata would use its own.
    builtins[name] ? `const E_${name} = ${own(name)} ? bindings.${name} : R_bail();` : `const E_${name} = ${own(name)} ? bindings.${name} : undefined;`,
  );
  const helpers = Object.keys(runtime).map((name) => `R_${name} = R.${name}`);
  const source = [
    '"use strict";',
    `const ${helpers.join(', ')};`,
    ...compiler.constants,
    `const RESERVED = new Set(${JSON.stringify([...compiler.reserved])});`,
    'return function mapping(input, bindings) {',
    // An array input is wrapped by jsonata as an outer sequence: left to the next evaluator.
    '  if (Array.isArray(input)) R_bail();',
    '  for (const name in bindings) if (RESERVED.has(name)) R_bail();',
    ...externals.map((e) => `  ${e}`),
    `  ${root.declare()}`,
    `  return ${body.code};`,
    '};',
  ].join('\n');
  const used: Record<string, Builtin> = {};
  for (const name of compiler.builtinsUsed) used[name] = builtins[name];
  return { source, builtins: used };
}

/** Compiles a jsonata expression to a JavaScript function with the same results, or undefined outside the subset. */
export async function compileJs(expression: jsonata.Expression): Promise<CompiledMapping | undefined> {
  const compiled = await compileJsSource(expression);
  if (!compiled) return undefined;
  const make = new Function('R', 'B', compiled.source) as (r: typeof runtime, b: Record<string, Builtin>) => CompiledMapping;
  return make(runtime, compiled.builtins);
}

