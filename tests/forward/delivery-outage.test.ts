import { DeliveryWorker } from '../../src/forward/delivery-worker';
import { SqliteOutbox } from '../../src/outbox/sqlite-outbox';
import { patientBundle, tempDir } from '../outbox/submissions';
import { httpSend, LoopbackScr, memoryLogger, ok, unavailable, waitFor, type ScrRequest } from './loopback-scr';

it('delivers 1,000 submissions accepted during an SCR outage once each, in order per patient', async () => {
  const tmp = tempDir();
  const outbox = new SqliteOutbox(tmp.file('outbox.sqlite'));
  let up = false;
  const accepted: ScrRequest[] = [];
  const scr = await LoopbackScr.start((request) => {
    if (!up) return unavailable();
    accepted.push(request);
    return ok();
  });
  const worker = new DeliveryWorker({
    outbox,
    send: httpSend(scr.url),
    logger: memoryLogger().logger,
    maxAttempts: 1000,
    backoffBaseMs: 5,
    backoffMaxMs: 50,
    pollIntervalMs: 5,
    concurrency: 8,
    breaker: { failureThreshold: 10, coolDownMs: 100 },
  });
  try {
    worker.start();
    const patients = Array.from({ length: 200 }, (_, i) => String(9000000000 + i));
    for (let version = 1; version <= 5; version++) {
      await outbox.enqueue(
        patients.map((nhs) => ({ providerOds: 'VM123', orderingKey: nhs, records: [`resident:${nhs}@${version}`], bundle: patientBundle(nhs, `v${version}`) })),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    up = true;
    await waitFor(async () => (await outbox.counts()).delivered === 1000, 60_000);

    // What the SCR accepted: every submission exactly once, each patient's versions in acceptance order.
    expect(accepted).toHaveLength(1000);
    const applied = new Map<string, string[]>();
    for (const r of accepted) applied.set(r.nhsNumber, [...(applied.get(r.nhsNumber) ?? []), r.family]);
    expect(applied.size).toBe(200);
    for (const versions of applied.values()) expect(versions).toEqual(['v1', 'v2', 'v3', 'v4', 'v5']);
    expect(await outbox.counts()).toMatchObject({ delivered: 1000, queued: 0, delivering: 0, failed: 0, rejected: 0 });
  } finally {
    await worker.stop();
    await scr.close();
    await outbox.close();
    tmp.remove();
  }
}, 90_000);
