/**
 * The research store: de-identified resources (no NHS number, name, address or free text is ever written
 * here) and the National Data Opt-out list as internal pseudonyms, in their own SQLite file (WAL), apart
 * from the outbox. People are keyed by internal pseudonym; opt-outs are applied when an extract is read, so
 * one registered after the data arrived still removes that person.
 *
 * One row per provider record, holding all the resources that record owns as one JSON array, because the
 * write is the gateway's largest single cost and a row per resource cost twice the CPU (bench/PERFORMANCE.md,
 * session 8). Resources more than one record can carry (the resident's Patient by NHS number, the care
 * home's Organization by ODS code) are kept once each, by identity, in a second table.
 */
import Database from 'better-sqlite3';
import { ODS_CODE_SYSTEM } from '../map/identifiers';
import { setCheckpointMark } from '../outbox/wal-checkpoints';
import { PSEUDONYM_SYSTEM } from './pseudonyms';

/** A de-identified resource and what the aggregates count it as. */
export interface StoredResource {
  /** Hash of the resource's identity: its id in every extract, re-keyed per project. */
  resourceKey: string;
  resourceType: string;
  fact?: string;
  /** ISO week of the event. */
  week?: string;
  resource: object;
}

/** A resource other records may carry too: written by identity, the latest version kept. */
export interface SharedResource extends StoredResource {
  /** Internal pseudonym of the person it is about; undefined for an Organization. */
  person?: string;
  provider: string;
  /** Sent as a conditional create: another record type keeps it whole, so it never replaces a stored one. */
  createOnly?: boolean;
}

/** One provider record's de-identified resources: a later version replaces all that the earlier one owned. */
export interface ResearchRecord {
  /** Hash of the provider record's identity. */
  recordKey: string;
  /** Internal pseudonym of the person the record is about; undefined for records about no one person. */
  person?: string;
  provider: string;
  /** The resources only this record carries. */
  resources: StoredResource[];
  shared: SharedResource[];
}

/** Records accepted together, with the time they were accepted (each row's updated_at). */
export interface ResearchBatch {
  records: ResearchRecord[];
  at: Date;
}

/** Where an extract stops in each table: rows written after its plan are left to the next one. */
export interface ExtractCut {
  records: number;
  shared: number;
}

/** Where an extract has read to: the shared resources are read first, then the records. */
export interface ExtractCursor {
  table: 'shared' | 'records';
  seq: number;
}

/** The start of an extract. */
export const EXTRACT_START: ExtractCursor = { table: 'shared', seq: 0 };

/** How much one page of an extract reads: rows, and characters of stored JSON. */
export interface PageSize {
  rows: number;
  bytes: number;
}

/** Reads rows one by one until `bytes` of them are read: the row that passes it is the page's last. */
function readUpTo<Row>(statement: Database.Statement, params: unknown[], sizeOf: (row: Row) => number, bytes: number): Row[] {
  const rows: Row[] = [];
  let read = 0;
  for (const row of statement.iterate(...params) as IterableIterator<Row>) {
    rows.push(row);
    read += sizeOf(row);
    if (read >= bytes) break;
  }
  return rows;
}

