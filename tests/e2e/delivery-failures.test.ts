/**
 * When the shared care record misbehaves, nothing accepted is lost: outages are retried, refusals become
 * dead letters an operator can see and replay, and operators can pause delivery.
 */
import request from 'supertest';
import resident from '../fixtures/records/resident.json';
import { assertContract } from '../support/contract';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway';

let scr: FaultProxy;
let gw: TestGateway;

beforeAll(async () => {
  scr = await startFaultProxy();
  gw = await startTestGateway({
    SCR_BASE_URL: scr.baseUrl,
    DELIVERY_MAX_ATTEMPTS: '50',
    DELIVERY_BREAKER_COOLDOWN_MS: '100',
  });
});
afterAll(async () => {
  await gw.stop();
  await scr.close();
});
afterEach(() => {
  scr.mode = 'pass';
});

function record(recordId: string, nhsNumber: string): Record<string, any> {
  return { ...JSON.parse(JSON.stringify(resident)), recordId, nhsNumber };
}

async function post(body: object): Promise<string> {
  const res = await request(gw.url).post('/v1/records').set('Authorization', gw.as.provider).send(body);
  expect(res.status).toBe(202);
  return res.body.accepted[0].submissionId as string;
}

async function stateOf(id: string, wanted: string): Promise<Record<string, any>> {
  return eventually(async () => {
    const res = await request(gw.url).get(`/v1/submissions/${id}`).set('Authorization', gw.as.provider);
    return res.body.state === wanted ? res.body : undefined;
  });
}

async function patientCount(nhsNumber: string): Promise<number> {
  const res = await request(gw.url).get('/fhir/Patient').set('Authorization', gw.as.gp).query({ identifier: `https://fhir.nhs.uk/Id/nhs-number|${nhsNumber}` });
  return res.body.entry?.length ?? 0;
}

describe('delivery when the shared care record fails', () => {
  it('turns a refusal into a dead letter with the SCR answer, and replay delivers it once fixed', async () => {
    scr.mode = 'reject';
    const id = await post(record('RES-P1', '9000000009'));
    const dead = await stateOf(id, 'rejected');
    expect(dead.lastError.issue[0].diagnostics).toBe('refused by test SCR');

    const list = await request(gw.url).get('/v1/admin/dead-letters').set('Authorization', gw.as.operator);
    assertContract(list);
    expect(list.body.deadLetters.map((d: { id: string }) => d.id)).toContain(id);

    scr.mode = 'pass';
    const replay = await request(gw.url).post(`/v1/admin/dead-letters/${id}/replay`).set('Authorization', gw.as.operator);
    expect(replay.status).toBe(202);
    assertContract(replay);
    await stateOf(id, 'delivered');
    expect(await patientCount('9000000009')).toBe(1);
  });

  it('refuses to replay a submission that is not a dead letter', async () => {
    const id = await post(record('RES-P2', '9434765870'));
    await stateOf(id, 'delivered');
    const replay = await request(gw.url).post(`/v1/admin/dead-letters/${id}/replay`).set('Authorization', gw.as.operator);
    expect(replay.status).toBe(409);
    assertContract(replay);
  });

  it('retries through an outage and delivers once the SCR is back', async () => {
    scr.mode = 'unavailable';
    const id = await post(record('RES-P3', '4000000020'));
    // Wait for this submission's own failed attempt: the SCR also sees the audit trail's transactions, so a
    // count of transactions seen could be an AuditEvent's and the record not yet tried.
    const failed = await eventually(async () => {
      const res = await request(gw.url).get(`/v1/submissions/${id}`).set('Authorization', gw.as.provider);
      return res.body.attempts >= 1 ? res.body : undefined;
    });
    expect(failed.state).not.toBe('delivered');
    expect(failed.lastError.issue[0].code).toBe('transient');
    scr.mode = 'pass';
    const delivered = await stateOf(id, 'delivered');
    expect(delivered.attempts).toBeGreaterThanOrEqual(2);
  });

  it('holds submissions while an operator has paused delivery, and sends them on resume', async () => {
    const pause = await request(gw.url).post('/v1/admin/delivery/pause').set('Authorization', gw.as.operator);
    assertContract(pause);
    const id = await post(record('RES-P4', '9434765919'));
    await new Promise((r) => setTimeout(r, 300));
    expect((await request(gw.url).get(`/v1/submissions/${id}`).set('Authorization', gw.as.provider)).body.state).toBe('queued');
    const status = await request(gw.url).get('/v1/admin/delivery').set('Authorization', gw.as.operator);
    assertContract(status);
    expect(status.body.paused).toBe(true);
    await request(gw.url).post('/v1/admin/delivery/resume').set('Authorization', gw.as.operator);
    await stateOf(id, 'delivered');
  });
});
