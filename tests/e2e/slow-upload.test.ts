/**
 * A bulk upload that takes its time is never cut off while it keeps sending (Node's 300 s limit on a whole
 * request once failed a 100,000-line job part way); a connection that goes quiet mid-body is closed.
 */
import http from 'node:http';
import resident from '../fixtures/records/resident.json';
import { startTestGateway, type TestGateway } from '../support/gateway';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({ HTTP_IDLE_TIMEOUT_MS: '1000' });
});
afterAll(async () => {
  await gw.stop();
});

const line = (i: number) => `${JSON.stringify({ ...resident, recordId: `SLOW-${i}` })}\n`;

/** Opens a chunked NDJSON upload; resolves with the status and body, or with the error that ended it. */
function upload(): { req: http.ClientRequest; answer: Promise<{ status?: number; body?: string; error?: string }> } {
  const { hostname, port } = new URL(gw.url);
  const req = http.request({
    hostname,
    port,
    method: 'POST',
    path: '/v1/records/bulk',
    headers: { authorization: gw.as.provider, 'content-type': 'application/x-ndjson', 'transfer-encoding': 'chunked' },
  });
  const answer = new Promise<{ status?: number; body?: string; error?: string }>((resolve) => {
    req.on('response', (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', (err) => resolve({ error: err.message }));
  });
  return { req, answer };
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('slow bulk uploads', () => {
  it('accepts an upload that lasts several idle time-outs while it keeps sending', async () => {
    const { req, answer } = upload();
    for (let i = 0; i < 8; i++) {
      req.write(line(i));
      await pause(400); // 3.2 s in all, each gap under the 1 s idle time-out
    }
    req.end();
    const { status, body } = await answer;
    expect(status).toBe(202);
    expect(JSON.parse(body ?? '{}')).toMatchObject({ state: 'completed', linesRead: 8, accepted: 8, rejected: 0 });
  });

  it('closes a connection that goes quiet mid-body for longer than the idle time-out', async () => {
    const { req, answer } = upload();
    req.write(line(100));
    const ended: { status?: number; error?: string } = await Promise.race([answer, pause(10_000).then(() => ({ error: 'still open after 10 s' }))]);
    expect(ended.status).toBeUndefined();
    expect(ended.error).toMatch(/socket hang up|ECONNRESET/);
    req.destroy();
  });
});
