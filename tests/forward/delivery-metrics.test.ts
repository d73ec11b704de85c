import { Registry } from 'prom-client';
import { DeliveryWorker } from '../../src/forward/delivery-worker';
import { createDeliveryMetrics } from '../../src/observability/metrics';
import { SqliteOutbox } from '../../src/outbox/sqlite-outbox';
import { submission, tempDir } from '../outbox/submissions';
import { httpSend, LoopbackScr, memoryLogger, ok, unavailable, unprocessable, waitFor } from './loopback-scr';

describe('delivery metrics', () => {
  it('count attempts, retries, dead letters and queue depth as the worker delivers', async () => {
    const tmp = tempDir();
    const outbox = new SqliteOutbox(tmp.file('outbox.sqlite'));
    const scr = await LoopbackScr.start(({ n, nhsNumber }) =>
      nhsNumber === '9434765870' ? unprocessable('unknown GP practice') : n === 1 ? unavailable() : ok(),
    );
    const metrics = createDeliveryMetrics(outbox, new Registry());
    const worker = new DeliveryWorker({
      outbox,
      send: httpSend(scr.url),
      logger: memoryLogger().logger,
      maxAttempts: 5,
      backoffBaseMs: 2,
      backoffMaxMs: 20,
      pollIntervalMs: 5,
      concurrency: 1,
      metrics,
    });
    try {
      const [delivered, rejected] = await outbox.enqueue([submission('9434765919'), submission('9434765870')]);
      worker.start();
      await worker.pause();
      await worker.resume();
      await waitFor(async () => (await outbox.get(delivered))?.state === 'delivered' && (await outbox.get(rejected))?.state === 'rejected');
      await worker.stop();

      const text = await metrics.registry.metrics();
      expect(text).toContain('gateway_outbox_submissions{state="delivered"} 1');
      expect(text).toContain('gateway_outbox_submissions{state="rejected"} 1');
      expect(text).toContain('gateway_outbox_submissions{state="queued"} 0');
      expect(text).toContain('gateway_delivery_attempts_total{outcome="retry"} 1');
      expect(text).toContain('gateway_delivery_attempts_total{outcome="delivered"} 1');
      expect(text).toContain('gateway_delivery_retries_total 1');
      expect(text).toContain('gateway_dead_letters_total{state="rejected"} 1');
      expect(text).toContain('gateway_delivery_duration_seconds_count{outcome="delivered"} 1');
      expect(text).toContain('gateway_delivery_paused 0');
    } finally {
      await worker.stop();
      await scr.close();
      await outbox.close();
      tmp.remove();
    }
  });
});
