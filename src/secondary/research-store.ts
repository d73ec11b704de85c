/**
 * The research store: de-identified resources (no NHS number, name, address or free text is ever written
 * here) and the National Data Opt-out list as internal pseudonyms, in their own SQLite file (WAL), apart
 * from the outbox. People are keyed by internal pseudonym; opt-outs are applied when an extract is read, so
 * one registered after the data arrived still removes that person.
 */
import Database from 'better-sqlite3';
import { setCheckpointMark } from '../outbox/wal-checkpoints';

export interface StoredResource {
  /** Hash of the resource's identity: the same resource sent again replaces its row. */
  resourceKey: string;
  /** Hash of the provider record it came from: a new version replaces that record's resources. */
  recordKey: string;
  /** Internal pseudonym of the person it is about; undefined for an Organization. */
  person?: string;
  provider: string;
  resourceType: string;
  fact?: string;
  week?: string;
  resource: object;
}

/** One provider record's de-identified resources, keyed so a later version replaces them. */
export interface ResearchRecord {
  recordKey: string;
  resources: StoredResource[];
}

/** Records accepted together, with the time they were accepted (each row's updated_at). */
export interface ResearchBatch {
  records: ResearchRecord[];
  at: Date;
}

export interface ExtractRow {
  seq: number;
  resourceKey: string;
  person: string | null;
  resource: string;
}

