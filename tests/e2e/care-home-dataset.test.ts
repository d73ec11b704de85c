/**
 * The generated care home (tests/fixtures/care-home, `npm run generate`) goes end to end into the
 * development SCR, and a GP's $everything read returns each resident's full record, every resource linked
 * to the right Patient.
 */
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import type { Bundle, Patient, Resource } from 'fhir/r4';
import type { Caller } from '../../src/auth/caller';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway';

const records = fs
  .readFileSync(path.join(__dirname, '..', 'fixtures', 'care-home', 'records.ndjson'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((line) => JSON.parse(line) as { type: string; nhsNumber?: string; data: { gpPracticeOdsCode?: string } });
/** The care home's own records (its location, its staff): about no one, so with no NHS number. */
const careHome = records.filter((r) => r.nhsNumber === undefined);
const byPerson = new Map<string, typeof records>();
for (const r of records) if (r.nhsNumber) byPerson.set(r.nhsNumber, [...(byPerson.get(r.nhsNumber) ?? []), r]);

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({ DELIVERY_POLL_MS: '10' });
}, 60_000);
afterAll(async () => {
  await gw.stop();
});

/** The Patient a resource points at, whichever element the resource type uses. */
function subjectOf(resource: Resource): string | undefined {
  const r = resource as { subject?: { reference?: string }; patient?: { reference?: string }; beneficiary?: { reference?: string } };
  return (r.subject ?? r.patient ?? r.beneficiary)?.reference;
}

describe('a whole care home, end to end', () => {
  it('accepts every record of the data set: the care home\'s own first, then one batch per resident', async () => {
    expect(careHome.map((r) => r.type).sort()).toEqual(['care-location', 'staff']);
    const first = await request(gw.url).post('/v1/records').set('Authorization', gw.as.provider).send({ records: careHome });
    expect(first.status).toBe(202);
    for (const [, personRecords] of byPerson) {
      const res = await request(gw.url).post('/v1/records').set('Authorization', gw.as.provider).send({ records: personRecords });
      expect(res.status).toBe(202);
    }
  }, 120_000);

  it('delivers them all to the shared care record', async () => {
    const admin = gw.as.operator;
    await eventually(async () => {
      const res = await request(gw.url).get('/v1/admin/delivery').set('Authorization', admin);
      const { queued, delivering, rejected, failed } = res.body.counts;
      expect(rejected + failed).toBe(0);
      return queued + delivering === 0 ? true : undefined;
    }, 240_000);
  }, 250_000);

  it("gives each resident's GP their full record, every resource linked to the right Patient", async () => {
    for (const [nhsNumber, personRecords] of byPerson) {
      const resident = personRecords.find((r) => r.type === 'resident')!;
      const gp: Caller = { kind: 'clinician', userId: '555000000001', odsCode: resident.data.gpPracticeOdsCode!, role: 'R8000', scopes: ['user/*.read'] };
      const auth = await gw.bearer(gp);
      const found = await request(gw.url).get('/fhir/Patient').set('Authorization', auth).query({ identifier: `https://fhir.nhs.uk/Id/nhs-number|${nhsNumber}` });
      const patient = (found.body as Bundle).entry?.[0]?.resource as Patient;
      expect(patient?.resourceType).toBe('Patient');

      const everything = await request(gw.url).get(`/fhir/Patient/${patient.id}/$everything`).set('Authorization', auth);
      expect(everything.status).toBe(200);
      const resources = ((everything.body as Bundle).entry ?? []).map((e) => e.resource!) ;
      const linked = resources.filter((r) => subjectOf(r) !== undefined);
      for (const r of linked) expect(subjectOf(r)).toBe(`Patient/${patient.id}`);
      // Every record type the resident has (but the resident record itself) shows up in the compartment.
      const types = new Set(resources.map((r) => r.resourceType));
      expect(types.has('Observation')).toBe(true);
      const vitalSets = personRecords.filter((r) => r.type === 'vital-signs').length;
      expect(resources.filter((r) => r.resourceType === 'Observation').length).toBeGreaterThanOrEqual(vitalSets);
    }
    // 50 $everything reads took 206 s with the machine at load average 7 (2 cores): room for a busy CI.
  }, 480_000);
});
