/**
 * The floor for `npm run bench -- http`: a plain Express proxy that only forwards POST /v1/records to a plain
 * Express handler (JSON body parsed, 202 answered), both in this one process, as the gateway runs its own
 * development SCR in its process. Started as a child by bench/http.ts; PROXY_PORT and UPSTREAM_PORT from env.
 */
import http from 'node:http';
import express from 'express';

const proxyPort = Number(process.env.PROXY_PORT);
const upstreamPort = Number(process.env.UPSTREAM_PORT);

const upstream = express();
upstream.post('/records', express.json({ limit: '1mb' }), (req, res) => {
  const body = req.body as { recordId?: string };
  res.status(202).json({ accepted: [{ recordId: body.recordId }] });
});

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const proxy = express();
proxy.get('/health', (_req, res) => {
  res.json({ status: 'ok' });
});
proxy.post('/v1/records', (req, res) => {
  const forward = http.request(
    { host: '127.0.0.1', port: upstreamPort, method: 'POST', path: '/records', headers: req.headers, agent },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  forward.on('error', () => {
    if (!res.headersSent) res.status(502).end();
  });
  req.pipe(forward);
});

const servers = [upstream.listen(upstreamPort, '127.0.0.1'), proxy.listen(proxyPort, '127.0.0.1')];
process.once('SIGTERM', () => {
  agent.destroy();
  for (const s of servers) s.close();
  process.exit(0);
});
