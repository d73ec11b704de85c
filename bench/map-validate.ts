/**
 * Map + validate only, in process, one core: prepareRecord (schema check, NHS number, JSONata mapping,
 * UK Core validation, transaction Bundle with Provenance) over the generated care home (2,150 records,
 * every record type), no outbox and no HTTP. Prints records/s per CPU-second (the target: >= 5,000) and
 * per wall second, overall and per record type. BENCH_SECONDS (default 3) per measured run; BENCH_WARMUP
 * (default 1) seconds of warm-up before it: the first row is the pass after it, so a longer warm-up measures the
 * steady state of a long-running gateway rather than the first seconds after start (JIT still compiling).
 */
import { prepareRecord } from '../src/ingest/accept';
import { createSchemaChecker } from '../src/ingest/schema-check';
import type { ProviderRecord } from '../src/map/map-record';
import { loadMappings } from '../src/map/mapping-registry';
import { loadValidator } from '../src/validate';
import { careHomeRecords, fmt, loadAverage } from './support';

type Deps = Parameters<typeof prepareRecord>[0];

interface Totals {
  records: number;
  wallNs: number;
  cpuUs: number;
}

/** Whole passes over `records` for about `seconds`; throws if any record is refused (the fixture is all valid). */
async function timed(deps: Deps, records: ProviderRecord[], seconds: number): Promise<Totals> {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  const limit = start + BigInt(Math.round(seconds * 1e9));
  let count = 0;
  let now = start;
  while (now < limit) {
    for (const record of records) {
      const result = await prepareRecord(deps, record, '');
      if (!result.submission) throw new Error(`${record.type} ${record.recordId} refused: ${JSON.stringify(result.issues)}`);
    }
    count += records.length;
    now = process.hrtime.bigint();
  }
  const used = process.cpuUsage(cpu);
  return { records: count, wallNs: Number(now - start), cpuUs: used.user + used.system };
}

export async function benchMapValidate(
  seconds = Number(process.env.BENCH_SECONDS ?? 3),
  warmup = Number(process.env.BENCH_WARMUP ?? Math.min(1, seconds)),
): Promise<void> {
  const records = careHomeRecords();
  const mappings = loadMappings();
  const deps: Deps = { mappings, schemas: createSchemaChecker(mappings), validator: loadValidator() };
  console.log(`\n== map+validate: prepareRecord over the care home (${fmt(records.length)} records, every type), in process, one core, ${seconds}s after ${warmup}s warm-up`);
  console.log(`   load average before: ${loadAverage()}`);
  await timed(deps, records, warmup);
  const all = await timed(deps, records, seconds);
  const perCpu = all.records / (all.cpuUs / 1e6);
  console.log(
    `   all types: ${fmt(perCpu)} records per CPU-second, ${fmt(all.records / (all.wallNs / 1e9))} records/s wall` +
      ` (target >= 5,000 per core)  ${perCpu >= 5000 ? 'MET' : 'NOT MET'}`,
  );
  const byType = new Map<string, ProviderRecord[]>();
  for (const r of records) byType.set(r.type, [...(byType.get(r.type) ?? []), r]);
  const rows: [string, number][] = [];
  for (const [type, list] of byType) {
    const t = await timed(deps, list, Math.max(0.2, seconds / byType.size));
    rows.push([type, t.records / (t.cpuUs / 1e6)]);
  }
  console.log(`   per type (records per CPU-second): ${rows.map(([t, n]) => `${t} ${fmt(n)}`).join(', ')}`);
  console.log(`   load average after: ${loadAverage()}`);
}
