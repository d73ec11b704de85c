/** The delivery thread's checkpoints of files the request thread writes with a far checkpoint mark. */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { WalCheckpoints } from '../../src/outbox/wal-checkpoints';
import { tempDir } from './submissions';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.remove());

/** A writer as the request thread's stores open theirs: WAL, and a mark far beyond what this test writes. */
function farMarkWriter(file: string): { db: Database.Database; write: (rows: number) => void } {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('wal_autocheckpoint = 100000');
  db.exec('CREATE TABLE IF NOT EXISTS t (body TEXT)');
  const insert = db.prepare('INSERT INTO t (body) VALUES (?)');
  const write = db.transaction((rows: number) => {
    for (let i = 0; i < rows; i++) insert.run('x'.repeat(4000));
  });
  return { db, write };
}

/** Frames in the log and how many of them are in the database file, read by a checkpoint that copies nothing new. */
function walState(file: string): { log: number; checkpointed: number } {
  const db = new Database(file);
  const [state] = db.pragma('wal_checkpoint(PASSIVE)') as { log: number; checkpointed: number }[];
  db.close();
  return state;
}

describe('WalCheckpoints', () => {
  it('checkpoints a log that its writer leaves to it, so the writer starts the log again', () => {
    const file = tmp.file('audit.sqlite');
    const writer = farMarkWriter(file);
    const checkpoints = new WalCheckpoints([file]);
    try {
      for (let i = 0; i < 10; i++) writer.write(300); // ~3,000 pages: three times SQLite's default mark
      const walBytes = fs.statSync(`${file}-wal`).size;
      expect(walBytes).toBeGreaterThan(8_000_000);
      checkpoints.run();
      // Everything was copied, so the next commit writes from the start of the log.
      writer.write(1);
      expect(walState(file).log).toBeLessThan(20);
    } finally {
      checkpoints.close();
      writer.db.close();
    }
  });

  it('without it, the far mark leaves the whole log in place', () => {
    const file = tmp.file('research.sqlite');
    const writer = farMarkWriter(file);
    try {
      for (let i = 0; i < 10; i++) writer.write(300);
      writer.write(1);
      expect(walState(file).log).toBeGreaterThan(2500);
    } finally {
      writer.db.close();
    }
  });

  it('skips a file its store has not created yet, without creating it, and takes it on once it exists', () => {
    const file = path.join(tmp.dir, 'later', 'research.sqlite');
    const checkpoints = new WalCheckpoints([file]);
    try {
      expect(() => checkpoints.run()).not.toThrow();
      expect(fs.existsSync(file)).toBe(false);
      fs.mkdirSync(path.dirname(file));
      const writer = farMarkWriter(file);
      for (let i = 0; i < 5; i++) writer.write(300);
      checkpoints.run();
      writer.write(1);
      expect(walState(file).log).toBeLessThan(20);
      writer.db.close();
    } finally {
      checkpoints.close();
    }
  });
});
