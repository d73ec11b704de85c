/**
 * GET /metadata. FhirRouter has no capabilities route (measured on 4.5.2: "GET metadata" falls through to
 * "search-type" for a resource type called "metadata" and answers an empty 200), so the development SCR
 * states its own. It declares only what Medplum really does here: no operations (no $everything), no
 * chained search, no validation.
 */
import { allOk } from '@medplum/core';
import type { FhirResponse, FhirRouteHandler } from '@medplum/fhir-router';
import type { CapabilityStatement, CapabilityStatementRestResource, ResourceType } from '@medplum/fhirtypes';

/** The resource types a care record holds; the server stores any R4 type, these are the ones declared. */
const DECLARED_TYPES: ResourceType[] = [
  'AllergyIntolerance', 'CarePlan', 'Condition', 'Consent', 'DocumentReference', 'Encounter',
  'EpisodeOfCare', 'Flag', 'Goal', 'Immunization', 'Medication', 'MedicationAdministration', 'Observation',
  'Organization', 'Patient', 'Practitioner', 'Provenance', 'RelatedPerson',
];

function resource(type: ResourceType): CapabilityStatementRestResource {
  return {
    type,
    interaction: ['read', 'vread', 'update', 'create', 'search-type', 'history-instance'].map((code) => ({
      code: code as 'read',
    })),
    versioning: 'versioned-update',
    conditionalCreate: true,
    conditionalUpdate: true,
  };
}

export function capabilityStatement(): CapabilityStatement {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    kind: 'instance',
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'application/json'],
    software: { name: 'care-record-gateway development SCR (Medplum fhir-router, in memory)' },
    implementation: { description: 'For development and tests only. Data is held in memory and lost on exit.' },
    rest: [
      {
        mode: 'server',
        resource: DECLARED_TYPES.map(resource),
        interaction: [{ code: 'transaction' }, { code: 'batch' }],
      },
    ],
  };
}

export const metadataHandler: FhirRouteHandler = async (): Promise<FhirResponse> => [allOk, capabilityStatement()];
