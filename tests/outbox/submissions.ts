/** Sample submissions and a temporary folder for real SQLite files, shared by the outbox and worker tests. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Bundle, Patient } from 'fhir/r4';
import type { NewSubmission } from '../../src/outbox/outbox';

/** A UK Core transaction Bundle: a conditional update of one Patient on the NHS number. */
export function patientBundle(nhsNumber: string, family = 'Smith', padding = ''): Bundle {
  const patient: Patient = {
    resourceType: 'Patient',
    meta: { profile: ['https://fhir.nhs.uk/StructureDefinition/UKCore-Patient'] },
    identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: nhsNumber }],
    name: [{ family, given: ['Jane'] }],
  };
  if (padding) patient.text = { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">${padding}</div>` };
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      {
        // One fullUrl per person, as the gateway's deterministic ones are, so submissions can share a transaction.
        fullUrl: `urn:uuid:2a4c4f5e-8d1b-4f0a-9b8e-${nhsNumber.padStart(12, '0')}`,
        resource: patient,
        request: { method: 'PUT', url: `Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|${nhsNumber}` },
      },
    ],
  };
}

export function submission(nhsNumber: string, record = 'resident:R-1001@1', padding = ''): NewSubmission {
  return { providerOds: 'VM123', orderingKey: nhsNumber, records: [record], bundle: patientBundle(nhsNumber, 'Smith', padding) };
}

export function tempDir(): { dir: string; file: (name: string) => string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outbox-test-'));
  return {
    dir,
    file: (name) => path.join(dir, name),
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