export interface AggregateRow {
  provider: string;
  week: string;
  residents: number;
  vitalSigns: number;
  news2High: number;
  hospitalTransfers: number;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS resources (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    resource_key  TEXT NOT NULL UNIQUE,
    record_key    TEXT NOT NULL,
    person        TEXT,                 -- internal pseudonym, never an NHS number
    provider      TEXT NOT NULL,        -- care provider ODS code
    resource_type TEXT NOT NULL,
    fact          TEXT,                 -- what the aggregates count it as
    week          TEXT,                 -- ISO week of the event
    updated_at    TEXT NOT NULL,        -- ISO instant it was last written
    resource      TEXT NOT NULL         -- de-identified JSON
  );
  CREATE INDEX IF NOT EXISTS resources_by_record ON resources (record_key);
  CREATE INDEX IF NOT EXISTS resources_by_updated ON resources (updated_at);
  CREATE INDEX IF NOT EXISTS resources_by_week ON resources (provider, week);
  CREATE TABLE IF NOT EXISTS opt_outs (
    person        TEXT PRIMARY KEY,     -- internal pseudonym of the NHS number registered
    registered_at TEXT NOT NULL
  );
`;

export class ResearchStore {
  private readonly db: Database.Database;
  private readonly upsert: Database.Statement;
  private readonly writeTx: (batches: ResearchBatch[]) => void;
  private readonly insertOptOut: Database.Statement;

  /** `checkpointPages`: this connection's wal_autocheckpoint mark (see src/outbox/wal-checkpoints.ts). */
  constructor(file: string, options: { checkpointPages?: number } = {}) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // A derived copy: losing the last transaction on power loss is acceptable, an fsync per request is not.
    this.db.pragma('synchronous = NORMAL');
    // SQLite's own default page cache (2 MB), not better-sqlite3's 16 MB: written far more than read, and in a
    // 100,000-record bulk the larger cache was ~12 MB of the gateway's peak RSS with these two below.
    this.db.pragma('cache_size = -2000');
    setCheckpointMark(this.db, options.checkpointPages);
    this.db.exec(SCHEMA);
    this.upsert = this.db.prepare(`
      INSERT INTO resources (resource_key, record_key, person, provider, resource_type, fact, week, updated_at, resource)
      VALUES (@resourceKey, @recordKey, @person, @provider, @resourceType, @fact, @week, @updatedAt, @resource)
      ON CONFLICT (resource_key) DO UPDATE SET record_key = excluded.record_key, person = excluded.person,
        provider = excluded.provider, resource_type = excluded.resource_type, fact = excluded.fact, week = excluded.week,
        updated_at = excluded.updated_at, resource = excluded.resource`);
    const dropOthers = this.db.prepare('DELETE FROM resources WHERE record_key = ? AND updated_at <> ?');
    const writeRecords = (records: ResearchRecord[], at: string) => {
      for (const record of records) {
        for (const r of record.resources) {
          this.upsert.run({
            resourceKey: r.resourceKey,
            recordKey: r.recordKey,
            person: r.person ?? null,
            provider: r.provider,
            resourceType: r.resourceType,
            fact: r.fact ?? null,
            week: r.week ?? null,
            updatedAt: at,
            resource: JSON.stringify(r.resource),
          });
        }
        // A resource the new version of a record no longer has goes too.
        dropOthers.run(record.recordKey, at);
      }
    };
    this.writeTx = this.db.transaction((batches: ResearchBatch[]) => {
      for (const batch of batches) writeRecords(batch.records, batch.at.toISOString());
    });
    this.insertOptOut = this.db.prepare('INSERT INTO opt_outs (person, registered_at) VALUES (?, ?) ON CONFLICT (person) DO NOTHING');
  }

  /** Writes each record's resources in one transaction, replacing what earlier versions wrote. */
  write(records: ResearchRecord[], at: Date = new Date()): void {
    this.writeTx([{ records, at }]);
  }

  /**
   * Writes several batches in one transaction, in order, each stamped with its own time: a later batch's
   * version of a record replaces an earlier one's only if its time is later, so give batches distinct times.
   */
  writeAll(batches: ResearchBatch[]): void {
    this.writeTx(batches);
  }

  /** Registers opt-outs by internal pseudonym; returns how many were new. */
  addOptOuts(people: string[], at: Date = new Date()): number {
    let added = 0;
    this.db.transaction(() => {
      for (const person of people) added += this.insertOptOut.run(person, at.toISOString()).changes;
    })();
    return added;
  }

  removeOptOuts(people: string[]): number {
    const remove = this.db.prepare('DELETE FROM opt_outs WHERE person = ?');
    let removed = 0;
    this.db.transaction(() => {
      for (const person of people) removed += remove.run(person).changes;
    })();
    return removed;
  }

  optOutCount(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM opt_outs').get() as { n: number }).n;
  }

  /** The highest row number now: an extract reads up to it, so its count and its rows describe one cut. */
  lastSeq(): number {
    return (this.db.prepare('SELECT COALESCE(MAX(seq), 0) AS seq FROM resources').get() as { seq: number }).seq;
  }

  /** How many people (not opted out) an extract up to `upTo`, of rows written since `since`, holds. */
  people(since: string, upTo: number): number {
    const row = this.db
      .prepare(`SELECT COUNT(DISTINCT person) AS n FROM resources WHERE seq <= ? AND updated_at >= ? AND person IS NOT NULL
                AND person NOT IN (SELECT person FROM opt_outs)`)
      .get(upTo, since) as { n: number };
    return row.n;
  }

  /** One page of an extract: rows after `after`, up to `upTo`, written since `since`, opted-out people left out. */
  page(since: string, after: number, upTo: number, limit: number): ExtractRow[] {
    return this.db
      .prepare(`SELECT seq, resource_key AS resourceKey, person, resource FROM resources
                WHERE seq > ? AND seq <= ? AND updated_at >= ?
                  AND (person IS NULL OR person NOT IN (SELECT person FROM opt_outs))
                ORDER BY seq LIMIT ?`)
      .all(after, upTo, since, limit) as ExtractRow[];
  }

  /** Counts per care provider and ISO week, unsuppressed (aggregates.ts suppresses). */
  aggregates(): AggregateRow[] {
    return this.db
      .prepare(`SELECT provider, week,
                  COUNT(DISTINCT person) AS residents,
                  COUNT(CASE WHEN fact = 'vital-sign' THEN 1 END) AS vitalSigns,
                  COUNT(CASE WHEN fact = 'news2-high' THEN 1 END) AS news2High,
                  COUNT(CASE WHEN fact = 'hospital-transfer' THEN 1 END) AS hospitalTransfers
                FROM resources WHERE week IS NOT NULL GROUP BY provider, week ORDER BY provider, week`)
      .all() as AggregateRow[];
  }

  close(): void {
    this.db.close();
  }
}
