/**
 * Several residents' submissions in one transaction, as the delivery worker sends them, over real HTTP:
 * the development SCR takes a transaction of hundreds of conditional entries as a production SCR does,
 * all or nothing, although Medplum alone refuses more than 8 conditional entries or 50 updates.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Bundle, BundleEntry, Observation, Organization, Patient, Resource } from 'fhir/r4';
import { startDevScr, type DevScr } from '../../src/devscr';
import type { ProviderRecord } from '../../src/map/map-record';
import { withProvenance } from '../../src/map/provenance';
import { transactionBundle } from '../../src/map/transaction';

const NHS = 'https://fhir.nhs.uk/Id/nhs-number';
const ODS = 'https://fhir.nhs.uk/Id/ods-organization-code';
const fixture = (name: string): unknown => JSON.parse(fs.readFileSync(path.join(__dirname, '../fixtures/records', name), 'utf8'));
const residentRecord = fixture('resident.json') as ProviderRecord;
const [residentPatient, careHome] = fixture('resident.expected.json') as [Patient, Organization];

let scr: DevScr;
beforeEach(async () => {
  scr = await startDevScr({ port: 0 });
});
afterEach(async () => {
  await scr.close();
});

/** Resident n's submission: Patient (conditional update) managed by the care home (conditional create), and its Provenance. */
function submission(n: number): BundleEntry[] {
  const nhsNumber = String(9000000000 + n);
  const patient: Patient = {
    ...residentPatient,
    identifier: [{ system: NHS, value: nhsNumber }],
    managingOrganization: { reference: `Organization?identifier=${ODS}|VNX12` },
  };
  const record: ProviderRecord = { ...residentRecord, recordId: `RES-${n}`, nhsNumber };
  const bundle = transactionBundle([patient, careHome], record.recordId, ['Organization']);
  return withProvenance(bundle, record, new Date('2026-12-01T10:00:00Z')).entry ?? [];
}

/** The submissions of `residents` residents as one transaction: 3 entries each. */
function oneTransaction(residents: number): Bundle {
  return { resourceType: 'Bundle', type: 'transaction', entry: Array.from({ length: residents }, (_, n) => submission(n)).flat() };
}

