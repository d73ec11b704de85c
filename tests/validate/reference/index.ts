/**
 * REFERENCE COPY (tests only): src/validate as of 4990174, the closure-walking validator, kept so that
 * tests/validate/differential.test.ts can check the current one reports exactly the same issues. Do not change.
 *
 * The UK Core validator: a resource -> OperationOutcome issues, against its base type and every profile in
 * meta.profile (plus options.profile). Definitions come from profiles/ (see scripts/profiles.ts) and are
 * compiled into checker closures once, at load.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { OperationOutcomeIssue, Resource } from 'fhir/r4';
import { Compiler } from './compile';
import type { Ctx } from './context';
import { readDefinitions } from './definitions';

export interface Validator {
  /** All issues for the resource against its base type and every profile in meta.profile (plus options.profile). */
  validate(resource: Resource, options?: { profile?: string }): OperationOutcomeIssue[];
}

/** <repo>/profiles, found from this file whether it runs from src/ or from a build under dist/. */
function defaultProfilesDir(): string {
  let dir = __dirname;
  for (;;) {
    const candidate = path.join(dir, 'profiles');
    if (fs.existsSync(path.join(candidate, 'manifest.json'))) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('profiles/ not found; run `npm run profiles`');
    dir = parent;
  }
}

export function loadValidator(profilesDir: string = defaultProfilesDir()): Validator {
  const compiler = new Compiler(readDefinitions(profilesDir));
  compiler.compileAll();
  return {
    validate(resource: Resource, options?: { profile?: string }): OperationOutcomeIssue[] {
      const ctx: Ctx = { issues: [], resource, rootResource: resource };
      const type = typeof resource?.resourceType === 'string' ? resource.resourceType : 'Resource';
      compiler.resourceCheck(resource, type, ctx, options?.profile ? [options.profile] : []);
      return ctx.issues;
    },
  };
}
