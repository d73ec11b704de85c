/**
 * Re-posting is safe: a provider record's higher version replaces a lower one, a lower one is refused as
 * stale (409), and an Idempotency-Key returns the first answer again without queueing anything twice.
 */
import request from 'supertest';
import resident from '../fixtures/records/resident.json';
import { assertContract } from '../support/contract';
import { startTestGateway, type TestGateway } from '../support/gateway';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({ PREPARE_THREADS: '1' }); // records prepared on the prepare pool
});
afterAll(async () => {
  await gw.stop();
});

const record = (recordId: string, version: number) => ({ ...JSON.parse(JSON.stringify(resident)), recordId, version });
const post = (body: object, headers: Record<string, string> = {}) =>
  request(gw.url).post('/v1/records').set('Authorization', gw.as.provider).set(headers).send(body);

describe('versioned records', () => {
  it('accepts a higher version and the same version again, and refuses a lower one as stale', async () => {
    expect((await post(record('RES-V1', 3))).status).toBe(202);
    expect((await post(record('RES-V1', 4))).status).toBe(202);
    expect((await post(record('RES-V1', 4))).status).toBe(202);
    const stale = await post(record('RES-V1', 2));
    expect(stale.status).toBe(409);
    assertContract(stale);
    expect(stale.body.issue[0]).toMatchObject({ code: 'conflict', expression: ['version'] });
  });

  it('names the stale record inside a batch, and queues none of the batch', async () => {
    await post(record('RES-V2', 5));
    const res = await post({ records: [record('RES-V3', 1), record('RES-V2', 1)] });
    expect(res.status).toBe(409);
    expect(res.body.issue.map((i: { expression: string[] }) => i.expression[0])).toEqual(['records[1].version']);
    // RES-V3 was not accepted either: version 1 of it is still new.
    expect((await post(record('RES-V3', 1))).status).toBe(202);
  });
});

describe('Idempotency-Key', () => {
  it('answers a repeat with the first answer, marked as replayed, and queues nothing new', async () => {
    const body = record('RES-I1', 1);
    const first = await post(body, { 'Idempotency-Key': 'batch-2026-11-24-001' });
    expect(first.status).toBe(202);
    const again = await post(body, { 'Idempotency-Key': 'batch-2026-11-24-001' });
    expect(again.status).toBe(202);
    assertContract(again);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
  });

  it('refuses the same key with a different body', async () => {
    await post(record('RES-I2', 1), { 'Idempotency-Key': 'key-reused' });
    const res = await post(record('RES-I2', 2), { 'Idempotency-Key': 'key-reused' });
    expect(res.status).toBe(422);
    expect(res.body.issue[0].expression).toEqual(['Idempotency-Key']);
  });

  it('keeps keys apart per caller', async () => {
    const other = await gw.bearer({ kind: 'provider', clientId: 'second-system', odsCode: 'VNX12', scopes: ['system/*.write'] });
    const mine = await post(record('RES-I3', 1), { 'Idempotency-Key': 'shared-key' });
    const theirs = await request(gw.url).post('/v1/records').set('Authorization', other).set('Idempotency-Key', 'shared-key').send(record('RES-I4', 1));
    expect(theirs.status).toBe(202);
    expect(theirs.body.accepted[0].submissionId).not.toBe(mine.body.accepted[0].submissionId);
  });
});
