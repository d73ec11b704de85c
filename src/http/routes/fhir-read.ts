/**
 * The GP read path under /fhir: search a person by NHS number, and their whole record ($everything),
 * answered from the shared care record.
 */
import { Router } from 'express';
import { OperationOutcomeError, issue } from '../../fhir/operation-outcome';
import type { ScrClient } from '../../fhir/scr-client';
import { checkNhsNumber } from '../../ingest/nhs-number';
import { NHS_NUMBER_SYSTEM } from '../../map/identifiers';
import { findPatientsByNhsNumber, patientEverything } from '../../read/patient-read';
import { fhirOk, handle } from '../respond';

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

export function fhirReadRouter(scr: ScrClient): Router {
  const router = Router();

  router.get('/fhir/Patient', handle(async (req) => {
    const nhsNumber = nhsNumberFromSearch(req.query as Record<string, unknown>);
    return fhirOk(await findPatientsByNhsNumber(scr, nhsNumber));
  }));

  router.get('/fhir/Patient/:id/$everything', handle(async (req) => {
    const id = String(req.params.id);
    if (!FHIR_ID.test(id)) throw badSearch('Not a FHIR id', 'id');
    return fhirOk(await patientEverything(scr, id));
  }));

  return router;
}
