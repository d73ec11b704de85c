/**
 * Seeded random variations of a provider record, for differential tests of the mapping evaluators: optional
 * fields dropped, a string swapped for another value seen at the same key (another enum value, another lookup
 * key, or one no lookup table has), arrays of none, one or many items, a value made an array or given another
 * type. The same seed gives the same records.
 */
import type { ProviderRecord } from '../../src/map/map-record';
import { seededRandom } from '../support/seeded-random';

export type Random = () => number;

/** mulberry32: small, seedable, good enough to pick test cases. */
export const seeded: (seed: number) => Random = seededRandom;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Container = Json[] | { [key: string]: Json };

const pick = <T>(random: Random, list: readonly T[]): T => list[Math.floor(random() * list.length)];

/** Every [container, key] under `root`, depth first, with the key name that a pool of values is kept by. */
function slots(root: Json, into: [Container, string | number, string][] = [], name = ''): [Container, string | number, string][] {
  if (Array.isArray(root)) {
    root.forEach((item, i) => {
      into.push([root, i, name]);
      slots(item, into, name);
    });
  } else if (root !== null && typeof root === 'object') {
    for (const [key, item] of Object.entries(root)) {
      into.push([root, key, key]);
      slots(item, into, key);
    }
  }
  return into;
}

/** Strings seen at each key name across records, plus any extra values (lookup keys, enum values). */
export function valuePool(records: ProviderRecord[], extra: string[]): Map<string, string[]> {
  const pool = new Map<string, string[]>();
  for (const record of records) {
    for (const [container, key, name] of slots(record.data as Json)) {
      const value = (container as Record<string | number, Json>)[key];
      if (typeof value === 'string' && value.length < 60) pool.set(name, [...(pool.get(name) ?? []), value]);
    }
  }
  pool.set('*', extra);
  return pool;
}

function mutateOnce(data: Json, random: Random, pool: Map<string, string[]>): void {
  const all = slots(data);
  if (all.length === 0) return;
  const [container, key, name] = pick(random, all);
  const c = container as Record<string | number, Json>;
  const current = c[key];
  const roll = random();
  if (roll < 0.3) {
    if (Array.isArray(container)) container.splice(key as number, 1);
    else delete c[key];
  } else if (roll < 0.6 && typeof current === 'string') {
    const seen = pool.get(name) ?? [];
    c[key] = random() < 0.1 ? 'no-such-code' : random() < 0.7 && seen.length > 0 ? pick(random, seen) : pick(random, pool.get('*')!);
  } else if (roll < 0.75 && Array.isArray(current)) {
    const size = pick(random, [0, 1, 2, 3]);
    c[key] = Array.from({ length: size }, (_, i) => (current.length > 0 ? structuredClone(current[i % current.length]) : 'x'));
  } else if (roll < 0.85) {
    c[key] = [structuredClone(current), ...(random() < 0.5 ? [structuredClone(current)] : [])];
  } else {
    c[key] = pick(random, [null, true, false, 0, 2.5, 1e21, '', 'text', {}, { text: 'x' }] as Json[]);
  }
}

/** `count` variations of `record`, each with one to three changes to its data (and sometimes its envelope). */
export function mutations(record: ProviderRecord, count: number, random: Random, pool: Map<string, string[]>): ProviderRecord[] {
  const out: ProviderRecord[] = [];
  for (let i = 0; i < count; i++) {
    const copy = structuredClone(record);
    const changes = 1 + Math.floor(random() * 3);
    for (let j = 0; j < changes; j++) {
      if (random() < 0.1) {
        if (random() < 0.5) delete copy.careProvider.name;
        else delete copy.recordedAt;
      } else {
        mutateOnce(copy.data as Json, random, pool);
      }
    }
    out.push(copy);
  }
  return out;
}
