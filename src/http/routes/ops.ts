/** Liveness, readiness, metrics and the API contract with its try-it-out docs. */
import fs from 'node:fs';
import { Router } from 'express';
import type { Registry } from 'prom-client';
import swaggerUi from 'swagger-ui-express';
import YAML from 'yaml';
import { OPENAPI_PATH } from '../../config/paths';
import type { Outbox } from '../../outbox/outbox';
import { notFound } from '../../fhir/operation-outcome';
import { handle } from '../respond';


export interface OpsDeps {
  outbox: Outbox;
  /** Provider record JSON Schemas by name: "envelope" and each record type. */
  recordSchemas: Map<string, object>;
  scrReachable: () => Promise<boolean>;
  /** False while delivery is down (a delivery thread died and the next has not started yet). */
  delivering?: () => boolean;
  metrics?: Registry;
}

export function loadOpenApi(): Record<string, unknown> {
  return YAML.parse(fs.readFileSync(OPENAPI_PATH, 'utf8')) as Record<string, unknown>;
}

export function opsRouter(deps: OpsDeps): Router {
  const router = Router();
  const openapi = loadOpenApi();

  router.get('/health', handle(() => ({ status: 200, body: { status: 'ok' } })));

  router.get('/ready', handle(async () => {
    const [scr, queue] = await Promise.all([
      deps.scrReachable().catch(() => false),
      deps.outbox.writable().catch(() => false),
    ]);
    const delivery = deps.delivering?.() ?? true;
    const ready = scr && queue && delivery;
    return { status: ready ? 200 : 503, body: { status: ready ? 'ready' : 'not ready', checks: { scr, queue, delivery } } };
  }));

  if (deps.metrics) {
    const registry = deps.metrics;
    router.get('/metrics', async (_req, res) => {
      res.type(registry.contentType).send(await registry.metrics());
    });
  }

  // The provider record schemas, public so integrators can build against them before they have a token.
  router.get('/schemas/:name.json', handle((req) => {
    const schema = deps.recordSchemas.get(String(req.params.name));
    if (!schema) throw notFound('No such schema');
    return { status: 200, body: schema };
  }));

  router.get('/openapi.yaml', (_req, res) => {
    res.type('application/yaml').sendFile(OPENAPI_PATH);
  });
  router.use('/docs', swaggerUi.serve, swaggerUi.setup(openapi, { customSiteTitle: 'care-record-gateway API' }));

  return router;
}
