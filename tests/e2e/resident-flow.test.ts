/**
 * The spine, end to end over real HTTP: a care home posts a resident, the gateway queues and delivers it to
 * the development SCR as a conditional-update transaction, and a GP reads it back through /fhir.
 */
import request from 'supertest';
import type { Bundle, Flag, Patient } from 'fhir/r4';
import resident from '../fixtures/records/resident.json';
import { loadOpenApi } from '../../src/http/routes/ops';
import { assertContract } from '../support/contract';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway';

const NHS_SEARCH = 'https://fhir.nhs.uk/Id/nhs-number|9434765919';
let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({ PREPARE_THREADS: '1' }); // records prepared on the prepare pool
});
afterAll(async () => {
  await gw.stop();
});

const copy = (): Record<string, any> => JSON.parse(JSON.stringify(resident));

async function delivered(submissionId: string): Promise<void> {
  await eventually(async () => {
    const res = await request(gw.url).get(`/v1/submissions/${submissionId}`).set('Authorization', gw.as.provider);
    assertContract(res);
    if (res.body.state === 'rejected' || res.body.state === 'failed') throw new Error(JSON.stringify(res.body.lastError));
    return res.body.state === 'delivered' ? true : undefined;
  });
}

async function patientsFor(search: string): Promise<Patient[]> {
  const res = await request(gw.url).get('/fhir/Patient').set('Authorization', gw.as.gp).query({ identifier: search });
  expect(res.status).toBe(200);
  assertContract(res);
  return ((res.body as Bundle).entry ?? []).map((e) => e.resource as Patient).filter((r) => r.resourceType === 'Patient');
}

