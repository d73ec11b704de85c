/**
 * The GP read path's queries against the development SCR, with data written the way the gateway writes
 * it (its transaction builder over the sample resident's expected FHIR).
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Bundle, Observation, Organization, Patient } from 'fhir/r4';
import { startDevScr, type DevScr } from '../../src/devscr';
import { OperationOutcomeError } from '../../src/fhir/operation-outcome';
import { ScrClient } from '../../src/fhir/scr-client';
import { transactionBundle } from '../../src/map/transaction';
import { findPatientsByNhsNumber, patientEverything } from '../../src/read/patient-read';

const NHS = 'https://fhir.nhs.uk/Id/nhs-number';
const [residentPatient, careHome] = JSON.parse(
  fs.readFileSync(path.join(__dirname, '../fixtures/records/resident.expected.json'), 'utf8'),
) as [Patient, Organization];

let scr: DevScr;
let client: ScrClient;
beforeEach(async () => {
  scr = await startDevScr({ port: 0 });
  client = new ScrClient({ baseUrl: scr.baseUrl, timeoutMs: 5000 });
});
afterEach(async () => {
  await scr.close();
});

/** Posts the resident (with this NHS number) and one Observation about them; answers the Patient id. */
async function postResident(nhsNumber: string, observation: string): Promise<string> {
  const resident: Patient = { ...residentPatient, identifier: [{ system: NHS, value: nhsNumber }] };
  const bundle = transactionBundle([resident, careHome], nhsNumber);
  const weight: Observation = {
    resourceType: 'Observation',
    status: 'final',
    code: { text: observation },
    subject: { reference: bundle.entry?.[0].fullUrl },
  };
  bundle.entry?.push({ resource: weight, request: { method: 'POST', url: 'Observation' } });
  const answer = await client.transaction(bundle);
  // The gateway asks for minimal answers: the id is in the entry's location ("Patient/<id>/_history/1").
  return /Patient\/([^/]+)/.exec(answer.entry?.[0].response?.location ?? '')?.[1] as string;
}

async function rejection(promise: Promise<unknown>): Promise<OperationOutcomeError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof OperationOutcomeError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('reading the shared care record', () => {
  it('finds the resident by NHS number after the gateway\'s transaction stores them', async () => {
    const id = await postResident('9434765919', 'Weight');

    const found = await findPatientsByNhsNumber(client, '943 476 5919');

    expect([found.type, found.total, found.entry?.map((e) => e.resource?.id)]).toEqual(['searchset', 1, [id]]);
  });

  it('refuses an NHS number whose check digit is wrong with a 422 naming identifier', async () => {
    const error = await rejection(findPatientsByNhsNumber(client, '9434765918'));

    expect([error.status, error.outcome.issue[0].expression]).toEqual([422, ['identifier']]);
  });

  it('leaves out a Patient the SCR returns without the NHS number asked for', async () => {
    const loose: Bundle = {
      resourceType: 'Bundle',
      type: 'searchset',
      entry: [{ resource: { resourceType: 'Patient', id: 'someone-else', identifier: [{ system: NHS, value: '9000000009' }] } as Patient }],
    };
    const server = http.createServer((_req, res) => res.end(JSON.stringify(loose)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const looseScr = new ScrClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, timeoutMs: 2000 });

    const found = await findPatientsByNhsNumber(looseScr, '9434765919');
    server.closeAllConnections();
    server.close();

    expect([found.total, found.entry]).toEqual([0, []]);
  });

  it('returns everything about the resident and nothing about another resident', async () => {
    const edith = await postResident('9434765919', 'Edith\'s weight');
    await postResident('9000000009', 'Other resident\'s weight');

    const everything = await patientEverything(client, edith);

    const observations = (everything.entry ?? [])
      .filter((e) => e.resource?.resourceType === 'Observation')
      .map((e) => (e.resource as Observation).code.text);
    expect(observations).toEqual(['Edith\'s weight']);
    expect(everything.entry?.find((e) => e.resource?.resourceType === 'Patient')?.resource?.id).toBe(edith);
  });

  it('refuses a Patient id that is not a FHIR id with a 400', async () => {
    const error = await rejection(patientEverything(client, '../metadata'));

    expect(error.status).toBe(400);
  });
});
