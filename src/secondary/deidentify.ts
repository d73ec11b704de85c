/**
 * A FHIR resource -> its de-identified form, by the rules in mappings/deidentify.json, at write time: what
 * comes out holds no NHS number, name, address, telecom, free text or exact birth date, only internal
 * pseudonyms and hashes (re-keyed per project when extracted). Deny by default: an element no rule names is
 * dropped, and a resource type with no rules gives nothing.
 */
import type { Extension, Resource } from 'fhir/r4';
import { NHS_NUMBER_SYSTEM, ODS_CODE_SYSTEM } from '../map/identifiers';
import type { DeidentifyRules, RuleAction } from './deidentify-rules';
import { HASHED_ID_SYSTEM, PSEUDONYM_SYSTEM, type Pseudonyms } from './pseudonyms';

type Json = unknown;
type JsonObject = Record<string, Json>;

interface Context {
  pseudonyms: Pseudonyms;
  rules: DeidentifyRules;
  /** The date ages are reckoned at (when the record arrived). */
  at: Date;
  /** Extensions an action adds to the resource (the age band). */
  extensions: Extension[];
  /** Re-reading a stored, already de-identified resource: every action keeps, only unnamed elements go. */
  prune?: boolean;
}

const isObject = (v: Json): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);
const isEmpty = (v: Json): boolean => v === undefined || (Array.isArray(v) && v.length === 0) || (isObject(v) && Object.keys(v).length === 0);

/** Applies fn to a value or to each item of an array of them, dropping what comes back empty. */
function each(value: Json, fn: (item: Json) => Json): Json {
  if (!Array.isArray(value)) return fn(value);
  const out = value.map(fn).filter((v) => !isEmpty(v));
  return out.length > 0 ? out : undefined;
}

function code(value: Json): Json {
  return each(value, (item) => {
    if (!isObject(item)) return undefined;
    if (Array.isArray(item.coding)) {
      const coding = code(item.coding);
      return coding === undefined ? undefined : { coding };
    }
    const out: JsonObject = {};
    if (typeof item.system === 'string') out.system = item.system;
    if (typeof item.code === 'string') out.code = item.code;
    return typeof out.code === 'string' ? out : undefined;
  });
}

function identifierOf(item: Json, ctx: Context): JsonObject | undefined {
  if (!isObject(item) || typeof item.value !== 'string' || item.value === '') return undefined;
  const system = typeof item.system === 'string' ? item.system : '';
  if (system === NHS_NUMBER_SYSTEM) return { system: PSEUDONYM_SYSTEM, value: ctx.pseudonyms.person(item.value) };
  if (system === ODS_CODE_SYSTEM) return { system, value: item.value };
  return { system: HASHED_ID_SYSTEM, value: ctx.pseudonyms.id(system, item.value) };
}

const PATIENT_BY_NHS_NUMBER = /^Patient\?identifier=(?:https:\/\/fhir\.nhs\.uk\/Id\/nhs-number|https%3A%2F%2Ffhir\.nhs\.uk%2FId%2Fnhs-number)(?:\||%7C)(\d{10})$/i;

function reference(value: Json, ctx: Context): Json {
  return each(value, (item) => {
    if (!isObject(item)) return undefined;
    const out: JsonObject = {};
    const literal = typeof item.reference === 'string' ? PATIENT_BY_NHS_NUMBER.exec(item.reference) : null;
    const identifier = literal ? identifierOf({ system: NHS_NUMBER_SYSTEM, value: literal[1] }, ctx) : identifierOf(item.identifier, ctx);
    if (!identifier) return undefined; // a literal reference or a display alone says nothing safe
    if (literal) out.type = 'Patient';
    else if (typeof item.type === 'string') out.type = item.type;
    out.identifier = identifier;
    return out;
  });
}

/** Whole years between a birth date and a day, or undefined when the date is not one. */
function ageAt(birthDate: string, at: Date): number | undefined {
  const match = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?/.exec(birthDate);
  if (!match) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2] ?? 1), Number(match[3] ?? 1)];
  const beforeBirthday = at.getUTCMonth() + 1 < month || (at.getUTCMonth() + 1 === month && at.getUTCDate() < day);
  return at.getUTCFullYear() - year - (beforeBirthday ? 1 : 0);
}

function birthDate(value: Json, ctx: Context): Json {
  if (typeof value !== 'string') return undefined;
  const age = ageAt(value, ctx.at);
  if (age === undefined) return undefined;
  const band = ctx.rules.ageBand;
  if (age >= band.from) {
    ctx.extensions.push({ url: band.extension, valueString: band.label });
    return undefined;
  }
  return value.slice(0, 4);
}

