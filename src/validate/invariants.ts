/**
 * FHIRPath invariants (ElementDefinition.constraint), compiled once with the `fhirpath` package and the R4
 * model. A few that run on nearly every element are native: ele-1 is part of the structure check, ext-1 is
 * a direct test, and the dom-* rules on `contained` pass without evaluation when nothing is contained.
 * memberOf()/conformsTo() need a server: they are reported as not checked.
 */
import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4';
import type { ElementNode } from './definitions';
import { compileLite, hasChild } from './fhirpath-lite';
import { plainlySafeNarrative } from './narrative';
import { type Ctx, isObject, type Json, report, type ValueCheck } from './context';
import { absent, surelyTrueOf } from './surely-true';

type Compiled = (resource: unknown, env: Record<string, unknown>) => unknown[];

const cache = new Map<string, Compiled | string>();

function compileExpression(base: string, expression: string): Compiled | string {
  const key = `${base}\u0000${expression}`;
  let compiled = cache.get(key);
  if (compiled === undefined) {
    try {
      const path = base.includes('.') ? { base, expression } : expression;
      const fn = fhirpath.compile(path, r4, { async: false, traceFn: () => undefined }) as Compiled;
      // txt-1 and txt-2 are both `htmlChecks()` on the same div: remember the last answer for a string input.
      let last: { value: unknown; resource: unknown; result: unknown[] } | undefined;
      compiled = (value, env) => {
        if (typeof value === 'string' && last && last.value === value && last.resource === env.resource) return last.result;
        const result = fn(value, env);
        if (typeof value === 'string') last = { value, resource: env.resource, result };
        return result;
      };
    } catch (error) {
      compiled = `cannot be compiled: ${(error as Error).message}`;
    }
    cache.set(key, compiled);
  }
  return compiled;
}

function hasValueKey(value: Json): boolean {
  for (const key in value) if (key.startsWith('value')) return true;
  return false;
}

const ext1: ValueCheck = (value, path, ctx) => {
  if (!isObject(value)) return;
  const hasExtensions = Array.isArray(value.extension) && value.extension.length > 0;
  if (hasExtensions === hasValueKey(value)) {
    report(ctx, 'error', 'invariant', path, 'ext-1: Must have either extensions or value[x], not both');
  }
};

function anyString(value: unknown, wanted: string, skip?: unknown): boolean {
  if (value === skip) return false;
  if (typeof value === 'string') return value === wanted;
  if (Array.isArray(value)) return value.some((v) => anyString(v, wanted, skip));
  if (isObject(value)) {
    for (const key in value) if (anyString(value[key], wanted, skip)) return true;
  }
  return false;
}

/**
 * dom-3 natively: its R4 expression applies `as(canonical)` to collections, which fhirpath.js (rightly) refuses.
 * Every contained resource must be referenced as `#id` from elsewhere in the resource, or refer to its container
 * with `#`.
 */
const dom3: ValueCheck = (value, path, ctx) => {
  if (!isObject(value) || !Array.isArray(value.contained)) return;
  for (const contained of value.contained) {
    if (!isObject(contained) || typeof contained.id !== 'string') continue;
    if (anyString(value, '#' + contained.id, contained) || anyString(contained, '#')) continue;
    report(ctx, 'error', 'invariant', path, `dom-3: contained resource '${contained.id}' is not referenced from the rest of the resource`);
  }
};

/** ref-1 natively: a `#id` reference must point at a contained resource of the root resource. */
const ref1: ValueCheck = (value, path, ctx) => {
  if (!isObject(value) || typeof value.reference !== 'string' || !value.reference.startsWith('#')) return;
  const id = value.reference.slice(1);
  const root = ctx.rootResource;
  const contained = isObject(root) && Array.isArray(root.contained) ? root.contained : [];
  if (id && !contained.some((c) => isObject(c) && c.id === id)) {
    report(ctx, 'error', 'invariant', path, `ref-1: SHALL have a contained resource if a local reference is provided (#${id})`);
  }
};

