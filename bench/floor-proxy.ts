/**
 * The floors for `npm run bench -- http`: a plain Express proxy that only forwards each request, method, path and body
 * as they came, to UPSTREAM_PORT on loopback. Started as a child by bench/http.ts, twice:
 * - with STUB_UPSTREAM=1 it also runs, in this process, the upstream it forwards to: a plain Express handler
 *   that parses the JSON body and answers 202 (the floor of Node's HTTP stack, sessions 1-9);
 * - without it, the upstream is the development SCR, and the load is each record's transaction Bundle, mapped
 *   before the clock starts: what it costs the same two cores to put the same records straight into the SCR,
 *   against which the gateway's own work is its overhead.
 * PROXY_PORT and UPSTREAM_PORT from env.
 */
import http from 'node:http';
import express from 'express';

const proxyPort = Number(process.env.PROXY_PORT);
const upstreamPort = Number(process.env.UPSTREAM_PORT);

const servers: http.Server[] = [];
if (process.env.STUB_UPSTREAM === '1') {
  const upstream = express();
  upstream.use(express.json({ limit: '1mb' }), (req, res) => {
    const body = req.body as { recordId?: string };
    res.status(202).json({ accepted: [{ recordId: body.recordId }] });
  });
  servers.push(upstream.listen(upstreamPort, '127.0.0.1'));
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const proxy = express();
proxy.get('/health', (_req, res) => {
  res.json({ status: 'ok' });
});
proxy.use((req, res) => {
  const forward = http.request(
    { host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.originalUrl, headers: req.headers, agent },
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
servers.push(proxy.listen(proxyPort, '127.0.0.1'));

process.once('SIGTERM', () => {
  agent.destroy();
  for (const s of servers) s.close();
  process.exit(0);
});
