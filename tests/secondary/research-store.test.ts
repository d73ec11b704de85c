/**
 * The research store and extracts on a real SQLite file, fed through the ingest hook as the gateway feeds
 * it: pseudonyms per project, opt-outs applied at read time, a new version replacing the old.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type { Resource } from 'fhir/r4';
import type { ProviderRecord } from '../../src/map/map-record';
import { createLogger } from '../../src/observability/logger';
import { Deidentifier } from '../../src/secondary/deidentify';
import { loadRules, parseRules } from '../../src/secondary/deidentify-rules';
import { Extracts } from '../../src/secondary/extract';
import { Pseudonyms } from '../../src/secondary/pseudonyms';
import { writeAccepted, type ResearchFeed, type ResearchFeedDeps } from '../../src/secondary/research-feed';
import { ResearchStore } from '../../src/secondary/research-store';
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
