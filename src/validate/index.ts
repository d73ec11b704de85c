/**
 * The UK Core validator: a resource -> OperationOutcome issues, against its base type and every profile in
 * meta.profile (plus options.profile). Definitions come from profiles/ (see scripts/profiles.ts) and are
 * compiled into checks once, at load; each check's walk is generated as JavaScript on its first call (generate.ts).
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
      if (options?.profile) compiler.resourceCheck(resource, type, ctx, [options.profile]);
      else compiler.resourceCheck(resource, type, ctx);
      return ctx.issues;
    },
  };
}

/** A validator that loads the definitions on its first use (~70 MB of heap a process need not hold unused). */
export function lazyValidator(profilesDir?: string): Validator {
  let loaded: Validator | undefined;
  return {
    validate(resource, options) {
      loaded ??= loadValidator(profilesDir);
      return loaded.validate(resource, options);
    },
  };
}
