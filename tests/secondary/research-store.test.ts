/**
 * The research store and extracts on a real SQLite file, fed through the ingest hook as the gateway feeds
 * it: pseudonyms per project, opt-outs applied at read time, a new version replacing the old.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import Database from 'better-sqlite3';
import type { Resource } from 'fhir/r4';
import type { ProviderRecord } from '../../src/map/map-record';
import { createLogger } from '../../src/observability/logger';
import { Deidentifier } from '../../src/secondary/deidentify';
import { loadRules, parseRules } from '../../src/secondary/deidentify-rules';
import { Extracts } from '../../src/secondary/extract';
import { Pseudonyms } from '../../src/secondary/pseudonyms';
import { writeAccepted, type ResearchFeed, type ResearchFeedDeps } from '../../src/secondary/research-feed';
import { EXTRACT_START, ResearchStore, type AggregateRow, type ResearchBatch } from '../../src/secondary/research-store';
import { loadPseudonymSecret } from '../../src/secondary/secret';

const NHS_SYSTEM = 'https://fhir.nhs.uk/Id/nhs-number';
const RECORD_SYSTEM = 'https://care-record-gateway.dev/fhir/Id/provider-record';
const PEOPLE = ['9434765919', '9434765870'];

let dir: string;
let store: ResearchStore;
let pseudonyms: Pseudonyms;
let extracts: Extracts;
let feed: ResearchFeed;

/** The ingest hook writing at once (the gateway queues first: feed-queue.test.ts), so each test reads right after. */
function createResearchFeed(deps: ResearchFeedDeps): ResearchFeed {
  return (accepted) => writeAccepted(deps, [{ accepted, at: new Date() }]);
}

function record(nhsNumber: string, recordId: string, version = 1): ProviderRecord {
  return { type: 'vital-signs', recordId, version, nhsNumber, careProvider: { odsCode: 'VNX12' }, sourceSystem: 'test', data: {} };
}

function pulse(nhsNumber: string, recordId: string, part = 'pulse'): Resource {
  return {
    resourceType: 'Observation',
    identifier: [{ system: RECORD_SYSTEM, value: `VNX12/vital-signs/${recordId}/${part}` }],
    status: 'final',
    category: [{ coding: [{ code: 'vital-signs' }] }],
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
    subject: { reference: `Patient?identifier=${NHS_SYSTEM}|${nhsNumber}` },
    effectiveDateTime: '2026-11-03T08:00:00Z',
    valueQuantity: { value: 70 },
  } as Resource;
}

