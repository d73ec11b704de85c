/**
 * Secondary uses end to end: the whole generated care home (tests/fixtures/care-home, 2,150 records) goes
 * into a real gateway; a research environment's de-identified extract of it holds no direct identifier, links
 * within its project and not across projects, leaves out opted-out people, and is audited; the aggregates
 * suppress small numbers.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import request from 'supertest';
import type { Caller } from '../../src/auth/caller';
import { Pseudonyms } from '../../src/secondary/pseudonyms';
import { assertContract } from '../support/contract';
import { startTestGateway, type TestGateway } from '../support/gateway';

interface InputRecord {
  type: string;
  /** Absent on records about no one person (staff, the care home's location). */
  nhsNumber?: string;
  data: Record<string, unknown>;
}

const records = fs
  .readFileSync(path.join(__dirname, '..', 'fixtures', 'care-home', 'records.ndjson'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((line) => JSON.parse(line) as InputRecord);
const byPerson = new Map<string, InputRecord[]>();
for (const r of records) if (r.nhsNumber) byPerson.set(r.nhsNumber, [...(byPerson.get(r.nhsNumber) ?? []), r]);
const people = [...byPerson.keys()];

const RESEARCH: Caller = { kind: 'research', clientId: 'sde-falls', project: 'falls-2026', scopes: ['system/*.read'] };

type Name = { given?: string[]; family?: string; prefix?: string };
type Address = { lines?: string[]; city?: string; postcode?: string };

/** Every direct identifier in the input, as the text that must not appear in an extract. */
function directIdentifiers(): { exact: Set<string>; words: Set<string> } {
  const exact = new Set<string>();
  const words = new Set<string>();
  const name = (n: Name | undefined) => {
    for (const w of [...(n?.given ?? []), n?.family ?? '']) if (w.length > 1) words.add(w);
  };
  const address = (a: Address | undefined) => {
    for (const line of a?.lines ?? []) exact.add(line);
    if (a?.city) words.add(a.city);
    if (a?.postcode) {
      const compact = a.postcode.replace(/\s+/g, '').toUpperCase();
      exact.add(compact);
      exact.add(`${compact.slice(0, -3)} ${compact.slice(-3)}`);
    }
  };
  for (const r of records) {
    const d = r.data as {
      name?: Name; address?: Address; birthDate?: string; telecom?: { value: string }[]; workPhone?: string;
      decidedBy?: { name?: string };
    };
    if (r.nhsNumber) {
      exact.add(r.nhsNumber);
      exact.add(`${r.nhsNumber.slice(0, 3)} ${r.nhsNumber.slice(3, 6)} ${r.nhsNumber.slice(6)}`);
    }
    name(d.name);
    address(d.address);
    if (r.type === 'resident' && d.birthDate) exact.add(d.birthDate);
    for (const t of d.telecom ?? []) {
      exact.add(t.value);
      exact.add(t.value.replace(/\s+/g, ''));
    }
    if (d.workPhone) {
      exact.add(d.workPhone);
      exact.add(d.workPhone.replace(/\s+/g, ''));
    }
    if (d.decidedBy?.name) exact.add(d.decidedBy.name);
  }
  return { exact, words };
}

/** The free text of the input (notes, descriptions, reasons): none of it may reach an extract either. */
function freeText(): Set<string> {
  const out = new Set<string>();
  const walk = (value: unknown, key: string) => {
    if (typeof value === 'string') {
      if (/text|note|description|title|reason|name|role|administeredByText/i.test(key) && value.length >= 12) out.add(value);
    } else if (Array.isArray(value)) for (const v of value) walk(v, key);
    else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(v, k);
  };
  for (const r of records) walk(r.data, '');
  return out;
}

let gw: TestGateway;
let research: string;

async function extract(auth: string, query: Record<string, string> = {}): Promise<{ text: string; lines: Record<string, unknown>[] }> {
  const res = await request(gw.url).get('/v1/extracts/deidentified').set('Authorization', auth).query(query)
    .buffer(true).parse((r, done) => {
      let text = '';
      r.setEncoding('utf8');
      r.on('data', (chunk: string) => (text += chunk));
      r.on('end', () => done(null, text));
    });
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toMatch(/^application\/fhir\+ndjson/);
  assertContract(res);
  const text = res.body as string;
  return { text, lines: text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

type Ident = { system?: string; value?: string };
const patientIds = (lines: Record<string, unknown>[]): string[] =>
  lines.filter((l) => l.resourceType === 'Patient').map((l) => (l.identifier as Ident[])[0].value!);

beforeAll(async () => {
  gw = await startTestGateway({ SECONDARY_USES: 'on' });
  research = await gw.bearer(RESEARCH);
  // The extract reads the research store, not the SCR: pause delivery so the shared machine does less work.
  await request(gw.url).post('/v1/admin/delivery/pause').set('Authorization', gw.as.operator).expect(200);
  // The care home first, as a provider joining does: the residents' create-only copies must not replace it.
  const careHome = records.filter((r) => r.type === 'care-location');
  expect((await request(gw.url).post('/v1/records').set('Authorization', gw.as.provider).send({ records: careHome })).status).toBe(202);
  for (const personRecords of byPerson.values()) {
    const res = await request(gw.url).post('/v1/records').set('Authorization', gw.as.provider).send({ records: personRecords });
    expect(res.status).toBe(202);
  }
}, 180_000);
afterAll(async () => {
  await gw?.stop();
});

describe('the de-identified extract of the whole care home', () => {
  let first: { text: string; lines: Record<string, unknown>[] };
  beforeAll(async () => {
    first = await extract(research);
  }, 60_000);

  it('holds every resident once, as a Patient with a pseudonym and no NHS number', () => {
    const ids = patientIds(first.lines);
    expect(ids).toHaveLength(people.length);
    expect(new Set(ids).size).toBe(people.length);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{64}$/);
  });

  it("holds the care home once, as its care-location record has it: no resident's thin copy replaces it", () => {
    const organizations = first.lines.filter((l) => l.resourceType === 'Organization');
    expect(organizations).toHaveLength(1);
    expect(organizations[0].type).toEqual([{ coding: [expect.objectContaining({ code: expect.any(String) })] }]);
  });

  it('contains no NHS number, name, address line, postcode, exact birth date, phone or email from the input', () => {
    const { exact, words } = directIdentifiers();
    expect(exact.size).toBeGreaterThan(150);
    const found = [...exact].filter((s) => first.text.includes(s));
    const text = first.text.toLowerCase();
    found.push(...[...words].filter((w) => new RegExp(`\\b${w.toLowerCase()}\\b`).test(text)));
    expect(found).toEqual([]);
  });

  it('contains none of the free text of the input (notes, descriptions, reasons)', () => {
    const texts = freeText();
    expect(texts.size).toBeGreaterThan(20);
    expect([...texts].filter((t) => first.text.includes(t))).toEqual([]);
  });

  it('gives birth years only, and a band instead for people aged 90 or over', () => {
    const patients = first.lines.filter((l) => l.resourceType === 'Patient');
    for (const patient of patients) {
      if (patient.birthDate !== undefined) expect(patient.birthDate).toMatch(/^\d{4}$/);
      else expect(patient.extension).toEqual([expect.objectContaining({ valueString: '90 or over' })]);
    }
    // The care home has residents born in 1925 and 1926: both kinds are in the extract.
    expect(patients.filter((p) => p.birthDate === undefined).length).toBeGreaterThan(0);
    expect(patients.filter((p) => p.birthDate !== undefined).length).toBeGreaterThan(0);
  });

  it('links every resource about a person to a Patient in the same extract', () => {
    const ids = new Set(patientIds(first.lines));
    const about = first.lines.flatMap((l) => {
      const ref = (l.subject ?? l.patient) as { identifier?: Ident } | undefined;
      return ref?.identifier ? [ref.identifier.value!] : [];
    });
    expect(about.length).toBeGreaterThan(records.length);
    expect(about.filter((id) => !ids.has(id))).toEqual([]);
  });

  it('gives the same pseudonyms in a second extract for the same project', async () => {
    const again = await extract(research);
    expect(again.text).toBe(first.text);
  }, 60_000);

  it('gives other pseudonyms and resource ids for another project', async () => {
    const other = await extract(gw.as.operator, { project: 'frailty-2027' });
    expect(other.lines).toHaveLength(first.lines.length);
    const mine = new Set([...patientIds(first.lines), ...first.lines.map((l) => l.id as string)]);
    expect([...patientIds(other.lines), ...other.lines.map((l) => l.id as string)].filter((id) => mine.has(id))).toEqual([]);
  }, 60_000);

  it('gives nothing written before since', async () => {
    const later = await extract(research, { since: new Date(Date.now() + 60_000).toISOString() });
    expect(later.lines).toEqual([]);
  });

  it('records each extract in the audit log: who, which project and how many people', () => {
    const db = new Database(path.join(gw.dataDir, 'audit.sqlite'), { readonly: true });
    try {
      const events = db.prepare("SELECT event FROM audit_events WHERE caller_kind = 'research'").all() as { event: string }[];
      const descriptions = events.map((e) => JSON.parse(e.event) as { outcomeDesc: string; agent: { who?: { identifier?: Ident } }[] });
      const extractEvent = descriptions.find((d) => d.outcomeDesc.startsWith('de-identified extract'));
      expect(extractEvent?.outcomeDesc).toContain(`project falls-2026, ${people.length} people`);
      expect(extractEvent?.agent[0].who?.identifier?.value).toBe('sde-falls');
    } finally {
      db.close();
    }
  });
});

describe('National Data Opt-out', () => {
  const optedOut = people.slice(0, 3);

  it('leaves out people who opted out after their records arrived, and keeps everyone else', async () => {
    const before = await extract(research);
    const res = await request(gw.url).post('/v1/admin/opt-outs').set('Authorization', gw.as.operator)
      .send({ nhsNumbers: optedOut.map((n) => `${n.slice(0, 3)} ${n.slice(3, 6)} ${n.slice(6)}`) });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ received: 3, added: 3, total: 3 });
    assertContract(res);

    const after = await extract(research);
    expect(patientIds(after.lines)).toHaveLength(people.length - 3);
    // Their project pseudonyms, worked out with the gateway's own secret, appear nowhere in the extract.
    const secret = fs.readFileSync(path.join(gw.dataDir, 'research-secret'), 'utf8');
    const pseudonyms = new Pseudonyms(Buffer.from(secret.trim(), 'utf8'));
    const key = pseudonyms.projectKey('falls-2026');
    const tokens = optedOut.map((n) => key.token(pseudonyms.person(n)));
    for (const token of tokens) {
      expect(before.text).toContain(token);
      expect(after.text).not.toContain(token);
    }
    const perPerson = (n: string) => byPerson.get(n)!.length;
    expect(after.lines.length).toBeLessThan(before.lines.length - optedOut.reduce((sum, n) => sum + perPerson(n), 0));
  }, 60_000);

  it('refuses an opt-out list with an NHS number whose check digit is wrong, naming it and storing nothing', async () => {
    const res = await request(gw.url).post('/v1/admin/opt-outs').set('Authorization', gw.as.operator)
      .send({ nhsNumbers: [people[10], '9434765918'] });
    expect(res.status).toBe(422);
    expect(res.body.issue[0].expression).toEqual(['nhsNumbers[1]']);
    assertContract(res);
    const count = await request(gw.url).get('/v1/admin/opt-outs').set('Authorization', gw.as.operator);
    expect(count.body).toEqual({ total: 3 });
    assertContract(count);
  });

  it('lets only an operator register opt-outs', async () => {
    for (const auth of [research, gw.as.provider, gw.as.gp]) {
      const res = await request(gw.url).post('/v1/admin/opt-outs').set('Authorization', auth).send({ nhsNumbers: [people[10]] });
      expect(res.status).toBe(403);
      assertContract(res);
    }
  });
});

/** A valid NHS number from nine digits: the tenth is the Modulus 11 check digit (none for check value 10). */
function nhsNumber(nine: string): string | undefined {
  const sum = [...nine].reduce((acc, d, i) => acc + Number(d) * (10 - i), 0);
  const check = 11 - (sum % 11);
  return check === 10 ? undefined : `${nine}${check === 11 ? 0 : check}`;
}

describe('operational aggregates', () => {
  it('counts per care provider and ISO week, with counts from 1 to 7 shown as "<8"', async () => {
    // A second, small care home: three residents, so its resident count is a small number.
    const SMALL = 'VNY34';
    const template = records.find((r) => r.type === 'resident')! as InputRecord & Record<string, unknown>;
    const numbers = ['999100001', '999100002', '999100003', '999100004', '999100005'].map(nhsNumber).filter((n): n is string => !!n).slice(0, 3);
    const small = numbers.map((n, i) => ({ ...template, recordId: `SMALL-${i}`, nhsNumber: n, careProvider: { odsCode: SMALL, name: 'Small Care Home' } }));
    const provider = await gw.bearer({ kind: 'provider', clientId: 'small-home', odsCode: SMALL, scopes: ['system/*.write'] });
    expect((await request(gw.url).post('/v1/records').set('Authorization', provider).send({ records: small })).status).toBe(202);

    const res = await request(gw.url).get('/v1/aggregates').set('Authorization', research);
    expect(res.status).toBe(200);
    assertContract(res);
    const rows = res.body.rows as Record<string, unknown>[];
    expect(rows.length).toBeGreaterThan(4);
    const cells = rows.flatMap((r) => [r.residents, r.vitalSignObservations, r.news2High, r.hospitalTransfers]);
    for (const cell of cells) expect(cell === '<8' || (typeof cell === 'number' && (cell === 0 || cell >= 8))).toBe(true);
    const smallRows = rows.filter((r) => r.provider === SMALL);
    expect(smallRows.length).toBeGreaterThan(0);
    for (const r of smallRows) expect(r.residents).toBe('<8');
    for (const r of rows) {
      expect(['VNX12', SMALL]).toContain(r.provider);
      expect(r.week).toMatch(/^\d{4}-W\d{2}$/);
    }
    // Opt-outs do not apply to anonymised counts: every resident is counted in some week.
    expect(rows.some((r) => typeof r.residents === 'number' && r.residents >= people.length - 3)).toBe(true);
  });

  it('gives the same figures as CSV, by Accept or by _format', async () => {
    const json = await request(gw.url).get('/v1/aggregates').set('Authorization', research);
    for (const ask of [(r: request.Test) => r.set('Accept', 'text/csv'), (r: request.Test) => r.query({ _format: 'csv' })]) {
      const res = await ask(request(gw.url).get('/v1/aggregates').set('Authorization', research));
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/csv/);
      assertContract(res);
      const lines = res.text.trim().split('\r\n');
      expect(lines[0]).toBe('provider,week,residents,vital_sign_observations,news2_high,hospital_transfers');
      const first = json.body.rows[0] as Record<string, unknown>;
      expect(lines[1]).toBe([first.provider, first.week, first.residents, first.vitalSignObservations, first.news2High, first.hospitalTransfers].join(','));
      expect(lines).toHaveLength(json.body.rows.length + 1);
    }
  });
});

