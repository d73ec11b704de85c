import type { ElementNode } from '../../src/validate/definitions';
import type { Ctx } from '../../src/validate/context';
import { compileComplex, type ElementEnv, type Tree } from '../../src/validate/elements';
import { ValueSets } from '../../src/validate/terminology';

/** A definition `T` with `count` string children c0..c(count-1); those in `required` have min 1. */
function definition(count: number, required: number[]): { root: ElementNode; tree: Tree } {
  const node = (path: string, min: number): ElementNode => ({
    id: path,
    path,
    name: path.split('.').pop()!,
    min,
    max: 1,
    isArray: false,
    types: path.includes('.') ? [{ code: 'string' }] : [],
    constraints: [],
    slices: [],
    children: [],
  });
  const root = node('T', 0);
  for (let i = 0; i < count; i++) root.children.push(node(`T.c${i}`, required.includes(i) ? 1 : 0));
  return { root, tree: { root, byId: new Map(), kind: 'complex-type' } };
}

/** An environment whose item checks only record where they were called. */
function recordingEnv(calls: string[]): ElementEnv {
  return {
    valueSets: new ValueSets({}),
    typeRoot: () => undefined,
    profileType: () => undefined,
    itemCheck: () => (_value, path) => calls.push(path),
    primitiveElementCheck: () => (_value, path) => calls.push(`${path} (element)`),
    constraintChecks: () => [],
  };
}

describe('the children of an object', () => {
  it('are checked in definition order, each once, beyond the 64th child too', () => {
    const { root, tree } = definition(70, []);
    const calls: string[] = [];
    const check = compileComplex(root, tree, recordingEnv(calls));
    const ctx: Ctx = { issues: [], resource: undefined, rootResource: undefined };
    check({ c69: 'a', c2: 'b', _c65: { id: 'x' }, c40: 'c', c65: 'd', c33: 'e', c0: 'f', c31: 'g', c32: 'h', c64: 'i' }, 'T', ctx);
    expect(calls).toEqual(['T.c0', 'T.c2', 'T.c31', 'T.c32', 'T.c33', 'T.c40', 'T.c64', 'T.c65', 'T.c65 (element)', 'T.c69']);
    expect(ctx.issues).toEqual([]);
  });

  it('reports each missing required child, in definition order, before and beyond the 64th', () => {
    const { root, tree } = definition(70, [1, 31, 45, 66]);
    const ctx: Ctx = { issues: [], resource: undefined, rootResource: undefined };
    compileComplex(root, tree, recordingEnv([]))({ c45: 'x', c68: 'y' }, 'T', ctx);
    expect(ctx.issues.map((i) => i.expression?.[0])).toEqual(['T.c1', 'T.c31', 'T.c66']);
    expect(ctx.issues.every((i) => i.code === 'required')).toBe(true);
  });
});
