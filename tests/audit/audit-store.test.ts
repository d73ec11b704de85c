import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { auditEvent } from '../../src/audit/audit-event';
import { AuditStore } from '../../src/audit/audit-store';
import type { Caller } from '../../src/auth/caller';

const PERSON = '9434765919';
const OTHER = '9000000009';
const gp: Caller = { kind: 'clinician', userId: 'cis2-555021935107', odsCode: 'Y12345', role: 'R8000', scopes: ['user/*.read'] };
const otherGp: Caller = { kind: 'clinician', userId: 'cis2-999', odsCode: 'A81001', role: 'R8000', scopes: ['user/*.read'] };
const provider: Caller = { kind: 'provider', clientId: 'care-home-system', odsCode: 'VNAA1', scopes: ['system/*.write'] };
const app: Caller = { kind: 'patient-app', clientId: 'nhs-app-client', nhsNumber: PERSON, scopes: ['patient/AuditEvent.read'] };
const at = (minute: number): Date => new Date(Date.UTC(2026, 10, 24, 10, minute));

let dir: string;
let file: string;
let store: AuditStore;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crg-audit-'));
  file = path.join(dir, 'audit.sqlite');
  store = new AuditStore(file);
});

afterEach(() => {
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function seed(): void {
  store.append(auditEvent({ caller: provider, action: 'create', outcome: 'success', nhsNumber: PERSON, description: 'resident', recorded: at(1) }));
  store.append(auditEvent({ caller: gp, action: 'execute', outcome: 'success', nhsNumber: PERSON, description: '$everything', recorded: at(2) }));
  store.append(auditEvent({ caller: otherGp, action: 'search', outcome: 'refused', nhsNumber: PERSON, description: 'not registered', recorded: at(3) }));
  store.append(auditEvent({
    caller: otherGp, action: 'execute', outcome: 'success', nhsNumber: PERSON, description: '$everything',
    breakGlassReason: 'Unconscious in A&E; daughter Jane Example says no GP contact', recorded: at(4),
  }));
  store.append(auditEvent({ action: 'read', outcome: 'refused', nhsNumber: PERSON, description: 'no token', recorded: at(5) }));
  store.append(auditEvent({ caller: app, action: 'read', outcome: 'success', nhsNumber: PERSON, description: 'transparency', recorded: at(6) }));
  // About someone else, and about no one.
  store.append(auditEvent({ caller: gp, action: 'read', outcome: 'success', nhsNumber: OTHER, description: 'read', recorded: at(7) }));
  store.append(auditEvent({ caller: { kind: 'operator', userId: 'ops-1', scopes: [] }, action: 'execute', outcome: 'success', description: 'replay', recorded: at(8) }));
}

describe('append-only audit store', () => {
  it('lists who used a person\'s record, newest first, with organisation, role, what and why', () => {
    seed();
    expect(store.forPerson(PERSON)).toEqual([
      { when: at(6).toISOString(), who: { role: 'App acting for the person' }, what: 'Viewed the list of who used the record',
        why: 'The person asked to see who used their record', outcome: 'success', breakGlass: false },
      { when: at(5).toISOString(), who: { role: 'Unauthenticated caller' }, what: 'Viewed the shared care record',
        why: 'Not stated', outcome: 'refused', breakGlass: false },
      { when: at(4).toISOString(), who: { organisation: 'A81001', role: 'Clinician (R8000)' }, what: 'Retrieved the shared care record',
        why: 'Emergency access (break-glass); the stated reason is recorded and reviewed', outcome: 'success', breakGlass: true },
      { when: at(3).toISOString(), who: { organisation: 'A81001', role: 'Clinician (R8000)' }, what: 'Looked up the person in the shared care record',
        why: 'Direct care by the GP practice the person is registered with', outcome: 'refused', breakGlass: false },
      { when: at(2).toISOString(), who: { organisation: 'Y12345', role: 'Clinician (R8000)' }, what: 'Retrieved the shared care record',
        why: 'Direct care by the GP practice the person is registered with', outcome: 'success', breakGlass: false },
      { when: at(1).toISOString(), who: { organisation: 'VNAA1', role: 'Care provider system' }, what: 'Sent information to the shared care record',
        why: 'The care provider shared information about the person', outcome: 'success', breakGlass: false },
    ]);
  });

  it('never shows user ids, client ids, free text or other people in a person\'s log', () => {
    seed();
    const text = JSON.stringify(store.forPerson(PERSON));
    for (const secret of ['cis2-555021935107', 'cis2-999', 'care-home-system', 'nhs-app-client', 'ops-1', OTHER, 'Jane', '$everything', 'not registered']) {
      expect(text).not.toContain(secret);
    }
    expect(store.forPerson(OTHER)).toHaveLength(1);
  });

  it('finds a person by an NHS number written with spaces, and nobody by an invalid one', () => {
    seed();
    expect(store.forPerson('943 476 5919')).toHaveLength(6);
    expect(store.forPerson('9434765918')).toEqual([]);
    expect(store.forPerson('')).toEqual([]);
    expect(store.forPerson(PERSON, { limit: 2 })).toHaveLength(2);
  });

  it('keeps events across close and reopen, whole', () => {
    const event = auditEvent({ caller: gp, action: 'read', outcome: 'success', nhsNumber: PERSON, description: 'read', recorded: at(1) });
    store.append(event);
    store.close();
    store = new AuditStore(file);
    expect(store.forPerson(PERSON)).toHaveLength(1);
    const db = new Database(file, { readonly: true });
    try {
      const row = db.prepare('SELECT event FROM audit_events WHERE id = ?').get(event.id) as { event: string };
      expect(JSON.parse(row.event)).toEqual(event);
    } finally {
      db.close();
    }
  });

  it('refuses UPDATE and DELETE in the database itself, whoever connects', () => {
    seed();
    const db = new Database(file);
    try {
      for (const sql of [
        "UPDATE audit_events SET outcome = '0'",
        'DELETE FROM audit_events',
        "UPDATE audit_event_people SET nhs_number = '9000000009'",
        'DELETE FROM audit_event_people',
        "INSERT OR REPLACE INTO audit_events (seq, id, recorded, action, outcome, caller_kind, event) SELECT seq, id, recorded, action, '0', caller_kind, event FROM audit_events",
        "REPLACE INTO audit_event_people (nhs_number, recorded, event_seq) SELECT nhs_number, recorded, event_seq FROM audit_event_people",
        "INSERT INTO audit_events (id, recorded, action, outcome, caller_kind, event) SELECT id, recorded, action, '0', caller_kind, event FROM audit_events LIMIT 1 ON CONFLICT (id) DO UPDATE SET outcome = '0'",
      ]) {
        expect(() => db.exec(sql)).toThrow(/append-only|constraint/i);
      }
      expect((db.prepare('SELECT count(*) AS n FROM audit_events').get() as { n: number }).n).toBe(8);
    } finally {
      db.close();
    }
    expect(store.forPerson(PERSON)).toHaveLength(6);
  });

  it('refuses an event whose id it already holds, and malformed events', () => {
    const event = auditEvent({ caller: gp, action: 'read', outcome: 'success', nhsNumber: PERSON, description: 'read' });
    store.append(event);
    expect(() => store.append(event)).toThrow(/append-only/);
    expect(() => store.append({ ...event, id: undefined })).toThrow('needs an id');
    expect(() => store.append({ ...event, id: 'x', recorded: 'yesterday' })).toThrow('instant');
    expect(store.forPerson(PERSON)).toHaveLength(1);
  });

  it('leaves user_version alone, so it can share a database file with the outbox', () => {
    const db = new Database(file, { readonly: true });
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(0);
    } finally {
      db.close();
    }
  });
});

describe('audit store durability setting', () => {
  it('keeps appends across reopen when opened with normal durability too', () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'crg-audit-'));
    try {
      const target = path.join(folder, 'audit.sqlite');
      const normal = new AuditStore(target, { durability: 'normal' });
      normal.append(auditEvent({ caller: gp, action: 'read', outcome: 'success', nhsNumber: PERSON, description: 'read' }));
      normal.close();
      const reopened = new AuditStore(target);
      expect(reopened.forPerson(PERSON)).toHaveLength(1);
      reopened.close();
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe('appending off the event loop (appendAllSynced)', () => {
  it('has the whole batch in the log file, readable by another connection, once it resolves', async () => {
    const events = [PERSON, OTHER].map((n) => auditEvent({ caller: gp, action: 'read', outcome: 'success', nhsNumber: n, description: 'read' }));
    await store.appendAllSynced(events);
    const wal = fs.readFileSync(`${file}-wal`).toString('latin1');
    for (const event of events) expect(wal).toContain(event.id);
    const db = new Database(file, { readonly: true });
    try {
      expect(db.prepare('SELECT count(*) AS n FROM audit_events').get()).toEqual({ n: 2 });
    } finally {
      db.close();
    }
  });

  it('keeps a resolved batch when the process is killed straight after', () => {
    const script = `
      const { AuditStore } = require('./src/audit/audit-store');
      const { auditEvent } = require('./src/audit/audit-event');
      const store = new AuditStore(${JSON.stringify(file)});
      const event = auditEvent({ action: 'read', outcome: 'refused', nhsNumber: '${PERSON}', description: 'no token' });
      store.appendAllSynced([event]).then(() => process.kill(process.pid, 'SIGKILL'));`;
    const run = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: path.join(__dirname, '..', '..') });
    expect(run.signal).toBe('SIGKILL');
    expect(store.forPerson(PERSON)).toHaveLength(1);
  });

  it('refuses the whole batch when one event was stored before', async () => {
    const known = auditEvent({ caller: gp, action: 'read', outcome: 'success', nhsNumber: PERSON, description: 'read' });
    store.append(known);
    const fresh = auditEvent({ caller: gp, action: 'read', outcome: 'success', nhsNumber: OTHER, description: 'read' });
    // Matched by message: better-sqlite3's error class may come from another test file's realm.
    const refusal = await store.appendAllSynced([fresh, known]).then(() => undefined, (err: unknown) => err);
    expect((refusal as { message?: string } | undefined)?.message).toMatch(/append-only|UNIQUE/);
    expect(store.forPerson(OTHER)).toEqual([]);
  });
});
