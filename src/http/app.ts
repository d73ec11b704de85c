/**
 * The gateway's HTTP pipeline, in order, in one place:
 *   request id + access log -> body limits and parsing -> routes (records, FHIR read, $validate, admin, ops)
 *   -> 404 -> errors as OperationOutcome.
 */
import express, { type Express } from 'express';
import type { Registry } from 'prom-client';
import type { ScrClient } from '../fhir/scr-client';
import type { DeliveryWorker } from '../forward/delivery-worker';
import type { IngestDeps } from '../ingest/accept';
import type { Logger } from '../observability/logger';
import { errorHandler, notFoundHandler, requireJson } from './errors';
import { requestContext } from './request-context';
import { adminRouter } from './routes/admin';
import { fhirReadRouter } from './routes/fhir-read';
import { fhirValidateRouter } from './routes/fhir-validate';
import { opsRouter } from './routes/ops';
import { recordsRouter } from './routes/records';

export interface AppDeps {
  logger: Logger;
  maxBodyBytes: number;
  ingest: IngestDeps;
  scr: ScrClient;
  worker: DeliveryWorker;
  metrics?: Registry;
}

const JSON_TYPES = ['application/json', 'application/fhir+json'];

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');

  app.use(requestContext(deps.logger));

  const parseJson = express.json({ limit: deps.maxBodyBytes, type: JSON_TYPES, strict: true });
  app.post(['/v1/records', '/fhir/$validate', '/fhir/:type/$validate'], requireJson(JSON_TYPES), parseJson);

  app.use(recordsRouter(deps.ingest));
  app.use(fhirReadRouter(deps.scr));
  app.use(fhirValidateRouter(deps.ingest.validator));
  app.use(adminRouter({ outbox: deps.ingest.outbox, worker: deps.worker }));
  app.use(opsRouter({ outbox: deps.ingest.outbox, scrReachable: () => deps.scr.ping(), metrics: deps.metrics }));

  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger));
  return app;
}
