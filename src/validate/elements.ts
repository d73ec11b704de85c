/**
 * Checks for the children of an object: unknown keys, JSON shape (arrays, choice types, `_x` primitive
 * extensions), cardinality, and slicing. What one value must satisfy comes from `env.itemCheck`.
 */
import type { ElementNode } from './definitions';
import { type ChildCheck, type Ctx, isObject, type Json, report, type ValueCheck } from './context';
import { isPrimitiveType } from './primitives';
import { Source, lazy, literal } from './generate';
import { compileSliceMatcher, type SliceEnv, type SliceMatcher } from './slicing';

export interface Tree {
  root: ElementNode;
  byId: Map<string, ElementNode>;
  kind: string;
}

export interface ElementEnv extends SliceEnv {
  itemCheck(node: ElementNode, typeCode: string, tree: Tree): ValueCheck;
  /** The check of a primitive's `_x` companion (id and extensions). */
  primitiveElementCheck(node: ElementNode, tree: Tree): ValueCheck;
  constraintChecks(node: ElementNode): ValueCheck[];
}

interface Variant {
  json: string;
  /** `_` + json, built once: a key concatenated per lookup must be hashed again every time. */
  extKey: string;
  primitive: boolean;
  check: ValueCheck;
  elementCheck?: ValueCheck;
  /** [this], so finding one variant of a choice allocates nothing. */
  alone: Variant[];
}

const NONE: Variant[] = [];

/** Index suffixes of array items' paths. */
const INDEX = Array.from({ length: 64 }, (_, i) => `[${i}]`);

/** One child element: its check (finds its values in the parent), and what generated code needs to inline it. */
interface ChildPlan {
  check: ChildCheck;
  /** What the parent's generated check needs to do this child's work inline. */
  inline: {
    variants: Variant[];
    shownName: string;
    slices: Slice[];
    closed: boolean;
    checkCardinality: (total: number, path: string, present: string, ctx: Ctx) => void;
  };
  /** The JSON keys that hold this child (with `_x` for primitives). */
  keys: string[];
  min: number;
  max: number;
  isArray: boolean;
}

interface Slice {
  name: string;
  node: ElementNode;
  match: SliceMatcher;
  check: ValueCheck;
}

function upperFirst(code: string): string {
  return code.charAt(0).toUpperCase() + code.slice(1);
}

/** The JSON property names an element can take (`valueQuantity`, ... for choices). */
export function jsonNames(node: ElementNode): { json: string; typeCode: string }[] {
  if (!node.name.endsWith('[x]')) return [{ json: node.name, typeCode: node.types[0]?.code ?? 'BackboneElement' }];
  const prefix = node.name.slice(0, -3);
  return node.types.map((t) => ({ json: prefix + upperFirst(t.code), typeCode: t.code }));
}

