/**
 * One thread of the prepare pool (prepare-pool.ts): loads the mappings, schemas and UK Core validator once,
 * then prepares each batch of records it is given exactly as the main thread would (prepareRecord), and
 * validates single resources for FHIR $validate.
 */
import type { OperationOutcomeIssue, Resource } from 'fhir/r4';
import { loadMappings } from '../map/mapping-registry';
import { loadValidator } from '../validate';
import { prepareRecord, type PrepareDeps, type PreparedRecord, type PrepareItem } from './accept';
import { createSchemaChecker } from './schema-check';

const mappings = loadMappings();
const deps: PrepareDeps = { mappings, schemas: createSchemaChecker(mappings), validator: loadValidator() };

export default async function prepareBatch(items: PrepareItem[]): Promise<PreparedRecord[]> {
  const results: PreparedRecord[] = [];
  for (const { raw, path } of items) results.push(await prepareRecord(deps, raw, path));
  return results;
}

export function validateResource({ resource, profile }: { resource: Resource; profile?: string }): OperationOutcomeIssue[] {
  return deps.validator.validate(resource, { profile });
}
