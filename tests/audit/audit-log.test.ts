import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AUDIT_EVENTS_PER_SUBMISSION, AuditLog } from '../../src/audit/audit-log';
import { AuditStore } from '../../src/audit/audit-store';
import type { Caller } from '../../src/auth/caller';
import { SqliteOutbox } from '../../src/outbox/sqlite-outbox';

const provider: Caller = { kind: 'provider', clientId: 'care-home-system', odsCode: 'VNAA1', scopes: ['system/*.write'] };
const PEOPLE = ['9434765919', '9000000009'];

let dir: string;
let store: AuditStore;
let outbox: SqliteOutbox;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crg-audit-log-'));
  store = new AuditStore(path.join(dir, 'audit.sqlite'));
  outbox = new SqliteOutbox(path.join(dir, 'outbox.sqlite'));
});

afterEach(async () => {
  store.close();
  await outbox.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('stores and queues every event of requests that record at the same time, before each call resolves', async () => {
  const log = new AuditLog(store, outbox);
  const calls = Array.from({ length: 20 }, (_, i) =>
    log.record({ caller: provider, action: 'create', outcome: 'success', description: `record ${i}` }, [PEOPLE[i % 2]]).then(async () => {
      // this caller's event is already stored and queued when its promise settles
      expect(store.forPerson(PEOPLE[i % 2]).length).toBeGreaterThan(0);
      expect((await outbox.counts()).queued).toBeGreaterThan(0);
    }),
  );
  await Promise.all(calls);
  expect(store.forPerson(PEOPLE[0])).toHaveLength(10);
  expect(store.forPerson(PEOPLE[1])).toHaveLength(10);
  // ... and forwarded together: one transaction Bundle carrying the 20 AuditEvents
  const [claimed, ...rest] = await outbox.claim(10);
  expect(rest).toEqual([]);
  expect(claimed.bundle.entry?.map((e) => [e.resource?.resourceType, e.request?.method])).toEqual(Array(20).fill(['AuditEvent', 'POST']));
});

test('splits a large batch of events into transactions of at most AUDIT_EVENTS_PER_SUBMISSION', async () => {
  const log = new AuditLog(store, outbox);
  const many = Array.from({ length: AUDIT_EVENTS_PER_SUBMISSION * 2 + 1 }, (_, i) => `${i}`);
  await Promise.all(many.map((i) => log.record({ caller: provider, action: 'read', outcome: 'success', description: `read ${i}` })));
  const sizes = (await outbox.claim(10)).map((c) => c.bundle.entry?.length);
  expect(sizes.sort((a, b) => (b ?? 0) - (a ?? 0))).toEqual([AUDIT_EVENTS_PER_SUBMISSION, AUDIT_EVENTS_PER_SUBMISSION, 1]);
});

test('a failed commit fails every request in its batch, and a later batch still commits', async () => {
  const failing = { ...outbox, enqueue: () => Promise.reject(new Error('disk full')) } as unknown as SqliteOutbox;
  const log = new AuditLog(store, failing);
  const results = await Promise.allSettled([
    log.record({ caller: provider, action: 'create', outcome: 'success', description: 'a' }, [PEOPLE[0]]),
    log.record({ caller: provider, action: 'create', outcome: 'success', description: 'b' }, [PEOPLE[1]]),
  ]);
  expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);

  await new AuditLog(store, outbox).record({ caller: provider, action: 'create', outcome: 'success', description: 'c' }, [PEOPLE[0]]);
  expect((await outbox.counts()).queued).toBe(1);
});
