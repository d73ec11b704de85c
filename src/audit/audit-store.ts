/**
 * The audit trail, append-only in SQLite (better-sqlite3): every AuditEvent is stored whole, with the few
 * columns the transparency log needs beside it. Triggers make the database itself refuse UPDATE and DELETE,
 * so no code path in the gateway (or a stray SQL session) can rewrite history.
 *
 * The schema uses its own tables and never PRAGMA user_version, so it can share a file with the outbox.
 *
 * forPerson(nhsNumber) is the transparency view: who (organisation ODS code and role, never a user id),
 * when, what (a fixed phrase per interaction, never the free-text description) and why (direct care,
 * break-glass, or the caller's own purpose) for every event about that person, and nothing else.
 */
import Database from 'better-sqlite3';
import type { AuditEvent, AuditEventAgent } from 'fhir/r4';
import { checkNhsNumber } from '../ingest/nhs-number';
import { NHS_NUMBER_SYSTEM, ODS_CODE_SYSTEM } from '../map/identifiers';
import { CALLER_KIND_DISPLAY, CALLER_KIND_SYSTEM, SDS_JOB_ROLE_SYSTEM } from './audit-event';
import { WalSync } from '../outbox/wal-sync';
import { setCheckpointMark } from '../outbox/wal-checkpoints';

export interface TransparencyEntry {
  /** When it happened (ISO 8601 instant). */
  when: string;
  /** Which organisation (ODS code, when the caller acts for one) and in what role. */
  who: { organisation?: string; role: string };
  /** What was done, in plain words. */
  what: string;
  /** Why: direct care by the registered practice, emergency (break-glass) access, or the caller's purpose. */
  why: string;
  outcome: 'success' | 'refused' | 'error';
  /** True when the record was opened by break-glass; such accesses are flagged for review. */
  breakGlass: boolean;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS audit_events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT    NOT NULL UNIQUE,
    recorded     TEXT    NOT NULL,            -- ISO instant, as in the event
    action       TEXT    NOT NULL,            -- restful-interaction code: create, read, search-type, operation
    outcome      TEXT    NOT NULL,            -- 0, 4, 8, 12
    caller_kind  TEXT    NOT NULL,
    caller_ods   TEXT,
    caller_role  TEXT,
    purpose      TEXT,                        -- v3-ActReason code: TREAT, BTG
    event        TEXT    NOT NULL             -- the AuditEvent JSON
  );
  -- Which people each event is about; recorded is repeated so a person's newest events come off the index.
  CREATE TABLE IF NOT EXISTS audit_event_people (
    nhs_number   TEXT    NOT NULL,
    recorded     TEXT    NOT NULL,
    event_seq    INTEGER NOT NULL REFERENCES audit_events (seq),
    PRIMARY KEY (nhs_number, recorded, event_seq)
  ) WITHOUT ROWID;
  CREATE TRIGGER IF NOT EXISTS audit_events_no_update BEFORE UPDATE ON audit_events
    BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
  CREATE TRIGGER IF NOT EXISTS audit_events_no_delete BEFORE DELETE ON audit_events
    BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
  -- INSERT OR REPLACE deletes the old row without firing DELETE triggers (unless recursive_triggers is on
  -- in that connection), so an insert that would collide with a stored row is refused outright.
  CREATE TRIGGER IF NOT EXISTS audit_events_no_replace BEFORE INSERT ON audit_events
    WHEN EXISTS (SELECT 1 FROM audit_events WHERE seq = NEW.seq OR id = NEW.id)
    BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
  CREATE TRIGGER IF NOT EXISTS audit_event_people_no_replace BEFORE INSERT ON audit_event_people
    WHEN EXISTS (SELECT 1 FROM audit_event_people
                  WHERE nhs_number = NEW.nhs_number AND recorded = NEW.recorded AND event_seq = NEW.event_seq)
    BEGIN SELECT RAISE(ABORT, 'audit_event_people is append-only'); END;
  CREATE TRIGGER IF NOT EXISTS audit_event_people_no_update BEFORE UPDATE ON audit_event_people
    BEGIN SELECT RAISE(ABORT, 'audit_event_people is append-only'); END;
  CREATE TRIGGER IF NOT EXISTS audit_event_people_no_delete BEFORE DELETE ON audit_event_people
    BEGIN SELECT RAISE(ABORT, 'audit_event_people is append-only'); END;
