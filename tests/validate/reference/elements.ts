/**
 * Checks for the children of an object: unknown keys, JSON shape (arrays, choice types, `_x` primitive
 * extensions), cardinality, and slicing. What one value must satisfy comes from `env.itemCheck`.
 */
import type { ElementNode } from './definitions';
import { type ChildCheck, type Ctx, isObject, type Json, report, type ValueCheck } from './context';
import { isPrimitiveType } from './primitives';
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

function compileChild(node: ElementNode, tree: Tree, env: ElementEnv): ChildCheck {
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

  if (variants.length === 1) {
    // Not a choice, or a choice of one type: no search for which variant is there.
    const v = variants[0];
    return (parent: Json, path: string, ctx: Ctx) => {
      const value = parent[v.json];
      const ext = v.primitive ? parent[v.extKey] : undefined;
      const found = value !== undefined || ext !== undefined;
      const total = found ? checkVariant(v, value, ext, `${path}.${v.json}`, ctx) : 0;
      if (total < min || total > max) checkCardinality(total, path, found ? v.json : shownName, ctx);
    };
  }
  return (parent: Json, path: string, ctx: Ctx) => {
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
}

const byNumber = (a: number, b: number): number => a - b;

/** The check of an object against the children of `node`. */
export function compileComplex(
  node: ElementNode,
  tree: Tree,
  env: ElementEnv,
  options: { resourceType?: string; skipValue?: boolean; constraints?: boolean } = {},
): ValueCheck {
  const children = node.children.filter((c) => !(options.skipValue && c.name === 'value'));
  const childChecks = children.map((c) => compileChild(c, tree, env));
  // JSON key -> child index, so an object costs one lookup per key it has, not one per element it could have.
  const keyToChild: Record<string, number> = Object.create(null) as Record<string, number>;
  children.forEach((c, index) => {
    for (const { json, typeCode } of jsonNames(c)) {
      keyToChild[json] = index;
      if (isPrimitiveType(typeCode) || typeCode.startsWith('http://hl7.org/fhirpath/')) keyToChild['_' + json] = index;
    }
  });
  if (options.resourceType) keyToChild.resourceType = -1;
  // Children to check: the required ones and those present, in definition order, each once. The first 64 are
  // kept as bits of two numbers (no array, no sort); any beyond (no R4 definition has them) in a sorted list.
  let required0 = 0;
  let required1 = 0;
  const requiredRest: number[] = [];
  children.forEach((c, index) => {
    if (c.min === 0) return;
    if (index < 32) required0 |= 1 << index;
    else if (index < 64) required1 |= 1 << (index - 32);
    else requiredRest.push(index);
  });
  const rootChecks = options.constraints ? env.constraintChecks(node) : [];
  return (value: unknown, path: string, ctx: Ctx) => {
    if (!isObject(value)) {
      report(ctx, 'error', 'structure', path, `Expected a JSON object, found ${Array.isArray(value) ? 'an array' : typeof value}`);
      return;
    }
    let content = false;
    let present0 = required0;
    let present1 = required1;
    let rest: number[] | undefined = requiredRest.length ? requiredRest.slice() : undefined;
    for (const key in value) {
      if (key !== 'id' && key !== 'resourceType') content = true;
      const index = keyToChild[key];
      if (index === undefined) report(ctx, 'error', 'structure', `${path}.${key}`, `Unknown element '${key}'`);
      else if (index < 0) continue;
      else if (index < 32) present0 |= 1 << index;
      else if (index < 64) present1 |= 1 << (index - 32);
      else (rest ??= []).push(index);
    }
    if (!content && !options.resourceType) {
      report(ctx, 'error', 'invariant', path, 'ele-1: All FHIR elements must have a @value or children');
    }
    // Lowest set bit first: definition order. A bit set twice (value and _value, required and present) is one.
    for (let mask = present0; mask !== 0; ) {
      const bit = mask & -mask;
      mask ^= bit;
      childChecks[31 - Math.clz32(bit)](value, path, ctx);
    }
    for (let mask = present1; mask !== 0; ) {
      const bit = mask & -mask;
      mask ^= bit;
      childChecks[63 - Math.clz32(bit)](value, path, ctx);
    }
    if (rest) {
      rest.sort(byNumber);
      for (let i = 0; i < rest.length; i++) if (i === 0 || rest[i] !== rest[i - 1]) childChecks[rest[i]](value, path, ctx);
    }
    for (const check of rootChecks) check(value, path, ctx);
  };
}
