/**
 * The care provider's Organization is written by two record types: a resident's record names its care home
 * (conditional create: made when missing), and care-location keeps it whole (conditional update). Whatever
 * order they come in, the SCR holds one Organization, and a resident never strips what care-location wrote.
 */
import axios from 'axios';
import request from 'supertest';
import type { Bundle, Organization } from 'fhir/r4';
import careLocation from '../fixtures/records/care-location.json';
import resident from '../fixtures/records/resident.json';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway';

const ODS = 'https://fhir.nhs.uk/Id/ods-organization-code|VNX12';
let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw.stop();
});

async function post(record: object): Promise<void> {
  const res = await request(gw.url).post('/v1/records').set('Authorization', gw.as.provider).send(record);
  expect(res.status).toBe(202);
  const id = res.body.accepted[0].submissionId as string;
  await eventually(async () => {
    const status = await request(gw.url).get(`/v1/submissions/${id}`).set('Authorization', gw.as.provider);
    if (status.body.state === 'rejected' || status.body.state === 'failed') throw new Error(JSON.stringify(status.body.lastError));
    return status.body.state === 'delivered' ? true : undefined;
  });
}

/** Straight from the development SCR: what it holds, not what the gateway's read path shows. */
async function organizations(): Promise<Organization[]> {
  const res = await axios.get<Bundle>(`${gw.scrBaseUrl}/Organization`, { params: { identifier: ODS } });
  return (res.data.entry ?? []).map((e) => e.resource as Organization);
}

const cqcIds = (org: Organization) => (org.identifier ?? []).filter((i) => i.system?.includes('cqc')).map((i) => i.value);

it("keeps one Organization with care-location's CQC identifier, whichever record type comes first", async () => {
  await post({ ...resident, recordId: 'RES-ORG-1' });
  expect(await organizations()).toHaveLength(1);
  expect(cqcIds((await organizations())[0])).toEqual([]);

  await post(careLocation);
  const [afterLocation, ...more] = await organizations();
  expect(more).toEqual([]);
  expect(cqcIds(afterLocation)).toEqual([careLocation.data.cqcProviderId]);

  await post({ ...resident, recordId: 'RES-ORG-1', version: 2 });
  const [afterResident, ...others] = await organizations();
  expect(others).toEqual([]);
  expect(cqcIds(afterResident)).toEqual([careLocation.data.cqcProviderId]);
  expect(afterResident.meta?.versionId).toBe(afterLocation.meta?.versionId);
});
