/**
 * Secondary uses are off by default (privacy by default: the ICS decides to make a research copy). A gateway
 * started with its defaults accepts records as ever, makes no research store and no pseudonym secret, and every
 * secondary-uses operation in the contract answers 404 naming the setting that turns it on.
 */
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { loadOpenApi } from '../../src/http/routes/ops';
import resident from '../fixtures/records/resident.json';
import { assertContract } from '../support/contract';
import { startTestGateway, type TestGateway } from '../support/gateway';

type Operation = { tags?: string[] };
const spec = loadOpenApi() as { paths: Record<string, Record<string, Operation>> };
const secondaryOperations = Object.entries(spec.paths).flatMap(([route, methods]) =>
  Object.entries(methods)
    .filter(([, operation]) => operation.tags?.includes('secondary-uses'))
    .map(([method]) => ({ route, method })),
);

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw?.stop();
});

it('still accepts records, and keeps no research store and no pseudonym secret', async () => {
  const res = await request(gw.url).post('/v1/records').set('Authorization', gw.as.provider).send(resident);
  expect(res.status).toBe(202);
  expect(fs.existsSync(path.join(gw.dataDir, 'research.sqlite'))).toBe(false);
  expect(fs.existsSync(path.join(gw.dataDir, 'research-secret'))).toBe(false);
  // The start-up line tells an operator which way it is set.
  expect(gw.logLines.find((l) => l.includes('gateway listening'))).toContain('"secondaryUses":"off"');
});

it('finds the secondary-uses operations in the contract', () => {
  expect(secondaryOperations.map(({ route, method }) => `${method} ${route}`).sort()).toEqual([
    'get /v1/admin/opt-outs',
    'get /v1/aggregates',
    'get /v1/extracts/deidentified',
    'post /v1/admin/opt-outs',
    'post /v1/admin/opt-outs/remove',
  ]);
});

it.each(secondaryOperations)('answers $method $route with 404 naming SECONDARY_USES', async ({ route, method }) => {
  const call = method === 'post' ? request(gw.url).post(route).send({ nhsNumbers: ['9434765919'] }) : request(gw.url).get(route);
  const res = await call.set('Authorization', gw.as.operator);
  expect(res.status).toBe(404);
  expect(res.body.issue[0].diagnostics).toMatch(/SECONDARY_USES=on/);
  assertContract(res);
});
