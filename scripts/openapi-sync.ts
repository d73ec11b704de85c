/**
 * npm run openapi:sync [-- --check]
 *
 * Keeps openapi.yaml in step with mappings/: the record type enum, and one request example per record type
 * (each type's example.json). With --check it changes nothing and exits 1 if the file is out of step
 * (a test runs it, so adding a record type without syncing the contract fails the build).
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { MAPPINGS_DIR, OPENAPI_PATH } from '../src/config/paths';

export function syncedOpenApi(current: string): string {
  const doc = YAML.parseDocument(current);
  const types = fs
    .readdirSync(MAPPINGS_DIR, { withFileTypes: true })
    .filter((e) => e.isDirectory() && fs.existsSync(path.join(MAPPINGS_DIR, e.name, 'mapping.jsonata')))
    .map((e) => e.name)
    .sort();
  doc.setIn(['components', 'schemas', 'ProviderRecord', 'properties', 'type', 'enum'], doc.createNode(types, { flow: true }));
  const examplesPath = ['paths', '/v1/records', 'post', 'requestBody', 'content', 'application/json', 'examples'];
  const existing = (doc.getIn(examplesPath) as YAML.YAMLMap).toJSON() as Record<string, unknown>;
  const examples: Record<string, unknown> = { batch: existing.batch };
  for (const type of types) {
    const file = path.join(MAPPINGS_DIR, type, 'example.json');
    if (!fs.existsSync(file)) continue;
    const value = JSON.parse(fs.readFileSync(file, 'utf8')) as { recordId: string };
    // The resident comes first, so the other examples' NHS number already has a Patient when they arrive.
    examples[type] = { summary: `A ${type} record (mappings/${type}/)`, value };
  }
  const ordered = Object.fromEntries(['resident', ...types.filter((t) => t !== 'resident'), 'batch'].filter((k) => examples[k]).map((k) => [k, examples[k]]));
  doc.setIn(examplesPath, doc.createNode(ordered));
  return doc.toString({ lineWidth: 0, defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN' });
}

if (require.main === module) {
  const current = fs.readFileSync(OPENAPI_PATH, 'utf8');
  const next = syncedOpenApi(current);
  if (process.argv.includes('--check')) {
    if (next !== current) {
      console.error('openapi.yaml is out of step with mappings/: run npm run openapi:sync');
      process.exit(1);
    }
    console.log('openapi.yaml is in step with mappings/');
  } else {
    fs.writeFileSync(OPENAPI_PATH, next);
    console.log('openapi.yaml synced with mappings/');
  }
}
