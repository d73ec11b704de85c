/**
 * Map + validate only, in process, one core: prepareRecord (schema check, NHS number, JSONata mapping,
 * UK Core validation, transaction Bundle with Provenance) over the generated care home (2,150 records,
 * every record type), no outbox and no HTTP. Prints records per CPU-second (the target: >= 5,000) and per
 * wall second, twice: just after start (BENCH_SECONDS, default 3, after BENCH_COLD, default 1, second of
 * warm-up: the JIT still compiling the generated mappings and validators, as a freshly started replica runs)
 * and in the steady state of a long-running gateway (the same after BENCH_WARMUP, default 10, seconds of
 * work in all), then per record type in the steady state.
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

function report(label: string, t: Totals): void {
  const perCpu = t.records / (t.cpuUs / 1e6);
  console.log(
    `   ${label}: ${fmt(perCpu)} records per CPU-second, ${fmt(t.records / (t.wallNs / 1e9))} records/s wall` +
      ` (target >= 5,000 per core)  ${perCpu >= 5000 ? 'MET' : 'NOT MET'}`,
  );
}

export async function benchMapValidate(
  seconds = Number(process.env.BENCH_SECONDS ?? 3),
  cold = Number(process.env.BENCH_COLD ?? Math.min(1, seconds)),
  warmup = Number(process.env.BENCH_WARMUP ?? 10),
): Promise<void> {
  const records = careHomeRecords();
  const mappings = loadMappings();
  const deps: Deps = { mappings, schemas: createSchemaChecker(mappings), validator: loadValidator() };
  console.log(`\n== map+validate: prepareRecord over the care home (${fmt(records.length)} records, every type), in process, one core, ${seconds}s runs`);
  console.log(`   load average before: ${loadAverage()}`);
  const started = process.hrtime.bigint();
  await timed(deps, records, cold);
  report(`all types, just after start (after ${cold}s)`, await timed(deps, records, seconds));
  const spent = Number(process.hrtime.bigint() - started) / 1e9;
  await timed(deps, records, Math.max(0, warmup - spent));
  report(`all types, steady state (after ${warmup}s)`, await timed(deps, records, seconds));
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
