/**
 * Throwaway PostgreSQL schemas on the test server (127.0.0.1:5432, trust auth, database `test`; see .ci/run).
 * Each caller gets its own schema and a DATABASE_URL whose search_path points at it, so test files and runs
 * never see each other's rows; drop() removes it.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

export const TEST_DATABASE = 'postgresql://postgres@127.0.0.1:5432/test';

export interface ThrowawaySchema {
  name: string;
  /** A DATABASE_URL for the gateway or PostgresOutbox, pinned to this schema. */
  url: string;
  /** Run SQL in the schema (for assertions on rows). */
  query<T extends object>(sql: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

export async function throwawaySchema(): Promise<ThrowawaySchema> {
  const name = `crg_${randomBytes(6).toString('hex')}`;
  const url = `${TEST_DATABASE}?options=${encodeURIComponent(`-c search_path=${name}`)}`;
  const admin = new Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${name}`);
  return {
    name,
    url,
    async query<T extends object>(sql: string, params: unknown[] = []) {
      return (await admin.query<T>(sql, params)).rows;
    },
    async drop() {
      await admin.query(`DROP SCHEMA ${name} CASCADE`);
      await admin.end();
    },
  };
}
