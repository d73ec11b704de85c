/**
 * The GP read path under /fhir: search a person by NHS number, and their whole record ($everything),
 * answered from the shared care record. A clinician sees a record only when the person is registered at
 * their practice (Patient.generalPractitioner), or by break-glass with a stated reason.
 */
import { Router } from 'express';
import type { Bundle, Patient } from 'fhir/r4';
import { callerOdsCode } from '../../auth/caller';
import { OperationOutcomeError, issue } from '../../fhir/operation-outcome';
import type { ScrClient } from '../../fhir/scr-client';
import { checkNhsNumber } from '../../ingest/nhs-number';
import { NHS_NUMBER_SYSTEM, ODS_CODE_SYSTEM } from '../../map/identifiers';
import { currentContext, noteSubjects } from '../../observability/request-context';
import { findPatientsByNhsNumber, patientEverything } from '../../read/patient-read';
import { fhirOk } from '../respond';
import { callerOf, permit, type Security } from '../security';

const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

function badSearch(diagnostics: string, expression: string): OperationOutcomeError {
  return new OperationOutcomeError(400, [issue('error', 'invalid', diagnostics, expression)]);
}

/** identifier=https://fhir.nhs.uk/Id/nhs-number|<NHS number>, and nothing else: reads are by NHS number only. */
export function nhsNumberFromSearch(query: Record<string, unknown>): string {
  const unsupported = Object.keys(query).filter((k) => k !== 'identifier');
  if (unsupported.length > 0) throw badSearch(`Unsupported search parameter(s): ${unsupported.join(', ')}`, unsupported[0]);
  const identifier = query.identifier;
  if (typeof identifier !== 'string') throw badSearch('Search by identifier=https://fhir.nhs.uk/Id/nhs-number|<NHS number>', 'identifier');
  const bar = identifier.lastIndexOf('|');
  if (bar < 0 || identifier.slice(0, bar) !== NHS_NUMBER_SYSTEM) {
    throw badSearch(`identifier must use the system ${NHS_NUMBER_SYSTEM}`, 'identifier');
  }
  const nhs = checkNhsNumber(identifier.slice(bar + 1));
  if (!nhs.ok) throw badSearch(nhs.reason, 'identifier');
  return nhs.value;
}

/** The ODS codes of the practices the person is registered with. */
function gpOdsCodes(patient: Patient): string[] {
  return (patient.generalPractitioner ?? [])
    .filter((ref) => ref.identifier?.system === ODS_CODE_SYSTEM && ref.identifier.value)
    .map((ref) => ref.identifier!.value!);
}

function nhsNumberOf(patient: Patient): string | undefined {
  return patient.identifier?.find((i) => i.system === NHS_NUMBER_SYSTEM)?.value;
}

/** May the caller see this person's record? Throws 403 if not. */
function permitRecordRead(patient: Patient, resourceTypes?: string[]): void {
  permit({ type: 'record.read', gpOdsCodes: gpOdsCodes(patient), breakGlassReason: currentContext()?.breakGlassReason, resourceTypes });
}

export function fhirReadRouter(scr: ScrClient, security: Security): Router {
  const router = Router();

  router.get('/fhir/Patient', security.guarded('search', 'search the shared record by NHS number', async (req) => {
    const nhsNumber = nhsNumberFromSearch(req.query as Record<string, unknown>);
    noteSubjects(nhsNumber);
    const bundle: Bundle = await findPatientsByNhsNumber(scr, nhsNumber);
    const patients = (bundle.entry ?? []).map((e) => e.resource as Patient);
    if (patients.length === 0) {
      // No record, so nothing to protect; the caller must still be a clinician allowed to read records.
      permit({ type: 'record.read', gpOdsCodes: [callerOdsCode(callerOf()) ?? ''], resourceTypes: ['Patient'] });
    }
    for (const patient of patients) permitRecordRead(patient, ['Patient']);
    return fhirOk(bundle);
  }));

  router.get('/fhir/Patient/:id/$everything', security.guarded('read', "read a person's whole shared record", async (req) => {
    const id = String(req.params.id);
    if (!FHIR_ID.test(id)) throw badSearch('Not a FHIR id', 'id');
    const patient = (await scr.read('Patient', id)) as Patient;
    const nhsNumber = nhsNumberOf(patient);
    if (nhsNumber) noteSubjects(nhsNumber);
    permitRecordRead(patient);
    return fhirOk(await patientEverything(scr, id));
  }));

  return router;
}
