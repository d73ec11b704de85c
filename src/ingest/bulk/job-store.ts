/**
 * Bulk jobs and their progress (lines read, accepted, rejected, the first issues), in their own small
 * SQLite file, so a caller can follow a large upload from another connection while it streams in.
 */
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import type { OperationOutcomeIssue } from 'fhir/r4';

export type JobState = 'running' | 'completed' | 'failed';

export interface JobStatus {
  id: string;
  providerOds: string;
  state: JobState;
  linesRead: number;
  accepted: number;
  rejected: number;
  /** The first issues found (at most MAX_KEPT_ISSUES); `rejected` counts them all. */
  issues: OperationOutcomeIssue[];
  startedAt: string;
  updatedAt: string;
}

export const MAX_KEPT_ISSUES = 1000;

export class JobStore {
  private readonly db: Database.Database;

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.exec(`CREATE TABLE IF NOT EXISTS jobs (
      id TEXT PRIMARY KEY, provider_ods TEXT NOT NULL, state TEXT NOT NULL,
      lines_read INTEGER NOT NULL, accepted INTEGER NOT NULL, rejected INTEGER NOT NULL,
      issues TEXT NOT NULL, started_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)`);
    // A job left running by a crash did not finish: what it accepted is in the outbox, the rest was not read.
    this.db.prepare("UPDATE jobs SET state = 'failed' WHERE state = 'running'").run();
  }

  create(providerOds: string): JobStatus {
    const now = Date.now();
    const id = randomUUID();
    this.db
      .prepare("INSERT INTO jobs VALUES (?, ?, 'running', 0, 0, 0, '[]', ?, ?)")
      .run(id, providerOds, now, now);
    return this.get(id)!;
  }

  update(job: Pick<JobStatus, 'id' | 'state' | 'linesRead' | 'accepted' | 'rejected' | 'issues'>): void {
    this.db
      .prepare('UPDATE jobs SET state = ?, lines_read = ?, accepted = ?, rejected = ?, issues = ?, updated_at = ? WHERE id = ?')
      .run(job.state, job.linesRead, job.accepted, job.rejected, JSON.stringify(job.issues), Date.now(), job.id);
  }

  get(id: string): JobStatus | undefined {
    const row = this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as Record<string, string | number> | undefined;
    if (!row) return undefined;
    return {
      id: String(row.id),
      providerOds: String(row.provider_ods),
      state: row.state as JobState,
      linesRead: Number(row.lines_read),
      accepted: Number(row.accepted),
      rejected: Number(row.rejected),
      issues: JSON.parse(String(row.issues)) as OperationOutcomeIssue[],
      startedAt: new Date(Number(row.started_at)).toISOString(),
      updatedAt: new Date(Number(row.updated_at)).toISOString(),
    };
  }

  close(): void {
    this.db.close();
  }
}
