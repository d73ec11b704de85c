/**
 * Slice discriminators: which slice an item of a sliced element belongs to. Supports value and pattern
 * (fixed/pattern values, required bindings, and an extension's url from its type profile), exists, type and
 * profile (by resource type) discriminators on simple dotted paths and `$this`.
 */
import type { ElementNode } from './definitions';
import { isObject } from './context';
import { deepEqual, matchesPattern, valuesAt } from './values';
import { inValueSet, type ValueSets } from './terminology';

export type SliceMatcher = (item: unknown) => boolean;

export interface SliceEnv {
  valueSets: ValueSets;
  /** The root node of the definition an element's type (or type profile) refers to, for elements without children. */
  typeRoot(node: ElementNode): ElementNode | undefined;
  /** The resource type a profile constrains. */
  profileType(url: string): string | undefined;
}

function childNamed(node: ElementNode, name: string, env: SliceEnv): ElementNode | undefined {
  const children = node.children.length ? node.children : (env.typeRoot(node)?.children ?? []);
  return children.find((c) => c.name === name || (c.name.endsWith('[x]') && name.startsWith(c.name.slice(0, -3))));
}

function nodeAt(slice: ElementNode, segments: readonly string[], env: SliceEnv): ElementNode | undefined {
  let node: ElementNode | undefined = slice;
  for (const segment of segments) {
    if (!node) return undefined;
    node = childNamed(node, segment, env);
  }
  return node;
}

function valueMatcher(target: ElementNode | undefined, segments: string[], slice: ElementNode, env: SliceEnv) {
  const extensionUrl = segments.join('.') === 'url' ? slice.types[0]?.profile?.[0] : undefined;
  if (target?.fixed !== undefined) {
    const fixed = target.fixed;
    return (values: unknown[]) => values.some((v) => deepEqual(v, fixed));
  }
  if (target?.pattern !== undefined) {
    const pattern = target.pattern;
    return (values: unknown[]) => values.some((v) => matchesPattern(v, pattern));
  }
  if (target?.binding?.strength === 'required') {
    const { valueSet } = target.binding;
    const typeCode = target.types[0]?.code ?? 'code';
    return (values: unknown[]) => values.some((v) => inValueSet(valueSet, typeCode, v, env.valueSets) !== false);
  }
  if (extensionUrl) return (values: unknown[]) => values.some((v) => v === extensionUrl);
  return undefined;
}

/** A matcher for one slice, or undefined when its discriminators cannot tell (then nothing matches). */
export function compileSliceMatcher(base: ElementNode, slice: ElementNode, env: SliceEnv): SliceMatcher | undefined {
  const tests: SliceMatcher[] = [];
  for (const discriminator of base.slicing?.discriminator ?? []) {
    const segments = discriminator.path === '$this' ? [] : discriminator.path.replace(/^\$this\./, '').split('.');
    const target = nodeAt(slice, segments, env);
    switch (discriminator.type) {
      case 'value':
      case 'pattern': {
        const match = valueMatcher(target, segments, slice, env);
        if (!match) return undefined;
        tests.push((item) => match(valuesAt(item, segments)));
        break;
      }
      case 'exists': {
        const mustExist = (target?.min ?? 0) > 0;
        tests.push((item) => valuesAt(item, segments).length > 0 === mustExist);
        break;
      }
      case 'type':
      case 'profile': {
        const wanted = new Set<string>();
        for (const t of target?.types ?? []) {
          for (const p of [...(t.profile ?? []), ...(discriminator.type === 'profile' ? (t.targetProfile ?? []) : [])]) {
            const type = env.profileType(p);
            if (type) wanted.add(type);
          }
          if (discriminator.type === 'type') wanted.add(t.code);
        }
        if (!wanted.size) return undefined;
        tests.push((item) =>
          valuesAt(item, segments).some((v) => isObject(v) && typeof v.resourceType === 'string' && wanted.has(v.resourceType)),
        );
        break;
      }
      default:
        return undefined;
    }
  }
  return tests.length === 1 ? tests[0] : (item) => tests.every((t) => t(item));
}