async function read(project: string, since = new Date(0).toISOString()): Promise<{ people: number; lines: Record<string, unknown>[] }> {
  const plan = extracts.plan(project, since);
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString()));
  await extracts.write(plan, out);
  out.end();
  return { people: plan.people, lines: text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

const subjects = (lines: Record<string, unknown>[]) => lines.map((l) => (l.subject as { identifier: { value: string } }).identifier.value);

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crg-research-'));
  pseudonyms = new Pseudonyms(loadPseudonymSecret({ generatedFile: path.join(dir, 'secret') }).secret);
  store = new ResearchStore(path.join(dir, 'research.sqlite'));
  extracts = new Extracts(store, pseudonyms, new Deidentifier(loadRules(), pseudonyms));
  feed = createResearchFeed({ store, deidentifier: new Deidentifier(loadRules(), pseudonyms), pseudonyms, logger: createLogger('error', new PassThrough()) });
  feed(PEOPLE.map((n, i) => ({ record: record(n, `OBS-${i}`), resources: [pulse(n, `OBS-${i}`)] })));
});
afterEach(() => {
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('research store', () => {
  it('stores no NHS number', () => {
    const file = fs.readFileSync(path.join(dir, 'research.sqlite')).toString('latin1') + fs.readFileSync(path.join(dir, 'research.sqlite-wal')).toString('latin1');
    for (const n of PEOPLE) expect(file).not.toContain(n);
  });

  it('gives stable pseudonyms within a project and different ones across projects', async () => {
    const a1 = subjects((await read('project-a')).lines);
    const a2 = subjects((await read('project-a')).lines);
    const b = subjects((await read('project-b')).lines);
    expect(a1).toEqual(a2);
    expect(new Set(a1).size).toBe(2);
    expect(b.filter((s) => a1.includes(s))).toEqual([]);
  });

  it('leaves out a person who opted out after their records arrived, until the opt-out is removed', async () => {
    store.addOptOuts([pseudonyms.person(PEOPLE[0])]);
    const without = await read('project-a');
    expect(without.people).toBe(1);
    expect(subjects(without.lines)).toEqual([pseudonyms.projectKey('project-a').token(pseudonyms.person(PEOPLE[1]))]);
    store.removeOptOuts([pseudonyms.person(PEOPLE[0])]);
    expect((await read('project-a')).people).toBe(2);
  });

  it('replaces what an earlier version of a record wrote, dropping resources the new version no longer has', async () => {
    feed([{ record: record(PEOPLE[0], 'OBS-0', 2), resources: [pulse(PEOPLE[0], 'OBS-0', 'pulse'), pulse(PEOPLE[0], 'OBS-0', 'spo2')] }]);
    expect((await read('p')).lines).toHaveLength(3);
    feed([{ record: record(PEOPLE[0], 'OBS-0', 3), resources: [pulse(PEOPLE[0], 'OBS-0', 'spo2')] }]);
    expect((await read('p')).lines).toHaveLength(2);
  });

  it('applies rules tightened after the data was stored: an element no longer named leaves every extract', async () => {
    expect((await read('p')).lines[0].valueQuantity).toEqual({ value: 70 });
    const rules = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'mappings', 'deidentify.json'), 'utf8')) as { resources: Record<string, Record<string, string>> };
    delete rules.resources.Observation.valueQuantity;
    extracts = new Extracts(store, pseudonyms, new Deidentifier(parseRules(rules), pseudonyms));
    const lines = (await read('p')).lines;
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line.valueQuantity).toBeUndefined();
      expect(line.subject).toBeDefined();
    }
    delete rules.resources.Observation;
    extracts = new Extracts(store, pseudonyms, new Deidentifier(parseRules(rules), pseudonyms));
    expect((await read('p')).lines).toEqual([]);
  });

  it('gives only what was written since the instant asked for', async () => {
    const cut = new Date(Date.now() + 5).toISOString();
    await new Promise((r) => setTimeout(r, 10));
    feed([{ record: record(PEOPLE[0], 'OBS-9'), resources: [pulse(PEOPLE[0], 'OBS-9')] }]);
    expect((await read('p', cut)).lines).toHaveLength(1);
  });

  it('reads a page only until it passes its size in stored JSON, one row at the least, and loses no row across pages', () => {
    feed(['A', 'B', 'C'].map((id) => ({ record: record(PEOPLE[0], `BIG-${id}`), resources: [pulse(PEOPLE[0], `BIG-${id}`, 'a'), pulse(PEOPLE[0], `BIG-${id}`, 'b')] })));
    const since = new Date(0).toISOString();
    const cut = store.cut();
    const pages: number[] = [];
    for (let page = store.page(since, EXTRACT_START, cut, { rows: 500, bytes: 1 }); ; ) {
      pages.push(page.rows.length);
      if (!page.next) break;
      page = store.page(since, page.next, cut, { rows: 500, bytes: 1 });
    }
    // Five records (the two from beforeEach, then A, B, C), one a page; the last page is the empty one.
    expect(pages).toEqual([1, 1, 2, 2, 2, 0]);
    expect(store.page(since, EXTRACT_START, cut, { rows: 500, bytes: Infinity }).rows).toHaveLength(8);
  });

  it('waits for a slow reader instead of buffering the whole extract', async () => {
    feed(Array.from({ length: 1200 }, (_, i) => ({ record: record(PEOPLE[i % 2], `MANY-${i}`), resources: [pulse(PEOPLE[i % 2], `MANY-${i}`)] })));
    const out = new PassThrough({ highWaterMark: 1024 });
    let drains = 0;
    out.on('drain', () => drains++);
    const done = extracts.write(extracts.plan('p', new Date(0).toISOString()), out);
    let lines = 0;
    for await (const chunk of out) {
      lines += (chunk as Buffer).toString().split('\n').length - 1;
      await new Promise((r) => setImmediate(r));
      if (lines >= 1202) break;
    }
    expect(await done).toBe(1202);
    expect(drains).toBeGreaterThan(10);
  });
});