describe('who may read secondary uses', () => {
  it('refuses extracts and aggregates to care providers and clinicians', async () => {
    for (const auth of [gw.as.provider, gw.as.gp]) {
      expect((await request(gw.url).get('/v1/extracts/deidentified').set('Authorization', auth).query({ project: 'falls-2026' })).status).toBe(403);
      expect((await request(gw.url).get('/v1/aggregates').set('Authorization', auth)).status).toBe(403);
    }
  });

  it("refuses a research environment another project's extract", async () => {
    const res = await request(gw.url).get('/v1/extracts/deidentified').set('Authorization', research).query({ project: 'frailty-2027' });
    expect(res.status).toBe(403);
    expect(res.body.resourceType).toBe('OperationOutcome');
    assertContract(res);
  });

  it('refuses a since that is not an instant', async () => {
    const res = await request(gw.url).get('/v1/extracts/deidentified').set('Authorization', research).query({ since: '2026-11-01' });
    expect(res.status).toBe(400);
    expect(res.body.issue[0].expression).toEqual(['since']);
    assertContract(res);
  });
});

describe('the bulk path', () => {
  it('feeds the research store too', async () => {
    const before = patientIds((await extract(research)).lines).length;
    const template = records.find((r) => r.type === 'resident')!;
    const line = JSON.stringify({ ...template, recordId: 'BULK-1', nhsNumber: nhsNumber('999200001') ?? nhsNumber('999200002') });
    const res = await request(gw.url).post('/v1/records/bulk').set('Authorization', gw.as.provider).set('Content-Type', 'application/x-ndjson').send(`${line}\n`);
    expect(res.status).toBe(202);
    expect(res.body.accepted).toBe(1);
    expect(patientIds((await extract(research)).lines)).toHaveLength(before + 1);
  }, 60_000);
});
