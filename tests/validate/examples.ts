/** The official UK Core examples (vendored as JSON by `npm run profiles`) and the profile each illustrates. */
import fs from 'node:fs';
import path from 'node:path';
import type { Resource } from 'fhir/r4';

export const EXAMPLES_DIR = path.resolve(__dirname, '..', 'fixtures', 'ukcore-examples');

export interface Example {
  file: string;
  resource: Resource;
  profile: string | undefined;
}

export function loadExamples(): Example[] {
  const profiles = JSON.parse(fs.readFileSync(path.join(EXAMPLES_DIR, 'example-profiles.json'), 'utf8')) as Record<string, string>;
  return fs
    .readdirSync(EXAMPLES_DIR)
    .filter((f) => f.endsWith('-Example.json'))
    .sort()
    .map((file) => ({
      file,
      resource: JSON.parse(fs.readFileSync(path.join(EXAMPLES_DIR, file), 'utf8')) as Resource,
      profile: profiles[file],
    }));
}
