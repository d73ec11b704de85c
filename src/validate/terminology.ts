/**
 * Binding checks against the ValueSet expansions shipped in profiles/valuesets.json.
 * required -> error, extensible/preferred -> warning; a ValueSet that cannot be expanded offline (SNOMED CT
 * filters, dm+d, ...) gives one information issue saying the code was not checked.
 */
import type { Definitions, ElementNode } from './definitions';
import { type Ctx, isObject, report, type Severity, type ValueCheck } from './context';

interface Expansion {
  /** `system|code` */
  pairs: Set<string>;
  codes: Set<string>;
  /** system -> codes: the same pairs, looked up without building a `system|code` string. */
  bySystem: Map<string, Set<string>>;
  /** Whether some system or code holds a `|`; then only `pairs` says what `system|code` matches. */
  pipes: boolean;
}

/** Whether `${system}|${code}` is one of the expansion's pairs, as the string lookup would answer. */
function hasPair(expansion: Expansion, system: unknown, code: unknown): boolean {
  if (expansion.pipes || typeof system !== 'string' || typeof code !== 'string') return expansion.pairs.has(`${system}|${code}`);
  // With no `|` in the expansion, `system|code` matches only the pair with exactly this system and code.
  return expansion.bySystem.get(system)?.has(code) === true;
}

export class ValueSets {
  private readonly expanded = new Map<string, Expansion | string>();

  constructor(private readonly source: Definitions['valueSets']) {}

  /** The expansion, or a string saying why there is none. */
  get(url: string): Expansion | string {
    const cached = this.expanded.get(url);
    if (cached !== undefined) return cached;
    const raw = this.source[url];
    let result: Expansion | string;
    if (!raw) result = `ValueSet ${url} is not available offline`;
    else if ('unexpandable' in raw) result = `ValueSet ${url} cannot be expanded offline (${raw.unexpandable})`;
    else {
      const pairs = new Set<string>();
      const codes = new Set<string>();
      const bySystem = new Map<string, Set<string>>();
      let pipes = false;
      for (const [system, list] of Object.entries(raw.codes)) {
        bySystem.set(system, new Set(list));
        for (const code of list) {
          pairs.add(`${system}|${code}`);
          codes.add(code);
          pipes ||= system.includes('|') || code.includes('|');
        }
      }
      result = { pairs, codes, bySystem, pipes };
    }
    this.expanded.set(url, result);
    return result;
  }
}

type Coded = { system?: unknown; code?: unknown };

function codings(typeCode: string, value: unknown): Coded[] | 'code' | undefined {
  if (!isObject(value)) return typeof value === 'string' ? 'code' : undefined;
  if (typeCode === 'CodeableConcept') return Array.isArray(value.coding) ? (value.coding as Coded[]) : [];
  if (value.code !== undefined) return [value as Coded];
  return undefined;
}

/** The binding check for an element of this type, or undefined when the binding is not checkable. */
export function compileBinding(node: ElementNode, typeCode: string, valueSets: ValueSets): ValueCheck | undefined {
  const binding = node.binding;
  if (!binding || binding.strength === 'example') return undefined;
  const severity: Severity = binding.strength === 'required' ? 'error' : 'warning';
  const url = binding.valueSet;
  let cached: Expansion | string | undefined;
  return (value: unknown, path: string, ctx: Ctx) => {
    const found = codings(typeCode, value);
    if (found === undefined) return;
    if (Array.isArray(found) && found.length === 0) {
      if (binding.strength === 'required') {
        report(ctx, 'error', 'code-invalid', path, `No code provided, and a code is required from the ValueSet ${url}`);
      }
      return;
    }
    const expansion = (cached ??= valueSets.get(url));
    if (typeof expansion === 'string') {
      report(ctx, 'information', 'informational', path, `${binding.strength} binding not checked: ${expansion}`);
      return;
    }
    if (found === 'code') {
      if (!expansion.codes.has(value as string)) {
        report(ctx, severity, 'code-invalid', path, `The code '${value}' is not in the ${binding.strength} ValueSet ${url}`);
      }
      return;
    }
    let ok = false;
    for (const c of found) {
      // A null coding holds no code (the element walk reports it as a structure error).
      if (c === null || c === undefined) continue;
      if (c.system === undefined ? expansion.codes.has(c.code as string) : hasPair(expansion, c.system, c.code)) {
        ok = true;
        break;
      }
    }
    if (!ok) {
      const shown = found.flatMap((c) => (c === null || c === undefined ? [] : [`${c.system ?? ''}#${c.code}`])).join(', ');
      report(ctx, severity, 'code-invalid', path, `None of the codes (${shown}) is in the ${binding.strength} ValueSet ${url}`);
    }
  };
}

/** A Coding whose system is a complete CodeSystem we hold must use one of its codes, bound or not. */
export function compileCodeSystemCheck(codeSystems: Definitions['codeSystems']): ValueCheck {
  const sets = new Map(Object.entries(codeSystems).map(([url, codes]) => [url, new Set(codes)]));
  return (value, path, ctx) => {
    if (!isObject(value) || typeof value.system !== 'string' || typeof value.code !== 'string') return;
    const codes = sets.get(value.system);
    if (codes && !codes.has(value.code)) {
      report(ctx, 'error', 'code-invalid', `${path}.code`, `Unknown code '${value.code}' in the CodeSystem ${value.system}`);
    }
  };
}

/** Whether a value's code is in an expandable ValueSet (for slice discriminators); undefined if unknown. */
export function inValueSet(url: string, typeCode: string, value: unknown, valueSets: ValueSets): boolean | undefined {
  const expansion = valueSets.get(url);
  if (typeof expansion === 'string') return undefined;
  const found = codings(typeCode, value);
  if (found === undefined) return false;
  if (found === 'code') return expansion.codes.has(value as string);
  return found.some((c) => c !== null && c !== undefined && hasPair(expansion, c.system, c.code));
}
