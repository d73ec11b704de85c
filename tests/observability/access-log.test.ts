/**
 * The access line each request gets (src/http/request-context.ts), through a real Express app on loopback:
 * it carries the request's own id, also when many requests are in flight at once, and the route pattern.
 */
import { PassThrough } from 'node:stream';
import express from 'express';
import request from 'supertest';
import { requestContext } from '../../src/http/request-context';
import { createLogger } from '../../src/observability/logger';

function app() {
  const stream = new PassThrough();
  const lines: Record<string, unknown>[] = [];
  stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>)));
  const server = express();
  server.use(requestContext(createLogger('info', stream)));
  // Answers after a wait of its own length, so answers finish in another order than requests came.
  server.get('/v1/things/:id', async (req, res) => {
    await new Promise((r) => setTimeout(r, 5 * (10 - Number(req.params.id))));
    res.json({ id: req.params.id });
  });
  return { server, lines };
}

describe('access log', () => {
  it('gives each request one line with its own X-Request-ID, the route pattern and the status', async () => {
    const { server, lines } = app();
    const ids = Array.from({ length: 10 }, (_, i) => i);
    const answers = await Promise.all(ids.map((i) => request(server).get(`/v1/things/${i}`).set('X-Request-ID', `req-${i}`)));
    for (const [i, res] of answers.entries()) expect(res.headers['x-request-id']).toBe(`req-${i}`);
    await new Promise((r) => setImmediate(r));
    const access = lines.filter((l) => l.message === 'request');
    expect(access.map((l) => l.requestId).sort()).toEqual(ids.map((i) => `req-${i}`).sort());
    for (const line of access) expect(line).toMatchObject({ method: 'GET', route: '/v1/things/:id', status: 200 });
  });
});