async function post(bundle: Bundle): Promise<{ status: number; body: Bundle & { issue?: { diagnostics?: string }[] } }> {
  const response = await fetch(`${scr.baseUrl}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json' },
    body: JSON.stringify(bundle),
  });
  return { status: response.status, body: (await response.json()) as Bundle };
}

async function total(query: string): Promise<number | undefined> {
  return ((await (await fetch(`${scr.baseUrl}/${query}`)).json()) as Bundle).total;
}

const locationOf = (entry: BundleEntry | undefined): string => entry?.response?.location ?? '';

describe('development SCR with several submissions in one transaction', () => {
  it('stores a 300-entry transaction of 100 residents, leaving one care-home Organization that every Patient references', async () => {
    const answer = await post(oneTransaction(100));

    expect(answer.status).toBe(200);
    const homes = (await (await fetch(`${scr.baseUrl}/Organization?identifier=${ODS}|VNX12`)).json()) as Bundle;
    expect(homes.total).toBe(1);
    const home = homes.entry?.[0].resource as Resource;
    expect([await total(`Patient?organization=Organization/${home.id}`), await total('Patient'), await total('Provenance')]).toEqual([100, 100, 100]);
  });

  it('answers each entry in request order: 201 for what it created, 200 for the care home it found already made', async () => {
    const bundle = oneTransaction(100);

    const answer = await post(bundle);

    const expected = Array.from({ length: 100 }, (_, n) => ['201', n === 0 ? '201' : '200', '201']).flat();
    expect(answer.body.entry?.map((e) => e.response?.status)).toEqual(expected);
    expect(answer.body.entry?.map((e) => locationOf(e).split('/')[0])).toEqual(bundle.entry?.map((e) => e.resource?.resourceType));
    expect(answer.body.entry?.every((e) => /^W\/".+"$/.test(e.response?.etag ?? ''))).toBe(true);
  });

  it('answers 200 for every entry and changes no id when the same 300-entry transaction is posted again', async () => {
    const first = await post(oneTransaction(100));

    const second = await post(oneTransaction(100));

    expect(new Set(second.body.entry?.map((e) => e.response?.status))).toEqual(new Set(['200']));
    expect(second.body.entry?.map(locationOf)).toEqual(first.body.entry?.map(locationOf));
  });

  it('stores nothing, not even the entries of earlier chunks, when an entry in the last chunk fails', async () => {
    const bundle = oneTransaction(100);
    bundle.entry?.push({ resource: { resourceType: 'Patient', id: 'missing' }, request: { method: 'PUT', url: 'Patient/missing', ifMatch: 'W/"1"' } });

    const answer = await post(bundle);

    expect(answer.status).toBe(404);
    expect([await total('Patient'), await total('Organization'), await total('Provenance')]).toEqual([0, 0, 0]);
  });

  it('stores a reference to the urn:uuid of an entry written in a later chunk as a reference to what that entry became', async () => {
    const bundle = oneTransaction(100);
    const lastPatient = bundle.entry?.[297] as BundleEntry;
    const observation: Observation = { resourceType: 'Observation', status: 'final', code: { text: 'Body weight' }, subject: { reference: lastPatient.fullUrl } };
    bundle.entry?.unshift({ resource: observation, request: { method: 'POST', url: 'Observation' } });

    const answer = await post(bundle);

    const patient = locationOf(answer.body.entry?.[298]);
    expect(patient).toMatch(/^Patient\//);
    expect(await total(`Observation?subject=${patient}`)).toBe(1);
  });

  it('refuses with 400 a transaction in which two entries update the same Patient, and stores none of it', async () => {
    const bundle = oneTransaction(10);
    const again = { ...(bundle.entry?.[9] as BundleEntry), fullUrl: 'urn:uuid:6f1c2a0e-0000-4000-8000-000000000001' };
    bundle.entry?.push(again);

    const answer = await post(bundle);

    expect(answer.status).toBe(400);
    expect(answer.body.issue?.[0].diagnostics ?? JSON.stringify(answer.body)).toMatch(/Duplicate resource identity/);
    expect(await total('Patient')).toBe(0);
  });

  it('refuses with 412 a transaction whose conditional create matches two stored Organizations, and stores none of it', async () => {
    for (let i = 0; i < 2; i++) {
      await fetch(`${scr.baseUrl}/Organization`, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(careHome) });
    }

    const answer = await post(oneTransaction(10));

    expect(answer.status).toBe(412);
    expect([await total('Patient'), await total('Organization')]).toEqual([0, 2]);
  });

  it('refuses with 412 a transaction whose PUT by id carries a stale If-Match, and stores none of it', async () => {
    const first = await post(oneTransaction(1));
    const patient = first.body.entry?.[0].resource as Patient;
    await post({ resourceType: 'Bundle', type: 'transaction', entry: [{ resource: { ...patient, active: true } as Patient, request: { method: 'PUT', url: `Patient/${patient.id}` } }] });
    const bundle: Bundle = { resourceType: 'Bundle', type: 'transaction', entry: [1, 2, 3].flatMap(submission) };
    bundle.entry?.push({ resource: { ...patient, active: false } as Patient, request: { method: 'PUT', url: `Patient/${patient.id}`, ifMatch: `W/"${patient.meta?.versionId}"` } });

    const answer = await post(bundle);

    expect(answer.status).toBe(412);
    const history = (await (await fetch(`${scr.baseUrl}/Patient/${patient.id}/_history`)).json()) as Bundle;
    expect([await total('Patient'), history.entry?.length]).toEqual([1, 2]);
  });

  it('refuses with 400 a transaction whose PUT names one id in its URL and another in its resource', async () => {
    const bundle = oneTransaction(2);
    bundle.entry?.push({ resource: { resourceType: 'Patient', id: 'b' }, request: { method: 'PUT', url: 'Patient/a' } });

    const answer = await post(bundle);

    expect(answer.status).toBe(400);
    expect(await total('Patient')).toBe(0);
  });

  it('stores a resource without its empty values, and the answer and a later read agree on it', async () => {
    const bundle = oneTransaction(1);
    const patient = bundle.entry?.[0].resource as Patient;
    bundle.entry![0].resource = { ...patient, gender: '' as Patient['gender'], name: [{ family: 'Example', given: [] }], telecom: [] } as Patient;

    const answer = await post(bundle);

    const answered = answer.body.entry?.[0].resource as Patient;
    const read = (await (await fetch(`${scr.baseUrl}/${locationOf(answer.body.entry?.[0])}`)).json()) as Patient;
    expect([answered.gender, answered.name, answered.telecom]).toEqual([undefined, [{ family: 'Example' }], undefined]);
    expect(read).toEqual(answered);
  });
});