function compileChild(node: ElementNode, tree: Tree, env: ElementEnv): ChildPlan {
  const choice = node.name.endsWith('[x]');
  const shownName = choice ? node.name.slice(0, -3) : node.name;
  const variants: Variant[] = jsonNames(node).map(({ json, typeCode }) => {
    const typeSlice = choice ? node.slices.find((s) => s.sliceName === json) : undefined;
    const target = typeSlice ?? node;
    const primitive = isPrimitiveType(typeCode) || typeCode.startsWith('http://hl7.org/fhirpath/');
    const variant: Variant = {
      json,
      extKey: '_' + json,
      primitive,
      check: env.itemCheck(target, typeCode, tree),
      elementCheck: primitive ? env.primitiveElementCheck(target, tree) : undefined,
      alone: [],
    };
    variant.alone.push(variant);
    return variant;
  });
  const slices: Slice[] = [];
  if (!choice && node.slicing) {
    for (const s of node.slices) {
      const match = compileSliceMatcher(node, s, env);
      if (match) slices.push({ name: s.sliceName ?? s.id, node: s, match, check: env.itemCheck(s, s.types[0]?.code ?? variants[0].json, tree) });
    }
  }
  const closed = node.slicing?.rules === 'closed';

  const checkOne = (v: Variant, value: unknown, ext: unknown, path: string, ctx: Ctx, check: ValueCheck) => {
    if (value === undefined || value === null) {
      if (!v.primitive || !isObject(ext)) report(ctx, 'error', 'structure', path, `${v.json} has no value`);
    } else {
      check(value, path, ctx);
    }
    if (ext !== undefined && ext !== null) {
      if (v.elementCheck) v.elementCheck(ext, path, ctx);
      else report(ctx, 'error', 'structure', path, `Unknown element '_${v.json}'`);
    }
  };

  const checkArray = (v: Variant, values: unknown[], exts: unknown[], path: string, ctx: Ctx): number => {
    const n = Math.max(values.length, exts.length);
    if (!slices.length) {
      for (let i = 0; i < n; i++) checkOne(v, values[i], exts[i], `${path}[${i}]`, ctx, v.check);
      return n;
    }
    const counts = new Array<number>(slices.length).fill(0);
    for (let i = 0; i < n; i++) {
      const item = values[i];
      const index = slices.findIndex((s) => s.match(item));
      if (index >= 0) {
        counts[index]++;
        checkOne(v, item, exts[i], `${path}[${i}]`, ctx, slices[index].check);
      } else {
        if (closed) report(ctx, 'error', 'structure', `${path}[${i}]`, `${v.json}[${i}] matches none of the slices, and the slicing is closed`);
        checkOne(v, item, exts[i], `${path}[${i}]`, ctx, v.check);
      }
    }
    slices.forEach((s, i) => {
      if (counts[i] < s.node.min) {
        report(ctx, 'error', 'required', path, `Slice '${s.name}': minimum required = ${s.node.min}, but only found ${counts[i]}`);
      } else if (counts[i] > s.node.max) {
        report(ctx, 'error', 'structure', path, `Slice '${s.name}': maximum allowed = ${s.node.max}, but found ${counts[i]}`);
      }
    });
    return n;
  };

  const byKey: Record<string, Variant> = Object.create(null) as Record<string, Variant>;
  for (const v of variants) {
    byKey[v.json] = v;
    if (v.primitive) byKey[v.extKey] = v;
  }
  /** The variants present in the parent, in the order of their first key; allocates only when two are. */
  const presentVariants = (parent: Json): Variant[] => {
    let first: Variant | undefined;
    let found: Variant[] | undefined;
    for (const key in parent) {
      const v = byKey[key];
      if (v === undefined || v === first) continue;
      if (first === undefined) first = v;
      else if (found === undefined) found = [first, v];
      else if (!found.includes(v)) found.push(v);
    }
    return found ?? first?.alone ?? NONE;
  };

  /** Checks one present variant's value (and `_x`); returns how many items it adds to the cardinality. */
  const checkVariant = (v: Variant, value: unknown, ext: unknown, at: string, ctx: Ctx): number => {
    if (node.isArray) {
      if ((value !== undefined && !Array.isArray(value)) || (ext !== undefined && ext !== null && !Array.isArray(ext))) {
        report(ctx, 'error', 'structure', at, `${v.json} must be a JSON array`);
        return 0;
      }
      if (Array.isArray(value) && value.length === 0) report(ctx, 'error', 'structure', at, `${v.json} is an empty array`);
      return checkArray(v, (value ?? []) as unknown[], (ext ?? []) as unknown[], at, ctx);
    }
    if (Array.isArray(value) || Array.isArray(ext)) {
      report(ctx, 'error', 'structure', at, `${v.json} must not be a JSON array`);
      return 0;
    }
    const index = slices.length ? slices.findIndex((s) => s.match(value)) : -1;
    checkOne(v, value, ext, at, ctx, index >= 0 ? slices[index].check : v.check);
    return 1;
  };

  const { min, max } = node;
  const checkCardinality = (total: number, path: string, present: string, ctx: Ctx): void => {
    if (total < min) {
      report(ctx, 'error', 'required', `${path}.${present}`, `${node.path}: minimum required = ${min}, but only found ${total}`);
    } else if (total > max) {
      const why = max === 0 ? 'is not allowed here' : `maximum allowed = ${max}, but found ${total}`;
      report(ctx, 'error', 'structure', `${path}.${present}`, `${node.path}: ${why}`);
    }
  };

  const check: ChildCheck =
    variants.length === 1
      ? (parent: Json, path: string, ctx: Ctx) => {
          // Not a choice, or a choice of one type: no search for which variant is there.
          const v = variants[0];
          const value = parent[v.json];
          const ext = v.primitive ? parent[v.extKey] : undefined;
          const found = value !== undefined || ext !== undefined;
          const total = found ? checkVariant(v, value, ext, `${path}.${v.json}`, ctx) : 0;
          if (total < min || total > max) checkCardinality(total, path, found ? v.json : shownName, ctx);
        }
      : (parent: Json, path: string, ctx: Ctx) => {
          let total = 0;
          let present: string | undefined;
          for (const v of presentVariants(parent)) {
            const value = parent[v.json];
            const ext = v.primitive ? parent[v.extKey] : undefined;
            if (value === undefined && ext === undefined) continue;
            const at = `${path}.${v.json}`;
            if (present !== undefined) report(ctx, 'error', 'structure', at, `Only one of ${present} and ${v.json} may be present`);
            present = v.json;
            total += checkVariant(v, value, ext, at, ctx);
          }
          checkCardinality(total, path, present ?? shownName, ctx);
        };
  const inline = { variants, shownName, slices, closed, checkCardinality };
  return { check, inline, keys: Object.keys(byKey), min, max, isArray: node.isArray };
}

