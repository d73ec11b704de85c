/**
 * The validator (src/validate) against the one it replaced (tests/validate/reference, the closure-walking
 * validator as of session 3): the same issues, in the same order, for the official examples, their broken
 * copies, the mapped care home and seeded random mutations of all of them.
 *
 * DIFF_MUTATIONS (default 3,000) and DIFF_SEED (default 7) widen the search:
 * `DIFF_MUTATIONS=100000 DIFF_SEED=11 npx jest tests/validate/differential`.
 */
import type { Resource } from 'fhir/r4';
import { mapRecord, type ProviderRecord } from '../../src/map/map-record';
import { loadMappings } from '../../src/map/mapping-registry';
import { loadValidator } from '../../src/validate';
import { loadValidator as loadReferenceValidator } from './reference';
import { baseCases, type Case, compare, mutatedCases } from './differential';
import { careHomeRecords } from '../support/care-home';

const MUTATIONS = Number(process.env.DIFF_MUTATIONS ?? 3000);
const SEED = Number(process.env.DIFF_SEED ?? 7);
/** Records of the care home mapped for the comparison (all of them with DIFF_MUTATIONS above the default). */
const CARE_HOME_RECORDS = MUTATIONS > 3000 ? Infinity : 400;

async function careHomeCases(): Promise<Case[]> {
  const mappings = loadMappings();
  const records = careHomeRecords();
  // Every record type, then in file order up to the limit.
  const byType = new Map<string, ProviderRecord>();
  for (const r of records) if (!byType.has(r.type)) byType.set(r.type, r);
  const chosen = [...byType.values(), ...records.slice(0, CARE_HOME_RECORDS)];
  const cases: Case[] = [];
  for (const record of chosen) {
    const mapped = await mapRecord(mappings.types.get(record.type)!, record, '$');
    if (!mapped.ok) throw new Error(`${record.type} ${record.recordId} does not map`);
    mapped.resources.forEach((resource: Resource, i) => cases.push({ label: `care home ${record.type} ${record.recordId} output ${i}`, resource }));
  }
  return cases;
}

describe('the validator against the reference validator', () => {
  const current = loadValidator();
  const reference = loadReferenceValidator();
  let base: Case[] = [];

  beforeAll(async () => {
    base = baseCases(await careHomeCases());
  });

  it('reports the same issues for every example, broken copy and mapped care-home resource', () => {
    expect(base.length).toBeGreaterThan(500);
    expect(compare(reference, current, base).differences.slice(0, 3)).toEqual([]);
  });

  it('reports the same issues with contained resources, empty, null and misshapen ones (dom-2 to dom-5)', () => {
    const patient = { resourceType: 'Patient', id: 'p1', meta: { versionId: '2', lastUpdated: '2026-01-01T00:00:00Z', security: [{ code: 'R' }] } };
    const nested = { resourceType: 'Patient', id: 'p2', contained: [{ resourceType: 'Patient', id: 'p3' }] };
    const variants: Record<string, unknown>[] = [
      { contained: [] },
      { contained: [null] },
      { contained: null },
      { contained: 'p1' },
      { contained: [patient] },
      { contained: [patient], subject: { reference: '#p1' } },
      { contained: [nested, null] },
      { containedString: 'x' },
      { _contained: [{ id: 'x' }] },
    ];
    const firstOfEachType = new Map<string, Resource>();
    for (const { resource } of base) {
      const r = resource as Resource;
      if (typeof r?.resourceType === 'string' && !firstOfEachType.has(r.resourceType)) firstOfEachType.set(r.resourceType, r);
    }
    const cases: Case[] = [];
    for (const [type, resource] of firstOfEachType) {
      variants.forEach((extra, i) => cases.push({ label: `${type} contained variant ${i}`, resource: { ...resource, ...extra } }));
    }
    expect(cases.length).toBeGreaterThan(100);
    expect(compare(reference, current, cases).differences.slice(0, 3)).toEqual([]);
  });

  it(`reports the same issues for ${MUTATIONS} seeded random mutations of them`, () => {
    const cases = mutatedCases(base, MUTATIONS, SEED);
    const { differences, fixed } = compare(reference, current, cases);
    expect(differences.slice(0, 3)).toEqual([]);
    // Some mutations put a null into a coding array, where the reference threw (fixed since).
    expect(fixed).toBeGreaterThan(0);
  });
});
