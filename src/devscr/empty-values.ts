/**
 * What Medplum's MemoryRepository does to every resource it stores (it stores JSON.parse(stringify(r)), and
 * @medplum/core's stringify drops empty values), without the JSON round trip: null, undefined and "" are
 * removed, as are arrays and objects left empty; inside a non-empty array an empty element becomes null, so
 * FHIR's parallel primitive arrays keep their positions. Copy on write, like Medplum's: the value itself is
 * returned when it holds nothing empty (the usual case, so the usual cost is one walk and no allocation).
 */
function clean(value: unknown): unknown {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    let kept = 0;
    for (let i = 0; i < value.length; i++) {
      const element: unknown = value[i];
      const next = clean(element);
      if (next !== element) out ??= value.slice();
      if (next === undefined) {
        if (out) out[i] = null;
      } else {
        if (out) out[i] = next;
        kept++;
      }
    }
    return kept === 0 ? undefined : (out ?? value);
  }
  const object = value as Record<string, unknown>;
  let out: Record<string, unknown> | undefined;
  let kept = 0;
  for (const key in object) {
    const field = object[key];
    const next = clean(field);
    if (next !== field) out ??= { ...object };
    if (next === undefined) {
      if (out) delete out[key];
    } else {
      if (out) out[key] = next;
      kept++;
    }
  }
  return kept === 0 ? undefined : (out ?? object);
}

/** The resource without empty values: itself when it has none, else a copy. */
export function withoutEmptyValues<T extends object>(resource: T): T {
  return (clean(resource) ?? {}) as T;
}
