/**
 * The two outbox stores, opened the same way for the shared contract tests: each test gets a fresh store
 * (a SQLite file in a temporary folder, or a throwaway PostgreSQL schema) and can open a second instance on
 * it, as a restarted process or another replica would.
 */
import type { Outbox } from '../../src/outbox/outbox';
import { PostgresOutbox } from '../../src/outbox/postgres-outbox';
import { SqliteOutbox } from '../../src/outbox/sqlite-outbox';
import { throwawaySchema } from '../support/postgres';
import { tempDir } from './submissions';

export interface OpenedStore {
  /** Another instance on the same store: a restarted process, or a second replica. */
  another(): Promise<Outbox>;
  /** Closes every instance opened here and removes the store. */
  remove(): Promise<void>;
}

export interface StoreKind {
  name: string;
  /** How long a crashed claim stays out before recovery may take it back (PostgreSQL: the lease). */
  crashedClaimMs: number;
  open(): Promise<{ outbox: Outbox } & OpenedStore>;
}

/** Short enough for tests to wait out, long enough that no test's own claim runs out under load. */
export const TEST_LEASE_MS = 1500;

export const sqliteStore: StoreKind = {
  name: 'SQLite',
  crashedClaimMs: 0,
  async open() {
    const tmp = tempDir();
    const opened: Outbox[] = [];
    const another = async (): Promise<Outbox> => {
      const outbox = new SqliteOutbox(tmp.file('outbox.sqlite'));
      opened.push(outbox);
      return outbox;
    };
    return {
      outbox: await another(),
      another,
      async remove() {
        for (const o of opened) await o.close();
        tmp.remove();
      },
    };
  },
};

export const postgresStore: StoreKind = {
  name: 'PostgreSQL',
  crashedClaimMs: TEST_LEASE_MS,
  async open() {
    const schema = await throwawaySchema();
    const opened: Outbox[] = [];
    const another = async (): Promise<Outbox> => {
      const outbox = await PostgresOutbox.open({ connectionString: schema.url, leaseMs: TEST_LEASE_MS, poolSize: 4 });
      opened.push(outbox);
      return outbox;
    };
    return {
      outbox: await another(),
      another,
      async remove() {
        for (const o of opened) await o.close();
        await schema.drop();
      },
    };
  },
};

export const STORES = [sqliteStore, postgresStore];
