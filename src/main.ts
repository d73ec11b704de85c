/**
 * Composition root: read config, wire the parts, start the HTTP server and the delivery worker.
 * With no SCR_BASE_URL the development SCR is started on loopback, so one command runs everything.
 */
import fs from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';
import { collectDefaultMetrics } from 'prom-client';
import { AuditLog } from './audit/audit-log';
import { AuditStore } from './audit/audit-store';
import { createAuthenticator } from './auth/authenticate';
import { ConfigError, loadConfig, type Config } from './config';
import { startDevScr, type DevScr } from './devscr';
import { loadClientCredentialsAuth } from './fhir/scr-auth';
import { ScrClient } from './fhir/scr-client';
import { DeliveryThread, type Delivery } from './forward/delivery-thread';
import { DeliveryWorker } from './forward/delivery-worker';
import { createApp } from './http/app';
import { createSecurity } from './http/security';
import { JobStore } from './ingest/bulk/job-store';
import { PreparePool } from './ingest/prepare-pool';
import { createSchemaChecker } from './ingest/schema-check';
import { loadMappings } from './map/mapping-registry';
import { createLogger, type Logger } from './observability/logger';
import { createDeliveryMetrics } from './observability/metrics';
import { openOutbox } from './outbox/open-outbox';
import { RetentionJob } from './outbox/retention';
import { BACKSTOP_CHECKPOINT_PAGES } from './outbox/wal-checkpoints';
import { openSecondaryUses } from './secondary';
import { lazyValidator, loadValidator } from './validate';


export interface Gateway {
  url: string;
  scrBaseUrl: string;
  stop(): Promise<void>;
}

