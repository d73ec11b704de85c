/**
 * The authorisation matrix over real HTTP: every kind of caller against every endpoint, own and other
 * organisation, with 401 (who are you?) and 403 (you may not) told apart, and an AuditEvent for every call.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import request from 'supertest';
import type { Caller } from '../../src/auth/caller';
import resident from '../fixtures/records/resident.json';
import { assertContract } from '../support/contract';
import { CARE_HOME, GP, OPERATOR, eventually, startTestGateway, type TestGateway } from '../support/gateway';

const NHS = '9434765919';
const GP_ELSEWHERE: Caller = { kind: 'clinician', userId: '555009999999', odsCode: 'Y99999', role: 'R8000', scopes: ['user/*.read'] };
let gw: TestGateway;
let patientId: string;
let submissionId: string;
let audit: Database.Database;

const callers: Record<string, Caller | 'none' | 'garbage'> = {
  'no token': 'none',
  'a malformed token': 'garbage',
  'the care home': CARE_HOME,
  'another care home': { kind: 'provider', clientId: 'other-ehr', odsCode: 'VNX99', scopes: ['system/*.write'] },
  "the resident's GP": GP,
  'a GP elsewhere': { ...GP_ELSEWHERE },
  'an operator': OPERATOR,
  "the resident's app": { kind: 'patient-app', clientId: 'nhs-app', nhsNumber: NHS, scopes: ['patient/AuditEvent.read'] },
  "another person's app": { kind: 'patient-app', clientId: 'nhs-app', nhsNumber: '9000000009', scopes: ['patient/AuditEvent.read'] },
  'a research environment': { kind: 'research', clientId: 'sde-falls', project: 'falls-2026', scopes: ['system/*.read'] },
};

/** Reads an NDJSON answer as text, which supertest would otherwise not buffer (an error answer is still JSON). */
const asText = (r: request.Test): request.Test =>
  r.buffer(true).parse((res, done) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (text += chunk));
    res.on('end', () => done(null, /ndjson/.test(String(res.headers['content-type'])) ? text : JSON.parse(text)));
  });

type Call = (auth: (r: request.Test) => request.Test) => request.Test;
const endpoints: Record<string, Call> = {
  'POST /v1/records': (a) => a(request(gw.url).post('/v1/records')).send({ ...resident, recordId: 'RES-AUTH' }),
  'GET /v1/submissions/{id}': (a) => a(request(gw.url).get(`/v1/submissions/${submissionId}`)),
  'GET /fhir/Patient': (a) => a(request(gw.url).get('/fhir/Patient').query({ identifier: `https://fhir.nhs.uk/Id/nhs-number|${NHS}` })),
  'GET /fhir/Patient/{id}/$everything': (a) => a(request(gw.url).get(`/fhir/Patient/${patientId}/$everything`)),
  'POST /fhir/$validate': (a) => a(request(gw.url).post('/fhir/$validate')).send({ resourceType: 'Patient', gender: 'female' }),
  'GET /v1/admin/dead-letters': (a) => a(request(gw.url).get('/v1/admin/dead-letters')),
  'GET /v1/transparency/{nhsNumber}': (a) => a(request(gw.url).get(`/v1/transparency/${NHS}`)),
  'GET /v1/extracts/deidentified': (a) => asText(a(request(gw.url).get('/v1/extracts/deidentified').query({ project: 'falls-2026' }))),
  'GET /v1/aggregates': (a) => a(request(gw.url).get('/v1/aggregates')),
  'POST /v1/admin/opt-outs': (a) => a(request(gw.url).post('/v1/admin/opt-outs')).send({ nhsNumbers: ['9000000009'] }),
};