/** The outward code of a UK postcode ("LS6 2AA" -> "LS6"); anything not shaped like a postcode is dropped. */
export function postcodeDistrict(value: Json): Json {
  if (typeof value !== 'string') return undefined;
  const compact = value.replace(/\s+/g, '').toUpperCase();
  const match = /^([A-Z]{1,2}[0-9][A-Z0-9]?)[0-9][A-Z]{2}$/.exec(compact);
  return match ? match[1] : undefined;
}

function day(value: Json): Json {
  return typeof value === 'string' && /^\d{4}(-\d{2}(-\d{2})?)?/.test(value) ? value.slice(0, 10) : undefined;
}

function act(action: RuleAction, value: Json, ctx: Context): Json {
  switch (action) {
    case 'keep':
      return value;
    case 'code':
      return code(value);
    case 'identifier':
      return each(value, (item) => identifierOf(item, ctx));
    case 'reference':
      return reference(value, ctx);
    case 'birth-date':
      return birthDate(value, ctx);
    case 'postcode-district':
      return each(value, postcodeDistrict);
    case 'day':
      return each(value, day);
  }
}

/** Walks an element: a rule on its path acts; rules below it walk on; no rule at or below it drops it. */
function walk(value: Json, path: string, rules: Map<string, RuleAction>, below: Set<string>, ctx: Context): Json {
  const action = rules.get(path);
  if (action) return ctx.prune ? value : act(action, value, ctx);
  if (!below.has(path)) return undefined;
  return each(value, (item) => {
    if (!isObject(item)) return undefined;
    const out: JsonObject = {};
    for (const [key, child] of Object.entries(item)) {
      const kept = walk(child, path ? `${path}.${key}` : key, rules, below, ctx);
      if (!isEmpty(kept)) out[key] = kept;
    }
    return out;
  });
}

/** Every proper prefix of every rule path ('' for the resource itself), so the walk knows where to descend. */
function prefixes(rules: Map<string, RuleAction>): Set<string> {
  const out = new Set<string>(['']);
  for (const path of rules.keys()) {
    const parts = path.split('.');
    for (let i = 1; i < parts.length; i++) out.add(parts.slice(0, i).join('.'));
  }
  return out;
}

export class Deidentifier {
  private readonly below = new Map<string, Set<string>>();

  constructor(
    private readonly rules: DeidentifyRules,
    private readonly pseudonyms: Pseudonyms,
  ) {
    for (const [type, typeRules] of rules.resources) this.below.set(type, prefixes(typeRules));
  }

  /** The de-identified resource, or undefined when its type has no rules or it carries an excluded label. */
  deidentify(resource: Resource, at: Date): Resource | undefined {
    const rules = this.rules.resources.get(resource.resourceType);
    if (!rules) return undefined;
    const labels = resource.meta?.security?.map((s) => s.code) ?? [];
    if (labels.some((l) => l !== undefined && this.rules.excludeSecurityLabels.includes(l))) return undefined;
    const ctx: Context = { pseudonyms: this.pseudonyms, rules: this.rules, at, extensions: [] };
    const out = (walk(resource, '', rules, this.below.get(resource.resourceType)!, ctx) ?? {}) as JsonObject;
    if (ctx.extensions.length > 0) out.extension = ctx.extensions;
    return { resourceType: resource.resourceType, ...out } as Resource;
  }

  /**
   * A stored resource as the rules stand now: elements (or the whole type) no rule names any more are
   * dropped, so tightening the rules also tightens what was stored before (loosening does not bring back
   * what was never stored). Applied to every line of an extract.
   */
  prune(stored: Resource): Resource | undefined {
    const rules = this.rules.resources.get(stored.resourceType);
    if (!rules) return undefined;
    const ctx: Context = { pseudonyms: this.pseudonyms, rules: this.rules, at: new Date(), extensions: [], prune: true };
    const out = (walk(stored, '', rules, this.below.get(stored.resourceType)!, ctx) ?? {}) as JsonObject;
    const band = (stored as { extension?: Extension[] }).extension?.filter((e) => e.url === this.rules.ageBand.extension) ?? [];
    if (band.length > 0 && rules.get('birthDate') === 'birth-date') out.extension = band;
    return { resourceType: stored.resourceType, ...out } as Resource;
  }
}
