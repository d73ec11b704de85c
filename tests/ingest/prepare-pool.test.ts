/**
 * The prepare pool: records checked, mapped and validated on worker threads answer exactly as on the main
 * thread, in order, with the normalised record whenever the caller's gate must see it.
 */
import type { Bundle } from 'fhir/r4';
import { prepareAll, prepareRecord, type PrepareDeps } from '../../src/ingest/accept';
import { PreparePool } from '../../src/ingest/prepare-pool';
import { createSchemaChecker } from '../../src/ingest/schema-check';
import type { ProviderRecord } from '../../src/map/map-record';
import { loadMappings } from '../../src/map/mapping-registry';
import { loadValidator } from '../../src/validate';
import { careHomeRecords } from '../../bench/support';
import resident from '../fixtures/records/resident.json';

const mappings = loadMappings();
const deps: PrepareDeps = { mappings, schemas: createSchemaChecker(mappings), validator: loadValidator() };
let pool: PreparePool;

beforeAll(async () => {
  pool = new PreparePool(2);
  await pool.ready();
}, 60_000);
afterAll(async () => {
  await pool.close();
});

/** The Provenance's `recorded` is the time of preparing; everything else must be identical. */
const untimed = (bundle: Bundle | undefined) =>
  JSON.parse(JSON.stringify(bundle ?? null).replace(/"recorded":"[^"]+"/g, '"recorded":"-"')) as unknown;

describe('PreparePool', () => {
  it('prepares the care home as the main thread does, in order', async () => {
    // Every record type, and enough records (every third) that the pool cuts them into several tasks.
    const records = careHomeRecords().filter((_, i) => i % 3 === 0);
    const items = records.map((raw, i) => ({ raw, path: `records[${i}]` }));
    const onThreads = await pool.prepare(items);
    expect(onThreads).toHaveLength(records.length);
    for (let i = 0; i < records.length; i++) {
      const here = await prepareRecord(deps, records[i], `records[${i}]`);
      expect(onThreads[i].issues).toEqual(here.issues);
      expect(onThreads[i].record).toEqual(here.record);
      expect(untimed(onThreads[i].submission?.bundle)).toEqual(untimed(here.submission?.bundle));
      expect({ ...onThreads[i].submission, bundle: undefined }).toEqual({ ...here.submission, bundle: undefined });
    }
  }, 120_000);

  it('answers a refused record with its issues, and with the record once it passed the checks the gate needs', async () => {
    const badType = { ...resident, type: 'no-such-type' };
    const badNhs = { ...resident, nhsNumber: '9434765918' };
    const unmappable = { ...resident, data: { ...resident.data, languages: [{ code: 'en' }, { code: 'xx' }] } };
    const [a, b, c] = await pool.prepare([
      { raw: badType, path: 'records[0]' },
      { raw: badNhs, path: 'records[1]' },
      { raw: unmappable, path: 'records[2]' },
    ]);
    expect(a.record).toBeUndefined();
    expect(a.issues.length).toBeGreaterThan(0);
    expect(b).toEqual({ issues: [expect.objectContaining({ severity: 'error', expression: ['records[1].nhsNumber'] })] });
    // Its language code is not in the mapping's table: refused by the mapping, but the gate still sees whose it is.
    expect(c.submission).toBeUndefined();
    expect(c.issues).toEqual([expect.objectContaining({ code: 'code-invalid', expression: ['records[2].data.languages[1].code'] })]);
    expect((c.record as ProviderRecord).careProvider.odsCode).toBe('VNX12');
  });

  it('validates a resource for $validate as the main thread\'s validator does', async () => {
    const patient = { resourceType: 'Patient', gender: 'woman', birthDate: '1936-02-30', meta: { profile: ['https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient'] } } as never;
    const onThread = await pool.validate(patient);
    expect(onThread.filter((i) => i.severity === 'error').length).toBeGreaterThanOrEqual(2);
    expect(onThread).toEqual(deps.validator.validate(patient));
    expect(await pool.validate(patient, { profile: 'https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient' })).toEqual(
      deps.validator.validate(patient, { profile: 'https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient' }),
    );
  });

  it('is what prepareAll uses when the deps carry it', async () => {
    const items = [1, 2, 3].map((i) => ({ raw: { ...resident, recordId: `POOL-${i}` }, path: `records[${i}]` }));
    const results = await prepareAll({ ...deps, outbox: undefined as never, preparer: pool }, items);
    expect(results.map((r) => r.record?.recordId)).toEqual(['POOL-1', 'POOL-2', 'POOL-3']);
  });
});

describe('PreparePool and input the structured clone cannot copy', () => {
  let small: PreparePool;
  beforeAll(async () => {
    small = new PreparePool(1);
    await small.ready();
  }, 60_000);
  afterAll(async () => {
    await small.close();
  });

  it('refuses only the record nested too deeply to cross to a thread, naming it, and prepares the others', async () => {
    const deep = JSON.parse('{"data":'.repeat(50_000) + '1' + '}'.repeat(50_000)) as unknown;
    const [first, nested, last] = await small.prepare([
      { raw: { ...resident, recordId: 'DEEP-1' }, path: 'records[0]' },
      { raw: deep, path: 'records[1]' },
      { raw: { ...resident, recordId: 'DEEP-3' }, path: 'records[2]' },
    ]);
    expect(nested).toEqual({ issues: [expect.objectContaining({ severity: 'error', code: 'structure', expression: ['records[1]'] })] });
    expect([first.submission?.records, last.submission?.records]).toEqual([['resident:DEEP-1@1'], ['resident:DEEP-3@1']]);
  });
});
