/**
 * The delivery thread: runs in a worker_threads Worker started by DeliveryThread (delivery-thread.ts), on
 * another core than the HTTP requests. It opens its own outbox connection (a second connection to the SQLite
 * file, or its own PostgreSQL pool), its own SCR client and its own DeliveryWorker, and reports metrics and
 * log lines to the main thread as messages. Anything thrown here that nothing catches ends the thread; the
 * main thread logs it and starts another.
 */
import { Writable } from 'node:stream';
import { parentPort, workerData } from 'node:worker_threads';
import { loadClientCredentialsAuth } from '../fhir/scr-auth';
import { ScrClient } from '../fhir/scr-client';
import { createLogger } from '../observability/logger';
import type { DeliveryObserver } from '../observability/metrics';
import { openOutbox } from '../outbox/open-outbox';
import type { Outbox } from '../outbox/outbox';
import { WalCheckpoints } from '../outbox/wal-checkpoints';
import { DeliveryWorker } from './delivery-worker';
import type { DeliveryThreadSettings, FromThread, ThreadEvent, ToThread } from './delivery-thread-protocol';

if (!parentPort) throw new Error('delivery-thread-entry runs only as a worker thread (see delivery-thread.ts)');
const port = parentPort;
const settings = workerData as DeliveryThreadSettings;

/** Events wait for the end of the turn and cross together; any other message first sends those before it. */
let events: ThreadEvent[] = [];
function event(e: ThreadEvent): void {
  events.push(e);
  if (events.length === 1) setImmediate(flush);
}
function flush(): void {
  if (events.length === 0) return;
  port.postMessage({ type: 'events', events } satisfies FromThread);
  events = [];
}
function post(message: FromThread): void {
  flush();
  port.postMessage(message);
}

// The same logger as the main thread's (winston, redacted at the logger); its lines go to the main thread's.
const logger = createLogger(
  settings.logLevel,
  new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      event({ type: 'log', line: chunk.toString().trimEnd() });
      callback();
    },
  }),
);

const observer: DeliveryObserver = {
  observe: (outcome, seconds) => event({ type: 'observe', outcome, seconds }),
  circuitOpened: { inc: () => event({ type: 'circuitOpened' }) },
  paused: { set: (value) => event({ type: 'paused', paused: value === 1 }) },
};

async function open(): Promise<{ worker: DeliveryWorker; outbox: Outbox }> {
  const { outbox } = await openOutbox(settings.outbox, logger);
  try {
    if (settings.recover) {
      const recovered = await outbox.recover();
      if (recovered > 0) logger.warn('recovered submissions the previous delivery thread left in progress', { recovered });
    }
    const auth = settings.scrAuth && (await loadClientCredentialsAuth(settings.scrAuth, { timeoutMs: settings.scrTimeoutMs, logger }));
    const scr = new ScrClient({ baseUrl: settings.scrBaseUrl, timeoutMs: settings.scrTimeoutMs, logger, auth });
    const worker = new DeliveryWorker({
      outbox,
      send: (bundle) => scr.transaction(bundle),
      logger,
      metrics: observer,
      onCircuit: ({ openUntil }) => event({ type: 'circuit', openUntil }),
      ...settings.delivery,
    });
    worker.start();
    post({ type: 'started' });
    return { worker, outbox };
  } catch (err) {
    await outbox.close();
    throw err;
  }
}

const opened = open();
const checkpoints = new WalCheckpoints(settings.checkpointFiles ?? [], logger);
checkpoints.start();

async function handle(message: ToThread): Promise<void> {
  const { worker, outbox } = await opened;
  switch (message.type) {
    case 'notify':
      worker.notify();
      return;
    case 'pause':
    case 'resume':
      try {
        await (message.type === 'pause' ? worker.pause() : worker.resume());
        post({ type: 'reply', id: message.id });
      } catch (err) {
        post({ type: 'reply', id: message.id, error: err instanceof Error ? err.message : String(err) });
      }
      return;
    case 'stop':
      await worker.stop();
      checkpoints.close();
      await outbox.close();
      // Let the logger's last lines reach the event queue before the main thread hears we are done.
      await new Promise((resolve) => setImmediate(resolve));
      post({ type: 'stopped' });
      return;
  }
}

port.on('message', (message: ToThread) => {
  // A failure here is a bug or a broken store: rethrown outside the promise, it ends the thread, which is
  // logged and restarted by the main thread.
  handle(message).catch((err: unknown) => setImmediate(() => { throw err; }));
});
// Opening failed (the outbox, the SCR key): end the thread the same way.
opened.catch((err: unknown) => setImmediate(() => { throw err; }));