const ODS_SYSTEM = 'https://fhir.nhs.uk/Id/ods-organization-code';

function resident(nhsNumber: string, recordId: string, ods = 'VNX12'): ProviderRecord {
  return { type: 'resident', recordId, version: 1, nhsNumber, careProvider: { odsCode: ods }, sourceSystem: 'test', recordedAt: '2026-11-02T09:00:00Z', data: {} };
}

const patient = (nhsNumber: string, gender: string): Resource =>
  ({ resourceType: 'Patient', identifier: [{ system: NHS_SYSTEM, value: nhsNumber }], gender, birthDate: '1940-05-01' }) as Resource;

/** The care home as its care-location record has it (with a type), or as a resident record's thin copy (without). */
const careHome = (ods: string, full: boolean): Resource =>
  ({ resourceType: 'Organization', identifier: [{ system: ODS_SYSTEM, value: ods }], active: true, ...(full ? { type: [{ coding: [{ code: 'prov' }] }] } : {}) }) as Resource;

const ofType = (lines: Record<string, unknown>[], type: string) => lines.filter((l) => l.resourceType === type);

describe('resources more than one record carries', () => {
  it('holds a Patient that two resident records carry once, as the later one wrote it', async () => {
    feed([{ record: resident(PEOPLE[0], 'RES-A'), resources: [patient(PEOPLE[0], 'female')] }]);
    feed([{ record: resident(PEOPLE[0], 'RES-B', 'VNX99'), resources: [patient(PEOPLE[0], 'unknown')] }]);
    const { people, lines } = await read('p');
    expect(ofType(lines, 'Patient').map((p) => p.gender)).toEqual(['unknown']);
    expect(people).toBe(2);
  });

  it("never lets a resident record's create-only copy of the care home replace the care-location record's", async () => {
    const location: ProviderRecord = { type: 'care-location', recordId: 'LOC-1', version: 1, careProvider: { odsCode: 'VNX12' }, sourceSystem: 'test', data: {} };
    feed([{ record: location, resources: [careHome('VNX12', true)] }]);
    const thin = careHome('VNX12', false);
    feed([{ record: resident(PEOPLE[0], 'RES-A'), resources: [patient(PEOPLE[0], 'female'), thin], createOnly: new Set([thin]) }]);
    const organizations = ofType((await read('p')).lines, 'Organization');
    expect(organizations).toHaveLength(1);
    expect(organizations[0].type).toEqual([{ coding: [{ code: 'prov' }] }]);
  });

  it('stores a create-only resource when nothing holds it yet', async () => {
    const thin = careHome('VNX77', false);
    feed([{ record: resident(PEOPLE[0], 'RES-A', 'VNX77'), resources: [thin], createOnly: new Set([thin]) }]);
    expect(ofType((await read('p')).lines, 'Organization')).toHaveLength(1);
  });

  it("keeps a shared resource when a record's new version no longer carries it, and drops the record's own", async () => {
    feed([{ record: record(PEOPLE[0], 'OBS-R'), resources: [patient(PEOPLE[0], 'female'), pulse(PEOPLE[0], 'OBS-R')] }]);
    expect((await read('p')).lines).toHaveLength(4);
    feed([{ record: record(PEOPLE[0], 'OBS-R', 2), resources: [] }]);
    const lines = (await read('p')).lines;
    expect(lines).toHaveLength(3);
    expect(ofType(lines, 'Patient')).toHaveLength(1);
  });

  it('leaves out the Patient of a person who opted out, and counts them in no extract', async () => {
    feed([{ record: resident(PEOPLE[0], 'RES-A'), resources: [patient(PEOPLE[0], 'female')] }]);
    store.addOptOuts([pseudonyms.person(PEOPLE[0])]);
    const { people, lines } = await read('p');
    expect(ofType(lines, 'Patient')).toEqual([]);
    expect(people).toBe(1);
  });
});

