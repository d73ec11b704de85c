/**
 * Differential comparison of two validators: the same resources (official examples, the mapped care home,
 * scripted broken copies and seeded random mutations of all of them) through both, issue by issue.
 * Used by differential.test.ts (a bounded run) and scripts/validator-diff.ts (as many mutations as asked).
 */
import type { OperationOutcomeIssue, Resource } from 'fhir/r4';
import { seededRandom } from '../support/seeded-random';
import { loadExamples } from './examples';
import { mutationsOf } from './mutations';

type Json = Record<string, unknown>;

export interface Validate {
  validate(resource: Resource, options?: { profile?: string }): OperationOutcomeIssue[];
}

export interface Case {
  label: string;
  resource: unknown;
  profile?: string;
}

/** A small seeded generator (mulberry32), so a failing case can be found again from its seed. */
export const random = seededRandom;

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

interface Slot {
  /** The object or array holding the value. */
  holder: Json | unknown[];
  key: string | number;
}

/** Every place in a JSON value: each object property and each array item, depth first. */
function slots(value: unknown, out: Slot[] = []): Slot[] {
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      out.push({ holder: value, key: i });
      slots(item, out);
    });
  } else if (value !== null && typeof value === 'object') {
    for (const key of Object.keys(value)) {
      out.push({ holder: value as Json, key });
      slots((value as Json)[key], out);
    }
  }
  return out;
}

function get(slot: Slot): unknown {
  return (slot.holder as Record<string | number, unknown>)[slot.key];
}

function set(slot: Slot, value: unknown): void {
  (slot.holder as Record<string | number, unknown>)[slot.key] = value;
}

function remove(slot: Slot): void {
  if (Array.isArray(slot.holder)) slot.holder.splice(slot.key as number, 1);
  else delete slot.holder[slot.key as string];
}

const STRINGS = ['', ' ', 'zzz', 'final', 'http://snomed.info/sct', 'http://loinc.org', '#x', '2024-02-30', '2024-13-01', 'a  b', '99999', 'Patient/1', 'urn:uuid:nope'];
const KEYS = ['extension', 'modifierExtension', 'id', 'foo', 'valueString', 'valueQuantity', '_status', 'coding', 'system', 'code', 'reference', 'url', 'text', 'div'];

function anyValue(next: () => number, near: unknown): unknown {
  const choices: unknown[] = [
    null,
    0,
    -1,
    1.5,
    2 ** 40,
    true,
    STRINGS[Math.floor(next() * STRINGS.length)],
    [],
    [null],
    {},
    { foo: 1 },
    { extension: [{ url: 'http://example.org/x', valueString: 'x' }] },
    [{ system: 'http://snomed.info/sct', code: 'zzz' }],
    { coding: [null] },
    { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'zzz' }] },
    { reference: 'Patient/1' },
    { reference: '#nothing' },
    Array.isArray(near) ? near[0] : [near],
    typeof near === 'string' ? near + ' x' : JSON.stringify(near ?? null),
  ];
  return clone(choices[Math.floor(next() * choices.length)] ?? null);
}

/** One random change somewhere in a copy of the value: delete, null, wrong type, extra key, array shape... */
export function mutate(value: unknown, next: () => number): unknown {
  const copy = clone(value);
  const all = slots(copy);
  if (!all.length) return copy;
  const slot = all[Math.floor(next() * all.length)];
  const current = get(slot);
  switch (Math.floor(next() * 9)) {
    case 0:
      remove(slot);
      break;
    case 1:
      set(slot, null);
      break;
    case 2:
      set(slot, anyValue(next, current));
      break;
    case 3:
      if (current !== null && typeof current === 'object' && !Array.isArray(current)) {
        (current as Json)[KEYS[Math.floor(next() * KEYS.length)]] = anyValue(next, undefined);
      } else set(slot, anyValue(next, current));
      break;
    case 4:
      set(slot, Array.isArray(current) ? (current.length ? current[0] : null) : [current]);
      break;
    case 5:
      if (Array.isArray(current)) current.push(clone(current[0] ?? null));
      else if (typeof current === 'string') set(slot, current.length > 1 ? current.slice(1) : current + current);
      else set(slot, anyValue(next, current));
      break;
    case 6:
      if (Array.isArray(current)) current.splice(0, current.length);
      else set(slot, typeof current === 'number' ? String(current) : typeof current === 'string' ? Number(current.length) : anyValue(next, current));
      break;
    case 7:
      // a sibling key renamed: choice types and unknown elements
      if (!Array.isArray(slot.holder) && typeof slot.key === 'string') {
        remove(slot);
        const renamed = slot.key.startsWith('value') ? 'valueCodeableConcept' : slot.key + 'X';
        slot.holder[renamed] = current;
      }
      break;
    default:
      if (current !== null && typeof current === 'object' && !Array.isArray(current)) {
        const keys = Object.keys(current);
        if (keys.length) delete (current as Json)[keys[Math.floor(next() * keys.length)]];
      } else set(slot, anyValue(next, current));
  }
  return copy;
}

/** The examples (each with and without its profile), their scripted broken copies, and extra resources. */
export function baseCases(extra: Case[] = []): Case[] {
  const cases: Case[] = [];
  for (const example of loadExamples()) {
    cases.push({ label: example.file, resource: example.resource });
    if (example.profile) cases.push({ label: `${example.file} as ${example.profile}`, resource: example.resource, profile: example.profile });
    for (const m of mutationsOf(example.resource, example.profile)) {
      cases.push({ label: `${example.file}: ${m.rule}`, resource: m.resource, profile: example.profile });
    }
  }
  return [...cases, ...extra];
}

/** `count` seeded random mutations, spread over the cases (one, two or three changes each). */
export function mutatedCases(cases: Case[], count: number, seed: number): Case[] {
  const next = random(seed);
  const out: Case[] = [];
  for (let i = 0; i < count; i++) {
    const base = cases[Math.floor(next() * cases.length)];
    let resource = base.resource;
    const changes = 1 + Math.floor(next() * 3);
    for (let c = 0; c < changes; c++) resource = mutate(resource, next);
    out.push({ label: `${base.label} (seed ${seed}, mutation ${i})`, resource, profile: base.profile });
  }
  return out;
}

function outcome(validator: Validate, c: Case): string {
  try {
    return JSON.stringify(validator.validate(c.resource as Resource, c.profile ? { profile: c.profile } : undefined));
  } catch (error) {
    return `threw ${(error as Error).name}: ${(error as Error).message}`;
  }
}

export interface Difference {
  label: string;
  resource: unknown;
  before: string;
  after: string;
}

/**
 * A known bug of the reference validator, fixed since: it threw a TypeError on a `null` inside a `coding`
 * array (its binding check read `.system` of each coding). Such a case counts as fixed, not as a difference,
 * when the reference threw exactly that and the current validator reports issues instead.
 */
function nullCodingFixed(before: string, after: string): boolean {
  return /^threw TypeError: Cannot read properties of null \(reading '(system|code)'\)$/.test(before) && !after.startsWith('threw');
}

/** Runs every case through both validators; returns the cases whose issues differ (as JSON, in order). */
export function compare(before: Validate, after: Validate, cases: Case[]): { differences: Difference[]; fixed: number } {
  const differences: Difference[] = [];
  let fixed = 0;
  for (const c of cases) {
    const a = outcome(before, c);
    const b = outcome(after, c);
    if (a === b) continue;
    if (nullCodingFixed(a, b)) fixed++;
    else differences.push({ label: c.label, resource: c.resource, before: a, after: b });
  }
  return { differences, fixed };
}
