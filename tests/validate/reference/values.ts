/** Value comparison for fixed[x] (exact) and pattern[x] (the instance contains the pattern). */
import { isObject } from './context';

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}

export function matchesPattern(value: unknown, pattern: unknown): boolean {
  if (Array.isArray(pattern)) {
    const values = Array.isArray(value) ? value : [value];
    return pattern.every((p) => values.some((v) => matchesPattern(v, p)));
  }
  if (isObject(pattern)) {
    if (!isObject(value)) return false;
    return Object.keys(pattern).every((k) => value[k] !== undefined && matchesPattern(value[k], pattern[k]));
  }
  return value === pattern;
}

/** Values at a dotted path under a value, flattening arrays (`coding.code`). */
export function valuesAt(value: unknown, segments: readonly string[]): unknown[] {
  let current: unknown[] = Array.isArray(value) ? value : [value];
  for (const segment of segments) {
    const next: unknown[] = [];
    for (const item of current) {
      if (!isObject(item)) continue;
      const child = item[segment];
      if (Array.isArray(child)) next.push(...child);
      else if (child !== undefined) next.push(child);
    }
    current = next;
  }
  return current;
}

export function describe(value: unknown): string {
  const text = JSON.stringify(value);
  return text.length > 120 ? text.slice(0, 117) + '...' : text;
}
