/**
 * The development SCR over real HTTP on loopback: the interactions the gateway relies on, starting from
 * the gateway's own expected FHIR for the sample resident and its transaction builder.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Bundle, Observation, Organization, Patient, Resource } from 'fhir/r4';
import { startDevScr, type DevScr } from '../../src/devscr';
import { transactionBundle } from '../../src/map/transaction';

const NHS = 'https://fhir.nhs.uk/Id/nhs-number';
const ODS = 'https://fhir.nhs.uk/Id/ods-organization-code';
const [residentPatient, careHome] = JSON.parse(
  fs.readFileSync(path.join(__dirname, '../fixtures/records/resident.expected.json'), 'utf8'),
) as [Patient, Organization];

let scr: DevScr;
beforeEach(async () => {
  scr = await startDevScr({ port: 0 });
});
afterEach(async () => {
  await scr.close();
});

interface Answer<T = Resource> {
  status: number;
  body: T;
  headers: Headers;
}

async function fhir<T = Resource>(
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer<T>> {
  const response = await fetch(`${scr.baseUrl}/${url}`, {
    method,
    headers: { accept: 'application/fhir+json', 'content-type': 'application/fhir+json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as T, headers: response.headers };
}

const search = async <T extends Resource>(query: string): Promise<T[]> =>
  ((await fhir<Bundle>('GET', query)).body.entry ?? []).map((e) => e.resource as T);

function withName(patient: Patient, given: string): Patient {
  return { ...patient, name: [{ use: 'official', family: 'Example', given: [given] }] };
}

describe('development SCR', () => {
  it('leaves one Patient, with the second name, and one Organization after the same conditional transaction is posted twice', async () => {
    const first = await fhir<Bundle>('POST', '', transactionBundle([withName(residentPatient, 'Edith'), careHome], 'a'));
    const second = await fhir<Bundle>('POST', '', transactionBundle([withName(residentPatient, 'Edie'), careHome], 'b'));

    expect(first.status).toBe(200);
    expect(second.body.entry?.map((e) => e.response?.status)).toEqual(['200', '200']);
    const patients = await search<Patient>(`Patient?identifier=${NHS}|9434765919`);
    expect(patients.map((p) => p.name?.[0].given)).toEqual([['Edie']]);
    expect(await search<Organization>(`Organization?identifier=${ODS}|VNX12`)).toHaveLength(1);
  });

  it('stores an Observation whose subject is the urn:uuid of a Patient in the same transaction as a reference to the stored Patient', async () => {
    const bundle = transactionBundle([residentPatient], 'c');
    const observation: Observation = {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'Body weight' },
      subject: { reference: bundle.entry?.[0].fullUrl },
    };
    bundle.entry?.push({ resource: observation, request: { method: 'POST', url: 'Observation' } });

    const answer = await fhir<Bundle>('POST', '', bundle);

    const patientId = answer.body.entry?.[0].resource?.id;
    const [stored] = await search<Observation>(`Observation?subject=Patient/${patientId}`);
    expect(stored.subject?.reference).toBe(`Patient/${patientId}`);
  });

  it('stores none of a transaction\'s entries when one of them fails', async () => {
    const answer = await fhir('POST', '', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: { ...residentPatient, identifier: [{ system: NHS, value: '9000000009' }] }, request: { method: 'POST', url: 'Patient' } },
        { resource: { resourceType: 'Patient', id: 'missing' }, request: { method: 'PUT', url: 'Patient/missing', ifMatch: 'W/"1"' } },
      ],
    });

    expect(answer.status).toBe(404);
    expect(await search(`Patient?identifier=${NHS}|9000000009`)).toEqual([]);
  });

  it('answers a create whose If-None-Exist matches with the existing resource instead of creating another', async () => {
    const ifNoneExist = { 'if-none-exist': `identifier=${ODS}|VNX12` };
    const created = await fhir<Organization>('POST', 'Organization', careHome, ifNoneExist);
    const again = await fhir<Organization>('POST', 'Organization', careHome, ifNoneExist);

    expect([created.status, again.status]).toEqual([201, 200]);
    expect(again.body.id).toBe(created.body.id);
  });

  it('refuses an update whose If-Match version is stale with 412', async () => {
    const created = await fhir<Patient>('POST', 'Patient', residentPatient);
    const etag = created.headers.get('etag') as string;
    await fhir('PUT', `Patient/${created.body.id}`, { ...created.body, active: true }, { 'if-match': etag });

    const stale = await fhir('PUT', `Patient/${created.body.id}`, { ...created.body, active: false }, { 'if-match': etag });

    expect(stale.status).toBe(412);
    expect(stale.body.resourceType).toBe('OperationOutcome');
  });

  it('updates the one Patient that matches a conditional PUT by NHS number', async () => {
    const created = await fhir<Patient>('POST', 'Patient', residentPatient);

    const updated = await fhir<Patient>('PUT', `Patient?identifier=${NHS}|9434765919`, withName(residentPatient, 'Edie'));

    expect(updated.status).toBe(200);
    expect(updated.body.id).toBe(created.body.id);
  });

  it('answers GET /metadata with a CapabilityStatement that declares transactions and no operations', async () => {
    const answer = await fhir<{ resourceType: string; rest: { interaction: { code: string }[]; operation?: unknown }[] }>('GET', 'metadata');

    expect(answer.body.resourceType).toBe('CapabilityStatement');
    expect(answer.body.rest[0].interaction.map((i) => i.code)).toContain('transaction');
    expect(answer.body.rest[0].operation).toBeUndefined();
  });

  it('has no Patient $everything, like many production SCRs', async () => {
    const created = await fhir<Patient>('POST', 'Patient', residentPatient);

    const answer = await fhir('GET', `Patient/${created.body.id}/$everything`);

    expect(answer.status).toBe(404);
  });

  it('pages a search with next links', async () => {
    for (let i = 0; i < 3; i++) await fhir('POST', 'Organization', { resourceType: 'Organization', name: `Home ${i}` });

    const page = await fhir<Bundle>('GET', 'Organization?_count=2');

    expect(page.body.entry).toHaveLength(2);
    const next = page.body.link?.find((l) => l.relation === 'next')?.url as string;
    const rest = (await (await fetch(next)).json()) as Bundle;
    expect(rest.entry).toHaveLength(1);
  });

  it('answers malformed JSON with a 400 OperationOutcome and a non-JSON body with 415', async () => {
    const malformed = await fhir('POST', 'Patient', '{"resourceType":');
    const plain = await fhir('POST', 'Patient', 'hello', { 'content-type': 'text/plain' });

    expect([malformed.status, malformed.body.resourceType]).toEqual([400, 'OperationOutcome']);
    expect([plain.status, plain.body.resourceType]).toEqual([415, 'OperationOutcome']);
  });
});

describe('development SCR under concurrent deliveries', () => {
  it('leaves one Patient when the same conditional transaction arrives five times at once', async () => {
    const scrAtOnce = await startDevScr({ port: 0 });
    const post = (): Promise<Response> =>
      fetch(`${scrAtOnce.baseUrl}/`, {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json' },
        body: JSON.stringify(transactionBundle([residentPatient, careHome], 'same')),
      });

    const statuses = (await Promise.all([post(), post(), post(), post(), post()])).map((r) => r.status);
    const found = (await (await fetch(`${scrAtOnce.baseUrl}/Patient?identifier=${NHS}|9434765919`)).json()) as Bundle;
    await scrAtOnce.close();

    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    expect(found.total).toBe(1);
  });
});

describe('development SCR searches', () => {
  it.each([
    ['a chained parameter', `Observation?patient.identifier=${NHS}|9434765919`],
    ['an unknown parameter', 'Observation?patinet=Patient/1'],
    ['_include', 'Observation?_include=Observation:patient'],
  ])('refuses %s with 400 instead of answering no results', async (_what, query) => {
    const answer = await fhir('GET', query);

    expect([answer.status, answer.body.resourceType]).toEqual([400, 'OperationOutcome']);
  });
});

describe('development SCR with a large transaction', () => {
  it('applies a transaction of twelve conditional updates, posted twice, leaving twelve resources', async () => {
    const homes: Organization[] = Array.from({ length: 11 }, (_, i) => ({
      ...careHome,
      identifier: [{ system: ODS, value: `VNX${20 + i}` }],
    }));
    const bundle = (): Bundle => transactionBundle([residentPatient, ...homes], 'large');

    const first = await fhir<Bundle>('POST', '', bundle());
    const second = await fhir<Bundle>('POST', '', bundle());

    expect([first.status, second.status]).toEqual([200, 200]);
    expect(second.body.entry?.map((e) => e.resource?.id)).toEqual(first.body.entry?.map((e) => e.resource?.id));
    expect((await fhir<Bundle>('GET', 'Organization')).body.total).toBe(11);
    expect((await fhir<Bundle>('GET', 'Patient')).body.total).toBe(1);
  });
});
