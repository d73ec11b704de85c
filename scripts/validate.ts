/**
 * npm run validate -- [--profile <url>] <file or folder...>
 *
 * Validates FHIR resources (JSON or XML; folders are walked) against their base type, the profiles in
 * meta.profile and --profile. Prints one line per issue, `file: severity expression: diagnostics`, and exits 1
 * when any issue is an error.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Resource } from 'fhir/r4';
import { loadValidator } from '../src/validate';
import { parseFhirText } from './lib/xml';

function filesUnder(target: string): string[] {
  const stat = fs.statSync(target);
  if (!stat.isDirectory()) return [target];
  return fs
    .readdirSync(target)
    .sort()
    .flatMap((name) => {
      const full = path.join(target, name);
      return fs.statSync(full).isDirectory() || /\.(json|xml)$/i.test(name) ? filesUnder(full) : [];
    });
}

function main(args: string[]): number {
  let profile: string | undefined;
  const targets: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--profile') profile = args[++i];
    else if (args[i].startsWith('--profile=')) profile = args[i].slice('--profile='.length);
    else targets.push(args[i]);
  }
  if (!targets.length) {
    console.error('usage: npm run validate -- [--profile <url>] <file or folder...>');
    return 2;
  }
  const validator = loadValidator();
  let errors = 0;
  let files = 0;
  for (const file of targets.flatMap(filesUnder)) {
    files++;
    let resource: Resource;
    try {
      resource = parseFhirText<Resource>(fs.readFileSync(file, 'utf8'));
    } catch (error) {
      console.log(`${file}: error (file): cannot parse: ${(error as Error).message}`);
      errors++;
      continue;
    }
    for (const issue of validator.validate(resource, { profile })) {
      if (issue.severity === 'error' || issue.severity === 'fatal') errors++;
      console.log(`${file}: ${issue.severity} ${issue.expression?.[0] ?? ''}: ${issue.diagnostics ?? issue.code}`);
    }
  }
  console.log(`${files} file(s), ${errors} error(s)`);
  return errors ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
