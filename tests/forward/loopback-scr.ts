/**
 * A scripted shared care record on loopback (node:http, real sockets), and a `send` that posts to it with
 * axios and classifies failures into ScrError exactly as the gateway's FHIR client does. The SCR is outside
 * our system; this plays its HTTP behaviour (503s, 422s, Retry-After, being down) that the real one shows.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import axios from 'axios';
import type { Bundle, OperationOutcome, Patient } from 'fhir/r4';
import { issue, outcome } from '../../src/fhir/operation-outcome';
import { isRetryableStatus, networkError, parseRetryAfter, ScrError } from '../../src/fhir/scr-error';
import { createLogger, type Logger } from '../../src/observability/logger';

export interface ScrReply {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export interface ScrRequest {
  bundle: Bundle;
  /** The NHS number of the bundle's Patient, for assertions. */
  nhsNumber: string;
  family: string;
  /** 1 for the first request this SCR received. */
  n: number;
  at: number;
}

export type ScrScript = (request: ScrRequest) => ScrReply | Promise<ScrReply>;

export const ok = (): ScrReply => ({ status: 200, body: { resourceType: 'Bundle', type: 'transaction-response', entry: [{ response: { status: '200 OK' } }] } });
export const unavailable = (headers: Record<string, string> = {}): ScrReply => ({
  status: 503,
  headers,
  body: outcome([issue('error', 'transient', 'Service unavailable')]),
});
export const unprocessable = (diagnostics: string): ScrReply => ({
  status: 422,
  body: outcome([issue('error', 'invalid', diagnostics, 'Patient.birthDate')]),
});

export class LoopbackScr {
  private constructor(
    private readonly server: http.Server,
    readonly url: string,
    readonly requests: ScrRequest[],
  ) {}

  static async start(script: ScrScript, port = 0): Promise<LoopbackScr> {
    const requests: ScrRequest[] = [];
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        // A GET is the gateway's readiness check (GET metadata): an SCR that is up answers it.
        if (req.method === 'GET') {
          res.writeHead(200, { 'content-type': 'application/fhir+json' });
          res.end(JSON.stringify({ resourceType: 'CapabilityStatement', status: 'active', kind: 'instance', fhirVersion: '4.0.1', format: ['json'] }));
          return;
        }
        const bundle = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Bundle;
        const patient = bundle.entry?.[0]?.resource as Patient | undefined;
        const request: ScrRequest = {
          bundle,
          nhsNumber: patient?.identifier?.[0]?.value ?? '',
          family: patient?.name?.[0]?.family ?? '',
          n: requests.length + 1,
          at: Date.now(),
        };
        requests.push(request);
        Promise.resolve(script(request))
          .then((reply) => {
            res.writeHead(reply.status, { 'content-type': 'application/fhir+json', ...reply.headers });
            res.end(reply.body === undefined ? undefined : JSON.stringify(reply.body));
          })
          .catch(() => res.destroy());
      });
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    const address = server.address() as AddressInfo;
    return new LoopbackScr(server, `http://127.0.0.1:${address.port}`, requests);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve, reject) => this.server.close((err) => (err ? reject(err) : resolve())));
  }
}

/** A loopback port with nothing listening on it (yet). */
export async function freePort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** POST the transaction Bundle to the SCR base URL; throw ScrError the way the gateway's FHIR client does. */
export function httpSend(baseUrl: string): (bundle: Bundle) => Promise<Bundle | undefined> {
  return async (bundle) => {
    let res;
    try {
      res = await axios.post(baseUrl, bundle, {
        headers: { 'content-type': 'application/fhir+json' },
        timeout: 2000,
        validateStatus: () => true,
      });
    } catch (err) {
      throw networkError(`SCR unreachable: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (res.status >= 200 && res.status < 300) return res.data as Bundle;
    const body = res.data as { resourceType?: string } | undefined;
    const scrOutcome =
      body?.resourceType === 'OperationOutcome'
        ? (body as OperationOutcome)
        : outcome([issue('error', 'exception', `SCR answered ${res.status}`)]);
    const retryAfter = res.headers['retry-after'];
    throw new ScrError(
      `SCR answered ${res.status}`,
      res.status,
      isRetryableStatus(res.status),
      scrOutcome,
      parseRetryAfter(typeof retryAfter === 'string' ? retryAfter : undefined),
    );
  };
}

/** A real logger writing JSON lines into memory, so tests can read what would have been logged. */
export function memoryLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString('utf8'));
      callback();
    },
  });
  return { logger: createLogger('debug', stream), lines };
}

export async function waitFor(condition: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
