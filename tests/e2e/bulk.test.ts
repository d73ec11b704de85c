/**
 * Bulk ingest over real HTTP: NDJSON and CSV streamed through the same checks as single records; bad lines
 * reported by line number without blocking the rest; the job readable while and after it runs.
 */
import request from 'supertest';
import resident from '../fixtures/records/resident.json';
import { assertContract } from '../support/contract';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway';

let gw: TestGateway;
beforeAll(async () => {
  // With the prepare pool: lines prepared on a worker thread, settled in order.
  gw = await startTestGateway({ PREPARE_THREADS: '1' });
});
afterAll(async () => {
  await gw.stop();
});

/** The i-th valid NHS number in the 999 test range. */
function nhsNumber(i: number): string {
  for (let n = i; ; n++) {
    const nine = `999${String(n).padStart(6, '0')}`;
    const check = 11 - ([...nine].reduce((s, d, k) => s + Number(d) * (10 - k), 0) % 11);
    if (check !== 10) return `${nine}${check === 11 ? 0 : check}`;
  }
}
const line = (i: number, changes: Record<string, unknown> = {}) =>
  JSON.stringify({ ...JSON.parse(JSON.stringify(resident)), recordId: `BULK-${i}`, nhsNumber: nhsNumber(i * 3 + 500), ...changes });

const bulk = (body: string, type = 'application/x-ndjson', query = '') =>
  request(gw.url).post(`/v1/records/bulk${query}`).set('Authorization', gw.as.provider).set('Content-Type', type).send(body);

describe('bulk NDJSON', () => {
  it('queues the good lines and names each bad line by its number', async () => {
    const body = [
      line(1),
      '{"type": "resident",',
      line(2, { nhsNumber: '9434765918' }),
      '',
      line(3),
      line(4, { careProvider: { odsCode: 'VNX99' } }),
      `{"padding": "${'x'.repeat(1_100_000)}"}`,
      line(5),
    ].join('\n');
    const res = await bulk(body);
    expect(res.status).toBe(202);
    assertContract(res);
    expect(res.body).toMatchObject({ state: 'completed', linesRead: 7, accepted: 3, rejected: 4 });
    const where = res.body.outcome.issue.map((i: { expression: string[] }) => i.expression[0]);
    expect(where).toEqual(['line[2]', 'line[3].nhsNumber', 'line[6]', 'line[7]']);
    expect(res.headers['content-location']).toBe(`/v1/jobs/${res.body.id}`);

    const gp = await gw.bearer({ kind: 'clinician', userId: '555000000002', odsCode: 'B86016', role: 'R8000', scopes: ['user/*.read'] });
    await eventually(async () => {
      const found = await request(gw.url).get('/fhir/Patient').set('Authorization', gp).query({ identifier: `https://fhir.nhs.uk/Id/nhs-number|${nhsNumber(5 * 3 + 500)}` });
      return found.body.entry?.length === 1 ? true : undefined;
    });
  });

  it('keeps the first 1,000 issues of a file with many bad lines, and still accepts its good lines', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 1600; i++) lines.push(i % 4 === 0 ? line(10_000 + i) : '{not json');
    const res = await bulk(lines.join('\n'));
    expect(res.body).toMatchObject({ linesRead: 1600, accepted: 400, rejected: 1200 });
    expect(res.body.outcome.issue).toHaveLength(1000);
  });

  it('shows the job to its provider and to nobody else', async () => {
    const res = await bulk(line(20));
    const job = await request(gw.url).get(`/v1/jobs/${res.body.id}`).set('Authorization', gw.as.provider);
    expect(job.status).toBe(200);
    assertContract(job);
    expect(job.body).toMatchObject({ id: res.body.id, accepted: 1, rejected: 0, state: 'completed' });
    const other = await gw.bearer({ kind: 'provider', clientId: 'other', odsCode: 'VNX99', scopes: ['system/*.write'] });
    expect((await request(gw.url).get(`/v1/jobs/${res.body.id}`).set('Authorization', other)).status).toBe(403);
  });

  it('refuses a body that is neither NDJSON nor CSV with 415', async () => {
    const res = await bulk(line(21), 'application/json');
    expect(res.status).toBe(415);
    assertContract(res);
  });
});

describe('bulk CSV', () => {
  it('maps dotted column headers to records of the given type, typed by its schema', async () => {
    const csv = [
      'recordId,version,nhsNumber,careProvider.odsCode,sourceSystem,data.name.family,data.name.given.0,data.birthDate,data.gender,data.nhsNumberVerified,data.gpPracticeOdsCode',
      `CSV-1,1,${nhsNumber(900)},VNX12,ExampleCare 4.2,Sample,Arthur,1940-07-01,male,true,B86016`,
      `CSV-2,1,${nhsNumber(903)},VNX12,ExampleCare 4.2,Sample,Joan,1931-12-25,female,false,B86016`,
      `CSV-3,one,${nhsNumber(906)},VNX12,ExampleCare 4.2,Sample,Bad,1931-12-25,female,false,B86016`,
    ].join('\n');
    const res = await bulk(csv, 'text/csv', '?type=resident');
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ linesRead: 3, accepted: 2, rejected: 1 });
    expect(res.body.outcome.issue[0].expression).toEqual(['line[4].version']);
  });

  it('needs the record type for a CSV', async () => {
    const res = await bulk('recordId\nX', 'text/csv');
    expect(res.status).toBe(422);
    expect(res.body.issue[0].expression).toEqual(['type']);
  });
});