`;

const RECORD_USE: Record<string, string> = {
  create: 'Sent information to the shared care record',
  read: 'Viewed the shared care record',
  'search-type': 'Looked up the person in the shared care record',
  operation: 'Retrieved the shared care record',
};
const OUTCOME: Record<string, TransparencyEntry['outcome']> = { '0': 'success', '4': 'refused', '8': 'error', '12': 'error' };

interface Row {
  recorded: string;
  action: string;
  outcome: string;
  caller_kind: string;
  caller_ods: string | null;
  caller_role: string | null;
  purpose: string | null;
}

export class AuditEventError extends Error {
  override name = 'AuditEventError';
}

function requestor(event: AuditEvent): AuditEventAgent | undefined {
  return event.agent.find((a) => a.requestor) ?? event.agent[0];
}

function callerKind(agent: AuditEventAgent | undefined): string {
  const code = agent?.role?.flatMap((r) => r.coding ?? []).find((c) => c.system === CALLER_KIND_SYSTEM)?.code;
  return code && code in CALLER_KIND_DISPLAY ? code : 'unauthenticated';
}

function people(event: AuditEvent): string[] {
  const numbers = (event.entity ?? [])
    .map((e) => e.what?.identifier)
    .filter((id) => id?.system === NHS_NUMBER_SYSTEM && typeof id.value === 'string')
    .map((id) => checkNhsNumber(id?.value))
    .flatMap((r) => (r.ok ? [r.value] : []));
  return [...new Set(numbers)];
}

function what(row: Row): string {
  switch (row.caller_kind) {
    case 'patient-app':
      return 'Viewed the list of who used the record';
    case 'operator':
      if (row.action === 'read' || row.action === 'search-type') return 'Viewed the list of who used the record';
      return 'Maintained the service that sends information to the shared care record';
    case 'provider':
      return row.action === 'create' ? RECORD_USE.create : 'Checked information it had sent';
    default:
      return RECORD_USE[row.action] ?? 'Used the shared care record';
  }
}

function why(row: Row): string {
  if (row.purpose === 'BTG') return 'Emergency access (break-glass); the stated reason is recorded and reviewed';
  if (row.purpose === 'TREAT') return 'Direct care by the GP practice the person is registered with';
  switch (row.caller_kind) {
    case 'provider':
      return 'The care provider shared information about the person';
    case 'operator':
      return 'Running the gateway service';
    case 'patient-app':
      return 'The person asked to see who used their record';
    default:
      return 'Not stated';
  }
}

export class AuditStore {
  private readonly db: Database.Database;
  private readonly insertEvent: Database.Statement;
  private readonly insertPerson: Database.Statement;
  private readonly selectForPerson: Database.Statement<[string, number], Row>;
  private readonly appendTx: (event: AuditEvent) => void;
  private readonly appendAllTx: (events: AuditEvent[]) => void;
  /** Durability 'full' on a WAL file: how appendAllSynced makes its commit durable off the event loop. */
  private readonly wal?: WalSync;

  /**
   * durability 'full' (default) syncs every append to disk before it returns: 1 to 4 ms per append on
   * this machine's ext4 disk, blocking the event loop. 'normal' (WAL, synchronous = NORMAL) survives a
   * gateway crash but may lose the last appends on power loss: 0.2 to 0.4 ms per append.
   */
  /** `checkpointPages`: this connection's wal_autocheckpoint mark (see src/outbox/wal-checkpoints.ts). */
  constructor(file: string, options: { durability?: 'full' | 'normal'; checkpointPages?: number } = {}) {
    this.db = new Database(file, { timeout: 5000 });
    const wal = this.db.pragma('journal_mode = WAL', { simple: true }) === 'wal';
    this.db.pragma(`synchronous = ${options.durability === 'normal' ? 'NORMAL' : 'FULL'}`);
    setCheckpointMark(this.db, options.checkpointPages);
    this.db.pragma('foreign_keys = ON');
    // SQLite's own default page cache (2 MB), not better-sqlite3's 16 MB: appended to, read rarely (as the
    // research store; see there).
    this.db.pragma('cache_size = -2000');
    this.db.exec(SCHEMA);
    if (wal && options.durability !== 'normal') this.wal = new WalSync(file);
    this.insertEvent = this.db.prepare(
      `INSERT INTO audit_events (id, recorded, action, outcome, caller_kind, caller_ods, caller_role, purpose, event)
       VALUES (@id, @recorded, @action, @outcome, @callerKind, @callerOds, @callerRole, @purpose, @event)`,
    );
    this.insertPerson = this.db.prepare(
      'INSERT INTO audit_event_people (nhs_number, recorded, event_seq) VALUES (?, ?, ?)',
    );
    this.selectForPerson = this.db.prepare<[string, number], Row>(
      `SELECT e.recorded, e.action, e.outcome, e.caller_kind, e.caller_ods, e.caller_role, e.purpose
         FROM audit_event_people p JOIN audit_events e ON e.seq = p.event_seq
        WHERE p.nhs_number = ?
        ORDER BY p.recorded DESC, p.event_seq DESC
        LIMIT ?`,
    );
    this.appendTx = this.db.transaction((event: AuditEvent) => {
      const agent = requestor(event);
      const kind = callerKind(agent);
      const organisation = event.agent
        .map((a) => a.who?.identifier)
        .find((id) => id?.system === ODS_CODE_SYSTEM)?.value;
      const role = agent?.role?.flatMap((r) => r.coding ?? []).find((c) => c.system === SDS_JOB_ROLE_SYSTEM)?.code;
      const purpose = event.purposeOfEvent?.flatMap((p) => p.coding ?? []).map((c) => c.code).find((c) => c === 'BTG' || c === 'TREAT');
      const recorded = new Date(event.recorded).toISOString();
      const { lastInsertRowid } = this.insertEvent.run({
        id: event.id,
        recorded,
        action: event.subtype?.[0]?.code ?? event.action ?? 'unknown',
        outcome: event.outcome ?? '0',
        callerKind: kind,
        callerOds: organisation ?? null,
        callerRole: role ?? null,
        purpose: purpose ?? null,
        event: JSON.stringify(event),
      });
      for (const nhsNumber of people(event)) this.insertPerson.run(nhsNumber, recorded, lastInsertRowid);
    });
    this.appendAllTx = this.db.transaction((events: AuditEvent[]) => {
      for (const event of events) this.appendTx(event);
    });
  }

  /** Throws AuditEventError if append() would refuse the event's shape (an id, an instant, agents). */
  static check(event: AuditEvent): void {
    if (event.resourceType !== 'AuditEvent' || !event.id || !event.recorded || !Array.isArray(event.agent)) {
      throw new AuditEventError('An AuditEvent needs an id, recorded and agent');
    }
    if (Number.isNaN(Date.parse(event.recorded))) throw new AuditEventError('AuditEvent.recorded is not an instant');
  }

  /** Stores the event (durably, unless opened with durability 'normal') before returning; a known id is refused. */
  append(event: AuditEvent): void {
    AuditStore.check(event);
    this.appendTx(event);
  }

  /**
   * Stores all the events in one transaction, so one commit (one fsync) for the lot: all are stored or none.
   * Each is checked first, as append() checks it.
   */
  appendAll(events: AuditEvent[]): void {
    for (const event of events) AuditStore.check(event);
    this.appendAllTx(events);
  }

  /**
   * appendAll without the event loop waiting for the disk: commits without a sync (synchronous = NORMAL), then
   * syncs the log that holds the commit on the thread pool. Resolves once the events are as durable as
   * appendAll leaves them; a crash before then loses the whole batch or none of it, never a part. Callers must
   * not answer for these events before it resolves. Without a WAL file (':memory:') it is appendAll.
   */
  async appendAllSynced(events: AuditEvent[]): Promise<void> {
    if (!this.wal) {
      this.appendAll(events);
      return;
    }
    for (const event of events) AuditStore.check(event);
    this.db.pragma('synchronous = NORMAL');
    try {
      this.appendAllTx(events);
    } finally {
      this.db.pragma('synchronous = FULL');
    }
    await this.wal.sync();
  }

  /** The person's transparency log, newest first: about them only, with no user ids and no free text. */
  forPerson(nhsNumber: string, options: { limit?: number } = {}): TransparencyEntry[] {
    const checked = checkNhsNumber(nhsNumber);
    if (!checked.ok) return [];
    const limit = Math.min(Math.max(1, Math.floor(options.limit ?? 1000)), 10_000);
    return this.selectForPerson.all(checked.value, limit).map((row) => {
      const who: TransparencyEntry['who'] = {
        role: row.caller_kind === 'clinician' && row.caller_role
          ? `${CALLER_KIND_DISPLAY.clinician} (${row.caller_role})`
          : CALLER_KIND_DISPLAY[row.caller_kind as keyof typeof CALLER_KIND_DISPLAY],
      };
      if (row.caller_ods) who.organisation = row.caller_ods;
      return {
        when: row.recorded,
        who,
        what: what(row),
        why: why(row),
        outcome: OUTCOME[row.outcome] ?? 'error',
        breakGlass: row.purpose === 'BTG',
      };
    });
  }

  close(): void {
    this.wal?.close();
    this.db.close();
  }
}
