/**
 * What every record type's mapping test shares: load the real mappings/ folder once, map a fixture
 * record, and check a record against the ingest schema. Each <type>-mapping.test.ts states its own
 * expectations in sentences; this file only keeps them short.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { OperationOutcomeIssue, Resource } from 'fhir/r4';
import { createSchemaChecker } from '../../src/ingest/schema-check';
import { mapRecord, type ProviderRecord } from '../../src/map/map-record';
import { loadMappings } from '../../src/map/mapping-registry';
import { loadValidator, type Validator } from '../../src/validate';

export const registry = loadMappings();
export const schemaChecker = createSchemaChecker(registry);

/** The fixture as ingest hands it to the mapper: a fresh copy with the NHS number normalised. */
export function asIngested(record: unknown): ProviderRecord {
  const copy = JSON.parse(JSON.stringify(record)) as ProviderRecord;
  return copy.nhsNumber === undefined ? copy : { ...copy, nhsNumber: copy.nhsNumber.replace(/[\s-]/g, '') };
}

export async function mapResources(record: ProviderRecord): Promise<Resource[]> {
  const result = await mapRecord(registry.types.get(record.type)!, record, '$');
  if (!result.ok) throw new Error(`mapping failed: ${JSON.stringify(result.issues)}`);
  return result.resources;
}

export async function mapIssues(record: ProviderRecord): Promise<OperationOutcomeIssue[]> {
  const result = await mapRecord(registry.types.get(record.type)!, record, '$');
  return result.ok ? [] : result.issues;
}

/** mappings/<type>/example.json: the documented example every integrator copies. */
export function exampleRecord(type: string): unknown {
  return JSON.parse(fs.readFileSync(path.join(__dirname, '../../mappings', type, 'example.json'), 'utf8'));
}

/** The first identifier of each resource: the key its conditional update uses. */
export const firstIdentifiers = (resources: Resource[]): (string | undefined)[] =>
  resources.map((r) => (r as Resource & { identifier?: { value?: string }[] }).identifier?.[0]?.value);

let validator: Validator | undefined;

/** Error and fatal issues from the UK Core validator, one readable line each, so a failure shows what broke. */
export function validationErrors(resources: Resource[]): string[] {
  validator ??= loadValidator();
  const v = validator;
  return resources.flatMap((r) =>
    v
      .validate(r)
      .filter((i) => i.severity === 'error' || i.severity === 'fatal')
      .map((i) => `${r.resourceType} ${i.expression?.join(', ') ?? ''}: ${i.diagnostics ?? i.code}`),
  );
}
