/**
 * Which outbox a gateway uses: PostgreSQL when DATABASE_URL is set (several replicas share its queue), else
 * the embedded SQLite file (one process, nothing to install).
 */
import type { Config } from '../config';
import type { Logger } from '../observability/logger';
import type { Outbox } from './outbox';
import { PostgresOutbox } from './postgres-outbox';
import { SqliteOutbox } from './sqlite-outbox';

export async function openOutbox(
  config: Pick<Config, 'databaseUrl' | 'outboxPath' | 'deliveryLeaseMs'>,
  logger?: Logger,
  sqlite: ConstructorParameters<typeof SqliteOutbox>[1] = {},
): Promise<{ outbox: Outbox; kind: 'postgresql' | 'sqlite' }> {
  if (config.databaseUrl) {
    const outbox = await PostgresOutbox.open({ connectionString: config.databaseUrl, leaseMs: config.deliveryLeaseMs, logger });
    return { outbox, kind: 'postgresql' };
  }
  return { outbox: new SqliteOutbox(config.outboxPath, sqlite), kind: 'sqlite' };
}
