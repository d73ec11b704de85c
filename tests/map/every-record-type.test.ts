/**
 * What every folder under mappings/ must satisfy, so a new record type cannot skip it: its example passes
 * the schema check, maps without issues, and every resource claims a profile, is keyed on the provider
 * record and validates against UK Core.
 */
import type { Resource } from 'fhir/r4';
import { asIngested, exampleRecord, mapIssues, mapResources, registry, schemaChecker, validationErrors } from './record-type';

const PROVIDER_RECORD_SYSTEM = 'https://care-record-gateway.dev/fhir/Id/provider-record';
/** Resources keyed on a national identifier rather than on the provider record. */
const NATIONALLY_KEYED = ['Patient', 'Organization'];
const types = [...registry.types.keys()].sort();

const firstIdentifier = (r: Resource) => (r as Resource & { identifier?: { system?: string; value?: string }[] }).identifier?.[0];

describe.each(types.filter((t) => t !== 'resident'))('the %s record type', (type) => {
  const example = () => asIngested(exampleRecord(type));

  it('has an example that passes the schema check', () => {
    expect(schemaChecker.check(exampleRecord(type), '')).toEqual([]);
  });

  it('maps its example without issues', async () => {
    expect(await mapIssues(example())).toEqual([]);
  });

  it('claims a profile on every resource and keys it on the provider record, part by part', async () => {
    const resources = await mapResources(example());
    expect(resources.length).toBeGreaterThan(0);
    for (const resource of resources) {
      expect(resource.meta?.profile).toHaveLength(1);
      if (NATIONALLY_KEYED.includes(resource.resourceType)) continue;
      expect(firstIdentifier(resource)?.system).toBe(PROVIDER_RECORD_SYSTEM);
      expect(firstIdentifier(resource)?.value).toMatch(new RegExp(`^VNX12/${type}/${example().recordId}(/|$)`));
    }
    const keys = resources.map((r) => `${r.resourceType} ${firstIdentifier(r)?.value}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('maps its example to resources with no UK Core validation errors', async () => {
    expect(validationErrors(await mapResources(example()))).toEqual([]);
  });
});
