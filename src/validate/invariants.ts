/**
 * FHIRPath invariants (ElementDefinition.constraint), compiled once with the `fhirpath` package and the R4
 * model. A few that run on nearly every element are native: ele-1 is part of the structure check, ext-1 is
 * a direct test, and the dom-* rules on `contained` pass without evaluation when nothing is contained.
 * memberOf()/conformsTo() need a server: they are reported as not checked.
 */
import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4';
import type { ElementNode } from './definitions';
import { type Ctx, isObject, type Json, report, type ValueCheck } from './context';

type Compiled = (resource: unknown, env: Record<string, unknown>) => unknown[];

const cache = new Map<string, Compiled | string>();

function compileExpression(base: string, expression: string): Compiled | string {
  const key = `${base}\u0000${expression}`;
  let compiled = cache.get(key);
  if (compiled === undefined) {
    try {
      const path = base.includes('.') ? { base, expression } : expression;
      compiled = fhirpath.compile(path, r4, { async: false, traceFn: () => undefined }) as Compiled;
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

export function compileConstraints(node: ElementNode): ValueCheck[] {
  const checks: ValueCheck[] = [];
  for (const constraint of node.constraints) {
    const { key, severity, human, expression } = constraint;
    if (key === 'ele-1' || !expression) continue;
    if (key === 'ext-1' || key === 'dom-3') {
      checks.push(key === 'ext-1' ? ext1 : dom3);
      continue;
    }
    const issueSeverity = severity === 'error' ? 'error' : 'warning';
    if (/\b(memberOf|conformsTo)\(/.test(expression)) {
      checks.push((_value, path, ctx) =>
        report(ctx, 'information', 'not-supported', path, `${key} not checked: it needs a terminology server (${expression})`),
      );
      continue;
    }
    const compiled = compileExpression(node.path, expression);
    const onContained = expression.startsWith('contained.');
    checks.push((value: unknown, path: string, ctx: Ctx) => {
      if (onContained && isObject(value) && value.contained === undefined) return;
      if (typeof compiled === 'string') {
        report(ctx, 'information', 'not-supported', path, `${key} not checked: ${compiled}`);
        return;
      }
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
  return checks;
}
