/**
 * The research feed after the answer (FeedQueue over writeAccepted), on a real research store: nothing is
 * written while the request is answered, everything is written within the delay, at once when a reader
 * flushes, and a later version accepted in the same wait still replaces the earlier one.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type { Resource } from 'fhir/r4';
import type { ProviderRecord } from '../../src/map/map-record';
import { createLogger } from '../../src/observability/logger';
import { Deidentifier } from '../../src/secondary/deidentify';
import { loadRules } from '../../src/secondary/deidentify-rules';
import { openSecondaryUses } from '../../src/secondary';
import { FeedQueue, type FeedQueueOptions } from '../../src/secondary/feed-queue';
import { Pseudonyms } from '../../src/secondary/pseudonyms';
import { writeAccepted } from '../../src/secondary/research-feed';
import { EXTRACT_START, ResearchStore } from '../../src/secondary/research-store';
import { loadPseudonymSecret } from '../../src/secondary/secret';

const NHS_NUMBER = '9434765919';
const RECORD_SYSTEM = 'https://care-record-gateway.dev/fhir/Id/provider-record';

let dir: string;
let store: ResearchStore;
let pseudonyms: Pseudonyms;

function accepted(recordId: string, version: number, parts: string[]) {
  const record: ProviderRecord = { type: 'vital-signs', recordId, version, nhsNumber: NHS_NUMBER, careProvider: { odsCode: 'VNX12' }, sourceSystem: 'test', data: {} };
  const resources = parts.map((part) => ({
    resourceType: 'Observation',
    identifier: [{ system: RECORD_SYSTEM, value: `VNX12/vital-signs/${recordId}/${part}` }],
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
    effectiveDateTime: '2026-11-03T08:00:00Z',
    valueQuantity: { value: 70 },
  }) as Resource);
  return [{ record, resources }];
}

function queue(options: FeedQueueOptions): FeedQueue {
  const deps = { store, deidentifier: new Deidentifier(loadRules(), pseudonyms), pseudonyms, logger: createLogger('error', new PassThrough()) };
  return new FeedQueue((batches) => writeAccepted(deps, batches), options);
}

/** How many resources a store holds (the records here carry no shared ones, so one page reads them all). */
const storedIn = (s: ResearchStore) => s.page(new Date(0).toISOString(), EXTRACT_START, s.cut(), { rows: 1000, bytes: Infinity }).rows.length;
const stored = () => storedIn(store);

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crg-feed-queue-'));
  pseudonyms = new Pseudonyms(loadPseudonymSecret({ generatedFile: path.join(dir, 'secret') }).secret);
  store = new ResearchStore(path.join(dir, 'research.sqlite'));
});
afterEach(() => {
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('the research feed after the answer', () => {
  it('writes nothing in the accepting turn and everything once the delay has passed', async () => {
    const q = queue({ delayMs: 30, maxRecords: 100 });
    q.feed(accepted('OBS-1', 1, ['pulse']));
    q.feed(accepted('OBS-2', 1, ['pulse']));
    expect(stored()).toBe(0);
    await new Promise((r) => setTimeout(r, 80));
    expect(stored()).toBe(2);
  });

  it('writes what waits at once when a reader flushes', () => {
    const q = queue({ delayMs: 60_000, maxRecords: 100 });
    q.feed(accepted('OBS-1', 1, ['pulse']));
    q.flush();
    expect(stored()).toBe(1);
  });

  it('writes at the next turn once maxRecords wait, without waiting for the delay', async () => {
    const q = queue({ delayMs: 60_000, maxRecords: 2 });
    q.feed(accepted('OBS-1', 1, ['pulse']));
    q.feed(accepted('OBS-2', 1, ['pulse']));
    await new Promise((r) => setImmediate(r));
    expect(stored()).toBe(2);
  });

  it('lets a later version accepted in the same wait drop what the earlier version had', () => {
    const q = queue({ delayMs: 60_000, maxRecords: 100 });
    q.feed(accepted('OBS-1', 2, ['pulse', 'spo2']));
    q.feed(accepted('OBS-1', 3, ['spo2']));
    q.flush();
    expect(stored()).toBe(1);
  });
});

describe('secondary uses as the gateway opens them', () => {
  it('writes what the feed holds when it is closed, so a stop loses nothing accepted', () => {
    const storePath = path.join(dir, 'closing.sqlite');
    const logger = createLogger('error', new PassThrough());
    const secondary = openSecondaryUses({ enabled: true, storePath, generatedSecretFile: path.join(dir, 'secret') }, logger);
    secondary.feed(accepted('OBS-1', 1, ['pulse', 'spo2']));
    secondary.close();
    const reopened = new ResearchStore(storePath);
    try {
      expect(storedIn(reopened)).toBe(2);
    } finally {
      reopened.close();
    }
  });
});
