/**
 * Offline ValueSet expansion for the bindings the validator checks. A ValueSet is expandable when it carries
 * an expansion, or when its compose only enumerates concepts, includes whole CodeSystems we hold with
 * complete content, or includes other expandable ValueSets. Anything else (SNOMED CT filters, LOINC, dm+d,
 * missing CodeSystems) is recorded with the reason, so the validator can say "not checked" instead of passing.
 */
import type { CodeSystem, CodeSystemConcept, ValueSet, ValueSetComposeInclude, ValueSetExpansionContains } from 'fhir/r4';

/** The compact form written to profiles/valuesets.json. */
export type CompactValueSet = { codes: Record<string, string[]> } | { unexpandable: string };

export class Terminology {
  private readonly valueSets = new Map<string, ValueSet>();
  private readonly codeSystems = new Map<string, CodeSystem>();
  private readonly cache = new Map<string, CompactValueSet>();

  add(resource: ValueSet | CodeSystem): void {
    if (!resource.url) return;
    if (resource.resourceType === 'ValueSet') this.valueSets.set(resource.url, resource);
    else this.codeSystems.set(resource.url, resource);
  }

  has(url: string): boolean {
    return this.valueSets.has(url.split('|')[0]);
  }

  expand(canonical: string, seen: Set<string> = new Set()): CompactValueSet {
    const url = canonical.split('|')[0];
    const cached = this.cache.get(url);
    if (cached) return cached;
    if (seen.has(url)) return { unexpandable: `circular ValueSet ${url}` };
    seen.add(url);
    const vs = this.valueSets.get(url);
    const result = vs ? this.expandValueSet(vs, seen) : { unexpandable: `ValueSet ${url} is not available offline` };
    this.cache.set(url, result);
    return result;
  }

  private expandValueSet(vs: ValueSet, seen: Set<string>): CompactValueSet {
    const codes: Record<string, Set<string>> = {};
    const add = (system: string, code: string) => (codes[system] ??= new Set()).add(code);
    if (vs.expansion?.contains?.length && !vs.expansion.parameter?.some((p) => p.name === 'limitedExpansion')) {
      const walk = (items: ValueSetExpansionContains[]) => {
        for (const c of items) {
          if (c.system && c.code) add(c.system, c.code);
          if (c.contains) walk(c.contains);
        }
      };
      walk(vs.expansion.contains);
      return freeze(codes);
    }
    if (!vs.compose?.include?.length) return { unexpandable: `ValueSet ${vs.url} has no expansion or compose` };
    for (const include of vs.compose.include) {
      const part = this.expandInclude(include, seen);
      if ('unexpandable' in part) return part;
      for (const [system, list] of Object.entries(part.codes)) for (const code of list) add(system, code);
    }
    for (const exclude of vs.compose.exclude ?? []) {
      if (exclude.filter?.length || exclude.valueSet?.length || !exclude.concept) {
        return { unexpandable: `ValueSet ${vs.url} excludes by filter` };
      }
      for (const c of exclude.concept) if (exclude.system) codes[exclude.system]?.delete(c.code);
    }
    return freeze(codes);
  }

  private expandInclude(include: ValueSetComposeInclude, seen: Set<string>): CompactValueSet {
    if (include.filter?.length) return { unexpandable: `filter on ${include.system}` };
    const codes: Record<string, string[]> = {};
    if (include.system && include.concept?.length) {
      codes[include.system] = include.concept.map((c) => c.code);
    } else if (include.system) {
      const cs = this.codeSystems.get(include.system);
      if (!cs || (cs.content !== 'complete' && cs.content !== undefined)) {
        return { unexpandable: `code system ${include.system} is not available offline` };
      }
      const list: string[] = [];
      const walk = (items: CodeSystemConcept[]) => {
        for (const c of items) {
          list.push(c.code);
          if (c.concept) walk(c.concept);
        }
      };
      walk(cs.concept ?? []);
      codes[include.system] = list;
    }
    for (const other of include.valueSet ?? []) {
      const part = this.expand(other, seen);
      if ('unexpandable' in part) return part;
      for (const [system, list] of Object.entries(part.codes)) {
        codes[system] = include.system ? list.filter((c) => codes[system]?.includes(c)) : [...(codes[system] ?? []), ...list];
      }
    }
    return { codes };
  }
}

function freeze(codes: Record<string, Set<string>>): CompactValueSet {
  const out: Record<string, string[]> = {};
  for (const [system, set] of Object.entries(codes)) out[system] = [...set].sort();
  return { codes: out };
}