describe('aggregates', () => {
  const observation = (nhsNumber: string, recordId: string, part: string, day: string, news2?: number): Resource =>
    ({
      ...pulse(nhsNumber, recordId, part),
      effectiveDateTime: `${day}T08:00:00Z`,
      ...(news2 === undefined ? {} : { category: [], code: { coding: [{ code: '1104051000000101' }] }, valueQuantity: { value: news2 } }),
    }) as Resource;

  it("counts each record's resources by their own week, and each person once a week", () => {
    feed([
      { record: record(PEOPLE[0], 'OBS-W'), resources: [observation(PEOPLE[0], 'OBS-W', 'a', '2026-11-09'), observation(PEOPLE[0], 'OBS-W', 'b', '2026-11-10'), observation(PEOPLE[0], 'OBS-W', 'c', '2026-11-16', 6)] },
      { record: record(PEOPLE[1], 'OBS-V'), resources: [observation(PEOPLE[1], 'OBS-V', 'a', '2026-11-11', 4)] },
    ]);
    const rows = store.aggregates().filter((r) => r.week !== '2026-W45');
    expect(rows).toEqual([
      { provider: 'VNX12', week: '2026-W46', residents: 2, vitalSigns: 2, news2High: 0, hospitalTransfers: 0 },
      { provider: 'VNX12', week: '2026-W47', residents: 1, vitalSigns: 0, news2High: 1, hospitalTransfers: 0 },
    ]);
  });

  it('counts a person whose only resource that week is their Patient', () => {
    feed([{ record: resident(PEOPLE[0], 'RES-A', 'VNX99'), resources: [patient(PEOPLE[0], 'female')] }]);
    expect(store.aggregates().filter((r) => r.provider === 'VNX99')).toEqual([
      { provider: 'VNX99', week: '2026-W45', residents: 1, vitalSigns: 0, news2High: 0, hospitalTransfers: 0 },
    ]);
  });
});

/** The layout before one row per record: a row per resource, as that store wrote it. */
function writeRowPerResource(file: string, batches: ResearchBatch[]): void {
  const db = new Database(file);
  db.exec(`CREATE TABLE resources (seq INTEGER PRIMARY KEY AUTOINCREMENT, resource_key TEXT NOT NULL UNIQUE, record_key TEXT NOT NULL,
             person TEXT, provider TEXT NOT NULL, resource_type TEXT NOT NULL, fact TEXT, week TEXT, updated_at TEXT NOT NULL, resource TEXT NOT NULL);
           CREATE INDEX resources_by_record ON resources (record_key);
           CREATE TABLE opt_outs (person TEXT PRIMARY KEY, registered_at TEXT NOT NULL);`);
  const upsert = db.prepare(`INSERT INTO resources (resource_key, record_key, person, provider, resource_type, fact, week, updated_at, resource)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (resource_key) DO UPDATE SET record_key = excluded.record_key, person = excluded.person,
    provider = excluded.provider, resource_type = excluded.resource_type, fact = excluded.fact, week = excluded.week,
    updated_at = excluded.updated_at, resource = excluded.resource`);
  const dropOthers = db.prepare('DELETE FROM resources WHERE record_key = ? AND updated_at <> ?');
  for (const { records, at } of batches) {
    for (const r of records) {
      for (const x of [...r.resources.map((own) => ({ ...own, person: r.person, provider: r.provider })), ...r.shared]) {
        upsert.run(x.resourceKey, r.recordKey, x.person ?? null, x.provider, x.resourceType, x.fact ?? null, x.week ?? null, at.toISOString(), JSON.stringify(x.resource));
      }
      dropOthers.run(r.recordKey, at.toISOString());
    }
  }
  db.close();
}

