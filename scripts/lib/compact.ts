/**
 * Trims StructureDefinitions to what the validator reads, so profiles/ stays small. The result is still a
 * StructureDefinition with a snapshot; only documentation and mapping fields are dropped.
 */
import type { ElementDefinition, StructureDefinition } from 'fhir/r4';

function compactElement(e: ElementDefinition): ElementDefinition {
  const out: Record<string, unknown> = { id: e.id ?? e.path, path: e.path };
  if (e.sliceName) out.sliceName = e.sliceName;
  out.min = e.min ?? 0;
  out.max = e.max ?? '*';
  if (e.base) out.base = { path: e.base.path, min: e.base.min, max: e.base.max };
  if (e.contentReference) out.contentReference = e.contentReference;
  if (e.type) {
    out.type = e.type.map((t) => {
      const type: Record<string, unknown> = { code: t.code };
      if (t.profile?.length) type.profile = t.profile;
      if (t.targetProfile?.length) type.targetProfile = t.targetProfile;
      return type;
    });
  }
  for (const [key, value] of Object.entries(e)) {
    if (key.startsWith('fixed') || key.startsWith('pattern')) out[key] = value;
  }
  if (e.maxLength) out.maxLength = e.maxLength;
  if (e.slicing) out.slicing = e.slicing;
  if (e.binding?.valueSet) out.binding = { strength: e.binding.strength, valueSet: e.binding.valueSet };
  const constraints = (e.constraint ?? []).filter((c) => c.expression);
  if (constraints.length) {
    out.constraint = constraints.map((c) => ({ key: c.key, severity: c.severity, human: c.human, expression: c.expression }));
  }
  return out as unknown as ElementDefinition;
}

export function compactStructureDefinition(sd: StructureDefinition): StructureDefinition {
  return {
    resourceType: 'StructureDefinition',
    url: sd.url,
    version: sd.version,
    name: sd.name,
    status: sd.status,
    kind: sd.kind,
    abstract: sd.abstract,
    type: sd.type,
    baseDefinition: sd.baseDefinition,
    derivation: sd.derivation,
    snapshot: { element: (sd.snapshot?.element ?? []).map(compactElement) },
  };
}

/** Every ValueSet canonical a binding in these definitions points at. */
export function boundValueSets(sds: StructureDefinition[]): Set<string> {
  const urls = new Set<string>();
  for (const sd of sds) {
    for (const e of sd.snapshot?.element ?? []) {
      const binding = e.binding;
      if (binding?.valueSet && binding.strength !== 'example') urls.add(binding.valueSet.split('|')[0]);
    }
  }
  return urls;
}

/** Extension profiles referenced from element types. */
export function referencedProfiles(sd: StructureDefinition): string[] {
  const urls: string[] = [];
  for (const e of sd.snapshot?.element ?? []) {
    for (const t of e.type ?? []) for (const p of t.profile ?? []) urls.push(p.split('|')[0]);
  }
  return urls;
}