// Expected status for each caller (rows) at each endpoint (columns, in the order above).
const expected: Record<string, number[]> = {
  'no token':               [401, 401, 401, 401, 401, 401, 401, 401, 401, 401],
  'a malformed token':      [401, 401, 401, 401, 401, 401, 401, 401, 401, 401],
  'the care home':          [202, 200, 403, 403, 200, 403, 403, 403, 403, 403],
  'another care home':      [403, 403, 403, 403, 200, 403, 403, 403, 403, 403],
  "the resident's GP":      [403, 403, 200, 200, 200, 403, 403, 403, 403, 403],
  'a GP elsewhere':         [403, 403, 403, 403, 200, 403, 403, 403, 403, 403],
  'an operator':            [403, 403, 403, 403, 200, 200, 200, 200, 200, 200],
  "the resident's app":     [403, 403, 403, 403, 200, 403, 200, 403, 403, 403],
  "another person's app":   [403, 403, 403, 403, 200, 403, 403, 403, 403, 403],
  'a research environment': [403, 403, 403, 403, 200, 403, 403, 200, 200, 403],
};

const auditCount = (): number => (audit.prepare('SELECT count(*) AS n FROM audit_events').get() as { n: number }).n;

beforeAll(async () => {
  gw = await startTestGateway({ PREPARE_THREADS: '1', SECONDARY_USES: 'on' }); // records prepared on the prepare pool
  audit = new Database(path.join(gw.dataDir, 'audit.sqlite'), { readonly: true });
  const posted = await request(gw.url).post('/v1/records').set('Authorization', gw.as.provider).send(resident);
  submissionId = posted.body.accepted[0].submissionId;
  patientId = await eventually(async () => {
    const res = await request(gw.url).get('/fhir/Patient').set('Authorization', gw.as.gp).query({ identifier: `https://fhir.nhs.uk/Id/nhs-number|${NHS}` });
    return res.body.entry?.[0]?.resource?.id as string | undefined;
  });
});
afterAll(async () => {
  audit.close();
  await gw.stop();
});

const cases = Object.entries(expected).flatMap(([who, statuses]) =>
  Object.keys(endpoints).map((endpoint, i) => [who, endpoint, statuses[i]] as const),
);

describe('who may do what', () => {
  it.each(cases)('%s calling %s gets %i, and the call is audited', async (who, endpoint, status) => {
    const caller = callers[who];
    const header =
      caller === 'none' ? undefined : caller === 'garbage' ? 'Bearer not.a.jwt' : await gw.bearer(caller);
    const before = auditCount();
    const res = await endpoints[endpoint]((r) => (header ? r.set('Authorization', header) : r));
    expect(res.status).toBe(status);
    assertContract(res);
    if (status === 401) expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(auditCount()).toBeGreaterThan(before);
  });
});

describe('break-glass', () => {
  const elsewhere = () => gw.bearer(GP_ELSEWHERE);

  it('lets a GP elsewhere read with a stated reason, and shows it in the person\'s transparency log', async () => {
    const res = await request(gw.url)
      .get(`/fhir/Patient/${patientId}/$everything`)
      .set('Authorization', await elsewhere())
      .set('X-Break-Glass-Reason', 'Out of hours: resident admitted unconscious to A&E');
    expect(res.status).toBe(200);
    const app = await gw.bearer(callers["the resident's app"] as Caller);
    const log = await request(gw.url).get(`/v1/transparency/${NHS}`).set('Authorization', app);
    expect(log.status).toBe(200);
    const glass = log.body.accesses.filter((a: { breakGlass: boolean }) => a.breakGlass);
    expect(glass.length).toBeGreaterThan(0);
    expect(glass[0].who.organisation).toBe('Y99999');
    expect(JSON.stringify(log.body)).not.toContain('555009999999');
  });

  it('refuses break-glass without a real reason', async () => {
    const res = await request(gw.url)
      .get(`/fhir/Patient/${patientId}/$everything`)
      .set('Authorization', await elsewhere())
      .set('X-Break-Glass-Reason', 'x');
    expect(res.status).toBe(403);
  });
});