/** dom-6 natively (a warning): a resource should have a narrative; contained resources are exempt. */
const dom6: ValueCheck = (value, path, ctx) => {
  if (path.includes('.contained[')) return;
  if (isObject(value) && !(isObject(value.text) && value.text.div !== undefined)) {
    report(ctx, 'warning', 'invariant', path, 'dom-6: A resource should have narrative for robust management');
  }
};

const NATIVE: Record<string, ValueCheck> = { 'ext-1': ext1, 'dom-3': dom3, 'dom-6': dom6, 'ref-1': ref1 };

/**
 * `x.exists() implies ...` and `x.empty() or ...` (with no implies/xor after) are true when x is absent, which is
 * most of the time: skip the evaluation then. Returns the element name to test, if the expression has that form.
 */
function guardOf(expression: string): string | undefined {
  // per-1: start.hasValue().not() or end.hasValue().not() or (start <= end) -- true unless both are there
  if (expression.startsWith('start.hasValue().not() or end.hasValue().not()')) return 'start';
  const implies = /^(\w+)\.exists\(\) implies /.exec(expression);
  if (implies) return implies[1];
  const or = /^(\w+)\.empty\(\) or /.exec(expression);
  if (or && !/\b(implies|xor)\b/.test(expression)) return or[1];
  return undefined;
}

/**
 * Expressions that are true whenever any one of the named elements is absent, beyond the leading guard:
 * obs-7 is `value.empty() or component.code.where(...).empty()`, true with no value or with no component
 * (almost every Observation lacks one or the other), so FHIRPath runs only when both are there.
 */
const ABSENT_IS_TRUE: Record<string, string[]> = {
  'value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists()).empty()': ['value', 'component'],
};

/** Whether `test` holds for some item of an element that may repeat (an array's non-null items, or the one value). */
function someItem(value: unknown, test: (item: unknown) => boolean): boolean {
  if (!Array.isArray(value)) return value !== null && value !== undefined && test(value);
  for (const item of value) if (item !== null && item !== undefined && test(item)) return true;
  return false;
}

/** Whether `test` holds for some coding of a CodeableConcept element of `value` (or of each, if it repeats). */
function someCoding(value: unknown, element: string, test: (coding: Json) => boolean): boolean {
  if (!isObject(value)) return false;
  return someItem(value[element], (concept) => isObject(concept) && someItem(concept.coding, (c) => isObject(c) && test(c)));
}

/**
 * Expressions known true without FHIRPath for some inputs. obs-7 with both value and components fails only if a
 * component coding equals (FHIRPath =, every property) a coding of %resource.code, so only if some pair shares
 * both system and code as JSON values; when none does, it holds. Otherwise FHIRPath decides.
 */
const SURELY_TRUE: Record<string, (value: unknown, ctx: Ctx) => boolean> = {
  'value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists()).empty()': (value, ctx) => {
    if (!isObject(value)) return false;
    const shared = (c: Json) => someCoding(ctx.resource, 'code', (o) => o.system === c.system && o.code === c.code);
    return !someItem(value.component, (component) => someCoding(component, 'code', shared));
  },
};

/** The items of an element that may repeat, as FHIRPath sees them: an array's non-null items, or the one value. */
function items(value: unknown): unknown[] {
  if (Array.isArray(value)) return value.filter((v) => v !== null && v !== undefined);
  return value === null || value === undefined ? [] : [value];
}

/**
 * `<element>.coding.where(system='<uri>').exists()` natively (UK Core vital signs: ukcore-obs-vs-001, a LOINC
 * coding): true when some coding of the element has exactly that system.
 */
function codingSystemCheck(expression: string): ((value: unknown) => boolean) | undefined {
  const match = /^([a-z][A-Za-z0-9]*)\.coding\.where\(system='([^'\\]+)'\)\.exists\(\)$/.exec(expression);
  if (!match) return undefined;
  const [, element, system] = match;
  return (value) => {
    if (!isObject(value)) return false;
    return items(value[element]).some((concept) => isObject(concept) && items(concept.coding).some((c) => isObject(c) && c.system === system));
  };
}