/**
 * Code for one variant of a child that is there (its value in `value`, its `_x` in `ext`): what checkVariant
 * and checkArray do, inline. Leaves the number of items in `total`.
 */
function emitVariant(src: Source, plan: ChildPlan, v: Variant, value: string, ext: string, at: string): void {
  const { slices, closed } = plan.inline;
  /** checkOne(v, item, x, where, ctx, check) */
  const checkOne = (item: string, x: string | undefined, where: string, check: ValueCheck): void => {
    const noValue = literal(`${v.json} has no value`);
    if (v.primitive && x) src.line(`if (${item} === undefined || ${item} === null) { if (!isObject(${x})) report(ctx, 'error', 'structure', ${where}, ${noValue}); }`);
    else src.line(`if (${item} === undefined || ${item} === null) report(ctx, 'error', 'structure', ${where}, ${noValue});`);
    src.line(`else ${src.call(check, `${item}, ${where}, ctx`)}`);
    if (!x) return;
    if (v.elementCheck) src.line(`if (${x} !== undefined && ${x} !== null) ${src.call(v.elementCheck, `${x}, ${where}, ctx`)}`);
    else src.line(`if (${x} !== undefined && ${x} !== null) report(ctx, 'error', 'structure', ${where}, ${literal(`Unknown element '_${v.json}'`)});`);
  };
  /** Which slice `item` is in (the first that matches), or -1, into `slice`. */
  const findSlice = (item: string): void => {
    src.line('let slice = -1;');
    slices.forEach((sl, j) => src.line(`${j ? 'else ' : ''}if (${src.constant(sl.match)}(${item})) slice = ${j};`));
  };
  /** checkOne with the slice's check, or (no slice) the element's own. */
  const checkInSlice = (item: string, x: string | undefined, where: string, counting: boolean, unmatched: () => void): void => {
    slices.forEach((sl, j) => {
      src.line(`${j ? 'else ' : ''}if (slice === ${j}) {`);
      if (counting) src.line(`count${j}++;`);
      checkOne(item, x, where, sl.check);
      src.line('}');
    });
    src.line(slices.length ? 'else {' : '{');
    unmatched();
    checkOne(item, x, where, v.check);
    src.line('}');
  };
  src.line('let total = 0;');
  if (plan.isArray) {
    src.line(`if ((${value} !== undefined && !Array.isArray(${value})) || (${ext} !== undefined && ${ext} !== null && !Array.isArray(${ext}))) {`);
    src.line(`report(ctx, 'error', 'structure', ${at}, ${literal(`${v.json} must be a JSON array`)});`);
    src.line('} else {');
    src.line(`if (Array.isArray(${value}) && ${value}.length === 0) report(ctx, 'error', 'structure', ${at}, ${literal(`${v.json} is an empty array`)});`);
    src.line(`const values = ${value} ?? NONE;`);
    if (v.primitive) {
      src.line(`const exts = ${ext} ?? NONE;`);
      src.line('const n = Math.max(values.length, exts.length);');
    } else src.line('const n = values.length;');
    slices.forEach((_, j) => src.line(`let count${j} = 0;`));
    src.line('for (let i = 0; i < n; i++) {');
    // "[0]", "[1]"... made once: one concatenation per item instead of three and a number turned into text.
    src.line(`const where = ${at} + (i < ${INDEX.length} ? ${src.constant(INDEX)}[i] : '[' + i + ']');`);
    src.line('const item = values[i];');
    if (v.primitive) src.line('const x = exts[i];');
    const x = v.primitive ? 'x' : undefined;
    if (!slices.length) checkOne('item', x, 'where', v.check);
    else {
      findSlice('item');
      checkInSlice('item', x, 'where', true, () => {
        if (closed) {
          src.line(`report(ctx, 'error', 'structure', where, ${literal(`${v.json}[`)} + i + '] matches none of the slices, and the slicing is closed');`);
        }
      });
    }
    src.line('}');
    slices.forEach((sl, j) => {
      const { min, max } = sl.node;
      src.line(`if (count${j} < ${min}) report(ctx, 'error', 'required', ${at}, ${literal(`Slice '${sl.name}': minimum required = ${min}, but only found `)} + count${j});`);
      if (max !== Infinity) {
        src.line(`else if (count${j} > ${max}) report(ctx, 'error', 'structure', ${at}, ${literal(`Slice '${sl.name}': maximum allowed = ${max}, but found `)} + count${j});`);
      }
    });
    src.line('total = n;');
    src.line('}');
  } else {
    src.line(`if (Array.isArray(${value})${v.primitive ? ` || Array.isArray(${ext})` : ''}) {`);
    src.line(`report(ctx, 'error', 'structure', ${at}, ${literal(`${v.json} must not be a JSON array`)});`);
    src.line('} else {');
    const x = v.primitive ? ext : undefined;
    if (!slices.length) checkOne(value, x, at, v.check);
    else {
      findSlice(value);
      checkInSlice(value, x, at, false, () => undefined);
    }
    src.line('total = 1;');
    src.line('}');
  }
}

/** The generated check of one child: what its ChildPlan.check does, inline (a choice with two there excepted). */
function emitChild(src: Source, plan: ChildPlan): void {
  const { variants, shownName, checkCardinality } = plan.inline;
  const { min, max } = plan;
  const card = src.constant(checkCardinality);
  const shownMax = max === Infinity ? 'Infinity' : String(max);
  const read = (v: Variant, j: number) => {
    src.line(`const v${j} = value[${literal(v.json)}];`);
    src.line(`const e${j} = ${v.primitive ? `value[${literal(v.extKey)}]` : 'undefined'};`);
  };
  const present = (j: number) => `(v${j} !== undefined || e${j} !== undefined)`;
  const variantThere = (v: Variant, j: number) => {
    src.line(`const at = path + ${literal('.' + v.json)};`);
    emitVariant(src, plan, v, `v${j}`, `e${j}`, 'at');
    src.line(`if (total < ${min} || total > ${shownMax}) ${card}(total, path, ${literal(v.json)}, ctx);`);
  };
  variants.forEach(read);
  if (variants.length === 1) {
    src.line(`if (${present(0)}) {`);
    variantThere(variants[0], 0);
    src.line(min > 0 ? `} else ${card}(0, path, ${literal(shownName)}, ctx);` : '}');
    return;
  }
  // A choice: with two or more there, the child's own check says which came first and reports the rest.
  const count = variants.map((_, j) => `(${present(j)} ? 1 : 0)`).join(' + ');
  src.line(`const there = ${count};`);
  src.line(`if (there > 1) ${src.constant(plan.check)}(value, path, ctx);`);
  variants.forEach((v, j) => {
    src.line(`else if (${present(j)}) {`);
    variantThere(v, j);
    src.line('}');
  });
  if (min > 0) src.line(`else ${card}(0, path, ${literal(shownName)}, ctx);`);
}

/** Whether the parent's generated code does the child's work itself (choices of up to 4 types, any slicing). */
function inlined(plan: ChildPlan): boolean {
  return plan.inline.variants.length <= 4;
}

/**
 * The check of an object against the children of `node`, as generated code: unknown keys (in key order),
 * ele-1, then each child in definition order (simple ones inline), then the node's own invariants.
 */
export function compileComplex(
  node: ElementNode,
  tree: Tree,
  env: ElementEnv,
  options: { resourceType?: string; skipValue?: boolean; constraints?: boolean } = {},
): ValueCheck {
  const children = node.children.filter((c) => !(options.skipValue && c.name === 'value'));
  const plans = children.map((c) => compileChild(c, tree, env));
  // JSON key -> 0 for a known key, or the bit that says the key's child (one checked by its own closure) is there.
  const keyBits: Record<string, number> = Object.create(null) as Record<string, number>;
  let bits = 0;
  const bitOf = plans.map((plan) => (inlined(plan) || bits >= 30 ? 0 : 1 << bits++));
  plans.forEach((plan, index) => {
    for (const key of plan.keys) keyBits[key] = bitOf[index];
  });
  if (options.resourceType) keyBits.resourceType = 0;
  const rootChecks = options.constraints ? env.constraintChecks(node) : [];

  return lazy(() => generateComplex(node, children, plans, keyBits, bitOf, rootChecks, options.resourceType !== undefined));
}

function generateComplex(
  node: ElementNode,
  children: ElementNode[],
  plans: ChildPlan[],
  keyBits: Record<string, number>,
  bitOf: number[],
  rootChecks: ValueCheck[],
  resource: boolean,
): ValueCheck {
  const src = new Source();
  src.constant(report); // k0..k3, named below
  src.constant(isObject);
  src.constant(NONE);
  src.constant(keyBits);
  src.line('const report = k0, isObject = k1, NONE = k2, keys = k3;');
  src.line("if (typeof value !== 'object' || value === null || Array.isArray(value)) {");
  src.line("report(ctx, 'error', 'structure', path, 'Expected a JSON object, found ' + (Array.isArray(value) ? 'an array' : typeof value));");
  src.line('return;');
  src.line('}');
  src.line('let content = false;');
  src.line('let present = 0;');
  src.line('for (const key in value) {');
  src.line("if (key !== 'id' && key !== 'resourceType') content = true;");
  src.line('const bit = keys[key];');
  src.line("if (bit === undefined) report(ctx, 'error', 'structure', path + '.' + key, \"Unknown element '\" + key + \"'\");");
  src.line('else present |= bit;');
  src.line('}');
  if (!resource) {
    src.line("if (!content) report(ctx, 'error', 'invariant', path, 'ele-1: All FHIR elements must have a @value or children');");
  }
  // Every child in definition order: one absent and not required reports nothing, so skipping it or not is alike.
  plans.forEach((plan, index) => {
    src.line(`// ${children[index].id}`);
    if (inlined(plan)) {
      src.line('{');
      emitChild(src, plan);
      src.line('}');
      return;
    }
    const call = `${src.constant(plan.check)}(value, path, ctx);`;
    src.line(plan.min > 0 || !bitOf[index] ? call : `if ((present & ${bitOf[index]}) !== 0) ${call}`);
  });
  for (const check of rootChecks) src.line(src.call(check));
  return src.build<ValueCheck>(node.id, 'value, path, ctx');
}