describe('a care home posts a resident and a GP reads the shared record', () => {
  it('accepts the resident with 202 and a submission that ends delivered', async () => {
    const res = await request(gw.url).post('/v1/records').set('Authorization', gw.as.provider).send(copy());
    expect(res.status).toBe(202);
    assertContract(res);
    const [accepted] = res.body.accepted;
    expect(res.headers.location).toBe(`/v1/submissions/${accepted.submissionId}`);
    await delivered(accepted.submissionId);
  });

  it('finds the resident by NHS number as a UK Core Patient', async () => {
    const [patient] = await patientsFor(NHS_SEARCH);
    expect(patient.meta?.profile).toContain('https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient');
    expect(patient.identifier?.[0]).toMatchObject({ system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9434765919' });
    expect(patient.name?.[0].family).toBe('Example');
    expect(patient.generalPractitioner?.[0].identifier?.value).toBe('B86016');
  });

  it('updates, never duplicates, when the same resident is posted again', async () => {
    const again = copy();
    again.version = 2;
    again.data.name.family = 'Example-Smith';
    const res = await request(gw.url).post('/v1/records').set('Authorization', gw.as.provider).send(again);
    expect(res.status).toBe(202);
    await delivered(res.body.accepted[0].submissionId);
    const patients = await patientsFor(NHS_SEARCH);
    expect(patients).toHaveLength(1);
    expect(patients[0].name?.[0].family).toBe('Example-Smith');
  });

  it("returns the resident's whole record with $everything", async () => {
    const [patient] = await patientsFor(NHS_SEARCH);
    const res = await request(gw.url).get(`/fhir/Patient/${patient.id}/$everything`).set('Authorization', gw.as.gp);
    expect(res.status).toBe(200);
    assertContract(res);
    const types = (res.body as Bundle).entry?.map((e) => e.resource?.resourceType);
    expect(types?.[0]).toBe('Patient');
    // Each submission's Provenance (one per record version) points at the Patient it wrote.
    expect(types).toContain('Provenance');
  });

  it("links the resident's communication-need Flags, written in the Patient's own transaction, to that Patient after the first post and the update", async () => {
    const [patient] = await patientsFor(NHS_SEARCH);
    const res = await request(gw.url).get(`/fhir/Patient/${patient.id}/$everything`).set('Authorization', gw.as.gp);
    const flags = ((res.body as Bundle).entry ?? []).map((e) => e.resource!).filter((r): r is Flag => r.resourceType === 'Flag');
    expect(flags.map((f) => f.code.coding?.[0]?.code).sort()).toEqual(['15188001', '397540003']);
    for (const flag of flags) expect(flag.subject.reference).toBe(`Patient/${patient.id}`);
  });

  it('answers an empty searchset for a valid NHS number nobody has posted', async () => {
    expect(await patientsFor('https://fhir.nhs.uk/Id/nhs-number|9000000009')).toEqual([]);
  });

  it('accepts a batch as a whole and delivers every record', async () => {
    const a = copy();
    a.recordId = 'RES-0002';
    a.nhsNumber = '9000000009';
    const b = copy();
    b.recordId = 'RES-0003';
    b.nhsNumber = '9434765870';
    const res = await request(gw.url).post('/v1/records').set('Authorization', gw.as.provider).send({ records: [a, b] });
    expect(res.status).toBe(202);
    assertContract(res);
    expect(res.body.accepted).toHaveLength(2);
    for (const accepted of res.body.accepted) await delivered(accepted.submissionId);
    expect(await patientsFor('https://fhir.nhs.uk/Id/nhs-number|9434765870')).toHaveLength(1);
  });
});

describe('bad input is refused with an OperationOutcome naming the field, and nothing is queued', () => {
  it('refuses an NHS number whose check digit is wrong with 422 at nhsNumber', async () => {
    const bad = copy();
    bad.nhsNumber = '9434765918';
    const res = await request(gw.url).post('/v1/records').set('Authorization', gw.as.provider).send(bad);
    expect(res.status).toBe(422);
    assertContract(res);
    expect(res.body.issue).toEqual([expect.objectContaining({ severity: 'error', expression: ['nhsNumber'] })]);
  });

  it('refuses the whole batch when one record is bad, and queues none of it', async () => {
    const good = copy();
    good.recordId = 'RES-0100';
    good.nhsNumber = '4000000020'; // valid, never posted elsewhere in this file
    const bad = copy();
    bad.data.birthDate = 'yesterday';
    const res = await request(gw.url).post('/v1/records').set('Authorization', gw.as.provider).send({ records: [good, bad] });
    expect(res.status).toBe(422);
    expect(res.body.issue.map((i: { expression: string[] }) => i.expression[0])).toEqual(['records[1].data.birthDate']);
    await new Promise((r) => setTimeout(r, 200));
    expect(await patientsFor('https://fhir.nhs.uk/Id/nhs-number|4000000020')).toEqual([]);
  });

  it('answers 400 for a body that is not JSON', async () => {
    const res = await request(gw.url).post('/v1/records').set('Authorization', gw.as.provider).set('Content-Type', 'application/json').send('{"type": "resident",');
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
    assertContract(res);
  });

  it('answers 415 for a body that is not declared as JSON', async () => {
    const res = await request(gw.url).post('/v1/records').set('Authorization', gw.as.provider).set('Content-Type', 'text/plain').send('hello');
    expect(res.status).toBe(415);
    assertContract(res);
  });

  it('answers 413 for a 10 MB body', async () => {
    const huge = JSON.stringify({ ...copy(), padding: 'x'.repeat(10 * 1024 * 1024) });
    const res = await request(gw.url).post('/v1/records').set('Authorization', gw.as.provider).set('Content-Type', 'application/json').send(huge);
    expect(res.status).toBe(413);
    expect(res.body.resourceType).toBe('OperationOutcome');
  });

  it('answers 4xx, never 5xx, for deeply nested JSON', async () => {
    const deep = '{"data":'.repeat(50_000) + '1' + '}'.repeat(50_000);
    const res = await request(gw.url).post('/v1/records').set('Authorization', gw.as.provider).set('Content-Type', 'application/json').send(deep);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
  });

  it.each([
    ['an array', []],
    ['a number', 42],
    ['a record whose fields have the wrong types', { ...resident, version: '1', nhsNumber: 9434765919, data: 'x' }],
    ['an empty batch', { records: [] }],
  ])('answers 4xx with an OperationOutcome for %s', async (_name, body) => {
    const res = await request(gw.url).post('/v1/records').set('Authorization', gw.as.provider).set('Content-Type', 'application/json').send(JSON.stringify(body));
    expect([400, 422]).toContain(res.status);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue[0].expression).toBeDefined();
  });

  it('answers 400 to a read with an invalid NHS number', async () => {
    const res = await request(gw.url).get('/fhir/Patient').set('Authorization', gw.as.gp).query({ identifier: 'https://fhir.nhs.uk/Id/nhs-number|123' });
    expect(res.status).toBe(400);
    assertContract(res);
  });

  it('answers 404 for an unknown submission', async () => {
    const res = await request(gw.url).get('/v1/submissions/00000000-0000-4000-8000-000000000000').set('Authorization', gw.as.provider);
    expect(res.status).toBe(404);
    assertContract(res);
  });
});

describe('the OpenAPI contract', () => {
  const examples = (loadOpenApi() as any).paths['/v1/records'].post.requestBody.content['application/json'].examples;

  it.each(Object.keys(examples))('accepts the %s example exactly as the contract shows it', async (name) => {
    const res = await request(gw.url).post('/v1/records').set('Authorization', gw.as.provider).send(examples[name].value);
    expect(res.status).toBe(202);
    assertContract(res);
  });
});

describe('operations and docs', () => {
  it('is live and ready with the development SCR up', async () => {
    const health = await request(gw.url).get('/health');
    expect(health.status).toBe(200);
    assertContract(health);
    const ready = await request(gw.url).get('/ready');
    expect(ready.body).toEqual({ status: 'ready', checks: { scr: true, queue: true, delivery: true } });
    assertContract(ready);
  });

  it('serves the record schemas without a token, for integrators', async () => {
    const res = await request(gw.url).get('/schemas/resident.json');
    expect(res.status).toBe(200);
    assertContract(res);
    expect(res.body.required).toEqual(expect.arrayContaining(['name', 'birthDate', 'gender']));
    expect((await request(gw.url).get('/schemas/nothing.json')).status).toBe(404);
  });

  it('serves the API docs and the contract they are built from', async () => {
    const docs = await request(gw.url).get('/docs/');
    expect(docs.status).toBe(200);
    expect(docs.text).toContain('swagger-ui');
    const spec = await request(gw.url).get('/openapi.yaml');
    expect(spec.text).toContain('openapi: 3.0.3');
  });

  it('exposes Prometheus metrics', async () => {
    const res = await request(gw.url).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/# TYPE \S+ /);
    // The process's own: event-loop delay (where a slow p99 shows first) and resident memory.
    expect(res.text).toMatch(/^nodejs_eventloop_lag_p99_seconds \d/m);
    expect(res.text).toMatch(/^process_resident_memory_bytes \d/m);
  });
});

describe('logs', () => {
  it('never contain the NHS numbers, names, birth dates or addresses that passed through', () => {
    const text = gw.logLines.join('\n');
    expect(gw.logLines.length).toBeGreaterThan(10);
    for (const secret of ['9434765919', '943 476 5919', '9000000009', '9434765870', 'Edith', 'Example-Smith', '1936-03-14', 'Garden Lane', 'LS1 4AP', 'Peter']) {
      expect(text).not.toContain(secret);
    }
  });
});

describe('FHIR $validate, answered by the prepare pool', () => {
  it('names each issue of a resource that does not conform to UK Core, and finds no error in one that does', async () => {
    const bad = { resourceType: 'Patient', gender: 'woman', meta: { profile: ['https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient'] } };
    const res = await request(gw.url).post('/fhir/Patient/$validate').set('Authorization', gw.as.provider).set('Content-Type', 'application/fhir+json').send(bad);
    expect(res.status).toBe(200);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue).toContainEqual(expect.objectContaining({ severity: 'error', expression: [expect.stringContaining('gender')] }));

    const good = await request(gw.url).post('/fhir/$validate').set('Authorization', gw.as.provider).set('Content-Type', 'application/fhir+json').send({ resourceType: 'Patient', gender: 'female' });
    expect(good.status).toBe(200);
    // Only dom-6's warning (no narrative): no error.
    expect(good.body.issue.map((i: { severity: string; code: string }) => `${i.severity} ${i.code}`)).toEqual(['warning invariant']);
  });
});