export async function startGateway(config: Config, logger: Logger = createLogger(config.logLevel)): Promise<Gateway> {
  fs.mkdirSync(config.dataDir, { recursive: true });
  // Before anything is opened: a bad SCR key stops start-up with nothing to clean up.
  const scrAuth = config.scrAuth && (await loadClientCredentialsAuth(config.scrAuth, { timeoutMs: config.scrTimeoutMs, logger }));

  // What is open so far, closed last-first by stop(), or at once if a later step of start-up fails (a
  // delivery thread or a development SCR left running would keep a test runner or a supervisor's retry alive).
  const opened: (() => unknown)[] = [];
  const closeAll = async (): Promise<void> => {
    for (const close of opened.splice(0).reverse()) await close();
  };
  try {
    let scrBaseUrl = config.scrBaseUrl;
    let devScr: DevScr | undefined;
    if (!scrBaseUrl) {
      const started = await startDevScr({ port: config.devScrPort, host: '127.0.0.1', logger });
      opened.push(() => started.close());
      devScr = started;
      scrBaseUrl = started.baseUrl;
    }

    const mappings = loadMappings();
    // With a prepare pool its threads validate (records and $validate); this thread never loads the validator.
    const validator = config.prepareThreads > 0 ? lazyValidator() : loadValidator();
    // With a delivery thread, it checkpoints the SQLite logs this thread writes (outbox, audit trail,
    // research store); this thread's connections only past a far mark (src/outbox/wal-checkpoints.ts).
    const checkpointing = config.deliveryThread ? { checkpointPages: BACKSTOP_CHECKPOINT_PAGES } : {};
    const auditPath = path.join(config.dataDir, 'audit.sqlite');
    const { outbox, kind: outboxKind } = await openOutbox(config, logger, checkpointing);
    opened.push(() => outbox.close());
    const recovered = await outbox.recover();
    if (recovered > 0) logger.warn('recovered submissions left in progress by a previous run', { recovered, outbox: outboxKind });

    const scr = new ScrClient({ baseUrl: scrBaseUrl, timeoutMs: config.scrTimeoutMs, logger, auth: scrAuth });
    const metrics = createDeliveryMetrics(outbox);
    // The process's own figures beside delivery's: CPU, RSS, heap, GC pauses and event-loop delay (where a
    // slow p99 shows first), with prom-client's standard names so an ICS's Node dashboards work as they are.
    collectDefaultMetrics({ register: metrics.registry });
    // In its own thread (another core; its own outbox connection and SCR client), or on this event loop.
    const worker: Delivery = config.deliveryThread
      ? new DeliveryThread({
          settings: {
            outbox: config,
            scrBaseUrl,
            scrTimeoutMs: config.scrTimeoutMs,
            scrAuth: config.scrAuth,
            delivery: config.delivery,
            logLevel: logger.level,
            checkpointFiles: [auditPath, ...(config.secondary.enabled ? [config.secondary.storePath] : [])],
          },
          outbox,
          logger,
          metrics,
          heapMb: config.deliveryThreadHeapMb,
        })
      : new DeliveryWorker({ outbox, send: (bundle) => scr.transaction(bundle), logger, metrics, ...config.delivery });
    // Started now, so a delivery thread opens its outbox and SCR client on the other core while this one goes on.
    const deliveryStarted = worker.start();
    opened.push(() => worker.stop());

    const authenticator = await createAuthenticator({ ...config.auth, logger });
    const auditStore = new AuditStore(auditPath, checkpointing);
    opened.push(() => auditStore.close());
    const security = createSecurity(authenticator, new AuditLog(auditStore, outbox));

    const jobs = new JobStore(path.join(config.dataDir, 'jobs.sqlite'));
    opened.push(() => jobs.close());
    const secondary = config.secondary.enabled ? openSecondaryUses(config.secondary, logger, checkpointing) : undefined;
    if (secondary) opened.push(() => secondary.close());
    const preparePool = config.prepareThreads > 0 ? new PreparePool(config.prepareThreads) : undefined;
    if (preparePool) opened.push(() => preparePool.close());
    await preparePool?.ready();
    const app = createApp({
      jobs,
      logger,
      maxBodyBytes: config.maxBodyBytes,
      corsOrigins: config.corsOrigins,
      rateLimitPerMinute: config.rateLimitPerMinute,
      security,
      auditStore,
      ingest: { mappings, schemas: createSchemaChecker(mappings), validator, preparer: preparePool, outbox, onQueued: () => worker.notify(), onAccepted: secondary?.feed },
      resourceValidator: preparePool,
      scr,
      worker,
      metrics: metrics.registry,
      secondary,
    });
    const server = await new Promise<Server>((resolve, reject) => {
      const s = app.listen(config.port, config.host, () => resolve(s));
      // A bulk upload of a large file legitimately takes longer than Node's 300 s for a whole request, which
      // failed a 100,000-line job part way: no limit on the whole request, but a connection that goes quiet,
      // mid-body or between requests, is closed after HTTP_IDLE_TIMEOUT_MS (slow-drip clients stay bounded).
      s.requestTimeout = 0;
      s.setTimeout(config.httpIdleTimeoutMs);
      s.once('error', reject);
    });
    // Stop taking requests first; in-flight deliveries then finish before storage closes.
    opened.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    await deliveryStarted;
    const retention = new RetentionJob({ outbox, logger, keepMs: config.retentionMs, everyMs: 3_600_000 });
    retention.start();
    opened.push(() => retention.stop());
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const url = `http://${config.host}:${port}`;
    logger.info('gateway listening', {
      url,
      docs: `${url}/docs`,
      scr: devScr ? 'development SCR' : 'configured SCR',
      outbox: outboxKind,
      auth: authenticator.mode,
      secondaryUses: secondary ? 'on' : 'off',
    });
    return { url, scrBaseUrl, stop: closeAll };
  } catch (err) {
    await closeAll().catch((closeErr: unknown) =>
      logger.error('closing after a failed start-up failed', { error: closeErr instanceof Error ? closeErr : String(closeErr) }),
    );
    throw err;
  }
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`care-record-gateway: configuration error: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  let gateway: Gateway;
  try {
    gateway = await startGateway(config, logger);
  } catch (err) {
    // Settings that are only checkable by using them (the SCR key file) fail here, as clearly as loadConfig's.
    if (err instanceof ConfigError) {
      console.error(`care-record-gateway: configuration error: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const shutdown = (signal: string) => {
    logger.info('shutting down', { signal });
    gateway.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error('shutdown failed', { error: err instanceof Error ? err : String(err) });
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error('care-record-gateway failed to start:', err instanceof Error ? err.message : String(err));
    process.exit(1);
  });
}