/**
 * DomainResource rules that hold whenever the resource contains nothing (fhirpath-lite finds no `contained`):
 * R4's dom-2, dom-4 and dom-5 as written (fhirpath-lite), and the native dom-3. Almost no resource contains any.
 */
const ABOUT_CONTAINED = new Set([
  'contained.contained.empty()',
  'contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()',
  'contained.meta.security.empty()',
]);

/**
 * Each run of consecutive checks that pass when nothing is contained, behind one test: one look for
 * `contained` per resource instead of one per rule. Same issues, in the same order.
 */
function groupAboutContained(checks: ValueCheck[], aboutContained: boolean[]): ValueCheck[] {
  const out: ValueCheck[] = [];
  for (let i = 0; i < checks.length; ) {
    let end = i;
    while (end < checks.length && aboutContained[end]) end++;
    if (end - i < 2) {
      out.push(checks[i++]);
      continue;
    }
    const group = checks.slice(i, end);
    out.push((value, path, ctx) => {
      if (!hasChild(value, 'contained')) return;
      for (const check of group) check(value, path, ctx);
    });
    i = end;
  }
  return out;
}

export function compileConstraints(node: ElementNode): ValueCheck[] {
  const checks: ValueCheck[] = [];
  const aboutContained: boolean[] = [];
  for (const constraint of node.constraints) {
    const { key, severity, human, expression } = constraint;
    if (key === 'ele-1' || !expression) continue;
    // Every branch below adds exactly one check.
    aboutContained[checks.length] = key === 'dom-3' || ABOUT_CONTAINED.has(expression);
    if (NATIVE[key] && (key !== 'ref-1' || expression.includes('%rootResource.contained.id'))) {
      checks.push(NATIVE[key]);
      continue;
    }
    const issueSeverity = severity === 'error' ? 'error' : 'warning';
    if (/\b(memberOf|conformsTo)\(/.test(expression)) {
      checks.push((_value, path, ctx) =>
        report(ctx, 'information', 'not-supported', path, `${key} not checked: it needs a terminology server (${expression})`),
      );
      continue;
    }
    const lite = compileLite(expression);
    if (lite) {
      checks.push((value, path, ctx) => {
        if (!lite(value)) report(ctx, issueSeverity, 'invariant', path, `${key}: ${human}`);
      });
      continue;
    }
    const native = codingSystemCheck(expression);
    if (native) {
      checks.push((value, path, ctx) => {
        if (!native(value)) report(ctx, issueSeverity, 'invariant', path, `${key}: ${human}`);
      });
      continue;
    }
    const compiled = compileExpression(node.path, expression);
    const absentIsTrue = ABSENT_IS_TRUE[expression];
    const surelyTrue = SURELY_TRUE[expression];
    const someDisjunctHolds = surelyTrueOf(expression, node.path);
    const html = expression === 'htmlChecks()';
    const guard = expression.startsWith('contained.') ? 'contained' : guardOf(expression);
    checks.push((value: unknown, path: string, ctx: Ctx) => {
      if (guard && absent(value, guard)) return;
      if (absentIsTrue) for (const name of absentIsTrue) if (absent(value, name)) return;
      if (surelyTrue?.(value, ctx)) return;
      if (someDisjunctHolds?.(value)) return;
      if (typeof compiled === 'string') {
        report(ctx, 'information', 'not-supported', path, `${key} not checked: ${compiled}`);
        return;
      }
      if (html && typeof value === 'string' && plainlySafeNarrative(value)) return;
      let result: unknown[];
      try {
        result = compiled(value, { resource: ctx.resource, rootResource: ctx.rootResource });
      } catch (error) {
        report(ctx, 'information', 'not-supported', path, `${key} not checked: ${(error as Error).message}`);
        return;
      }
      if (result.length === 1 && result[0] === false) {
        report(ctx, issueSeverity, 'invariant', path, `${key}: ${human}`);
      }
    });
  }
  return groupAboutContained(checks, aboutContained);
}