describe('a store written a row per resource', () => {
  it('moves into a row per record when opened, with the same extract, people and aggregates', async () => {
    const batches: ResearchBatch[] = [];
    const capture = { writeAll: (b: ResearchBatch[]) => batches.push(...b) } as unknown as ResearchStore;
    const deps = { store: capture, deidentifier: new Deidentifier(loadRules(), pseudonyms), pseudonyms, logger: createLogger('error', new PassThrough()) };
    const stamp = (n: number) => new Date(Date.UTC(2026, 10, 2, 9, 0, n));
    writeAccepted(deps, [
      { at: stamp(1), accepted: PEOPLE.map((n, i) => ({ record: resident(n, `RES-${i}`), resources: [patient(n, 'female'), careHome('VNX12', false)] })) },
      { at: stamp(2), accepted: PEOPLE.map((n, i) => ({ record: record(n, `OBS-M${i}`), resources: [pulse(n, `OBS-M${i}`), pulse(n, `OBS-M${i}`, 'spo2')] })) },
      { at: stamp(3), accepted: [{ record: { ...record(PEOPLE[0], 'OBS-M0'), version: 2 }, resources: [pulse(PEOPLE[0], 'OBS-M0')] }] },
    ]);
    store.close();
    fs.rmSync(path.join(dir, 'research.sqlite'));
    store = new ResearchStore(path.join(dir, 'fresh.sqlite'));
    store.writeAll(batches);
    store.addOptOuts([pseudonyms.person(PEOPLE[1])]);
    extracts = new Extracts(store, pseudonyms, new Deidentifier(loadRules(), pseudonyms));
    const fresh = { extract: await read('p'), aggregates: store.aggregates() };
    store.close();

    const file = path.join(dir, 'old.sqlite');
    writeRowPerResource(file, batches);
    store = new ResearchStore(file);
    // 2 Patients, the care home, 3 pulses; the resident records own nothing, so 2 record rows.
    expect(store.migrated).toEqual({ resources: 6, records: 2, ms: expect.any(Number) });
    store.addOptOuts([pseudonyms.person(PEOPLE[1])]);
    extracts = new Extracts(store, pseudonyms, new Deidentifier(loadRules(), pseudonyms));
    const migrated = await read('p');
    const sorted = (lines: Record<string, unknown>[]) => lines.map((l) => JSON.stringify(l)).sort();
    expect(migrated.lines.length).toBe(3); // one Patient (the other opted out), the care home, OBS-M0's second version
    expect(sorted(migrated.lines)).toEqual(sorted(fresh.extract.lines));
    expect(migrated.people).toBe(fresh.extract.people);
    expect(store.aggregates()).toEqual(fresh.aggregates);
    const tables = new Database(file, { readonly: true });
    expect(tables.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'resources'").all()).toEqual([]);
    tables.close();
    store.close();
    store = new ResearchStore(file);
    extracts = new Extracts(store, pseudonyms, new Deidentifier(loadRules(), pseudonyms));
    expect(store.migrated).toBeUndefined();
    expect(sorted((await read('p')).lines)).toEqual(sorted(fresh.extract.lines));
  });
});

describe('against a model of what it should hold', () => {
  /** A small seeded generator (mulberry32), so a failure can be replayed. */
  function random(seed: number): () => number {
    return () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  it.each([1, 2, 3])('holds, after 400 random writes (seed %d), what a map of records and shared resources holds', (seed) => {
    store.close();
    store = new ResearchStore(path.join(dir, 'model.sqlite')); // without beforeEach's records
    const next = random(seed);
    const pick = <T,>(items: T[]): T => items[Math.floor(next() * items.length)];
    const people = ['p1', 'p2', 'p3', 'p4'];
    const providers = ['VNX12', 'VNX99'];
    const weeks = ['2026-W45', '2026-W46', undefined];
    const facts = ['vital-sign', 'news2-high', undefined];
    const owned = new Map<string, { person: string; provider: string; resources: { key: string; week?: string; fact?: string; v: number }[] }>();
    const shared = new Map<string, { person?: string; provider: string; week?: string; v: number }>();
    let at = Date.UTC(2026, 10, 2);
    for (let write = 0; write < 400; write++) {
      const recordKey = `r${Math.floor(next() * 30)}`;
      const person = pick(people);
      const provider = pick(providers);
      const resources = Array.from({ length: Math.floor(next() * 4) }, (_, i) => ({ key: `${recordKey}/${i}`, week: pick(weeks), fact: pick(facts), v: write }));
      const sharedNow: { key: string; person?: string; createOnly: boolean }[] = next() < 0.5 ? [{ key: `patient-${person}`, person, createOnly: false }] : [];
      if (next() < 0.3) sharedNow.push({ key: `org-${provider}`, createOnly: next() < 0.5 });
      store.write(
        [{
          recordKey, person, provider,
          resources: resources.map((r) => ({ resourceKey: r.key, resourceType: 'Observation', week: r.week, fact: r.fact, resource: { v: r.v } })),
          shared: sharedNow.map((x) => ({ resourceKey: x.key, resourceType: 'Patient', person: x.person, provider, week: '2026-W45', createOnly: x.createOnly, resource: { v: write } })),
        }],
        new Date(at++),
      );
      if (resources.length > 0) owned.set(recordKey, { person, provider, resources });
      else owned.delete(recordKey);
      for (const x of sharedNow) if (!(x.createOnly && shared.has(x.key))) shared.set(x.key, { person: x.person, provider, week: '2026-W45', v: write });
    }

    const since = new Date(0).toISOString();
    const cut = store.cut();
    const held: string[] = [];
    for (let page = store.page(since, EXTRACT_START, cut, { rows: 7, bytes: 200 }); ; ) {
      held.push(...page.rows.map((r) => `${r.resourceKey}=${(r.resource as { v: number }).v}`));
      if (!page.next) break;
      page = store.page(since, page.next, cut, { rows: 7, bytes: 200 });
    }
    const expected = [
      ...[...shared].map(([key, x]) => `${key}=${x.v}`),
      ...[...owned.values()].flatMap((r) => r.resources.map((x) => `${x.key}=${x.v}`)),
    ];
    expect(held.sort()).toEqual(expected.sort());

    const cells = new Map<string, { people: Set<string>; vitalSigns: number; news2High: number }>();
    const cell = (provider: string, week: string) => {
      const id = `${provider}|${week}`;
      if (!cells.has(id)) cells.set(id, { people: new Set(), vitalSigns: 0, news2High: 0 });
      return cells.get(id)!;
    };
    for (const r of owned.values()) {
      for (const x of r.resources) {
        if (x.week === undefined) continue;
        const c = cell(r.provider, x.week);
        c.people.add(r.person);
        if (x.fact === 'vital-sign') c.vitalSigns++;
        if (x.fact === 'news2-high') c.news2High++;
      }
    }
    for (const x of shared.values()) if (x.week) { const c = cell(x.provider, x.week); if (x.person) c.people.add(x.person); }
    const model = [...cells].map(([id, c]) => ({ provider: id.split('|')[0], week: id.split('|')[1], residents: c.people.size, vitalSigns: c.vitalSigns, news2High: c.news2High, hospitalTransfers: 0 }));
    const byCell = (a: AggregateRow, b: AggregateRow) => `${a.provider}${a.week}`.localeCompare(`${b.provider}${b.week}`);
    expect(store.aggregates().sort(byCell)).toEqual(model.sort(byCell));
  });
});

describe('the ingest hook', () => {
  it('never fails the accepted request: a store failure is logged without personal data', () => {
    const logged: string[] = [];
    const sink = new PassThrough();
    sink.on('data', (c: Buffer) => logged.push(c.toString()));
    const broken = new ResearchStore(path.join(dir, 'broken.sqlite'));
    broken.close();
    const hook = createResearchFeed({ store: broken, deidentifier: new Deidentifier(loadRules(), pseudonyms), pseudonyms, logger: createLogger('error', sink) });
    expect(() => hook([{ record: record(PEOPLE[0], 'OBS-X'), resources: [pulse(PEOPLE[0], 'OBS-X')] }])).not.toThrow();
    expect(logged.join('')).toContain('research store write failed');
    expect(logged.join('')).not.toContain(PEOPLE[0]);
  });
});

describe('the pseudonym secret', () => {
  it('is generated once, readable only by its owner, and reused', () => {
    const file = path.join(dir, 'generated', 'secret');
    const first = loadPseudonymSecret({ generatedFile: file });
    const second = loadPseudonymSecret({ generatedFile: file });
    expect(first.generated).toBe(true);
    expect(second.generated).toBe(false);
    expect(second.secret.equals(first.secret)).toBe(true);
    expect(fs.statSync(file).mode & 0o077).toBe(0);
  });

  it('is refused when it is too short or others can read its file', () => {
    expect(() => loadPseudonymSecret({ secret: 'short', generatedFile: path.join(dir, 'x') })).toThrow('at least 32');
    const file = path.join(dir, 'open-secret');
    fs.writeFileSync(file, 'x'.repeat(40), { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    expect(() => loadPseudonymSecret({ secretFile: file, generatedFile: path.join(dir, 'x') })).toThrow('chmod 600');
  });
});
