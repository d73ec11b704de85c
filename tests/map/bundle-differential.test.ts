/**
 * The transaction Bundle builder (transaction.ts, provenance.ts, identifiers.ts) against the one it replaced
 * (tests/map/reference, as of main d86e065): the same Bundle, byte for byte as JSON, for every record of the
 * care home, and the same rewriteReferences answer for seeded random mutations of their resources.
 */
import type { Resource } from 'fhir/r4';
import { mapRecord, type ProviderRecord } from '../../src/map/map-record';
import { loadMappings } from '../../src/map/mapping-registry';
import { withProvenance } from '../../src/map/provenance';
import { deterministicUuid } from '../../src/map/identifiers';
import { rewriteReferences, transactionBundle } from '../../src/map/transaction';
import { deterministicUuid as referenceUuid } from './reference/identifiers';
import { withProvenance as referenceWithProvenance } from './reference/provenance';
import { rewriteReferences as referenceRewrite, transactionBundle as referenceTransactionBundle } from './reference/transaction';
import { mutate, random } from '../validate/differential';
import { careHomeRecords } from '../support/care-home';

const ACCEPTED_AT = new Date('2026-11-24T10:00:00Z');

interface Mapped {
  record: ProviderRecord;
  key: string;
  createOnly: readonly string[];
  resources: Resource[];
}

async function careHome(): Promise<Mapped[]> {
  const mappings = loadMappings();
  const records = careHomeRecords();
  const out: Mapped[] = [];
  for (const record of records) {
    const mapping = mappings.types.get(record.type)!;
    const mapped = await mapRecord(mapping, record, '$');
    if (!mapped.ok) throw new Error(`${record.type} ${record.recordId} does not map`);
    const key = `${record.careProvider.odsCode}/${record.type}/${record.recordId}`;
    out.push({ record, key, createOnly: mapping.createOnly, resources: mapped.resources });
  }
  return out;
}

describe('the transaction Bundle against the reference builder', () => {
  let all: Mapped[] = [];
  beforeAll(async () => {
    all = await careHome();
  }, 60_000);

  it('builds the same Bundle, byte for byte, for every record of the care home', () => {
    expect(all.length).toBeGreaterThan(2000);
    const differ: string[] = [];
    let rewritten = 0;
    for (const { record, key, createOnly, resources } of all) {
      const before = JSON.stringify(referenceWithProvenance(referenceTransactionBundle(resources, key, createOnly), record, ACCEPTED_AT));
      const after = JSON.stringify(withProvenance(transactionBundle(resources, key, createOnly), record, ACCEPTED_AT));
      if (before !== after) differ.push(key);
      if (before.includes('"reference":"urn:uuid:')) rewritten++;
    }
    expect(differ).toEqual([]);
    expect(rewritten).toBeGreaterThan(0); // some submissions refer to a resource of their own transaction
  });

  it('rewrites references alike in seeded random mutations of the mapped resources', () => {
    const next = random(5);
    const differ: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const { key, resources } = all[Math.floor(next() * all.length)];
      const targets = new Map<string, string>();
      // Every reference in the submission is a target, so mutations land next to references that are rewritten.
      JSON.stringify(resources, (k, v: unknown) => (k === 'reference' && typeof v === 'string' && targets.set(v, `urn:uuid:${i}`), v));
      const mutated = mutate(mutate(resources, next), next);
      const before = referenceRewrite(mutated, targets);
      const after = rewriteReferences(mutated, targets);
      if (JSON.stringify(before) !== JSON.stringify(after) || (before === mutated) !== (after === mutated)) differ.push(`${key} mutation ${i}`);
    }
    expect(differ).toEqual([]);
  });

  it('makes the same deterministic UUID from seeded random parts, non-ASCII text included', () => {
    const next = random(7);
    const alphabet = 'aZ09/|?=:-_. \u00e9\u00df\u4e2d\u{1f600}\u001f';
    const chars = [...alphabet];
    const text = () => Array.from({ length: Math.floor(next() * 40) }, () => chars[Math.floor(next() * chars.length)]).join('');
    const differ: string[] = [];
    for (let i = 0; i < 5000; i++) {
      const parts = Array.from({ length: 1 + Math.floor(next() * 3) }, text);
      if (deterministicUuid(...parts) !== referenceUuid(...parts)) differ.push(JSON.stringify(parts));
    }
    expect(differ).toEqual([]);
  });
});
