import { ConfigError, loadConfig } from '../../src/config';

describe('outbox database configuration', () => {
  it('uses the SQLite outbox when DATABASE_URL is not set', () => {
    const config = loadConfig({});
    expect(config.databaseUrl).toBeUndefined();
    expect(config.outboxPath).toMatch(/outbox\.sqlite$/);
  });

  it.each(['postgres://gw@db.internal:5432/outbox', 'postgresql://gw:secret@db.internal/outbox?sslmode=require'])(
    'accepts the PostgreSQL URL %s',
    (url) => {
      expect(loadConfig({ DATABASE_URL: url }).databaseUrl).toBe(url);
    },
  );

  it('refuses a DATABASE_URL that is not PostgreSQL, without repeating its password', () => {
    const env = { DATABASE_URL: 'mysql://gw:hunter2@db.internal/outbox' };
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(/DATABASE_URL must be a postgres:\/\/ or postgresql:\/\/ URL/);
    expect(() => loadConfig(env)).not.toThrow(/hunter2/);
  });

  it('refuses a DATABASE_URL that is not a URL', () => {
    expect(() => loadConfig({ DATABASE_URL: 'host=db user=gw password=hunter2' })).toThrow(/does not parse as a URL/);
  });

  it('holds a claim for a minute by default, and longer when the SCR time-out is long', () => {
    expect(loadConfig({}).deliveryLeaseMs).toBe(60_000);
    expect(loadConfig({ SCR_TIMEOUT_MS: '40000' }).deliveryLeaseMs).toBe(120_000);
  });

  it('refuses a lease that a send to the SCR could outlast', () => {
    expect(() => loadConfig({ SCR_TIMEOUT_MS: '10000', DELIVERY_LEASE_MS: '5000' })).toThrow(/DELIVERY_LEASE_MS must be longer than SCR_TIMEOUT_MS/);
    expect(loadConfig({ SCR_TIMEOUT_MS: '10000', DELIVERY_LEASE_MS: '15000' }).deliveryLeaseMs).toBe(15_000);
  });
});
