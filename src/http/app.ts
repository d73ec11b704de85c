/**
 * The gateway's HTTP pipeline, in order, in one place:
 *   request id + access log -> security headers, CORS -> public routes (health, ready, metrics, docs)
 *   -> authenticate (bearer token) -> per-caller rate limit -> body parsing
 *   -> routes (bulk and single records, FHIR read, $validate, transparency, admin), each authorised and audited
 *   -> 404 -> errors as OperationOutcome.
 */
import cors from 'cors';
import express, { type Express } from 'express';
import { rateLimit } from 'express-rate-limit';
import helmet from 'helmet';
import type { Registry } from 'prom-client';
import type { AuditStore } from '../audit/audit-store';
import type { ScrClient } from '../fhir/scr-client';
import type { Delivery } from '../forward/delivery-thread';
import type { IngestDeps } from '../ingest/accept';
import type { JobStore } from '../ingest/bulk/job-store';
import { OperationOutcomeError, issue } from '../fhir/operation-outcome';
import type { Logger } from '../observability/logger';
import { currentContext } from '../observability/request-context';
import { errorHandler, notFoundHandler, requireJson } from './errors';
import { requestContext } from './request-context';
import { adminRouter } from './routes/admin';
import { bulkRecordsRouter } from './routes/bulk-records';
import { fhirReadRouter } from './routes/fhir-read';
import { fhirValidateRouter, type ResourceValidator } from './routes/fhir-validate';
import { opsRouter } from './routes/ops';
import { recordsRouter } from './routes/records';
import { secondaryOffRouter, secondaryRouter } from './routes/secondary';
import type { SecondaryUses } from '../secondary';
import { transparencyRouter } from './routes/transparency';
import type { Security } from './security';

export interface AppDeps {
  logger: Logger;
  maxBodyBytes: number;
  corsOrigins: string[];
  rateLimitPerMinute: number;
  ingest: IngestDeps;
  /** FHIR $validate's validator: the prepare pool when there is one, else ingest's own. */
  resourceValidator?: ResourceValidator;
  scr: ScrClient;
  worker: Delivery;
  security: Security;
  auditStore: AuditStore;
  jobs: JobStore;
  metrics?: Registry;
  /** Extracts, aggregates and opt-outs; absent (SECONDARY_USES off, the default), those routes answer 404 saying so. */
  secondary?: SecondaryUses;
}

const JSON_TYPES = ['application/json', 'application/fhir+json'];

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');

  app.use(requestContext(deps.logger));
  app.use(helmet());
  app.use(cors({ origin: deps.corsOrigins.length > 0 ? deps.corsOrigins : false, exposedHeaders: ['Location', 'X-Request-ID', 'Retry-After'] }));

  const recordSchemas = new Map<string, object>([['envelope', deps.ingest.mappings.envelopeSchema]]);
  for (const [type, mapping] of deps.ingest.mappings.types) recordSchemas.set(type, mapping.schema);
  app.use(opsRouter({ outbox: deps.ingest.outbox, recordSchemas, scrReachable: () => deps.scr.ping(), delivering: () => deps.worker.running, metrics: deps.metrics }));

  app.use(['/v1', '/fhir'], deps.security.authenticate);
  app.use(['/v1', '/fhir'], rateLimit({
    windowMs: 60_000,
    limit: deps.rateLimitPerMinute,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    keyGenerator: () => {
      const caller = currentContext()?.caller;
      return caller ? `${caller.kind}:${'clientId' in caller ? caller.clientId : caller.userId}` : 'anonymous';
    },
    handler: (req, _res, next) => {
      const reset = (req as { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
      const retryAfter = String(Math.max(1, Math.ceil(((reset?.getTime() ?? Date.now() + 60_000) - Date.now()) / 1000)));
      next(new OperationOutcomeError(429, [issue('error', 'throttled', 'Too many requests; slow down')], { 'Retry-After': retryAfter }));
    },
  }));

  const parseJson = express.json({ limit: deps.maxBodyBytes, type: JSON_TYPES, strict: true });
  app.post(['/v1/records', '/fhir/$validate', '/fhir/:type/$validate'], requireJson(JSON_TYPES), parseJson);

  app.use(bulkRecordsRouter({ ...deps.ingest, jobs: deps.jobs }, deps.security));
  app.use(recordsRouter(deps.ingest, deps.security));
  app.use(fhirReadRouter(deps.scr, deps.security));
  app.use(fhirValidateRouter(deps.resourceValidator ?? deps.ingest.validator, deps.security));
  app.use(transparencyRouter(deps.auditStore, deps.security));
  app.use(adminRouter({ outbox: deps.ingest.outbox, worker: deps.worker }, deps.security));
  app.use(deps.secondary ? secondaryRouter(deps.secondary, deps.security, deps.maxBodyBytes) : secondaryOffRouter());

  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger));
  return app;
}
