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

const NO_CODINGS: readonly Coded[] = [];
/** The one Coding of a Coding-typed value, in an array reused by every call: its callers read it before the next. */
const oneCoding: Coded[] = [{}];

/** The codings of a value (read at once: the array may be reused), 'code' for a code, undefined when none apply. */
function codings(typeCode: string, value: unknown): readonly Coded[] | 'code' | undefined {
  if (!isObject(value)) return typeof value === 'string' ? 'code' : undefined;
  if (typeCode === 'CodeableConcept') return Array.isArray(value.coding) ? (value.coding as Coded[]) : NO_CODINGS;
  if (value.code === undefined) return undefined;
  oneCoding[0] = value as Coded;
  return oneCoding;
}

/** `system#code` of each coding there, as a binding's message lists them. */
function shownCodes(found: readonly Coded[]): string {
  let shown = '';
  for (const c of found) {
    if (c === null || c === undefined) continue;
    shown += `${shown ? ', ' : ''}${c.system ?? ''}#${c.code}`;
  }
  return shown;
}

/**
 * The binding check for an element of this type, or undefined when the binding is not checkable. The check is
 * specialised on its first call to what the ValueSet is (no expansion: one fixed message), so a call looks up
 * nothing but the codes.
 */
export function compileBinding(node: ElementNode, typeCode: string, valueSets: ValueSets): ValueCheck | undefined {
  const binding = node.binding;
  if (!binding || binding.strength === 'example') return undefined;
  const { strength, valueSet: url } = binding;
  const severity: Severity = strength === 'required' ? 'error' : 'warning';
  const noCode = `No code provided, and a code is required from the ValueSet ${url}`;
  let specialised: ((value: unknown, found: readonly Coded[] | 'code', path: string, ctx: Ctx) => void) | undefined;
  const specialise = (expansion: Expansion | string): typeof specialised => {
    if (typeof expansion === 'string') {
      const notChecked = `${strength} binding not checked: ${expansion}`;
      return (_value, _found, path, ctx) => report(ctx, 'information', 'informational', path, notChecked);
    }
    const notIn = ` is not in the ${strength} ValueSet ${url}`;
    const noneIn = `) is in the ${strength} ValueSet ${url}`;
    const { codes } = expansion;
    return (value, found, path, ctx) => {
      if (found === 'code') {
        if (!codes.has(value as string)) report(ctx, severity, 'code-invalid', path, `The code '${value}'${notIn}`);
        return;
      }
      for (const c of found) {
        // A null coding holds no code (the element walk reports it as a structure error).
        if (c === null || c === undefined) continue;
        if (c.system === undefined ? codes.has(c.code as string) : hasPair(expansion, c.system, c.code)) return;
      }
      report(ctx, severity, 'code-invalid', path, 'None of the codes (' + shownCodes(found) + noneIn);
    };
  };
  return (value: unknown, path: string, ctx: Ctx) => {
    const found = codings(typeCode, value);
    if (found === undefined) return;
    if (found !== 'code' && found.length === 0) {
      if (strength === 'required') report(ctx, 'error', 'code-invalid', path, noCode);
      return;
    }
    (specialised ??= specialise(valueSets.get(url)))!(value, found, path, ctx);
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