export interface ExtractRow {
  resourceKey: string;
  resource: object;
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
  CREATE TABLE IF NOT EXISTS records (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    record_key    TEXT NOT NULL UNIQUE,
    person        TEXT,                 -- internal pseudonym, never an NHS number
    provider      TEXT NOT NULL,        -- care provider ODS code
    updated_at    TEXT NOT NULL,        -- ISO instant it was last written
    tally         TEXT NOT NULL,        -- JSON [{week, fact, n}]: what the aggregates count, per ISO week
    resources     TEXT NOT NULL         -- JSON [{key, resource}]: the de-identified resources
  );
  CREATE TABLE IF NOT EXISTS shared_resources (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    resource_key  TEXT NOT NULL UNIQUE,
    person        TEXT,
    provider      TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    fact          TEXT,
    week          TEXT,
    updated_at    TEXT NOT NULL,
    resource      TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS opt_outs (
    person        TEXT PRIMARY KEY,     -- internal pseudonym of the NHS number registered
    registered_at TEXT NOT NULL
  );
`;

/** Per ISO week and fact, how many of a record's resources fall there: all the aggregates need of them. */
function tally(resources: StoredResource[]): string {
  const cells = new Map<string, { week: string; fact?: string; n: number }>();
  for (const r of resources) {
    if (r.week === undefined) continue;
    const id = `${r.week}|${r.fact ?? ''}`;
    const cell = cells.get(id);
    if (cell) cell.n++;
    else cells.set(id, { week: r.week, fact: r.fact, n: 1 });
  }
  return JSON.stringify([...cells.values()]);
}

/** What opening a store in the row-per-resource layout moved (about 50 µs a resource on the bench machine). */
export interface Migration {
  resources: number;
  records: number;
  ms: number;
}

/**
 * The layout before one row per record kept a row per resource (table `resources`). Moves it across in one
 * transaction: a resource identified by a pseudonym or an ODS code goes to shared_resources, the rest into
 * its record's row, in the order they were written. For today's mappings this is the split research-feed.ts
 * makes (only Patients and Organizations have an identity other than their provider record's).
 */
function migrateRowPerResource(db: Database.Database): Migration | undefined {
  const count = (table: string) => (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
  const shared = (table: string) => `COALESCE(json_extract(${table}.resource, '$.identifier[0].system'), '') IN ('${PSEUDONYM_SYSTEM}', '${ODS_CODE_SYSTEM}')`;
  const started = Date.now();
  // Looked for inside the write transaction, so two connections opening one file move it once.
  return db.transaction((): Migration | undefined => {
    if (!db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'resources'").get()) return undefined;
    const resources = count('resources');
    db.exec(`
      INSERT INTO shared_resources (resource_key, person, provider, resource_type, fact, week, updated_at, resource)
        SELECT resource_key, person, provider, resource_type, fact, week, updated_at, resource FROM resources
        WHERE ${shared('resources')} ORDER BY seq;
      INSERT INTO records (record_key, person, provider, updated_at, tally, resources)
        SELECT o.record_key, MAX(o.person), MAX(o.provider), MAX(o.updated_at),
          (SELECT json_group_array(json_object('week', week, 'fact', fact, 'n', n)) FROM (
             SELECT week, fact, COUNT(*) AS n FROM resources t
             WHERE t.record_key = o.record_key AND t.week IS NOT NULL AND NOT (${shared('t')})
             GROUP BY week, fact)),
          json_group_array(json_object('key', o.resource_key, 'resource', json(o.resource)) ORDER BY o.seq)
        FROM resources o WHERE NOT (${shared('o')})
        GROUP BY o.record_key ORDER BY MIN(o.seq);
      DROP TABLE resources;`);
    return { resources, records: count('records'), ms: Date.now() - started };
  }).immediate();
}


export class ResearchStore {
  private readonly db: Database.Database;
  private readonly writeTx: (batches: ResearchBatch[]) => void;
  private readonly insertOptOut: Database.Statement;
  /** Set when opening moved a row-per-resource store into this layout. */
  readonly migrated?: Migration;

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
    this.migrated = migrateRowPerResource(this.db);
    const upsertRecord = this.db.prepare(`
      INSERT INTO records (record_key, person, provider, updated_at, tally, resources)
      VALUES (@recordKey, @person, @provider, @updatedAt, @tally, @resources)
      ON CONFLICT (record_key) DO UPDATE SET person = excluded.person, provider = excluded.provider,
        updated_at = excluded.updated_at, tally = excluded.tally, resources = excluded.resources`);
    const dropRecord = this.db.prepare('DELETE FROM records WHERE record_key = ?');
    const sharedColumns = `(resource_key, person, provider, resource_type, fact, week, updated_at, resource)
      VALUES (@resourceKey, @person, @provider, @resourceType, @fact, @week, @updatedAt, @resource)`;
    const upsertShared = this.db.prepare(`INSERT INTO shared_resources ${sharedColumns}
      ON CONFLICT (resource_key) DO UPDATE SET person = excluded.person, provider = excluded.provider,
        resource_type = excluded.resource_type, fact = excluded.fact, week = excluded.week,
        updated_at = excluded.updated_at, resource = excluded.resource`);
    const insertSharedIfNone = this.db.prepare(`INSERT INTO shared_resources ${sharedColumns} ON CONFLICT (resource_key) DO NOTHING`);

    const writeRecord = (record: ResearchRecord, updatedAt: string) => {
      for (const r of record.shared) {
        (r.createOnly ? insertSharedIfNone : upsertShared).run({
          resourceKey: r.resourceKey,
          person: r.person ?? null,
          provider: r.provider,
          resourceType: r.resourceType,
          fact: r.fact ?? null,
          week: r.week ?? null,
          updatedAt,
          resource: JSON.stringify(r.resource),
        });
      }
      // A version that owns no resources leaves no row, so nothing of the earlier version stays behind.
      if (record.resources.length === 0) {
        dropRecord.run(record.recordKey);
        return;
      }
      upsertRecord.run({
        recordKey: record.recordKey,
        person: record.person ?? null,
        provider: record.provider,
        updatedAt,
        tally: tally(record.resources),
        resources: JSON.stringify(record.resources.map((r) => ({ key: r.resourceKey, resource: r.resource }))),
      });
    };
    this.writeTx = this.db.transaction((batches: ResearchBatch[]) => {
      for (const batch of batches) {
        const at = batch.at.toISOString();
        for (const record of batch.records) writeRecord(record, at);
      }
    });
    this.insertOptOut = this.db.prepare('INSERT INTO opt_outs (person, registered_at) VALUES (?, ?) ON CONFLICT (person) DO NOTHING');
  }

  /** Writes the records in one transaction, each replacing what its earlier versions wrote. */
  write(records: ResearchRecord[], at: Date = new Date()): void {
    this.writeTx([{ records, at }]);
  }

  /** Writes several batches in one transaction, in order, each stamped with its own time. */
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

  /** The highest row numbers now: an extract reads up to them, so its count and its rows describe one cut. */
  cut(): ExtractCut {
    const last = (table: string) => (this.db.prepare(`SELECT COALESCE(MAX(seq), 0) AS seq FROM ${table}`).get() as { seq: number }).seq;
    return { records: last('records'), shared: last('shared_resources') };
  }

  /** How many people (not opted out) an extract up to `upTo`, of rows written since `since`, holds. */
  people(since: string, upTo: ExtractCut): number {
    const row = this.db
      .prepare(`SELECT COUNT(*) AS n FROM (
                  SELECT person FROM records WHERE seq <= @records AND updated_at >= @since AND person IS NOT NULL
                  UNION
                  SELECT person FROM shared_resources WHERE seq <= @shared AND updated_at >= @since AND person IS NOT NULL)
                WHERE person NOT IN (SELECT person FROM opt_outs)`)
      .get({ since, ...upTo }) as { n: number };
    return row.n;
  }

  /**
   * One page of an extract, shared resources first (the Patients and Organizations the rest refer to), then
   * each record's: rows after `after` (in the table the cursor names), written since `since`, opted-out people
   * left out; up to `size.rows` rows, and no more once `size.bytes` of JSON is read (always one, however large),
   * so a page of large records is as bounded as one of small ones. The cursor of the next page is the last row's.
   */
  page(since: string, after: ExtractCursor, upTo: ExtractCut, size: PageSize): { rows: ExtractRow[]; next?: ExtractCursor } {
    const notOptedOut = '(person IS NULL OR person NOT IN (SELECT person FROM opt_outs))';
    if (after.table === 'shared') {
      const rows = readUpTo<{ seq: number; resourceKey: string; resource: string }>(
        this.db.prepare(`SELECT seq, resource_key AS resourceKey, resource FROM shared_resources
                         WHERE seq > ? AND seq <= ? AND updated_at >= ? AND ${notOptedOut} ORDER BY seq LIMIT ?`),
        [after.seq, upTo.shared, since, size.rows],
        (r) => r.resource.length,
        size.bytes,
      );
      const parsed = rows.map((r) => ({ resourceKey: r.resourceKey, resource: JSON.parse(r.resource) as object }));
      if (rows.length > 0) return { rows: parsed, next: { table: 'shared', seq: rows[rows.length - 1].seq } };
      after = { table: 'records', seq: 0 };
    }
    const records = readUpTo<{ seq: number; resources: string }>(
      this.db.prepare(`SELECT seq, resources FROM records WHERE seq > ? AND seq <= ? AND updated_at >= ? AND ${notOptedOut} ORDER BY seq LIMIT ?`),
      [after.seq, upTo.records, since, size.rows],
      (r) => r.resources.length,
      size.bytes,
    );
    if (records.length === 0) return { rows: [] };
    const rows = records.flatMap(({ resources }) =>
      (JSON.parse(resources) as { key: string; resource: object }[]).map((r) => ({ resourceKey: r.key, resource: r.resource })),
    );
    return { rows, next: { table: 'records', seq: records[records.length - 1].seq } };
  }

  /** Counts per care provider and ISO week, unsuppressed (aggregates.ts suppresses). */
  aggregates(): AggregateRow[] {
    return this.db
      .prepare(`WITH cells (provider, person, week, fact, n) AS (
                  SELECT r.provider, r.person, json_extract(t.value, '$.week'), json_extract(t.value, '$.fact'), json_extract(t.value, '$.n')
                  FROM records r, json_each(r.tally) t
                  UNION ALL
                  SELECT provider, person, week, fact, 1 FROM shared_resources WHERE week IS NOT NULL)
                SELECT provider, week,
                  COUNT(DISTINCT person) AS residents,
                  SUM(CASE WHEN fact = 'vital-sign' THEN n ELSE 0 END) AS vitalSigns,
                  SUM(CASE WHEN fact = 'news2-high' THEN n ELSE 0 END) AS news2High,
                  SUM(CASE WHEN fact = 'hospital-transfer' THEN n ELSE 0 END) AS hospitalTransfers
                FROM cells GROUP BY provider, week ORDER BY provider, week`)
      .all() as AggregateRow[];
  }

  close(): void {
    this.db.close();
  }
}
