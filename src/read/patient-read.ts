/**
 * The GP read path's queries to the shared care record, as pure functions over a ScrClient.
 * Authorisation and audit wrap these later (their own issue); the HTTP layer maps errors to answers:
 * OperationOutcomeError for a bad request from the GP, ScrError for the SCR failing.
 */
import type { Bundle, Patient } from 'fhir/r4';
import { checkNhsNumber } from '../ingest/nhs-number';
import { badRequest, issue, unprocessable } from '../fhir/operation-outcome';
import type { ScrClient } from '../fhir/scr-client';
import { NHS_NUMBER_SYSTEM } from '../map/identifiers';

const RESOURCE_ID = /^[A-Za-z0-9\-.]{1,64}$/;

/**
 * Patients with this NHS number, as a searchset Bundle. Only entries that really carry the NHS number
 * are kept, so a server whose token search is looser than the standard cannot show a GP someone else.
 */
export async function findPatientsByNhsNumber(scr: ScrClient, nhsNumber: string): Promise<Bundle> {
  const checked = checkNhsNumber(nhsNumber);
  if (!checked.ok) throw unprocessable([issue('error', 'value', checked.reason, 'identifier')]);
  const found = await scr.search('Patient', { identifier: `${NHS_NUMBER_SYSTEM}|${checked.value}` });
  const entry = (found.entry ?? []).filter(
    (e) =>
      e.resource?.resourceType === 'Patient' &&
      (e.resource as Patient).identifier?.some((i) => i.system === NHS_NUMBER_SYSTEM && i.value === checked.value),
  );
  return { resourceType: 'Bundle', type: 'searchset', total: entry.length, entry };
}

/** Everything the SCR holds about one Patient: $everything, or the compartment where it has none. */
export async function patientEverything(scr: ScrClient, patientId: string): Promise<Bundle> {
  if (!RESOURCE_ID.test(patientId)) throw badRequest('Not a FHIR resource id', 'Patient.id');
  return scr.patientEverything(patientId);
}
